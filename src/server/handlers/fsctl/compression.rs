//! FSCTL_GET_COMPRESSION / FSCTL_SET_COMPRESSION (MS-FSA 2.1.5.9.7, 2.1.5.9.30; MS-FSCC
//! 2.3.67-2.3.68). Compression is the file system's (btrfs FS_COMPR_FL, see
//! [`crate::vfs::compress`]): a file reports COMPRESSION_FORMAT_LZNT1 while the flag is set.
//! On a share whose file system cannot compress, files report COMPRESSION_FORMAT_NONE and only
//! NONE may be set (as Windows on a file system without compression).
use super::super::files;
use crate::server::file_state::FILE_WRITE_DATA;
use crate::server::open::{FileOpen, Open};
use crate::wire::ioctl::IoctlRequest;
use crate::wire::NtStatus;

/// FSCTL_GET_COMPRESSION (MS-FSA 2.1.5.9.7): COMPRESSION_FORMAT_LZNT1 when the file system
/// compresses the file (FS_COMPR_FL, see vfs::compress), else COMPRESSION_FORMAT_NONE (as
/// Windows on a file system without compression).
pub(super) async fn get(file: &FileOpen, req: &IoctlRequest) -> Result<Vec<u8>, NtStatus> {
    if req.max_output_response < 2 {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let h = file.handle.clone();
    let st = files::blocking(move || h.stat())
        .await?
        .map_err(|e| e.status())?;
    let format: u16 = if st.attributes & crate::vfs::FILE_ATTRIBUTE_COMPRESSED != 0 {
        COMPRESSION_FORMAT_LZNT1
    } else {
        0
    };
    Ok(format.to_le_bytes().to_vec())
}

/// COMPRESSION_FORMAT_DEFAULT (MS-FSCC 2.3.67).
const COMPRESSION_FORMAT_DEFAULT: u16 = 1;
/// COMPRESSION_FORMAT_LZNT1.
const COMPRESSION_FORMAT_LZNT1: u16 = 2;

/// FSCTL_SET_COMPRESSION (MS-FSA 2.1.5.9.30): NONE clears, DEFAULT/LZNT1 set the file
/// system's compression flag on files and directories; without compression on the share only
/// NONE succeeds (NOT_SUPPORTED otherwise).
pub(super) async fn set(open: &Open, file: &FileOpen, req: &IoctlRequest) -> Result<(), NtStatus> {
    let f = req.input.get(..2).ok_or(NtStatus::INVALID_PARAMETER)?;
    // Windows (and smbtorture's compress_perms) require FILE_WRITE_DATA; MS-FSA 2.1.5.9.30
    // also lists FILE_WRITE_ATTRIBUTES, which Windows does not accept alone.
    if open.granted_access & FILE_WRITE_DATA == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let on = match u16::from_le_bytes([f[0], f[1]]) {
        0 => false,
        COMPRESSION_FORMAT_DEFAULT | COMPRESSION_FORMAT_LZNT1 => true,
        _ => return Err(NtStatus::INVALID_PARAMETER),
    };
    let vfs = crate::server::handlers::info::vfs_of(open)?;
    let capable = files::blocking(move || vfs.fs_info())
        .await?
        .map_err(|e| e.status())?
        .capabilities
        .compression;
    if !capable {
        return if on {
            Err(NtStatus::NOT_SUPPORTED)
        } else {
            Ok(())
        };
    }
    let h = file.handle.clone();
    files::blocking(move || crate::vfs::compress::set_compressed(&*h, on))
        .await?
        .map_err(|e| e.status())
}
