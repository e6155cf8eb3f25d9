//! QUERY_INFO with InfoType SMB2_0_INFO_FILESYSTEM (MS-SMB2 3.3.5.20.2; MS-FSA 2.1.5.13;
//! MS-FSCC 2.5 layouts).
//!
//! What is advertised is what the backend does: FILE_CASE_PRESERVED_NAMES,
//! FILE_UNICODE_ON_DISK, FILE_PERSISTENT_ACLS (descriptors are stored), hard links, and only
//! when the file system allows them FILE_SUPPORTS_SPARSE_FILES, FILE_NAMED_STREAMS,
//! FILE_SUPPORTS_EXTENDED_ATTRIBUTES, FILE_SUPPORTS_BLOCK_REFCOUNTING (reflink) and
//! FILE_FILE_COMPRESSION (FS_COMPR_FL settable, btrfs);
//! FILE_CASE_SENSITIVE_SEARCH only on a case-sensitive share. The file system name is "NTFS",
//! which clients key their feature use on (as Samba does). The volume label is the share name.
use super::{file_of, vfs_of, Answer};
use crate::server::dispatch::Ctx;
use crate::server::handlers::files;
use crate::server::open::Open;
use crate::vfs::FsInfo;
use crate::wire::info::fs::*;
use crate::wire::info::FsInformationClass as C;
use crate::wire::query_info::QueryInfoRequest;
use crate::wire::{BytesMut, NtStatus};
use bytes::BufMut;

/// Bytes per sector reported (Linux block devices address 512-byte sectors).
const SECTOR: u64 = 512;
/// sizeof(FILE_FS_VOLUME_INFORMATION).
const VOLUME_FIXED: usize = 24;
/// sizeof(FILE_FS_ATTRIBUTE_INFORMATION).
const ATTRIBUTE_FIXED: usize = 16;
/// sizeof(FILE_FS_CONTROL_INFORMATION).
const CONTROL_LEN: usize = 48;

/// FileSystemAttributes of a share (MS-FSCC 2.5.1).
pub fn fs_attributes(info: &FsInfo, case_insensitive: bool, read_only: bool) -> u32 {
    use fs_attributes::*;
    let c = &info.capabilities;
    let mut a = FILE_CASE_PRESERVED_NAMES
        | FILE_UNICODE_ON_DISK
        | FILE_PERSISTENT_ACLS
        | FILE_SUPPORTS_HARD_LINKS;
    if !case_insensitive {
        a |= FILE_CASE_SENSITIVE_SEARCH;
    }
    if c.sparse {
        a |= FILE_SUPPORTS_SPARSE_FILES;
    }
    if c.streams {
        a |= FILE_NAMED_STREAMS;
    }
    if c.xattrs {
        a |= FILE_SUPPORTS_EXTENDED_ATTRIBUTES;
    }
    if c.reflink {
        a |= FILE_SUPPORTS_BLOCK_REFCOUNTING;
    }
    if c.compression {
        a |= FILE_FILE_COMPRESSION;
    }
    if c.integrity {
        a |= FILE_SUPPORT_INTEGRITY_STREAMS;
    }
    if read_only {
        a |= FILE_READ_ONLY_VOLUME;
    }
    a
}

/// (sectors per allocation unit, bytes per sector, unit size).
fn units(info: &FsInfo) -> (u32, u32, u64) {
    let unit = info.block_size.max(SECTOR);
    let spu = u32::try_from(unit / SECTOR).unwrap_or(u32::MAX);
    (spu, SECTOR as u32, unit)
}

/// Answers one file system information class.
pub async fn query(ctx: &Ctx, open: &Open, req: &QueryInfoRequest) -> Result<Answer, NtStatus> {
    let _ = file_of(open)?;
    let vfs = vfs_of(open)?;
    let info = files::blocking(move || vfs.fs_info())
        .await?
        .map_err(|e| e.status())?;
    let share = &open.tree.share;
    let mut b = BytesMut::new();
    let (spu, bps, unit) = units(&info);
    let answer = match C(req.file_info_class) {
        C::FILE_FS_VOLUME_INFORMATION => {
            FileFsVolumeInformation {
                volume_creation_time: ctx.conn.server.start_time,
                volume_serial_number: super::query_file::volume_serial(info.dev),
                supports_objects: false,
                volume_label: share.name.clone(),
            }
            .encode(&mut b)
            .map_err(|_| NtStatus::INTERNAL_ERROR)?;
            Answer::variable(b, VOLUME_FIXED)
        }
        C::FILE_FS_SIZE_INFORMATION => {
            FileFsSizeInformation {
                total_allocation_units: info.total_bytes / unit,
                available_allocation_units: info.available_bytes / unit,
                sectors_per_allocation_unit: spu,
                bytes_per_sector: bps,
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_FS_FULL_SIZE_INFORMATION => {
            FileFsFullSizeInformation {
                total_allocation_units: info.total_bytes / unit,
                caller_available_allocation_units: info.available_bytes / unit,
                actual_available_allocation_units: info.free_bytes / unit,
                sectors_per_allocation_unit: spu,
                bytes_per_sector: bps,
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_FS_DEVICE_INFORMATION => {
            let mut characteristics = FILE_DEVICE_IS_MOUNTED;
            if share.config.read_only {
                characteristics |= FILE_READ_ONLY_DEVICE;
            }
            FileFsDeviceInformation {
                device_type: FILE_DEVICE_DISK,
                characteristics,
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_FS_ATTRIBUTE_INFORMATION => {
            FileFsAttributeInformation {
                file_system_attributes: fs_attributes(
                    &info,
                    share.config.case_insensitive,
                    share.config.read_only,
                ),
                maximum_component_name_length: 255,
                file_system_name: "NTFS".into(),
            }
            .encode(&mut b)
            .map_err(|_| NtStatus::INTERNAL_ERROR)?;
            Answer::variable(b, ATTRIBUTE_FIXED)
        }
        C::FILE_FS_SECTOR_SIZE_INFORMATION => {
            let phys = u32::try_from(unit).unwrap_or(4096);
            let mut flags = SSINFO_FLAGS_ALIGNED_DEVICE | SSINFO_FLAGS_PARTITION_ALIGNED_ON_DEVICE;
            if info.capabilities.trim {
                flags |= SSINFO_FLAGS_TRIM_ENABLED;
            }
            FileFsSectorSizeInformation {
                logical_bytes_per_sector: bps,
                physical_bytes_per_sector_for_atomicity: phys,
                physical_bytes_per_sector_for_performance: phys,
                file_system_effective_physical_bytes_per_sector_for_atomicity: phys,
                flags,
                byte_offset_for_sector_alignment: 0,
                byte_offset_for_partition_alignment: 0,
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_FS_OBJECT_ID_INFORMATION => {
            let mut object_id = ctx.conn.server.guid.0;
            for (i, x) in info.dev.to_le_bytes().iter().enumerate() {
                object_id[i] ^= x;
            }
            FileFsObjectIdInformation {
                object_id,
                extended_info: [0; 48],
            }
            .encode(&mut b);
            Answer::fixed(b)
        }
        C::FILE_FS_CONTROL_INFORMATION => {
            // MS-FSCC 2.5.2: quotas are not tracked: no filtering, no default limits, and
            // FileSystemControlFlags 0 (quotas off).
            b.put_u64_le(0);
            b.put_u64_le(0);
            b.put_u64_le(0);
            b.put_u64_le(u64::MAX);
            b.put_u64_le(u64::MAX);
            b.put_u32_le(0);
            b.put_u32_le(0);
            debug_assert_eq!(b.len(), CONTROL_LEN);
            Answer::fixed(b)
        }
        C::FILE_FS_LABEL_INFORMATION
        | C::FILE_FS_DRIVER_PATH_INFORMATION
        | C::FILE_FS_VOLUME_FLAGS_INFORMATION => return Err(NtStatus::NOT_SUPPORTED),
        _ => return Err(NtStatus::INVALID_INFO_CLASS),
    };
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vfs::FsCapabilities;

    #[test]
    fn attributes_follow_capabilities() {
        use fs_attributes::*;
        let mut info = FsInfo::default();
        let a = fs_attributes(&info, true, false);
        assert_eq!(a & (FILE_NAMED_STREAMS | FILE_SUPPORTS_SPARSE_FILES), 0);
        assert_eq!(a & FILE_CASE_SENSITIVE_SEARCH, 0);
        info.capabilities = FsCapabilities {
            sparse: true,
            streams: true,
            reflink: true,
            xattrs: true,
            ..Default::default()
        };
        let a = fs_attributes(&info, false, true);
        assert_ne!(a & FILE_NAMED_STREAMS, 0);
        assert_ne!(a & FILE_SUPPORTS_BLOCK_REFCOUNTING, 0);
        assert_ne!(a & FILE_CASE_SENSITIVE_SEARCH, 0);
        assert_ne!(a & FILE_READ_ONLY_VOLUME, 0);
        info.block_size = 4096;
        assert_eq!(units(&info), (8, 512, 4096));
    }

    #[test]
    fn compression_only_when_probed() {
        use fs_attributes::*;
        let mut info = FsInfo::default();
        assert_eq!(
            fs_attributes(&info, false, false) & FILE_FILE_COMPRESSION,
            0
        );
        info.capabilities.compression = true;
        assert_ne!(
            fs_attributes(&info, false, false) & FILE_FILE_COMPRESSION,
            0
        );
    }

    #[test]
    fn integrity_only_when_probed() {
        use fs_attributes::*;
        let mut info = FsInfo::default();
        assert_eq!(
            fs_attributes(&info, false, false) & FILE_SUPPORT_INTEGRITY_STREAMS,
            0
        );
        info.capabilities.integrity = true;
        assert_ne!(
            fs_attributes(&info, false, false) & FILE_SUPPORT_INTEGRITY_STREAMS,
            0
        );
    }
}
