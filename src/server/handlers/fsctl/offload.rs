//! Offloaded data transfer: FSCTL_OFFLOAD_READ and FSCTL_OFFLOAD_WRITE (MS-FSCC 2.3.41–2.3.44,
//! MS-FSA 2.1.5.10.20 / 2.1.5.10.21), with the tokens of [`crate::server::odx`].
//!
//! OFFLOAD_READ needs FILE_READ_DATA (the control code's FILE_READ_ACCESS), a 32-byte input
//! (else STATUS_INVALID_PARAMETER) and room for the 528-byte output (else
//! STATUS_BUFFER_TOO_SMALL); FileOffset and CopyLength are multiples of the 512-byte logical
//! sector (CopyLength may end unaligned at or past end of file) and CopyLength is not 0
//! (STATUS_INVALID_PARAMETER); FileOffset at or past end of file is STATUS_END_OF_FILE; a
//! conflicting byte-range lock STATUS_FILE_LOCK_CONFLICT. TransferLength is CopyLength cut at
//! end of file and rounded up to the sector; the part past end of file reads as zeros, and
//! OFFLOAD_READ_FLAG_ALL_ZERO_BEYOND_CURRENT_RANGE says so when the range reaches it. The
//! token lives `[limits] odx_token_lifetime_secs`, or the client's TokenTimeToLive (ms) when
//! that is shorter.
//!
//! OFFLOAD_WRITE needs FILE_WRITE_DATA (FILE_WRITE_ACCESS), a writable share
//! (STATUS_MEDIA_WRITE_PROTECTED), a 544-byte input and room for 16 bytes of output; offsets
//! aligned as above, FileOffset + CopyLength within the largest file size
//! (STATUS_INVALID_PARAMETER), a valid token (STATUS_INVALID_TOKEN: forged, altered, expired,
//! or its source range changed since OFFLOAD_READ; TransferOffset past the token's range is
//! STATUS_INVALID_PARAMETER) and FileOffset below the target's end of file (STATUS_END_OF_FILE:
//! an offload write never extends the file; the copy stops at end of file). The data moves
//! through [`crate::vfs::copy::copy_range`] (reflink where the file system can) on the
//! blocking pool; the well-known zero token (STORAGE_OFFLOAD_TOKEN_TYPE_ZERO_DATA) punches
//! the range to zeros. Where the target share cannot reflink, one request copies at most
//! [`MAX_COPY_WRITE`] bytes (a shorter LengthWritten, as MS-FSCC 2.3.44 allows). Bytes written count as `odx_bytes` of the target share in `rsmbd status`
//! ([`crate::server::copy_stats`]). LengthWritten is the bytes written rounded up to the sector, never more
//! than CopyLength.
use super::super::files;
use super::super::ioctl::ioctl_reply;
use super::super::write::MAX_FILE_SIZE;
use super::copychunk::{after_copy_write, before_copy_write};
use crate::server::copy_stats::CopyFsctl;
use crate::server::dispatch::{Ctx, Reply};
use crate::server::file_state::{FILE_READ_DATA, FILE_WRITE_DATA};
use crate::server::odx::Range;
use crate::server::open::{FileOpen, Open};
use crate::vfs::VfsError;
use crate::wire::fsctl::offload::*;
use crate::wire::ioctl::IoctlRequest;
use crate::wire::{BytesMut, NtStatus};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The logical sector size rsmbd reports (FileFsSectorSizeInformation) and aligns ranges to.
pub const SECTOR: u64 = 512;

/// Most bytes one OFFLOAD_WRITE copies where the target's file system cannot clone (the
/// request holds a blocking thread while the data moves).
pub const MAX_COPY_WRITE: u64 = 256 << 20;

fn round_up(n: u64) -> u64 {
    n.div_ceil(SECTOR).saturating_mul(SECTOR)
}

fn data_file(open: &Open) -> Result<&FileOpen, NtStatus> {
    let f = open.file().ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
    if f.is_dir {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    Ok(f)
}

/// The token lifetime: the configured one, or the client's TokenTimeToLive if shorter.
fn lifetime(configured_secs: u64, ttl_ms: u32) -> Duration {
    let cfg = Duration::from_secs(configured_secs.max(1));
    if ttl_ms == 0 {
        cfg
    } else {
        cfg.min(Duration::from_millis(u64::from(ttl_ms)))
    }
}

/// The token range for a read of `len` bytes at `off` in a file of `size` bytes (`off <
/// size`): (TransferLength, bytes of data, whether the range reaches end of file).
fn read_range(off: u64, len: u64, size: u64) -> (u64, u64, bool) {
    let data = len.min(size - off);
    let to_eof = off + data == size;
    let transfer = if data < len {
        round_up(data).min(len)
    } else {
        len
    };
    (transfer, data, to_eof)
}

/// FSCTL_OFFLOAD_READ or FSCTL_OFFLOAD_WRITE.
pub async fn handle(ctx: &Ctx, open: &Arc<Open>, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    if req.ctl_code == crate::wire::fsctl::FSCTL_OFFLOAD_READ {
        offload_read(ctx, open, req).await
    } else {
        offload_write(ctx, open, req).await
    }
}

/// FSCTL_OFFLOAD_READ (MS-FSA 2.1.5.10.20).
async fn offload_read(ctx: &Ctx, open: &Arc<Open>, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    let f = data_file(open)?;
    if open.granted_access & FILE_READ_DATA == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if req.input.len() < FsctlOffloadReadInput::LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let input =
        FsctlOffloadReadInput::decode(&req.input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    if (req.max_output_response as usize) < FsctlOffloadReadOutput::LEN {
        return Err(NtStatus::BUFFER_TOO_SMALL);
    }
    let (off, len) = (input.file_offset, input.copy_length);
    if off % SECTOR != 0 || len == 0 || off.checked_add(len).is_none() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let h = f.handle.clone();
    let size = files::blocking(move || h.stat())
        .await?
        .map_err(|e| e.status())?
        .size;
    if len % SECTOR != 0 && off + len < size {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if off >= size {
        return Err(NtStatus::END_OF_FILE);
    }
    let (transfer, data_len, to_eof) = read_range(off, len, size);
    if !f
        .state
        .io_allowed(open.file_id.volatile, off, data_len, false)
    {
        return Err(NtStatus::FILE_LOCK_CONFLICT);
    }
    let life = lifetime(
        ctx.conn.server.config.limits.odx_token_lifetime_secs,
        input.token_time_to_live,
    );
    let range = Range {
        file: f.state.key,
        offset: off,
        length: transfer,
        data_len,
    };
    let odx = &ctx.conn.server.files.odx;
    let token = odx.issue(range, life, Instant::now(), f.handle.clone())?;
    let mut b = BytesMut::new();
    FsctlOffloadReadOutput {
        flags: if to_eof {
            OFFLOAD_READ_FLAG_ALL_ZERO_BEYOND_CURRENT_RANGE
        } else {
            0
        },
        transfer_length: transfer,
        token,
    }
    .encode(&mut b);
    Ok(ioctl_reply(
        NtStatus::SUCCESS,
        req,
        open.file_id,
        b.freeze(),
    ))
}

/// The checked parameters of an OFFLOAD_WRITE.
struct WriteParams {
    input: FsctlOffloadWriteInput,
}

fn check_write_input(open: &Open, req: &IoctlRequest) -> Result<WriteParams, NtStatus> {
    if open.granted_access & FILE_WRITE_DATA == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if open.tree.share.config.read_only {
        return Err(NtStatus::MEDIA_WRITE_PROTECTED);
    }
    if req.input.len() < FsctlOffloadWriteInput::LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let input =
        FsctlOffloadWriteInput::decode(&req.input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    if (req.max_output_response as usize) < FsctlOffloadWriteOutput::LEN {
        return Err(NtStatus::BUFFER_TOO_SMALL);
    }
    if input.file_offset % SECTOR != 0
        || input.transfer_offset % SECTOR != 0
        || input
            .file_offset
            .checked_add(input.copy_length)
            .is_none_or(|end| end > MAX_FILE_SIZE)
    {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    Ok(WriteParams { input })
}

fn write_reply(req: &IoctlRequest, open: &Open, written: u64) -> Reply {
    let mut b = BytesMut::new();
    FsctlOffloadWriteOutput {
        flags: 0,
        length_written: written,
    }
    .encode(&mut b);
    ioctl_reply(NtStatus::SUCCESS, req, open.file_id, b.freeze())
}

/// FSCTL_OFFLOAD_WRITE (MS-FSA 2.1.5.10.21).
async fn offload_write(ctx: &Ctx, open: &Arc<Open>, req: &IoctlRequest) -> Result<Reply, NtStatus> {
    let f = data_file(open)?;
    let WriteParams { input } = check_write_input(open, req)?;
    let odx = &ctx.conn.server.files.odx;
    let zero = input.token.token_type == STORAGE_OFFLOAD_TOKEN_TYPE_ZERO_DATA;
    let grant = if zero {
        None
    } else {
        Some(odx.redeem(&input.token, Instant::now())?)
    };
    let h = f.handle.clone();
    let st = files::blocking(move || h.stat())
        .await?
        .map_err(|e| e.status())?;
    let size = st.size;
    if input.copy_length % SECTOR != 0 && input.file_offset + input.copy_length < size {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if input.copy_length == 0 {
        return Ok(write_reply(req, open, 0));
    }
    if input.file_offset >= size {
        return Err(NtStatus::END_OF_FILE);
    }
    // Never past the target's end of file; without reflink, at most MAX_COPY_WRITE per request
    // (the client continues from LengthWritten).
    let mut n = input.copy_length.min(size - input.file_offset);
    let reflink = open
        .tree
        .share
        .vfs
        .as_ref()
        .is_some_and(|v| v.supports_block_refcounting());
    if !reflink && !zero {
        n = n.min(MAX_COPY_WRITE);
    }
    let (mut data, mut src_off) = (n, 0);
    if let Some(g) = &grant {
        if input.transfer_offset >= g.range.length {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        n = n.min(g.range.length - input.transfer_offset);
        data = n.min(g.range.data_len.saturating_sub(input.transfer_offset));
        src_off = g.range.offset + input.transfer_offset;
    }
    // Checks locks and, through `io_allowed`, invalidates tokens of this range (our own too,
    // when the target range overlaps the source range of the same file).
    if !f
        .state
        .io_allowed(open.file_id.volatile, input.file_offset, n, true)
    {
        return Err(NtStatus::FILE_LOCK_CONFLICT);
    }
    if let Some(g) = &grant {
        if !odx.still_valid(g) {
            return Err(NtStatus::INVALID_TOKEN);
        }
    }
    // As before a WRITE: other opens' read caching breaks; LastWriteTime rules after.
    let base = before_copy_write(open, f).then_some(st.last_write_time);
    let dst = f.handle.clone();
    let to = input.file_offset;
    let source = grant.as_ref().map(|g| g.source.clone());
    let outcome = files::blocking(move || -> Result<_, VfsError> {
        let Some(src) = source else {
            dst.punch_hole(to, n)?;
            return Ok(None);
        };
        let done = crate::vfs::copy::copy_range(src.as_ref(), src_off, dst.as_ref(), to, data)?;
        if done.total() < data {
            // The source is shorter than when the token was made: it was cut outside the
            // server, and the token no longer stands for what it did.
            return Err(VfsError::status_only(NtStatus::INVALID_TOKEN));
        }
        // The range past the source's end of file at OFFLOAD_READ time reads as zeros.
        let tail = n - data;
        if tail > 0 {
            let zeros = vec![0u8; tail as usize];
            let mut w = 0;
            while w < zeros.len() {
                let k = dst.write_at(&zeros[w..], to + data + w as u64)?;
                if k == 0 {
                    return Err(VfsError::status_only(NtStatus::DISK_FULL));
                }
                w += k;
            }
        }
        Ok(Some(done))
    })
    .await?
    .map_err(|e| e.status())?;
    if let Some(g) = &grant {
        // A write to the source range while we copied: the copy may hold newer data.
        if !odx.still_valid(g) {
            return Err(NtStatus::INVALID_TOKEN);
        }
    }
    let stats = &open.tree.share.copy_stats;
    match &outcome {
        Some(done) => stats.record(CopyFsctl::Odx, done),
        None => {
            stats.odx_bytes.fetch_add(n, Ordering::Relaxed);
        }
    }
    after_copy_write(ctx, open, f, base, n);
    Ok(write_reply(req, open, round_up(n).min(input.copy_length)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_ranges() {
        // Within the file: as asked.
        assert_eq!(read_range(0, 4096, 1 << 20), (4096, 4096, false));
        // Exactly to end of file.
        assert_eq!(read_range(0, 4096, 4096), (4096, 4096, true));
        // Past end of file: cut, rounded up to the sector, zeros beyond.
        assert_eq!(read_range(512, 1 << 20, 1000), (512, 488, true));
        assert_eq!(read_range(0, 1 << 20, 1000), (1024, 1000, true));
        // An unaligned CopyLength that reaches end of file.
        assert_eq!(read_range(0, 1000, 1000), (1000, 1000, true));
    }

    #[test]
    fn lifetimes() {
        assert_eq!(lifetime(30, 0), Duration::from_secs(30));
        assert_eq!(lifetime(30, 100), Duration::from_millis(100));
        assert_eq!(lifetime(1, 5000), Duration::from_secs(1));
        assert_eq!(lifetime(0, 0), Duration::from_secs(1));
    }
}
