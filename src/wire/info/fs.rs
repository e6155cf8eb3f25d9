//! File system information classes (MS-FSCC 2.5) returned by QUERY_INFO with InfoType
//! SMB2_0_INFO_FILESYSTEM: FileFsVolumeInformation (2.5.9), FileFsSizeInformation (2.5.8),
//! FileFsFullSizeInformation (2.5.4), FileFsDeviceInformation (2.5.10),
//! FileFsAttributeInformation (2.5.1), FileFsSectorSizeInformation (2.5.7) and
//! FileFsObjectIdInformation (2.5.6).

use super::{utf16_len_u32, Reader};
use crate::wire::{put_utf16le, BytesMut, Result};
use bytes::BufMut;

/// FileSystemAttributes bits of FILE_FS_ATTRIBUTE_INFORMATION (MS-FSCC 2.5.1).
pub mod fs_attributes {
    /// FILE_CASE_SENSITIVE_SEARCH
    pub const FILE_CASE_SENSITIVE_SEARCH: u32 = 0x0000_0001;
    /// FILE_CASE_PRESERVED_NAMES
    pub const FILE_CASE_PRESERVED_NAMES: u32 = 0x0000_0002;
    /// FILE_UNICODE_ON_DISK
    pub const FILE_UNICODE_ON_DISK: u32 = 0x0000_0004;
    /// FILE_PERSISTENT_ACLS
    pub const FILE_PERSISTENT_ACLS: u32 = 0x0000_0008;
    /// FILE_FILE_COMPRESSION
    pub const FILE_FILE_COMPRESSION: u32 = 0x0000_0010;
    /// FILE_VOLUME_QUOTAS
    pub const FILE_VOLUME_QUOTAS: u32 = 0x0000_0020;
    /// FILE_SUPPORTS_SPARSE_FILES
    pub const FILE_SUPPORTS_SPARSE_FILES: u32 = 0x0000_0040;
    /// FILE_SUPPORTS_REPARSE_POINTS
    pub const FILE_SUPPORTS_REPARSE_POINTS: u32 = 0x0000_0080;
    /// FILE_SUPPORTS_REMOTE_STORAGE
    pub const FILE_SUPPORTS_REMOTE_STORAGE: u32 = 0x0000_0100;
    /// FILE_RETURNS_CLEANUP_RESULT_INFO
    pub const FILE_RETURNS_CLEANUP_RESULT_INFO: u32 = 0x0000_0200;
    /// FILE_SUPPORTS_POSIX_UNLINK_RENAME
    pub const FILE_SUPPORTS_POSIX_UNLINK_RENAME: u32 = 0x0000_0400;
    /// FILE_VOLUME_IS_COMPRESSED
    pub const FILE_VOLUME_IS_COMPRESSED: u32 = 0x0000_8000;
    /// FILE_SUPPORTS_OBJECT_IDS
    pub const FILE_SUPPORTS_OBJECT_IDS: u32 = 0x0001_0000;
    /// FILE_SUPPORTS_ENCRYPTION
    pub const FILE_SUPPORTS_ENCRYPTION: u32 = 0x0002_0000;
    /// FILE_NAMED_STREAMS
    pub const FILE_NAMED_STREAMS: u32 = 0x0004_0000;
    /// FILE_READ_ONLY_VOLUME
    pub const FILE_READ_ONLY_VOLUME: u32 = 0x0008_0000;
    /// FILE_SEQUENTIAL_WRITE_ONCE
    pub const FILE_SEQUENTIAL_WRITE_ONCE: u32 = 0x0010_0000;
    /// FILE_SUPPORTS_TRANSACTIONS
    pub const FILE_SUPPORTS_TRANSACTIONS: u32 = 0x0020_0000;
    /// FILE_SUPPORTS_HARD_LINKS
    pub const FILE_SUPPORTS_HARD_LINKS: u32 = 0x0040_0000;
    /// FILE_SUPPORTS_EXTENDED_ATTRIBUTES
    pub const FILE_SUPPORTS_EXTENDED_ATTRIBUTES: u32 = 0x0080_0000;
    /// FILE_SUPPORTS_OPEN_BY_FILE_ID
    pub const FILE_SUPPORTS_OPEN_BY_FILE_ID: u32 = 0x0100_0000;
    /// FILE_SUPPORTS_USN_JOURNAL
    pub const FILE_SUPPORTS_USN_JOURNAL: u32 = 0x0200_0000;
    /// FILE_SUPPORT_INTEGRITY_STREAMS
    pub const FILE_SUPPORT_INTEGRITY_STREAMS: u32 = 0x0400_0000;
    /// FILE_SUPPORTS_BLOCK_REFCOUNTING
    pub const FILE_SUPPORTS_BLOCK_REFCOUNTING: u32 = 0x0800_0000;
    /// FILE_SUPPORTS_SPARSE_VDL
    pub const FILE_SUPPORTS_SPARSE_VDL: u32 = 0x1000_0000;
    /// FILE_DAX_VOLUME
    pub const FILE_DAX_VOLUME: u32 = 0x2000_0000;
    /// FILE_SUPPORTS_GHOSTING
    pub const FILE_SUPPORTS_GHOSTING: u32 = 0x4000_0000;
}

/// DeviceType FILE_DEVICE_DISK (MS-FSCC 2.5.10).
pub const FILE_DEVICE_DISK: u32 = 0x0000_0007;
/// DeviceType FILE_DEVICE_CD_ROM.
pub const FILE_DEVICE_CD_ROM: u32 = 0x0000_0002;
/// Characteristics FILE_REMOVABLE_MEDIA.
pub const FILE_REMOVABLE_MEDIA: u32 = 0x0000_0001;
/// Characteristics FILE_READ_ONLY_DEVICE.
pub const FILE_READ_ONLY_DEVICE: u32 = 0x0000_0002;
/// Characteristics FILE_REMOTE_DEVICE.
pub const FILE_REMOTE_DEVICE: u32 = 0x0000_0010;
/// Characteristics FILE_DEVICE_IS_MOUNTED.
pub const FILE_DEVICE_IS_MOUNTED: u32 = 0x0000_0020;

/// FILE_FS_VOLUME_INFORMATION (MS-FSCC 2.5.9): 18 fixed bytes then VolumeLabel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFsVolumeInformation {
    /// VolumeCreationTime (FILETIME)
    pub volume_creation_time: u64,
    /// VolumeSerialNumber
    pub volume_serial_number: u32,
    /// SupportsObjects
    pub supports_objects: bool,
    /// VolumeLabel
    pub volume_label: String,
}

impl FileFsVolumeInformation {
    /// Size of the fixed part.
    pub const LEN: usize = 18;
    /// Appends the structure.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        out.put_u64_le(self.volume_creation_time);
        out.put_u32_le(self.volume_serial_number);
        out.put_u32_le(utf16_len_u32(&self.volume_label)?);
        out.put_u8(self.supports_objects as u8);
        out.put_u8(0);
        put_utf16le(out, &self.volume_label);
        Ok(())
    }
    /// Decodes the structure at the start of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let volume_creation_time = r.u64()?;
        let volume_serial_number = r.u32()?;
        let n = r.u32()? as usize;
        let supports_objects = r.u8()? != 0;
        r.skip(1)?;
        Ok(FileFsVolumeInformation {
            volume_creation_time,
            volume_serial_number,
            supports_objects,
            volume_label: r.utf16(n)?,
        })
    }
}

/// FILE_FS_SIZE_INFORMATION (MS-FSCC 2.5.8): 24 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileFsSizeInformation {
    /// TotalAllocationUnits
    pub total_allocation_units: u64,
    /// AvailableAllocationUnits
    pub available_allocation_units: u64,
    /// SectorsPerAllocationUnit
    pub sectors_per_allocation_unit: u32,
    /// BytesPerSector
    pub bytes_per_sector: u32,
}

impl FileFsSizeInformation {
    /// Size on the wire.
    pub const LEN: usize = 24;
    /// Appends 24 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u64_le(self.total_allocation_units);
        out.put_u64_le(self.available_allocation_units);
        out.put_u32_le(self.sectors_per_allocation_unit);
        out.put_u32_le(self.bytes_per_sector);
    }
    /// Decodes the first 24 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileFsSizeInformation {
            total_allocation_units: r.u64()?,
            available_allocation_units: r.u64()?,
            sectors_per_allocation_unit: r.u32()?,
            bytes_per_sector: r.u32()?,
        })
    }
}

/// FILE_FS_FULL_SIZE_INFORMATION (MS-FSCC 2.5.4): 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileFsFullSizeInformation {
    /// TotalAllocationUnits
    pub total_allocation_units: u64,
    /// CallerAvailableAllocationUnits (after the caller's quota)
    pub caller_available_allocation_units: u64,
    /// ActualAvailableAllocationUnits
    pub actual_available_allocation_units: u64,
    /// SectorsPerAllocationUnit
    pub sectors_per_allocation_unit: u32,
    /// BytesPerSector
    pub bytes_per_sector: u32,
}

impl FileFsFullSizeInformation {
    /// Size on the wire.
    pub const LEN: usize = 32;
    /// Appends 32 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u64_le(self.total_allocation_units);
        out.put_u64_le(self.caller_available_allocation_units);
        out.put_u64_le(self.actual_available_allocation_units);
        out.put_u32_le(self.sectors_per_allocation_unit);
        out.put_u32_le(self.bytes_per_sector);
    }
    /// Decodes the first 32 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileFsFullSizeInformation {
            total_allocation_units: r.u64()?,
            caller_available_allocation_units: r.u64()?,
            actual_available_allocation_units: r.u64()?,
            sectors_per_allocation_unit: r.u32()?,
            bytes_per_sector: r.u32()?,
        })
    }
}

/// FILE_FS_DEVICE_INFORMATION (MS-FSCC 2.5.10): 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileFsDeviceInformation {
    /// DeviceType (e.g. [`FILE_DEVICE_DISK`])
    pub device_type: u32,
    /// Characteristics (e.g. [`FILE_DEVICE_IS_MOUNTED`])
    pub characteristics: u32,
}

impl FileFsDeviceInformation {
    /// Size on the wire.
    pub const LEN: usize = 8;
    /// Appends 8 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u32_le(self.device_type);
        out.put_u32_le(self.characteristics);
    }
    /// Decodes the first 8 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileFsDeviceInformation {
            device_type: r.u32()?,
            characteristics: r.u32()?,
        })
    }
}

/// FILE_FS_ATTRIBUTE_INFORMATION (MS-FSCC 2.5.1): 12 fixed bytes then FileSystemName.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFsAttributeInformation {
    /// FileSystemAttributes ([`fs_attributes`])
    pub file_system_attributes: u32,
    /// MaximumComponentNameLength (usually 255)
    pub maximum_component_name_length: u32,
    /// FileSystemName (e.g. "NTFS")
    pub file_system_name: String,
}

impl FileFsAttributeInformation {
    /// Size of the fixed part.
    pub const LEN: usize = 12;
    /// Appends the structure.
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        out.put_u32_le(self.file_system_attributes);
        out.put_u32_le(self.maximum_component_name_length);
        out.put_u32_le(utf16_len_u32(&self.file_system_name)?);
        put_utf16le(out, &self.file_system_name);
        Ok(())
    }
    /// Decodes the structure at the start of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        let file_system_attributes = r.u32()?;
        let maximum_component_name_length = r.u32()?;
        let n = r.u32()? as usize;
        Ok(FileFsAttributeInformation {
            file_system_attributes,
            maximum_component_name_length,
            file_system_name: r.utf16(n)?,
        })
    }
}

/// Flags of FILE_FS_SECTOR_SIZE_INFORMATION: SSINFO_FLAGS_ALIGNED_DEVICE.
pub const SSINFO_FLAGS_ALIGNED_DEVICE: u32 = 0x0000_0001;
/// SSINFO_FLAGS_PARTITION_ALIGNED_ON_DEVICE.
pub const SSINFO_FLAGS_PARTITION_ALIGNED_ON_DEVICE: u32 = 0x0000_0002;
/// SSINFO_FLAGS_NO_SEEK_PENALTY.
pub const SSINFO_FLAGS_NO_SEEK_PENALTY: u32 = 0x0000_0004;
/// SSINFO_FLAGS_TRIM_ENABLED.
pub const SSINFO_FLAGS_TRIM_ENABLED: u32 = 0x0000_0008;
/// SSINFO_OFFSET_UNKNOWN: value of the ByteOffsetFor* fields when unknown.
pub const SSINFO_OFFSET_UNKNOWN: u32 = 0xFFFF_FFFF;

/// FILE_FS_SECTOR_SIZE_INFORMATION (MS-FSCC 2.5.7): 28 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileFsSectorSizeInformation {
    /// LogicalBytesPerSector
    pub logical_bytes_per_sector: u32,
    /// PhysicalBytesPerSectorForAtomicity
    pub physical_bytes_per_sector_for_atomicity: u32,
    /// PhysicalBytesPerSectorForPerformance
    pub physical_bytes_per_sector_for_performance: u32,
    /// FileSystemEffectivePhysicalBytesPerSectorForAtomicity
    pub file_system_effective_physical_bytes_per_sector_for_atomicity: u32,
    /// Flags (SSINFO_FLAGS_*)
    pub flags: u32,
    /// ByteOffsetForSectorAlignment
    pub byte_offset_for_sector_alignment: u32,
    /// ByteOffsetForPartitionAlignment
    pub byte_offset_for_partition_alignment: u32,
}

impl FileFsSectorSizeInformation {
    /// Size on the wire.
    pub const LEN: usize = 28;
    /// Appends 28 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        for v in [
            self.logical_bytes_per_sector,
            self.physical_bytes_per_sector_for_atomicity,
            self.physical_bytes_per_sector_for_performance,
            self.file_system_effective_physical_bytes_per_sector_for_atomicity,
            self.flags,
            self.byte_offset_for_sector_alignment,
            self.byte_offset_for_partition_alignment,
        ] {
            out.put_u32_le(v);
        }
    }
    /// Decodes the first 28 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileFsSectorSizeInformation {
            logical_bytes_per_sector: r.u32()?,
            physical_bytes_per_sector_for_atomicity: r.u32()?,
            physical_bytes_per_sector_for_performance: r.u32()?,
            file_system_effective_physical_bytes_per_sector_for_atomicity: r.u32()?,
            flags: r.u32()?,
            byte_offset_for_sector_alignment: r.u32()?,
            byte_offset_for_partition_alignment: r.u32()?,
        })
    }
}

/// FILE_FS_OBJECTID_INFORMATION (MS-FSCC 2.5.6): ObjectId (16) and ExtendedInfo (48).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFsObjectIdInformation {
    /// ObjectId (a GUID identifying the volume)
    pub object_id: [u8; 16],
    /// ExtendedInfo
    pub extended_info: [u8; 48],
}

impl Default for FileFsObjectIdInformation {
    fn default() -> Self {
        FileFsObjectIdInformation {
            object_id: [0; 16],
            extended_info: [0; 48],
        }
    }
}

impl FileFsObjectIdInformation {
    /// Size on the wire.
    pub const LEN: usize = 64;
    /// Appends 64 bytes.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&self.object_id);
        out.put_slice(&self.extended_info);
    }
    /// Decodes the first 64 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<Self> {
        let mut r = Reader::new(b);
        Ok(FileFsObjectIdInformation {
            object_id: r.array()?,
            extended_info: r.array()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Error;
    use proptest::prelude::*;

    #[test]
    fn attribute_information_layout() {
        let v = FileFsAttributeInformation {
            file_system_attributes: fs_attributes::FILE_CASE_PRESERVED_NAMES
                | fs_attributes::FILE_UNICODE_ON_DISK,
            maximum_component_name_length: 255,
            file_system_name: "NTFS".into(),
        };
        let mut out = BytesMut::new();
        v.encode(&mut out).unwrap();
        assert_eq!(
            &out[..],
            &[6, 0, 0, 0, 255, 0, 0, 0, 8, 0, 0, 0, b'N', 0, b'T', 0, b'F', 0, b'S', 0]
        );
        assert_eq!(FileFsAttributeInformation::decode(&out).unwrap(), v);
    }

    #[test]
    fn volume_layout_and_refusal() {
        let v = FileFsVolumeInformation {
            volume_creation_time: 1,
            volume_serial_number: 2,
            supports_objects: false,
            volume_label: "ab".into(),
        };
        let mut out = BytesMut::new();
        v.encode(&mut out).unwrap();
        assert_eq!(out.len(), 18 + 4);
        assert_eq!(&out[12..16], &4u32.to_le_bytes());
        let mut b = out.to_vec();
        b[12] = 6;
        assert_eq!(FileFsVolumeInformation::decode(&b), Err(Error::Truncated));
    }

    proptest! {
        #[test]
        fn round_trips(u in any::<[u32; 7]>(), t in any::<[u64; 3]>(), s in ".{0,16}", z in any::<bool>(),
                       id in any::<[u8; 16]>(), ext in proptest::collection::vec(any::<u8>(), 48)) {
            let v = FileFsVolumeInformation { volume_creation_time: t[0], volume_serial_number: u[0],
                supports_objects: z, volume_label: s.clone() };
            let mut o = BytesMut::new();
            v.encode(&mut o).unwrap();
            prop_assert_eq!(FileFsVolumeInformation::decode(&o).unwrap(), v);
            let v = FileFsSizeInformation { total_allocation_units: t[0], available_allocation_units: t[1],
                sectors_per_allocation_unit: u[0], bytes_per_sector: u[1] };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(o.len(), FileFsSizeInformation::LEN);
            prop_assert_eq!(FileFsSizeInformation::decode(&o).unwrap(), v);
            let v = FileFsFullSizeInformation { total_allocation_units: t[0],
                caller_available_allocation_units: t[1], actual_available_allocation_units: t[2],
                sectors_per_allocation_unit: u[0], bytes_per_sector: u[1] };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(o.len(), FileFsFullSizeInformation::LEN);
            prop_assert_eq!(FileFsFullSizeInformation::decode(&o).unwrap(), v);
            let v = FileFsDeviceInformation { device_type: u[0], characteristics: u[1] };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(FileFsDeviceInformation::decode(&o).unwrap(), v);
            let v = FileFsAttributeInformation { file_system_attributes: u[2],
                maximum_component_name_length: u[3], file_system_name: s };
            let mut o = BytesMut::new();
            v.encode(&mut o).unwrap();
            prop_assert_eq!(FileFsAttributeInformation::decode(&o).unwrap(), v);
            let v = FileFsSectorSizeInformation { logical_bytes_per_sector: u[0],
                physical_bytes_per_sector_for_atomicity: u[1], physical_bytes_per_sector_for_performance: u[2],
                file_system_effective_physical_bytes_per_sector_for_atomicity: u[3], flags: u[4],
                byte_offset_for_sector_alignment: u[5], byte_offset_for_partition_alignment: u[6] };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(o.len(), FileFsSectorSizeInformation::LEN);
            prop_assert_eq!(FileFsSectorSizeInformation::decode(&o).unwrap(), v);
            let mut extended_info = [0u8; 48];
            extended_info.copy_from_slice(&ext);
            let v = FileFsObjectIdInformation { object_id: id, extended_info };
            let mut o = BytesMut::new();
            v.encode(&mut o);
            prop_assert_eq!(FileFsObjectIdInformation::decode(&o).unwrap(), v);
        }

        #[test]
        fn decoders_never_panic(b in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = FileFsVolumeInformation::decode(&b);
            let _ = FileFsSizeInformation::decode(&b);
            let _ = FileFsFullSizeInformation::decode(&b);
            let _ = FileFsDeviceInformation::decode(&b);
            let _ = FileFsAttributeInformation::decode(&b);
            let _ = FileFsSectorSizeInformation::decode(&b);
            let _ = FileFsObjectIdInformation::decode(&b);
        }
    }
}
