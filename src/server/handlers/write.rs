//! WRITE (MS-SMB2 3.3.5.13; MS-FSA 2.1.5.3).
//!
//! Checks, in order: the open is not a directory (STATUS_INVALID_DEVICE_REQUEST), Channel is
//! SMB2_CHANNEL_NONE on TCP, Length is at most MaxWriteSize, GrantedAccess has FILE_WRITE_DATA
//! or FILE_APPEND_DATA (STATUS_ACCESS_DENIED). An open granted FILE_APPEND_DATA without
//! FILE_WRITE_DATA always writes at the end of the file (Offset 0xFFFFFFFFFFFFFFFF included).
//! Otherwise an Offset above 2^63 - 1, or a non-empty write starting at or past the largest
//! file size (0xFFFFFFF0000, NTFS's), is STATUS_INVALID_PARAMETER, and one that would end
//! there is STATUS_DISK_FULL, as on Windows. A conflicting byte-range lock of another open is
//! STATUS_FILE_LOCK_CONFLICT. The payload is written straight from the request buffer;
//! SMB2_WRITEFLAG_WRITE_THROUGH makes the write durable (fdatasync) before the reply, as an
//! open made with FILE_WRITE_THROUGH (O_DSYNC) always is.
//!
//! LastWriteTime follows Windows, not the backend's mtime ([`times`]): the first write
//! through an open updates it two seconds later (or at FLUSH, end of file set,
//! FileBasicInformation or CLOSE), later writes at CLOSE, none while the open froze it.
use super::info::times;
use super::read::{max_io_size, MAX_FILE_OFFSET};
use super::{bad_request, files, pipe};
use crate::server::dispatch::{Ctx, Reply};
use crate::server::file_state::FileState;
use crate::server::write_queue::{Job, Queues};
use crate::vfs::Handle;
use crate::wire::create::access_mask as am;
use crate::wire::read::Channel;
use crate::wire::write::{write_flags, WriteRequest, WriteResponse};
use crate::wire::NtStatus;
use std::sync::{Arc, LazyLock};

/// The largest file size (NTFS's): writes may not reach it.
pub const MAX_FILE_SIZE: u64 = 0xFFF_FFFF_0000;

/// The offset check for a write of `length` bytes at `offset`.
fn check_range(offset: u64, length: u64) -> Result<(), NtStatus> {
    if offset > MAX_FILE_OFFSET {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if length == 0 {
        return Ok(());
    }
    if offset >= MAX_FILE_SIZE {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if offset + length >= MAX_FILE_SIZE {
        return Err(NtStatus::DISK_FULL);
    }
    Ok(())
}

/// Writes to a file or pipe.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = WriteRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(&ctx, req.file_id)?;
    if files::is_pipe(&open) {
        return pipe::write(&open, &req);
    }
    let f = open.file().ok_or(NtStatus::INVALID_HANDLE)?;
    if f.is_dir {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    // SMB Direct: RDMA channels carry the client's buffer descriptors (transport::smbd).
    let rdma = crate::transport::smbd::placement::channel(
        ctx.conn.writer.kind(),
        req.channel,
        &req.write_channel_info,
    )?;
    let rdma_len = rdma.as_ref().map_or(0, |_| req.remaining_bytes as usize);
    if (req.channel != Channel::NONE && rdma.is_none())
        || req.data.len().max(rdma_len) > max_io_size(&ctx) as usize
    {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let granted = open.granted_access;
    if granted & (am::FILE_WRITE_DATA | am::FILE_APPEND_DATA) == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let req = match rdma {
        Some(ch) => {
            crate::transport::smbd::placement::pull_write(&*ctx.conn.writer, ch, req).await?
        }
        None => req,
    };
    let append = granted & am::FILE_WRITE_DATA == 0;
    let length = req.data.len() as u64;
    if !append {
        check_range(req.offset, length)?;
    }
    // MS-FSA 2.1.4.12: a write breaks every level II oplock of the stream to none.
    f.state.break_read_caching(open.file_id.volatile);
    let h = f.handle.clone();
    let state = f.state.clone();
    let id = open.file_id.volatile;
    let data = req.data.clone();
    let sync = req.flags & write_flags::WRITE_THROUGH != 0;
    let offset = req.offset;
    let need_base = times::needs_base(f);
    // Writes to one file queue behind each other on one drainer thread (no inode-lock
    // contention, no hand-off per write); write-through writes overlap their flushes.
    let queue_key = Arc::as_ptr(&f.state) as usize;
    // Before that, a write into cached pages is tried right here without blocking
    // (RWF_NOWAIT: XFS and btrfs take it; ext4 always defers to the queue).
    let mut done = 0;
    if !sync && !append && !need_base {
        if !state.io_allowed(id, offset, length, true) {
            return Err(NtStatus::FILE_LOCK_CONFLICT);
        }
        if let Some(r) = h.try_write_at(&data, offset) {
            done = r.map_err(|e| e.status())?;
        }
    }
    let job = WriteJob {
        h,
        state,
        id,
        data,
        offset,
        done,
        append,
        need_base,
        sync,
    };
    let (written, end, base) = if done == req.data.len() {
        (done, offset + done as u64, None)
    } else if sync {
        files::blocking(move || job.write()).await??
    } else {
        let (done, data) = WRITES.run(queue_key, job).await?;
        drop(data);
        done?
    };
    if written > 0 {
        times::after_change(f, id, base, times::Change::Write);
    }
    f.position.store(end, std::sync::atomic::Ordering::Relaxed);
    if ctx.conn.server.notify.is_watched() {
        // The path is built only when some directory is watched.
        crate::server::notify_bus::report(
            &ctx.conn.server,
            &open.tree.share.name,
            &f.handle.path(),
            crate::wire::change_notify::notify_action::FILE_ACTION_MODIFIED,
            crate::wire::change_notify::completion_filter::FILE_NOTIFY_CHANGE_LAST_WRITE,
        );
    }
    let mut body = crate::transport::pool::take(32);
    WriteResponse {
        count: written as u32,
        remaining: 0,
        write_channel_info_offset: 0,
        write_channel_info_length: 0,
    }
    .encode(&mut body);
    Ok(Reply::ok(body))
}

/// Per-file write queues (not write-through writes).
static WRITES: LazyLock<Queues<WriteJob>> = LazyLock::new(Queues::new);

/// The blocking part of one WRITE: data, so it queues without a box.
struct WriteJob {
    h: Arc<dyn Handle>,
    state: Arc<FileState>,
    /// The open's volatile id (byte-range lock owner).
    id: u64,
    data: bytes::Bytes,
    offset: u64,
    /// Bytes already written without blocking.
    done: usize,
    /// Write at the end of file (FILE_APPEND_DATA without FILE_WRITE_DATA).
    append: bool,
    /// Return LastWriteTime before the write (see [`times::needs_base`]).
    need_base: bool,
    /// Flush before returning (write-through).
    sync: bool,
}

/// Bytes written, the end offset, and LastWriteTime before the write when asked for.
type WriteDone = Result<(usize, u64, Option<u64>), NtStatus>;

impl Job for WriteJob {
    /// The payload comes back too: it is dropped on the requester's thread, whose buffer
    /// pool it belongs to (`transport::pool` is per thread), not on the drainer's.
    type Output = (WriteDone, bytes::Bytes);

    fn run(self) -> (WriteDone, bytes::Bytes) {
        let done = self.write();
        (done, self.data)
    }
}

impl WriteJob {
    fn write(&self) -> WriteDone {
        let WriteJob {
            h,
            state,
            id,
            data,
            offset,
            done,
            append,
            need_base,
            sync,
        } = self;
        let (id, offset, done, append, need_base, sync) =
            (*id, *offset, *done, *append, *need_base, *sync);
        let length = data.len() as u64;
        let st = if append || need_base {
            Some(h.stat().map_err(|e| e.status())?)
        } else {
            None
        };
        let base = st.as_ref().map(|s| s.last_write_time);
        let offset = match (&st, append) {
            (Some(s), true) => s.size,
            _ => offset,
        };
        check_range(offset, length)?;
        if !state.io_allowed(id, offset, length, true) {
            return Err(NtStatus::FILE_LOCK_CONFLICT);
        }
        let mut n = done;
        while n < data.len() {
            match h.write_at(&data[n..], offset + n as u64) {
                Ok(0) => return Err(NtStatus::DISK_FULL),
                Ok(k) => n += k,
                Err(e) => return Err(e.status()),
            }
        }
        if sync {
            h.flush().map_err(|e| e.status())?;
        }
        Ok((n, offset + n as u64, base))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_as_windows() {
        assert_eq!(check_range(u64::MAX, 10), Err(NtStatus::INVALID_PARAMETER));
        assert_eq!(check_range(1 << 63, 0), Err(NtStatus::INVALID_PARAMETER));
        assert_eq!(check_range(i64::MAX as u64, 0), Ok(()));
        assert_eq!(
            check_range(i64::MAX as u64, 1),
            Err(NtStatus::INVALID_PARAMETER)
        );
        assert_eq!(
            check_range(MAX_FILE_SIZE, 1),
            Err(NtStatus::INVALID_PARAMETER)
        );
        assert_eq!(check_range(MAX_FILE_SIZE - 1, 1), Err(NtStatus::DISK_FULL));
        assert_eq!(check_range(MAX_FILE_SIZE, 0), Ok(()));
        assert_eq!(check_range(5 << 32, 4096), Ok(()));
    }
}
