//! Server-side copy: FSCTL_SRV_REQUEST_RESUME_KEY and FSCTL_SRV_COPYCHUNK[_WRITE] (MS-SMB2
//! 3.3.5.15.5, 3.3.5.15.6).
//!
//! The resume key names the source open: PersistentFileId, VolatileFileId and TreeId of the
//! open plus a fixed tag; it is only honoured in the session that asked for it, so it is as
//! unguessable as the (random) persistent id. Chunks are copied in order through
//! [`crate::vfs::Handle::copy_range`] after checking access (source FILE_READ_DATA or
//! FILE_EXECUTE; target FILE_WRITE_DATA, plus FILE_READ_DATA for FSCTL_SRV_COPYCHUNK), the
//! server's limits (256 chunks, 1 MiB per chunk, 16 MiB in all: else STATUS_INVALID_PARAMETER
//! with the limits in the response), byte-range locks (STATUS_FILE_LOCK_CONFLICT) and the
//! source's end of file (STATUS_INVALID_VIEW_SIZE).
use super::super::files;
use super::super::ioctl::ioctl_reply;
use crate::server::dispatch::{Ctx, Reply};
use crate::server::file_state::{FILE_EXECUTE, FILE_READ_DATA, FILE_WRITE_DATA};
use crate::server::open::Open;
use crate::wire::fsctl::copychunk::*;
use crate::wire::fsctl::FSCTL_SRV_COPYCHUNK;
use crate::wire::ioctl::IoctlRequest;
use crate::wire::{BytesMut, FileId, NtStatus};
use std::sync::Arc;

/// Last four bytes of every resume key rsmbd hands out ("rsmb").
const TAG: [u8; 4] = *b"rsmb";

/// Size of the SRV_REQUEST_RESUME_KEY response as Windows sends it.
const RESUME_KEY_RESPONSE_LEN: usize = 32;

/// The resume key of an open.
fn key_of(open: &Open) -> [u8; RESUME_KEY_LEN] {
    let mut k = [0u8; RESUME_KEY_LEN];
    k[0..8].copy_from_slice(&open.file_id.persistent.to_le_bytes());
    k[8..16].copy_from_slice(&open.file_id.volatile.to_le_bytes());
    k[16..20].copy_from_slice(&open.tree.id.to_le_bytes());
    k[20..24].copy_from_slice(&TAG);
    k
}

/// The open a resume key names, if it is still open in this session.
fn open_of(ctx: &Ctx, k: &[u8; RESUME_KEY_LEN]) -> Option<Arc<Open>> {
    let u64_at = |i: usize| {
        k.get(i..i + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    if k.get(20..24) != Some(&TAG[..]) {
        return None;
    }
    let id = FileId {
        persistent: u64_at(0)?,
        volatile: u64_at(8)?,
    };
    let tree = u32::from_le_bytes(k.get(16..20)?.try_into().ok()?);
    ctx.conn.server.opens.get(id, ctx.session_id, tree)
}

/// FSCTL_SRV_REQUEST_RESUME_KEY (MS-SMB2 3.3.5.15.5).
pub fn resume_key(_ctx: &Ctx, open: &Arc<Open>, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    if (req.max_output_response as usize) < RESUME_KEY_RESPONSE_LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let mut b = BytesMut::new();
    SrvRequestResumeKey {
        resume_key: key_of(open),
        context: vec![],
    }
    .encode(&mut b)
    .map_err(|_| NtStatus::INTERNAL_ERROR)?;
    // ContextLength 0 followed by 4 reserved bytes, as Windows sends it (32 bytes in all).
    b.resize(RESUME_KEY_RESPONSE_LEN, 0);
    Ok(ioctl_reply(
        NtStatus::SUCCESS,
        req,
        open.file_id,
        b.freeze(),
    ))
}

fn response(status: NtStatus, req: &IoctlRequest, open: &Open, r: SrvCopychunkResponse) -> Reply {
    let mut b = BytesMut::new();
    r.encode(&mut b);
    ioctl_reply(status, req, open.file_id, b.freeze())
}

/// Whether the chunks are within the server's limits (MS-SMB2 3.3.5.15.6).
fn within_limits(chunks: &[SrvCopychunk]) -> bool {
    chunks.len() <= SERVER_SIDE_COPY_MAX_NUMBER_OF_CHUNKS as usize
        && chunks
            .iter()
            .all(|c| c.length > 0 && c.length <= SERVER_SIDE_COPY_MAX_CHUNK_SIZE)
        && chunks.iter().map(|c| u64::from(c.length)).sum::<u64>()
            <= u64::from(SERVER_SIDE_COPY_MAX_DATA_SIZE)
}

/// FSCTL_SRV_COPYCHUNK and FSCTL_SRV_COPYCHUNK_WRITE (MS-SMB2 3.3.5.15.6).
pub async fn copychunk(ctx: &Ctx, dest: &Arc<Open>, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    if (req.max_output_response as usize) < SrvCopychunkResponse::LEN
        || req.input.len() < SrvCopychunkCopy::LEN
    {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let copy = SrvCopychunkCopy::decode(&req.input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    let dfile = dest.file().ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
    let mut need = FILE_WRITE_DATA;
    if req.ctl_code == FSCTL_SRV_COPYCHUNK {
        need |= FILE_READ_DATA;
    }
    if dest.granted_access & need != need {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if !within_limits(&copy.chunks) {
        return Ok(response(
            NtStatus::INVALID_PARAMETER,
            req,
            dest,
            SrvCopychunkResponse::limits(),
        ));
    }
    let src = open_of(ctx, &copy.source_key).ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
    let sfile = src.file().ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
    if src.granted_access & (FILE_READ_DATA | FILE_EXECUTE) == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if sfile.is_dir || dfile.is_dir {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    // Failures while copying still answer with what was written so far (MS-SMB2 3.3.5.15.6).
    let mut done = SrvCopychunkResponse::default();
    for c in &copy.chunks {
        let len = u64::from(c.length);
        if !sfile
            .state
            .io_allowed(src.file_id.volatile, c.source_offset, len, false)
            || !dfile
                .state
                .io_allowed(dest.file_id.volatile, c.target_offset, len, true)
        {
            return Ok(response(NtStatus::FILE_LOCK_CONFLICT, req, dest, done));
        }
        let (s, d) = (sfile.handle.clone(), dfile.handle.clone());
        let (so, to) = (c.source_offset, c.target_offset);
        let copied = files::blocking(move || {
            let size = s.stat()?.size;
            if so.checked_add(len).is_none_or(|end| end > size) {
                return Err(crate::vfs::VfsError::from(NtStatus::INVALID_VIEW_SIZE));
            }
            d.copy_range(s.as_ref(), so, to, len)
        })
        .await?;
        match copied {
            Ok(n) if n == len => {
                done.chunks_written += 1;
                done.total_bytes_written = done.total_bytes_written.saturating_add(c.length);
            }
            Ok(_) => return Ok(response(NtStatus::INVALID_VIEW_SIZE, req, dest, done)),
            Err(e) => return Ok(response(e.status(), req, dest, done)),
        }
    }
    Ok(response(NtStatus::SUCCESS, req, dest, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(length: u32) -> SrvCopychunk {
        SrvCopychunk {
            source_offset: 0,
            target_offset: 0,
            length,
        }
    }

    #[test]
    fn limits() {
        assert!(within_limits(&[]));
        assert!(within_limits(&[chunk(1 << 20)]));
        assert!(!within_limits(&[chunk((1 << 20) + 1)]));
        assert!(!within_limits(&[chunk(0)]));
        assert!(within_limits(&vec![chunk(65536); 256]));
        assert!(!within_limits(&vec![chunk(1); 257]));
        assert!(!within_limits(&vec![chunk(1 << 20); 17]));
    }
}
