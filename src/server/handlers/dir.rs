//! QUERY_DIRECTORY (MS-SMB2 3.3.5.17; MS-FSA 2.1.5.5 directory queries; MS-FSCC 2.4 entry
//! layouts, encoded by [`crate::wire::info::dir::DirEntryWriter`]).
//!
//! The listing is streamed: the open keeps a [`DirCursor`] over the backend's
//! [`crate::vfs::DirStream`] (Open.EnumerationLocation) and each request reads only as many
//! entries as fit in OutputBufferLength; an entry that does not fit is kept for the next
//! request. "." and ".." come first (the backend never yields them; ".." of the share root
//! is the root itself). Names are matched against the search pattern with the MS-FSA 2.1.4.4
//! wildcards ([`crate::server::wildcard`]), case-insensitively unless the share is
//! case-sensitive. A pattern without wildcards is looked up directly instead of scanning.
//!
//! Statuses: a non-directory open or an OutputBufferLength above MaxTransactSize is
//! INVALID_PARAMETER; an OutputBufferLength smaller than the fixed part of the class is
//! INFO_LENGTH_MISMATCH; an entry too big for an empty response is BUFFER_TOO_SMALL; a new
//! enumeration that matches nothing is NO_SUCH_FILE, the end of one is NO_MORE_FILES.
//! FILE_LIST_DIRECTORY access is required. No 8.3 short names are generated.
use super::{bad_request, body_of, files};
use crate::server::dispatch::{Ctx, Reply};
use crate::server::open::{DirCursor, FileOpen, Open};
use crate::server::wildcard::Pattern;
use crate::vfs::{self, DirStream, FileStat, OpenRequest, FILE_ATTRIBUTE_REPARSE_POINT};
use crate::wire::info::dir::{fixed_len, is_supported, DirEntry, DirEntryWriter};
use crate::wire::info::FileInformationClass;
use crate::wire::query_directory::QueryDirectoryResponse;
use crate::wire::query_directory::{query_directory_flags as qf, QueryDirectoryRequest};
use crate::wire::{BytesMut, NtStatus};
use std::sync::Arc;

/// FILE_LIST_DIRECTORY.
const FILE_LIST_DIRECTORY: u32 = 0x0000_0001;
/// IO_REPARSE_TAG_SYMLINK (MS-FSCC 2.1.2.1).
const IO_REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;

/// Lists a directory.
pub async fn handle(ctx: Ctx) -> Result<Reply, NtStatus> {
    let req = QueryDirectoryRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(&ctx, req.file_id)?;
    let Some(f) = open.file() else {
        return Err(NtStatus::INVALID_PARAMETER);
    };
    if !f.is_dir {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if req.output_buffer_length > ctx.conn.server.config.limits.max_message_size {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    if open.granted_access & FILE_LIST_DIRECTORY == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let class = FileInformationClass(req.file_information_class);
    let Some(fixed) = fixed_len(class).filter(|_| is_supported(class)) else {
        return Err(NtStatus::INVALID_INFO_CLASS);
    };
    let max = req.output_buffer_length as usize;
    if max < fixed {
        return Err(NtStatus::INFO_LENGTH_MISMATCH);
    }
    let pattern = match &req.file_name {
        Some(p) => p.clone(),
        None => return Err(NtStatus::OBJECT_NAME_INVALID),
    };
    if pattern.contains('\\') || pattern.contains('/') || pattern.contains('\0') {
        return Err(NtStatus::OBJECT_NAME_INVALID);
    }
    let vfs = open
        .tree
        .share
        .vfs
        .clone()
        .ok_or(NtStatus::INVALID_DEVICE_REQUEST)?;
    let case_sensitive = !open.tree.share.config.case_insensitive;
    let flags = req.flags;
    let o = open.clone();
    let (status, out) = files::blocking(move || {
        enumerate(&o, vfs.as_ref(), class, flags, pattern, max, case_sensitive)
    })
    .await??;
    if status != NtStatus::SUCCESS && out.is_empty() {
        return Err(status);
    }
    let body = body_of(|b| {
        QueryDirectoryResponse {
            output: out.freeze(),
        }
        .encode(b)
    });
    Ok(Reply::with_status(status, body))
}

/// The wire entry of a stat.
fn entry_of(name: String, st: &FileStat) -> DirEntry {
    let (eof, alloc) = if st.is_dir {
        (0, 0)
    } else {
        (st.size, st.allocation_size)
    };
    let mut file_id_128 = [0u8; 16];
    file_id_128[..8].copy_from_slice(&st.file_id.to_le_bytes());
    DirEntry {
        file_index: 0,
        creation_time: st.creation_time,
        last_access_time: st.last_access_time,
        last_write_time: st.last_write_time,
        change_time: crate::server::handlers::info::query_file::change_time(st),
        end_of_file: eof,
        allocation_size: alloc,
        file_attributes: st.attributes,
        ea_size: 0,
        short_name: String::new(),
        file_id: st.file_id,
        file_id_128,
        reparse_tag: if st.attributes & FILE_ATTRIBUTE_REPARSE_POINT != 0 {
            IO_REPARSE_TAG_SYMLINK
        } else {
            0
        },
        name,
    }
}

/// Stat of "." (`which == 0`) or ".." of the open directory.
fn dot_stat(f: &FileOpen, share: &dyn vfs::Share, which: u8) -> Result<FileStat, NtStatus> {
    let path = f.handle.path();
    if which == 0 || path.is_root() {
        return f.handle.stat().map_err(|e| e.status());
    }
    let req = OpenRequest {
        read: false,
        directory: Some(true),
        ..Default::default()
    };
    let (h, _) = share.open(&path.parent(), &req).map_err(|e| e.status())?;
    h.stat().map_err(|e| e.status())
}

/// Looks up the one entry a wildcard-free pattern names; its on-disk name and stat.
fn lookup(
    f: &FileOpen,
    stream: &dyn DirStream,
    share: &dyn vfs::Share,
    name: &str,
) -> Option<(String, FileStat)> {
    let probe = vfs::DirEntry {
        name: name.to_string(),
        ino: 0,
        kind: vfs::EntryKind::Unknown,
    };
    if let Ok(st) = stream.stat_entry(&probe) {
        return Some((name.to_string(), st));
    }
    // A case-insensitive share resolves the name through the backend.
    let path = f.handle.path().join(name).ok()?;
    let req = OpenRequest {
        read: false,
        ..Default::default()
    };
    let (h, _) = share.open(&path, &req).ok()?;
    let actual = h.path().file_name()?.to_string();
    let st = h.stat().ok()?;
    Some((actual, st))
}

/// One QUERY_DIRECTORY on the blocking pool: (status, entries).
fn enumerate(
    open: &Arc<Open>,
    share: &dyn vfs::Share,
    class: FileInformationClass,
    flags: u8,
    pattern: String,
    max: usize,
    case_sensitive: bool,
) -> Result<(NtStatus, BytesMut), NtStatus> {
    let f = open.file().ok_or(NtStatus::INVALID_PARAMETER)?;
    let mut guard = f.dir.lock();
    let restart = flags & (qf::RESTART_SCANS | qf::REOPEN) != 0;
    let pattern = if pattern.is_empty() {
        "*".to_string()
    } else {
        pattern
    };
    let new_enumeration = guard.is_none() || restart;
    if guard.is_none() || flags & qf::REOPEN != 0 {
        let stream = f.handle.list_dir().map_err(|e| e.status())?;
        *guard = Some(DirCursor {
            stream,
            pattern,
            dots_done: 0,
            pushed_back: None,
            finished: false,
        });
    } else if let Some(cur) = guard.as_mut().filter(|_| restart) {
        cur.stream.rewind().map_err(|e| e.status())?;
        cur.pattern = pattern;
        cur.dots_done = 0;
        cur.pushed_back = None;
        cur.finished = false;
    }
    let Some(cur) = guard.as_mut() else {
        return Err(NtStatus::INTERNAL_ERROR);
    };
    let pat = Pattern::new(&cur.pattern, case_sensitive);
    let literal = pat.is_literal();
    let single = flags & qf::RETURN_SINGLE_ENTRY != 0;
    let names_only = class == FileInformationClass::FILE_NAMES_INFORMATION;
    let mut out = BytesMut::with_capacity(max.min(64 * 1024));
    let mut w = DirEntryWriter::new(&mut out, max);
    loop {
        if cur.dots_done < 2 {
            let which = cur.dots_done;
            let name = if which == 0 { "." } else { ".." };
            if !pat.matches(name) {
                cur.dots_done += 1;
                continue;
            }
            let st = dot_stat(f, share, which)?;
            let e = entry_of(name.to_string(), &st);
            if !w.push(class, &e).map_err(|_| NtStatus::INVALID_PARAMETER)? {
                break;
            }
            cur.dots_done += 1;
            if single {
                break;
            }
            continue;
        }
        let (entry, st) = if let Some(e) = cur.pushed_back.take() {
            match cur.stream.stat_entry(&e) {
                Ok(st) => (e, Some(st)),
                Err(_) => continue,
            }
        } else if cur.finished {
            break;
        } else if literal {
            cur.finished = true;
            match lookup(f, cur.stream.as_ref(), share, &cur.pattern) {
                Some((name, st)) => (
                    vfs::DirEntry {
                        name,
                        ino: st.file_id,
                        kind: vfs::EntryKind::Unknown,
                    },
                    Some(st),
                ),
                None => break,
            }
        } else {
            match cur.stream.next() {
                None => {
                    cur.finished = true;
                    break;
                }
                Some(Err(e)) => return Err(e.status()),
                Some(Ok(e)) => {
                    if !pat.matches(&e.name) {
                        continue;
                    }
                    if names_only {
                        (e, None)
                    } else {
                        match cur.stream.stat_entry(&e) {
                            Ok(st) => (e, Some(st)),
                            // Removed since it was read: skip it.
                            Err(_) => continue,
                        }
                    }
                }
            }
        };
        let wire = match &st {
            Some(st) => entry_of(entry.name.clone(), st),
            None => DirEntry {
                name: entry.name.clone(),
                file_id: entry.ino,
                ..Default::default()
            },
        };
        if !w
            .push(class, &wire)
            .map_err(|_| NtStatus::INVALID_PARAMETER)?
        {
            cur.pushed_back = Some(entry);
            break;
        }
        if single {
            break;
        }
    }
    if w.count() > 0 {
        return Ok((NtStatus::SUCCESS, out));
    }
    let status = if cur.pushed_back.is_some() || cur.dots_done < 2 {
        NtStatus::BUFFER_TOO_SMALL
    } else if new_enumeration {
        NtStatus::NO_SUCH_FILE
    } else {
        NtStatus::NO_MORE_FILES
    };
    Ok((status, out))
}
