//! FSCTL_DUPLICATE_EXTENTS_TO_FILE and FSCTL_DUPLICATE_EXTENTS_TO_FILE_EX (MS-SMB2
//! 3.3.5.15.17/18, MS-FSA 2.1.5.10.4/5, MS-FSCC 2.3.7–2.3.10): block cloning, done with
//! FICLONERANGE ([`crate::vfs::copy::clone_range`]) so the target shares the source's extents.
//!
//! Checks, in order (as Windows Server 2016 on ReFS, which smbtorture follows):
//! - the share's file system cannot reflink: STATUS_INVALID_DEVICE_REQUEST (the feature is
//!   optional, and FILE_SUPPORTS_BLOCK_REFCOUNTING is advertised only where it works);
//! - a short or malformed input (the _EX form with a StructureSize other than 0x30):
//!   STATUS_INVALID_PARAMETER;
//! - the target is a directory: STATUS_INVALID_PARAMETER; it lacks FILE_WRITE_DATA:
//!   STATUS_ACCESS_DENIED;
//! - the source FileId names no open of this session (any of its trees), or a file on
//!   another device: STATUS_INVALID_HANDLE (Windows, where MS-FSCC says INVALID_PARAMETER);
//!   the source lacks FILE_READ_DATA: STATUS_ACCESS_DENIED;
//! - negative or wrapping offsets: STATUS_INVALID_PARAMETER; a source range past the source's
//!   end of file: STATUS_NOT_SUPPORTED; a target range past the target's end of file is cut
//!   there (the target never grows); a zero length: success, nothing done;
//! - overlapping ranges of one file, or a sparse source into a non-sparse target:
//!   STATUS_NOT_SUPPORTED;
//! - offsets and length must be multiples of the file system block size, except that a range
//!   ending at the source's end of file may end mid-block: STATUS_INVALID_PARAMETER otherwise.
//!
//! Byte-range locks are not checked (as ReFS). The target sees the clone as a WRITE (oplock
//! and lease breaks, LastWriteTime, change notify: [`super::copychunk`]); bytes are counted
//! in the share's copy counters.
use super::super::files;
use super::copychunk::{after_copy_write, before_copy_write};
use crate::server::copy_stats::CopyFsctl;
use crate::server::dispatch::Ctx;
use crate::server::file_state::{FILE_READ_DATA, FILE_WRITE_DATA};
use crate::server::open::Open;
use crate::vfs::copy::{clone_range, CopyOutcome};
use crate::vfs::{VfsError, FILE_ATTRIBUTE_SPARSE_FILE};
use crate::wire::fsctl::duplicate_extents::*;
use crate::wire::fsctl::FSCTL_DUPLICATE_EXTENTS_TO_FILE_EX;
use crate::wire::ioctl::IoctlRequest;
use crate::wire::{FileId, NtStatus};
use std::sync::Arc;

/// The request, whichever form.
struct Request {
    source: FileId,
    source_offset: i64,
    target_offset: i64,
    byte_count: i64,
}

fn decode(req: &IoctlRequest) -> Result<Request, NtStatus> {
    let bad = |_| NtStatus::INVALID_PARAMETER;
    if req.ctl_code == FSCTL_DUPLICATE_EXTENTS_TO_FILE_EX {
        let d = DuplicateExtentsDataEx::decode(&req.input).map_err(bad)?;
        if d.structure_size != SMB2_DUPLICATE_EXTENTS_DATA_EX_SIZE {
            return Err(NtStatus::INVALID_PARAMETER);
        }
        return Ok(Request {
            source: d.file_id,
            source_offset: d.source_file_offset,
            target_offset: d.target_file_offset,
            byte_count: d.byte_count,
        });
    }
    let d = DuplicateExtentsData::decode(&req.input).map_err(bad)?;
    Ok(Request {
        source: d.file_id,
        source_offset: d.source_file_offset,
        target_offset: d.target_file_offset,
        byte_count: d.byte_count,
    })
}

/// The open `id` names in this session, through any of its trees.
fn source_open(ctx: &Ctx, dest: &Open, id: FileId) -> Option<Arc<Open>> {
    let opens = &ctx.conn.server.opens;
    if let Some(o) = opens.get(id, dest.session_id, dest.tree.id) {
        return Some(o);
    }
    let session = ctx.session.as_ref()?;
    let trees: Vec<u32> = session.trees.iter().map(|t| *t.key()).collect();
    trees
        .into_iter()
        .find_map(|t| opens.get(id, dest.session_id, t))
}

/// Runs FSCTL_DUPLICATE_EXTENTS_TO_FILE[_EX] on the target `dest`; success carries no output.
pub async fn duplicate_extents(
    ctx: &Ctx,
    dest: &Arc<Open>,
    req: &IoctlRequest,
) -> Result<(), NtStatus> {
    if !dest.tree.share.supports_block_refcounting() {
        return Err(NtStatus::INVALID_DEVICE_REQUEST);
    }
    let r = decode(req)?;
    let dfile = dest.file().ok_or(NtStatus::INVALID_PARAMETER)?;
    if dfile.is_dir {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if dest.granted_access & FILE_WRITE_DATA == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let src = source_open(ctx, dest, r.source).ok_or(NtStatus::INVALID_HANDLE)?;
    let sfile = src.file().ok_or(NtStatus::INVALID_HANDLE)?;
    if sfile.is_dir {
        return Err(NtStatus::INVALID_HANDLE);
    }
    if src.granted_access & FILE_READ_DATA == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let (Ok(so), Ok(to), Ok(count)) = (
        u64::try_from(r.source_offset),
        u64::try_from(r.target_offset),
        u64::try_from(r.byte_count),
    ) else {
        return Err(NtStatus::INVALID_PARAMETER);
    };
    if so.checked_add(count).is_none() || to.checked_add(count).is_none() {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    // Unlike COPYCHUNK, byte-range locks do not stop a clone (as on Windows/ReFS, which
    // smbtorture's dup_extents_*_lock encode); ODX tokens covering the replaced range end.
    dfile.state.odx.note_write(dfile.state.key, to, count);
    let need_base = before_copy_write(dest, dfile);
    let (s, d) = (sfile.handle.clone(), dfile.handle.clone());
    let (cloned, base) = files::blocking(move || -> Result<(u64, Option<u64>), VfsError> {
        let (ss, ds) = (s.stat()?, d.stat()?);
        if ss.dev != ds.dev {
            return Err(VfsError::status_only(NtStatus::INVALID_HANDLE));
        }
        if ss.size < so + count {
            return Err(VfsError::status_only(NtStatus::NOT_SUPPORTED));
        }
        // The target never grows: a range past its end is cut there (as Windows).
        let count = count.min(ds.size.saturating_sub(to));
        if count == 0 {
            return Ok((0, None));
        }
        if ss.file_id == ds.file_id && so < to + count && to < so + count {
            return Err(VfsError::status_only(NtStatus::NOT_SUPPORTED));
        }
        if ss.attributes & FILE_ATTRIBUTE_SPARSE_FILE != 0
            && ds.attributes & FILE_ATTRIBUTE_SPARSE_FILE == 0
        {
            return Err(VfsError::status_only(NtStatus::NOT_SUPPORTED));
        }
        let base = need_base.then_some(ds.last_write_time);
        clone_range(s.as_ref(), so, d.as_ref(), to, count)?;
        Ok((count, base))
    })
    .await?
    .map_err(|e| e.status())?;
    dest.tree.share.copy_stats.record(
        CopyFsctl::DuplicateExtents,
        &CopyOutcome {
            cloned,
            ..Default::default()
        },
    );
    after_copy_write(ctx, dest, dfile, base, cloned);
    Ok(())
}
