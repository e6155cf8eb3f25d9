//! FSCTLs on files and directories (MS-SMB2 3.3.5.15, MS-FSA 2.1.5.9, MS-FSCC 2.3):
//!
//! - FSCTL_SET_SPARSE (MS-FSA 2.1.5.9.33), FSCTL_SET_ZERO_DATA (2.1.5.9.37, a punched hole),
//!   FSCTL_QUERY_ALLOCATED_RANGES (2.1.5.9.22; STATUS_BUFFER_OVERFLOW with the ranges that fit
//!   when the output is too small; a non-sparse file reports one range up to end of file);
//! - FSCTL_GET_REPARSE_POINT: rsmbd stores no reparse points (STATUS_NOT_A_REPARSE_POINT);
//! - FSCTL_CREATE_OR_GET_OBJECT_ID / FSCTL_GET_OBJECT_ID (2.1.5.9.1, 2.1.5.9.10): a stable
//!   FILE_OBJECTID_BUFFER derived from (device, inode);
//! - FSCTL_SRV_ENUMERATE_SNAPSHOTS (MS-SMB2 3.3.5.15.1): no snapshots;
//! - FSCTL_FILE_LEVEL_TRIM (MS-FSA 2.1.5.10.6) in [`trim`]: punches holes;
//! - FSCTL_IS_PATHNAME_VALID (accepted);
//! - FSCTL_SRV_REQUEST_RESUME_KEY, FSCTL_SRV_COPYCHUNK[_WRITE] (MS-SMB2 3.3.5.15.5/.6), in
//!   [`copychunk`];
//! - FSCTL_DUPLICATE_EXTENTS_TO_FILE[_EX] (MS-SMB2 3.3.5.15.17/18, block cloning by reflink)
//!   in [`duplicate_extents`];
//! - FSCTL_GET/SET_INTEGRITY_INFORMATION (MS-FSA 2.1.5.10.10/.33): btrfs data checksums
//!   (on unless NOCOW) on shares whose file system has them, in [`integrity`]; elsewhere, and
//!   _EX always, STATUS_INVALID_DEVICE_REQUEST as on NTFS (optional functionality);
//! - FSCTL_GET/SET_COMPRESSION (MS-FSA 2.1.5.9.7/.30): the file system's compression flag
//!   where it has one (btrfs), in [`compression`];
//! - FSCTL_QUERY_NETWORK_INTERFACE_INFO (MS-SMB2 3.3.5.15.11) via [`network_interfaces`],
//!   answered on any tree (IPC$ included);
//! - everything else: STATUS_INVALID_DEVICE_REQUEST.
mod compression;
mod copychunk;
mod duplicate_extents;
mod integrity;
mod offload;
mod trim;

use super::files;
use super::ioctl::ioctl_reply;
use crate::server::dispatch::{Ctx, Reply};
use crate::server::file_state::{FILE_APPEND_DATA, FILE_READ_DATA, FILE_WRITE_DATA};
use crate::server::open::{FileOpen, Open};
use crate::vfs::{FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_SPARSE_FILE};
use crate::wire::fsctl::network_interface::NetworkInterfaceInfo;
use crate::wire::fsctl::sparse::{
    FileAllocatedRangeBuffer, FileSetSparseBuffer, FileZeroDataInformation,
};
use crate::wire::fsctl::*;
use crate::wire::ioctl::IoctlRequest;
use crate::wire::{Bytes, BytesMut, NtStatus};
use std::sync::Arc;

/// FILE_WRITE_ATTRIBUTES.
const FILE_WRITE_ATTRIBUTES: u32 = 0x0100;
/// Size of FILE_OBJECTID_BUFFER (MS-FSCC 2.1.3).
const OBJECT_ID_LEN: usize = 64;

/// Runs an FSCTL on a file or directory open.
pub async fn handle(ctx: &Ctx, open: Arc<Open>, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    let file = open.file().ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
    let out = |status: NtStatus, data: Vec<u8>| {
        Ok(ioctl_reply(status, req, open.file_id, Bytes::from(data)))
    };
    match req.ctl_code {
        FSCTL_SET_SPARSE => {
            set_sparse(&open, file, &req.input).await?;
            out(NtStatus::SUCCESS, vec![])
        }
        FSCTL_SET_ZERO_DATA => {
            zero_data(&open, file, &req.input).await?;
            out(NtStatus::SUCCESS, vec![])
        }
        FSCTL_QUERY_ALLOCATED_RANGES => {
            let (status, data) = allocated_ranges(&open, file, req).await?;
            out(status, data)
        }
        FSCTL_GET_REPARSE_POINT => Err(NtStatus::NOT_A_REPARSE_POINT),
        FSCTL_CREATE_OR_GET_OBJECT_ID | FSCTL_GET_OBJECT_ID => {
            if (req.max_output_response as usize) < OBJECT_ID_LEN {
                return Err(NtStatus::BUFFER_TOO_SMALL);
            }
            let h = file.handle.clone();
            let st = files::blocking(move || h.stat())
                .await?
                .map_err(|e| e.status())?;
            out(NtStatus::SUCCESS, object_id(st.dev, st.file_id).to_vec())
        }
        FSCTL_SRV_ENUMERATE_SNAPSHOTS => {
            if req.max_output_response < 16 {
                return Err(NtStatus::INVALID_PARAMETER);
            }
            // NumberOfSnapShots 0, NumberOfSnapShotsReturned 0, SnapShotArraySize 2 (an
            // empty MULTI_SZ), and the two terminating NULs.
            let mut b = vec![0u8; 16];
            b[8] = 2;
            out(NtStatus::SUCCESS, b)
        }
        FSCTL_IS_PATHNAME_VALID => out(NtStatus::SUCCESS, vec![]),
        FSCTL_FILE_LEVEL_TRIM => out(NtStatus::SUCCESS, trim::trim(&open, file, req).await?),
        FSCTL_SRV_REQUEST_RESUME_KEY => copychunk::resume_key(ctx, &open, req),
        FSCTL_SRV_COPYCHUNK | FSCTL_SRV_COPYCHUNK_WRITE => {
            copychunk::copychunk(ctx, &open, req).await
        }
        FSCTL_DUPLICATE_EXTENTS_TO_FILE | FSCTL_DUPLICATE_EXTENTS_TO_FILE_EX => {
            duplicate_extents::duplicate_extents(ctx, &open, req).await?;
            out(NtStatus::SUCCESS, vec![])
        }
        FSCTL_GET_INTEGRITY_INFORMATION => {
            out(NtStatus::SUCCESS, integrity::get(&open, file, req).await?)
        }
        FSCTL_SET_INTEGRITY_INFORMATION => {
            integrity::set(&open, file, req).await?;
            out(NtStatus::SUCCESS, vec![])
        }
        FSCTL_SET_INTEGRITY_INFORMATION_EX => Err(NtStatus::INVALID_DEVICE_REQUEST),
        FSCTL_QUERY_NETWORK_INTERFACE_INFO => network_interfaces(ctx, req).await,
        FSCTL_OFFLOAD_READ | FSCTL_OFFLOAD_WRITE => offload::handle(ctx, &open, req).await,
        FSCTL_GET_COMPRESSION => out(NtStatus::SUCCESS, compression::get(file, req).await?),
        FSCTL_SET_COMPRESSION => {
            compression::set(&open, file, req).await?;
            out(NtStatus::SUCCESS, vec![])
        }
        _ => Err(NtStatus::INVALID_DEVICE_REQUEST),
    }
}

/// FILE_OBJECTID_BUFFER for a file: ObjectId = (device, inode), BirthVolumeId = device,
/// BirthObjectId = ObjectId, DomainId zero.
fn object_id(dev: u64, ino: u64) -> [u8; OBJECT_ID_LEN] {
    let mut b = [0u8; OBJECT_ID_LEN];
    b[0..8].copy_from_slice(&dev.to_le_bytes());
    b[8..16].copy_from_slice(&ino.to_le_bytes());
    b[16..24].copy_from_slice(&dev.to_le_bytes());
    b.copy_within(0..16, 32);
    b
}

/// FSCTL_SET_SPARSE (MS-FSA 2.1.5.9.33).
async fn set_sparse(open: &Open, file: &FileOpen, input: &[u8]) -> Result<(), NtStatus> {
    if file.is_dir {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if open.granted_access & (FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES) == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let sparse = FileSetSparseBuffer::decode(input)
        .map_err(|_| NtStatus::INVALID_PARAMETER)?
        .set_sparse;
    let h = file.handle.clone();
    files::blocking(move || {
        let st = h.stat()?;
        let mut a = st.attributes & !FILE_ATTRIBUTE_NORMAL;
        if sparse {
            a |= FILE_ATTRIBUTE_SPARSE_FILE;
        } else {
            a &= !FILE_ATTRIBUTE_SPARSE_FILE;
        }
        if a == st.attributes & !FILE_ATTRIBUTE_NORMAL {
            return Ok(());
        }
        h.set_dos_attributes(if a == 0 { FILE_ATTRIBUTE_NORMAL } else { a })
    })
    .await?
    .map_err(|e| e.status())
}

/// FSCTL_SET_ZERO_DATA (MS-FSA 2.1.5.9.37): deallocates the range so it reads as zeros.
async fn zero_data(open: &Open, file: &FileOpen, input: &[u8]) -> Result<(), NtStatus> {
    if file.is_dir {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if input.len() < FileZeroDataInformation::LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let z = FileZeroDataInformation::decode(input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    if z.file_offset < 0 || z.beyond_final_zero < 0 || z.file_offset > z.beyond_final_zero {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if open.granted_access & FILE_WRITE_DATA == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let (off, len) = (
        z.file_offset as u64,
        (z.beyond_final_zero - z.file_offset) as u64,
    );
    if len == 0 {
        return Ok(());
    }
    if !file.state.io_allowed(open.file_id.volatile, off, len, true) {
        return Err(NtStatus::FILE_LOCK_CONFLICT);
    }
    let h = file.handle.clone();
    files::blocking(move || {
        let size = h.stat()?.size;
        if off >= size {
            return Ok(());
        }
        h.punch_hole(off, len.min(size - off))
    })
    .await?
    .map_err(|e| e.status())
}

/// FSCTL_QUERY_ALLOCATED_RANGES (MS-FSA 2.1.5.9.22).
async fn allocated_ranges(
    open: &Open,
    file: &FileOpen,
    req: &IoctlRequest,
) -> Result<(NtStatus, Vec<u8>), NtStatus> {
    if req.input.len() < FileAllocatedRangeBuffer::LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let q =
        FileAllocatedRangeBuffer::decode(&req.input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    if q.file_offset < 0 || q.length < 0 || q.file_offset.checked_add(q.length).is_none() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let max = req.max_output_response as usize / FileAllocatedRangeBuffer::LEN;
    if open.granted_access & FILE_READ_DATA == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if file.is_dir {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let (off, len) = (q.file_offset as u64, q.length as u64);
    let h = file.handle.clone();
    let ranges = files::blocking(move || {
        let st = h.stat()?;
        if st.attributes & FILE_ATTRIBUTE_SPARSE_FILE == 0 {
            let end = off.saturating_add(len).min(st.size);
            return Ok(if end > off {
                vec![(off, end - off)]
            } else {
                vec![]
            });
        }
        // One more than fits, to know whether the output overflowed.
        h.allocated_ranges(off, len, max.clamp(1, 1 << 16) + 1)
    })
    .await?
    .map_err(|e| e.status())?;
    if max == 0 && !ranges.is_empty() {
        return Err(NtStatus::BUFFER_TOO_SMALL);
    }
    let overflow = ranges.len() > max;
    let list: Vec<FileAllocatedRangeBuffer> = ranges
        .into_iter()
        .take(max)
        .map(|(o, l)| FileAllocatedRangeBuffer {
            file_offset: o as i64,
            length: l as i64,
        })
        .collect();
    let mut b = BytesMut::new();
    FileAllocatedRangeBuffer::encode_list(&list, &mut b);
    let status = if overflow {
        NtStatus::BUFFER_OVERFLOW
    } else {
        NtStatus::SUCCESS
    };
    Ok((status, b.to_vec()))
}

/// FSCTL_QUERY_NETWORK_INTERFACE_INFO (MS-SMB2 3.3.5.15.11): the interfaces
/// [`crate::server::interfaces::advertised`] chooses (probed on the blocking pool: it reads
/// sysfs). Valid on any tree with any FileId.
pub async fn network_interfaces(ctx: &Ctx, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    let config = ctx.conn.server.clone();
    let local = ctx.conn.writer.local();
    let list = files::blocking(move || {
        let c = &config.config;
        let rdma = crate::transport::rdma::is_listening();
        let mut list = crate::server::interfaces::advertised(&c.interfaces, &c.listen, local, rdma);
        crate::server::interfaces::restrict_rdma(&mut list, crate::transport::rdma::accepts);
        list
    })
    .await?;
    if (req.max_output_response as usize) < NetworkInterfaceInfo::LEN * list.len() {
        return Err(NtStatus::BUFFER_TOO_SMALL);
    }
    let mut b = BytesMut::new();
    NetworkInterfaceInfo::encode_list(&list, &mut b).map_err(|_| NtStatus::INTERNAL_ERROR)?;
    Ok(ioctl_reply(NtStatus::SUCCESS, req, req.file_id, b.freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_id_is_stable_and_laid_out() {
        let a = object_id(7, 42);
        assert_eq!(a, object_id(7, 42));
        assert_ne!(a, object_id(7, 43));
        assert_eq!(&a[0..8], &7u64.to_le_bytes());
        assert_eq!(&a[8..16], &42u64.to_le_bytes());
        assert_eq!(&a[32..48], &a[0..16]);
        assert_eq!(&a[48..64], &[0u8; 16]);
    }
}
