//! READ (MS-SMB2 3.3.5.12; MS-FSA 2.1.5.2).
//!
//! Checks, in order: the open is not a directory (STATUS_INVALID_DEVICE_REQUEST), Channel is
//! SMB2_CHANNEL_NONE on TCP, Length is at most MaxReadSize and Offset + Length does not pass
//! 2^63 - 1 (STATUS_INVALID_PARAMETER), GrantedAccess has FILE_READ_DATA or FILE_EXECUTE
//! (STATUS_ACCESS_DENIED), no other open holds a conflicting byte-range lock
//! (STATUS_FILE_LOCK_CONFLICT). Fewer bytes than MinimumCount, or none at all for a non-zero
//! Length, is STATUS_END_OF_FILE. Data in the page cache is read right away with a
//! non-blocking `preadv2(RWF_NOWAIT)`; the rest on the blocking pool. It goes out as [`Reply::data`], after a body encoded with
//! [`ReadResponse::encode_header_only`].
use super::{bad_request, files, pipe};
use crate::server::dispatch::{Ctx, Reply};
use crate::transport::pool;
use crate::wire::create::access_mask as am;
use crate::wire::read::{Channel, ReadRequest, ReadResponse};
use crate::wire::{Bytes, BytesMut, NtStatus};

/// Largest offset a file position may reach (MS-FSA: offsets are signed 64-bit).
pub const MAX_FILE_OFFSET: u64 = i64::MAX as u64;

/// MaxReadSize / MaxWriteSize the connection negotiated (MS-SMB2 3.3.5.4: 64 KiB for 2.0.2).
pub fn max_io_size(ctx: &Ctx) -> u32 {
    if ctx.dialect() == 0x0202 {
        65536
    } else {
        ctx.conn.server.config.limits.max_message_size
    }
}

/// Reads from a file or pipe.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = ReadRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(&ctx, req.file_id)?;
    if files::is_pipe(&open) {
        return pipe::read(&open, &req);
    }
    let f = open.file().ok_or(NtStatus::INVALID_HANDLE)?;
    if f.is_dir {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    // SMB Direct: RDMA channels carry the client's buffer descriptors (transport::smbd).
    let rdma = crate::transport::smbd::placement::channel(
        ctx.conn.writer.kind(),
        req.channel,
        &req.read_channel_info,
    )?;
    if (req.channel != Channel::NONE && rdma.is_none()) || req.length > max_io_size(&ctx) {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let length = u64::from(req.length);
    if req.offset > MAX_FILE_OFFSET || req.offset + length > MAX_FILE_OFFSET {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if open.granted_access & (am::FILE_READ_DATA | am::FILE_EXECUTE) == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if !f
        .state
        .io_allowed(open.file_id.volatile, req.offset, length, false)
    {
        return Err(NtStatus::FILE_LOCK_CONFLICT);
    }
    let h = f.handle.clone();
    let (offset, len) = (req.offset, req.length as usize);
    // The data buffer is a recycled one (it goes back to the pool once sent).
    let mut buf = pool::take(len);
    buf.resize(len, 0);
    // Cached data is read right here, without a trip to the blocking pool (RWF_NOWAIT never
    // blocks); whatever is not cached, or a short count near end of file, goes to the pool.
    let mut n = match h.try_read_at(&mut buf, offset) {
        Some(r) => r.map_err(|e| e.status())?,
        None => 0,
    };
    if n < len {
        (buf, n) = files::blocking(move || -> Result<(BytesMut, usize), NtStatus> {
            while n < len {
                match h.read_at(&mut buf[n..], offset + n as u64) {
                    Ok(0) => break,
                    Ok(k) => n += k,
                    Err(e) => return Err(e.status()),
                }
            }
            Ok((buf, n))
        })
        .await??;
    }
    buf.truncate(n);
    if n < req.minimum_count as usize || (n == 0 && len > 0) {
        pool::give(buf);
        return Err(NtStatus::END_OF_FILE);
    }
    f.position
        .store(offset + n as u64, std::sync::atomic::Ordering::Relaxed);
    if let Some(ch) = rdma {
        let body = crate::transport::smbd::placement::push_read(&*ctx.conn.writer, ch, &buf);
        return Ok(Reply::ok(body.await?));
    }
    let mut body = pool::take(32);
    ReadResponse {
        data_remaining: 0,
        flags: 0,
        data: Bytes::new(),
    }
    .encode_header_only(&mut body, n as u32);
    let mut reply = Reply::ok(body);
    reply.data = buf.freeze();
    Ok(reply)
}
