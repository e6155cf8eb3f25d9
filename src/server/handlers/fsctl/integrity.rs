//! FSCTL_GET_INTEGRITY_INFORMATION / FSCTL_SET_INTEGRITY_INFORMATION (MS-FSA 2.1.5.10.10,
//! 2.1.5.10.33; MS-FSCC 2.3.19-2.3.20, 2.3.73-2.3.74) on shares whose file system checksums
//! file data (btrfs, probed at share start: [`crate::vfs::integrity`]). A file is reported
//! CHECKSUM_TYPE_CRC64 while btrfs checksums its data (not NOCOW) — btrfs's own checksum
//! (crc32c by default) stands for ReFS's CRC64 — and CHECKSUM_TYPE_NONE when it is NOCOW.
//! ChecksumChunkSizeInBytes and ClusterSizeInBytes are the file system block size (btrfs
//! checksums each sector). Elsewhere both fail with STATUS_INVALID_DEVICE_REQUEST, the
//! "optional functionality not implemented" status of MS-FSA (as NTFS answers).
//!
//! SET follows MS-FSA 2.1.5.10.33: a short input buffer, an undefined ChecksumAlgorithm or bad
//! Flags fail with STATUS_INVALID_PARAMETER; a read-only share with
//! STATUS_MEDIA_WRITE_PROTECTED. It needs FILE_WRITE_DATA (as FSCTL_SET_COMPRESSION on
//! Windows). btrfs cannot do two things ReFS can, and rsmbd says so with STATUS_NOT_SUPPORTED
//! (MS-FSCC 2.3.74's status for a file whose integrity cannot change) rather than pretend:
//! changing the state of a non-empty file (btrfs flips NOCOW only on empty files), and
//! FSCTL_INTEGRITY_FLAG_CHECKSUM_ENFORCEMENT_OFF (btrfs always verifies). A compressed file
//! cannot become NOCOW either, nor a named stream (kept in always-checksummed metadata); both
//! STATUS_NOT_SUPPORTED. FSCTL_SET_INTEGRITY_INFORMATION_EX stays
//! STATUS_INVALID_DEVICE_REQUEST.
use super::super::files;
use crate::server::file_state::FILE_WRITE_DATA;
use crate::server::open::{FileOpen, Open};
use crate::vfs::integrity::SetOutcome;
use crate::wire::fsctl::integrity::*;
use crate::wire::ioctl::IoctlRequest;
use crate::wire::{BytesMut, NtStatus};

/// CHECKSUM_TYPE_CRC32 (MS-FSCC 2.3.73, ReFS v2): accepted as "integrity on" too.
const CHECKSUM_TYPE_CRC32: u16 = 0x0001;

/// The share's integrity capability and block size; INVALID_DEVICE_REQUEST without it.
async fn volume(open: &Open) -> Result<u32, NtStatus> {
    let vfs = crate::server::handlers::info::vfs_of(open)?;
    let info = files::blocking(move || vfs.fs_info())
        .await?
        .map_err(|e| e.status())?;
    if !info.capabilities.integrity {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    Ok(u32::try_from(info.block_size.clamp(512, 1 << 30)).unwrap_or(4096))
}

/// Current state of the file: true when its data is checksummed.
async fn checksummed(file: &FileOpen) -> Result<bool, NtStatus> {
    let h = file.handle.clone();
    files::blocking(move || crate::vfs::integrity::checksummed(&*h))
        .await?
        .map_err(|e| e.status())
}

/// FSCTL_GET_INTEGRITY_INFORMATION (MS-FSA 2.1.5.10.10): the 16-byte
/// FSCTL_GET_INTEGRITY_INFORMATION_BUFFER, for files and directories.
pub(super) async fn get(
    open: &Open,
    file: &FileOpen,
    req: &IoctlRequest,
) -> Result<Vec<u8>, NtStatus> {
    let block = volume(open).await?;
    if (req.max_output_response as usize) < FsctlGetIntegrityInformationBuffer::LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let on = checksummed(file).await?;
    let reply = FsctlGetIntegrityInformationBuffer {
        checksum_algorithm: if on {
            CHECKSUM_TYPE_CRC64
        } else {
            CHECKSUM_TYPE_NONE
        },
        flags: 0,
        checksum_chunk_size_in_bytes: block,
        cluster_size_in_bytes: block,
    };
    let mut b = BytesMut::with_capacity(FsctlGetIntegrityInformationBuffer::LEN);
    reply.encode(&mut b);
    Ok(b.to_vec())
}

/// What a SET asks for, after MS-FSA 2.1.5.10.33's parameter checks: `Some(on)` to change,
/// `None` to keep the state. `current` is the file's state (needed for UNCHANGED + flag).
fn requested(input: &[u8], current: bool) -> Result<Option<bool>, NtStatus> {
    let b = FsctlSetIntegrityInformationBuffer::decode(input)
        .map_err(|_| NtStatus::INVALID_PARAMETER)?;
    let off = b.flags & FSCTL_INTEGRITY_FLAG_CHECKSUM_ENFORCEMENT_OFF != 0;
    if b.flags & !FSCTL_INTEGRITY_FLAG_CHECKSUM_ENFORCEMENT_OFF != 0 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let want = match b.checksum_algorithm {
        CHECKSUM_TYPE_NONE if off => return Err(NtStatus::INVALID_PARAMETER),
        CHECKSUM_TYPE_NONE => Some(false),
        CHECKSUM_TYPE_CRC32 | CHECKSUM_TYPE_CRC64 => Some(true),
        CHECKSUM_TYPE_UNCHANGED if off && !current => return Err(NtStatus::INVALID_PARAMETER),
        CHECKSUM_TYPE_UNCHANGED => None,
        _ => return Err(NtStatus::INVALID_PARAMETER),
    };
    if off {
        // btrfs always verifies checksums: enforcement cannot be switched off.
        return Err(NtStatus::NOT_SUPPORTED);
    }
    Ok(want)
}

/// FSCTL_SET_INTEGRITY_INFORMATION (MS-FSA 2.1.5.10.33): NONE sets FS_NOCOW_FL, CRC64 (or
/// CRC32) clears it, UNCHANGED keeps it; see the module doc for what btrfs refuses.
pub(super) async fn set(open: &Open, file: &FileOpen, req: &IoctlRequest) -> Result<(), NtStatus> {
    volume(open).await?;
    if req.input.len() < FsctlSetIntegrityInformationBuffer::LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let current = checksummed(file).await?;
    let want = requested(&req.input, current)?;
    if open.tree.share.config.read_only {
        return Err(NtStatus::MEDIA_WRITE_PROTECTED);
    }
    if open.granted_access & FILE_WRITE_DATA == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let Some(on) = want else { return Ok(()) };
    let h = file.handle.clone();
    match files::blocking(move || crate::vfs::integrity::set_checksummed(&*h, on))
        .await?
        .map_err(|e| e.status())?
    {
        SetOutcome::Done => Ok(()),
        SetOutcome::NotEmpty | SetOutcome::Compressed | SetOutcome::Metadata => {
            Err(NtStatus::NOT_SUPPORTED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(alg: u16, flags: u32) -> Vec<u8> {
        let mut b = BytesMut::new();
        FsctlSetIntegrityInformationBuffer {
            checksum_algorithm: alg,
            flags,
        }
        .encode(&mut b);
        b.to_vec()
    }

    #[test]
    fn set_parameters_follow_ms_fsa() {
        assert_eq!(requested(&input(0, 0), true), Ok(Some(false)));
        assert_eq!(requested(&input(2, 0), false), Ok(Some(true)));
        assert_eq!(requested(&input(1, 0), false), Ok(Some(true)));
        assert_eq!(requested(&input(0xFFFF, 0), true), Ok(None));
        let bad = Err(NtStatus::INVALID_PARAMETER);
        assert_eq!(requested(&input(3, 0), true), bad);
        assert_eq!(requested(&input(2, 2), true), bad);
        assert_eq!(requested(&input(0, 1), true), bad);
        assert_eq!(requested(&input(0xFFFF, 1), false), bad);
        assert_eq!(requested(&input(0, 0)[..7], true), bad);
        assert_eq!(requested(&input(2, 1), true), Err(NtStatus::NOT_SUPPORTED));
        assert_eq!(
            requested(&input(0xFFFF, 1), true),
            Err(NtStatus::NOT_SUPPORTED)
        );
    }
}
