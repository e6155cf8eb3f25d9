//! Server-side copy: FSCTL_SRV_REQUEST_RESUME_KEY and FSCTL_SRV_COPYCHUNK[_WRITE] (MS-SMB2
//! 3.3.5.15.5, 3.3.5.15.6).
//!
//! # Resume keys
//! An open's resume key is `HMAC-SHA256(server secret, PersistentFileId ‖ VolatileFileId ‖
//! SessionId ‖ TreeId)` truncated to 24 bytes, under a random secret made at start: the same
//! key every time it is asked for on one open (Open.ResumeKey), unforgeable and unguessable
//! without the secret, and bound to that open. Keys handed out are registered in a table
//! (key → weak reference to the open); a key finds its open only while that open is still in
//! the server's open table. As MS-SMB2 3.3.5.15.6 locates the source in the global open
//! table, the source may be in another tree, share or session of the server: the key is a
//! capability only its open's client was given, and the source open's own access is checked.
//!
//! # Copy
//! Checks, in order: MaxOutputResponse at least a SRV_COPYCHUNK_RESPONSE, else
//! STATUS_INVALID_PARAMETER; a short or malformed input, ChunkCount over
//! `[limits] copychunk_max_chunks` (256), a chunk of length 0 or over
//! `copychunk_max_chunk_size` (1 MiB), a total over `copychunk_max_total_size` (16 MiB): the
//! response carries the limits, with STATUS_INVALID_PARAMETER (3.3.5.15.6.2); the source key
//! (STATUS_OBJECT_NAME_NOT_FOUND); target access FILE_WRITE_DATA, plus FILE_READ_DATA for
//! FSCTL_SRV_COPYCHUNK (not for _WRITE); source access FILE_READ_DATA or FILE_EXECUTE (as
//! Windows: smbtorture copy_chunk_bad_access); directories
//! (STATUS_INVALID_DEVICE_REQUEST). Chunks are then copied in order; for each, a byte-range
//! lock of another open on the source (read) or target (write) range fails with
//! STATUS_FILE_LOCK_CONFLICT, and a source range past the source's end of file with
//! STATUS_INVALID_VIEW_SIZE; a failure answers with the chunks and bytes done before it. The
//! copy goes through [`crate::vfs::copy::copy_range`] (reflink, copy_file_range, read/write;
//! overlapping ranges of one file copy as memmove) on the blocking pool.
//!
//! The target sees the copy as a WRITE: level II oplocks and other read leases break
//! (MS-FSA 2.1.4.12), LastWriteTime follows the write rules ([`times`]), and change notify
//! reports FILE_ACTION_MODIFIED. Bytes are counted in the target share's
//! [`crate::server::copy_stats::CopyStats`].
use super::super::files;
use super::super::info::times;
use super::super::ioctl::ioctl_reply;
use crate::config::Limits;
use crate::server::copy_stats::CopyFsctl;
use crate::server::dispatch::{Ctx, Reply};
use crate::server::file_state::{FILE_EXECUTE, FILE_READ_DATA, FILE_WRITE_DATA};
use crate::server::open::{FileOpen, Open};
use crate::vfs::copy::{copy_range, CopyOutcome};
use crate::vfs::VfsError;
use crate::wire::fsctl::copychunk::*;
use crate::wire::fsctl::FSCTL_SRV_COPYCHUNK;
use crate::wire::ioctl::IoctlRequest;
use crate::wire::{BytesMut, NtStatus};
use dashmap::DashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

/// Size of the SRV_REQUEST_RESUME_KEY response as Windows sends it.
const RESUME_KEY_RESPONSE_LEN: usize = 32;

/// The registry of resume keys handed out.
struct Keys {
    secret: ring::hmac::Key,
    map: DashMap<[u8; RESUME_KEY_LEN], Weak<Open>>,
    /// Prune dead entries when the table grows past this.
    prune_at: AtomicUsize,
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut s = [0u8; 32];
        getrandom::getrandom(&mut s).expect("getrandom");
        Keys {
            secret: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &s),
            map: DashMap::new(),
            prune_at: AtomicUsize::new(1024),
        }
    })
}

/// The resume key of an open.
fn key_of(open: &Open) -> [u8; RESUME_KEY_LEN] {
    let mut m = [0u8; 28];
    m[0..8].copy_from_slice(&open.file_id.persistent.to_le_bytes());
    m[8..16].copy_from_slice(&open.file_id.volatile.to_le_bytes());
    m[16..24].copy_from_slice(&open.session_id.to_le_bytes());
    m[24..28].copy_from_slice(&open.tree.id.to_le_bytes());
    let tag = ring::hmac::sign(&keys().secret, &m);
    let mut k = [0u8; RESUME_KEY_LEN];
    k.copy_from_slice(&tag.as_ref()[..RESUME_KEY_LEN]);
    k
}

/// Registers `open`'s key and returns it.
fn register(open: &Arc<Open>) -> [u8; RESUME_KEY_LEN] {
    let k = key_of(open);
    let t = keys();
    t.map.insert(k, Arc::downgrade(open));
    if t.map.len() > t.prune_at.load(Ordering::Relaxed) {
        t.map.retain(|_, w| w.strong_count() > 0);
        t.prune_at
            .store((t.map.len() * 2).max(1024), Ordering::Relaxed);
    }
    k
}

/// The open a resume key names, if it is still open on this server.
fn open_of(ctx: &Ctx, k: &[u8; RESUME_KEY_LEN]) -> Option<Arc<Open>> {
    let o = keys().map.get(k)?.upgrade()?;
    let live = ctx
        .conn
        .server
        .opens
        .get(o.file_id, o.session_id, o.tree.id)?;
    Arc::ptr_eq(&o, &live).then_some(o)
}

/// FSCTL_SRV_REQUEST_RESUME_KEY (MS-SMB2 3.3.5.15.5).
pub fn resume_key(_ctx: &Ctx, open: &Arc<Open>, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    if (req.max_output_response as usize) < RESUME_KEY_RESPONSE_LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let mut b = BytesMut::new();
    SrvRequestResumeKey {
        resume_key: register(open),
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

/// The response that states the server's limits.
fn limits_response(l: &Limits) -> SrvCopychunkResponse {
    SrvCopychunkResponse {
        chunks_written: l.copychunk_max_chunks,
        chunk_bytes_written: l.copychunk_max_chunk_size,
        total_bytes_written: l.copychunk_max_total_size,
    }
}

/// Whether the chunks are within the server's limits (MS-SMB2 3.3.5.15.6).
fn within_limits(chunks: &[SrvCopychunk], l: &Limits) -> bool {
    chunks.len() <= l.copychunk_max_chunks as usize
        && chunks
            .iter()
            .all(|c| c.length > 0 && c.length <= l.copychunk_max_chunk_size)
        && chunks.iter().map(|c| u64::from(c.length)).sum::<u64>()
            <= u64::from(l.copychunk_max_total_size)
}

/// Before data reaches the target through a copy, as before a WRITE: read caching of other
/// opens breaks (MS-FSA 2.1.4.12). Returns whether LastWriteTime must be read first
/// ([`times::needs_base`]).
pub(crate) fn before_copy_write(dest: &Open, f: &FileOpen) -> bool {
    f.state.break_read_caching(dest.file_id.volatile);
    times::needs_base(f)
}

/// After `bytes` reached the target through a copy, as after a WRITE: the write-time rules and
/// change notify. `base` is the LastWriteTime before the copy when [`before_copy_write`] asked.
pub(crate) fn after_copy_write(
    ctx: &Ctx,
    dest: &Open,
    f: &FileOpen,
    base: Option<u64>,
    bytes: u64,
) {
    if bytes == 0 {
        return;
    }
    times::after_change(f, dest.file_id.volatile, base, times::Change::Write);
    crate::server::notify_bus::report(
        &ctx.conn.server,
        &dest.tree.share.name,
        &f.handle.path(),
        crate::wire::change_notify::notify_action::FILE_ACTION_MODIFIED,
        crate::wire::change_notify::completion_filter::FILE_NOTIFY_CHANGE_LAST_WRITE,
    );
}

/// What the blocking part of a copy did.
struct Done {
    chunks: u32,
    bytes: u64,
    how: CopyOutcome,
    base: Option<u64>,
    status: NtStatus,
}

/// FSCTL_SRV_COPYCHUNK and FSCTL_SRV_COPYCHUNK_WRITE (MS-SMB2 3.3.5.15.6).
pub async fn copychunk(ctx: &Ctx, dest: &Arc<Open>, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    if (req.max_output_response as usize) < SrvCopychunkResponse::LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let limits = &ctx.conn.server.config.limits;
    let copy = match SrvCopychunkCopy::decode(&req.input) {
        Ok(c) if within_limits(&c.chunks, limits) => c,
        _ => {
            return Ok(response(
                NtStatus::INVALID_PARAMETER,
                req,
                dest,
                limits_response(limits),
            ))
        }
    };
    let src = open_of(ctx, &copy.source_key).ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
    let dfile = dest.file().ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
    let mut need = FILE_WRITE_DATA;
    if req.ctl_code == FSCTL_SRV_COPYCHUNK {
        need |= FILE_READ_DATA;
    }
    if dest.granted_access & need != need {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let sfile = src.file().ok_or(NtStatus::OBJECT_NAME_NOT_FOUND)?;
    if src.granted_access & (FILE_READ_DATA | FILE_EXECUTE) == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if sfile.is_dir || dfile.is_dir {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    if copy.chunks.is_empty() {
        return Ok(response(NtStatus::SUCCESS, req, dest, Default::default()));
    }
    let need_base = before_copy_write(dest, dfile);
    let (s, d) = (sfile.handle.clone(), dfile.handle.clone());
    let (sstate, dstate) = (sfile.state.clone(), dfile.state.clone());
    let (sid, did) = (src.file_id.volatile, dest.file_id.volatile);
    let chunks = copy.chunks;
    let done = files::blocking(move || {
        let mut done = Done {
            chunks: 0,
            bytes: 0,
            how: CopyOutcome::default(),
            base: None,
            status: NtStatus::SUCCESS,
        };
        if need_base {
            match d.stat() {
                Ok(st) => done.base = Some(st.last_write_time),
                Err(e) => {
                    done.status = e.status();
                    return done;
                }
            }
        }
        for c in &chunks {
            let len = u64::from(c.length);
            if !sstate.io_allowed(sid, c.source_offset, len, false)
                || !dstate.io_allowed(did, c.target_offset, len, true)
            {
                done.status = NtStatus::FILE_LOCK_CONFLICT;
                break;
            }
            let r = s.stat().and_then(|st| {
                if c.source_offset
                    .checked_add(len)
                    .is_none_or(|end| end > st.size)
                {
                    return Err(VfsError::status_only(NtStatus::INVALID_VIEW_SIZE));
                }
                copy_range(
                    s.as_ref(),
                    c.source_offset,
                    d.as_ref(),
                    c.target_offset,
                    len,
                )
            });
            match r {
                Ok(o) => {
                    done.how.cloned += o.cloned;
                    done.how.copy_file_range += o.copy_file_range;
                    done.how.read_write += o.read_write;
                    done.bytes += o.total();
                    if o.total() != len {
                        // The source shrank under us.
                        done.status = NtStatus::INVALID_VIEW_SIZE;
                        break;
                    }
                    done.chunks += 1;
                }
                Err(e) => {
                    done.status = e.status();
                    break;
                }
            }
        }
        done
    })
    .await?;
    dest.tree
        .share
        .copy_stats
        .record(CopyFsctl::Copychunk, &done.how);
    after_copy_write(ctx, dest, dfile, done.base, done.bytes);
    // Failures still answer with what was written before them (MS-SMB2 3.3.5.15.6).
    let r = SrvCopychunkResponse {
        chunks_written: done.chunks,
        chunk_bytes_written: 0,
        total_bytes_written: u32::try_from(done.bytes).unwrap_or(u32::MAX),
    };
    Ok(response(done.status, req, dest, r))
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
        let l = Limits::default();
        assert!(within_limits(&[], &l));
        assert!(within_limits(&[chunk(1 << 20)], &l));
        assert!(!within_limits(&[chunk((1 << 20) + 1)], &l));
        assert!(!within_limits(&[chunk(0)], &l));
        assert!(within_limits(&vec![chunk(65536); 256], &l));
        assert!(!within_limits(&vec![chunk(1); 257], &l));
        assert!(!within_limits(&vec![chunk(1 << 20); 17], &l));
        let small = Limits {
            copychunk_max_chunks: 2,
            copychunk_max_chunk_size: 10,
            copychunk_max_total_size: 15,
            ..Limits::default()
        };
        assert!(within_limits(&[chunk(10), chunk(5)], &small));
        assert!(!within_limits(&[chunk(10), chunk(6)], &small));
        assert!(!within_limits(&[chunk(1); 3], &small));
        assert!(!within_limits(&[chunk(11)], &small));
        let r = limits_response(&small);
        assert_eq!(
            (
                r.chunks_written,
                r.chunk_bytes_written,
                r.total_bytes_written
            ),
            (2, 10, 15)
        );
    }
}
