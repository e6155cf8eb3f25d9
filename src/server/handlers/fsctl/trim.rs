//! FSCTL_FILE_LEVEL_TRIM (MS-FSA 2.1.5.10.6; MS-FSCC 2.3.13-2.3.14): the client says which
//! ranges of a file it no longer needs (a virtual disk's guest discarded them), and rsmbd
//! gives their space back by punching holes (`fallocate(FALLOC_FL_PUNCH_HOLE |
//! FALLOC_FL_KEEP_SIZE)`), so thin-provisioned VHDX and database files shrink on disk while
//! keeping their size. The trimmed bytes then read as zeros, which the FSCTL allows (their
//! contents are undefined after a trim).
//!
//! As Windows does, each range is first narrowed to whole 4 KiB pages (Offset rounded up, the
//! end rounded down, except that a range reaching end of file takes the last partial page
//! with it) and clipped to end of file; a range left empty is still processed, with nothing to
//! do. Ranges are processed in order and processing stops at the first range that cannot be
//! trimmed: another open's byte-range lock over it (STATUS_FILE_LOCK_CONFLICT), or a file
//! system error. NumRangesProcessed says how far it got; when it stopped on the first range
//! the request fails with that range's status. A request whose every range was empty after
//! narrowing returns STATUS_NO_RANGES_PROCESSED ("successful, but no range was processed").
//! On a file system without hole punching the trim is accepted as the hint it is and nothing
//! changes.
//!
//! Refused before anything is trimmed: a directory or a compressed file
//! (STATUS_INVALID_PARAMETER), an open without FILE_WRITE_DATA (STATUS_ACCESS_DENIED), a
//! malformed FILE_LEVEL_TRIM or an OutputBufferSize from 1 to 3 (STATUS_INVALID_PARAMETER), a
//! range whose Offset + Length overflows 64 bits (STATUS_INTEGER_OVERFLOW). Every range that
//! is trimmed first drops the ODX tokens over it (`FileState::io_allowed` with `write`).
use super::super::files;
use crate::server::file_state::FILE_WRITE_DATA;
use crate::server::open::{FileOpen, Open};
use crate::vfs::FILE_ATTRIBUTE_COMPRESSED;
use crate::wire::fsctl::trim::{FileLevelTrim, FILE_LEVEL_TRIM_OUTPUT_LEN};
use crate::wire::ioctl::IoctlRequest;
use crate::wire::NtStatus;

/// Trim granularity: ranges are narrowed to whole pages, as Windows narrows them.
const PAGE: u64 = 4096;

/// Runs FSCTL_FILE_LEVEL_TRIM; returns FILE_LEVEL_TRIM_OUTPUT (empty when the client asked
/// for no output). A trim that stops after its first range succeeds with the count done.
pub(super) async fn trim(
    open: &Open,
    file: &FileOpen,
    req: &IoctlRequest,
) -> Result<Vec<u8>, NtStatus> {
    let t = FileLevelTrim::decode(&req.input).map_err(|_| NtStatus::INVALID_PARAMETER)?;
    let want_output = req.max_output_response != 0;
    if want_output && (req.max_output_response as usize) < FILE_LEVEL_TRIM_OUTPUT_LEN {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if file.is_dir {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if open.granted_access & FILE_WRITE_DATA == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    if t.ranges().any(|(o, l)| o.checked_add(l).is_none()) {
        return Err(NtStatus::INTEGER_OVERFLOW);
    }
    let ranges: Vec<(u64, u64)> = t.ranges().collect();
    let (h, state, volatile) = (
        file.handle.clone(),
        file.state.clone(),
        open.file_id.volatile,
    );
    // One trip to the blocking pool: the size, then per range in order the lock check (which
    // also drops the ODX tokens over it) and the punch, stopping at the first that fails;
    // failing on the first range fails the request with that range's status.
    let processed = files::blocking(move || -> Result<usize, NtStatus> {
        let st = h.stat().map_err(|e| e.status())?;
        if st.attributes & FILE_ATTRIBUTE_COMPRESSED != 0 {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        let stopped = |index: usize, status: NtStatus| match index {
            0 => Err(status),
            _ => Ok(index),
        };
        let mut punched = false;
        for (index, &(off, len)) in ranges.iter().enumerate() {
            let Some((start, end)) = narrow(off, len, st.size) else {
                continue;
            };
            if !state.io_allowed(volatile, start, end - start, true) {
                return stopped(index, NtStatus::FILE_LOCK_CONFLICT);
            }
            match h.punch_hole(start, end - start) {
                Ok(()) => punched = true,
                // No hole punching here: the trim stays a hint, the data stays.
                Err(e) if e.errno() == Some(libc::EOPNOTSUPP) => return Ok(ranges.len()),
                Err(e) => return stopped(index, e.status()),
            }
        }
        match punched {
            true => Ok(ranges.len()),
            false => Err(NtStatus::NO_RANGES_PROCESSED),
        }
    })
    .await??;
    Ok(if want_output {
        (processed as u32).to_le_bytes().to_vec()
    } else {
        Vec::new()
    })
}

/// `[off, off + len)` narrowed to whole pages and clipped to `size`; `None` when nothing is
/// left. A range reaching end of file keeps the partial last page.
fn narrow(off: u64, len: u64, size: u64) -> Option<(u64, u64)> {
    let end = off.saturating_add(len).min(size);
    let start = off.checked_next_multiple_of(PAGE)?;
    let end = if end == size && end > 0 {
        end
    } else {
        end - end % PAGE
    };
    (start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::narrow;

    #[test]
    fn narrows_to_pages_and_clips_to_eof() {
        let size = 10 * 4096 + 100;
        assert_eq!(narrow(0, 4096, size), Some((0, 4096)));
        assert_eq!(narrow(1, 8192, size), Some((4096, 8192)));
        assert_eq!(narrow(1, 4096, size), None);
        assert_eq!(narrow(100, 100, size), None);
        // Reaching end of file takes the partial last page.
        assert_eq!(narrow(8192, u64::MAX - 8192, size), Some((8192, size)));
        assert_eq!(narrow(9 * 4096, 4096 + 100, size), Some((9 * 4096, size)));
        // Beyond end of file, or an empty file: nothing.
        assert_eq!(narrow(size, 4096, size), None);
        assert_eq!(narrow(0, 4096, 0), None);
        assert_eq!(narrow(u64::MAX - 5, 5, size), None);
    }
}
