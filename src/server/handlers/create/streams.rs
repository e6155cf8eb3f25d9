//! Named streams and their base file (MS-FSA 2.1.5.1.2 open of a stream, 2.1.5.4 cleanup).
//!
//! Share modes are per stream: an open of one stream never conflicts with an open of another
//! stream or of the default data stream — with one exception that Windows enforces: an open of
//! the default stream (the file) that asks for DELETE must be one that every open stream of the
//! file would let delete it, so a stream open without FILE_SHARE_DELETE makes such an open a
//! STATUS_SHARING_VIOLATION ([`base_delete_ok`]). The file is then deleted only once its last
//! stream handle is gone too: until then it is delete-pending, and name-based opens of the file
//! and of any of its streams fail with STATUS_DELETE_PENDING, while the open stream handles go on
//! working (Samba's smb2.streams.delete documents the same semantics).
//!
//! Each stream open is linked to the FileState of its base file ([`attach`]): the link holds
//! the base state alive (its delete-pending mark included) and is listed under the base file
//! with the stream open's access and share mode. The stream opens take no part in the base
//! file's own share entries or oplocks (smb2.oplock.stream1: a base open next to an open stream
//! still gets a batch oplock).
use crate::server::file_state::{self, FileState, ShareEntry, DELETE};
use crate::server::handlers::files;
use crate::server::open::Open;
use crate::server::Server;
use crate::vfs::{FileStat, OpenRequest};
use crate::wire::NtStatus;
use dashmap::DashMap;
use std::sync::Arc;

/// A server's links between stream opens and their base files
/// ([`crate::server::Server::streams`]).
#[derive(Default)]
pub struct StreamLinks {
    /// The base file state of each stream open, by volatile FileId.
    links: DashMap<u64, Arc<FileState>>,
    /// The stream opens of each base file (by its FileState key): (volatile FileId, access,
    /// share) of every open stream.
    bases: DashMap<(u64, u64), Vec<ShareEntry>>,
}

/// True when the CREATE name ends in an explicit `::$DATA` (the default stream named as a
/// stream): a directory has no such stream (smb2.streams.dir).
pub(super) fn names_default_stream(name: &str) -> bool {
    name.rsplit('\\').next().is_some_and(|c| c.contains(':'))
}

/// Links the new stream open `open` (already registered in the stream's own state) to its
/// base file, whose (device, inode) `stat` of the stream carries. Fails with
/// STATUS_DELETE_PENDING when the base file is delete-pending.
pub(super) fn attach(
    server: &Server,
    stat: &FileStat,
    open: u64,
    access: u32,
    share: u32,
) -> Result<(), NtStatus> {
    let key = (stat.dev, stat.file_id);
    let base = server.files.get_or_create(key);
    let pending = {
        // Under the base lock, so a close of the base file sees either this stream or none.
        let inner = base.inner.lock();
        if !inner.delete_pending {
            server
                .streams
                .bases
                .entry(key)
                .or_default()
                .push(ShareEntry {
                    open,
                    access,
                    share,
                });
        }
        inner.delete_pending
    };
    if pending {
        drop(base);
        server.files.forget(key);
        return Err(NtStatus::DELETE_PENDING);
    }
    server.streams.links.insert(open, base);
    Ok(())
}

/// Removes the link of `open`; returns the base state and whether it was the last stream open
/// of a base file that has no opens left and is delete-pending (so it must be deleted now).
fn unlink(server: &Server, open: u64) -> Option<(Arc<FileState>, bool)> {
    let (_, base) = server.streams.links.remove(&open)?;
    let inner = base.inner.lock();
    let k = base.key;
    let bases = &server.streams.bases;
    let none_left = match bases.get_mut(&k) {
        Some(mut v) => {
            v.retain(|e| e.open != open);
            v.is_empty()
        }
        None => true,
    };
    if none_left {
        bases.remove_if(&k, |_, v| v.is_empty());
    }
    let delete = none_left && inner.opens.is_empty() && inner.delete_pending;
    drop(inner);
    Some((base, delete))
}

/// Undoes [`attach`] for an open that failed after it (no deletion happens here).
pub(super) fn forget_failed(server: &Server, open: u64) {
    if let Some((base, _)) = unlink(server, open) {
        let key = base.key;
        drop(base);
        server.files.forget(key);
    }
}

/// True while some stream of the base file with FileState key `key` is open: a delete-pending
/// file is then deleted by the close of its last stream instead.
pub fn has_open_streams(server: &Server, key: (u64, u64)) -> bool {
    server
        .streams
        .bases
        .get(&key)
        .is_some_and(|v| !v.is_empty())
}

/// Whether an open of the base file (FileState key `key`) with `access` may join its open
/// streams: DELETE needs FILE_SHARE_DELETE from every stream open with data or delete access.
pub(super) fn base_delete_ok(server: &Server, key: (u64, u64), access: u32) -> bool {
    if access & DELETE == 0 {
        return true;
    }
    server.streams.bases.get(&key).is_none_or(|v| {
        file_state::sharing_ok(
            &v,
            DELETE,
            file_state::FILE_SHARE_READ
                | file_state::FILE_SHARE_WRITE
                | file_state::FILE_SHARE_DELETE,
        )
    })
}

/// Unlinks a stream open from its base file when it goes away; deletes the base file when this
/// was its last handle and it is delete-pending. Does nothing for other opens.
pub async fn detach(server: &Arc<Server>, open: &Open) {
    let Some((base, delete)) = unlink(server, open.file_id.volatile) else {
        return;
    };
    if delete {
        if let (Some(vfs), Some(f)) = (open.tree.share.vfs.clone(), open.file()) {
            let path = f.handle.path().without_stream();
            let key = base.key;
            let target = path.clone();
            let done = files::blocking(move || {
                let probe = OpenRequest {
                    read: false,
                    ..Default::default()
                };
                let (h, _) = vfs.open(&target, &probe)?;
                let st = h.stat()?;
                // Only the file this stream belonged to, never one renamed into its place.
                if (st.dev, st.file_id) != key {
                    return Ok(false);
                }
                vfs.delete(&*h).map(|()| true)
            })
            .await;
            if let Ok(Ok(true)) = done {
                use crate::wire::change_notify::{completion_filter as cf, notify_action as na};
                crate::server::notify_bus::report(
                    server,
                    &open.tree.share.name,
                    &path,
                    na::FILE_ACTION_REMOVED,
                    cf::FILE_NOTIFY_CHANGE_FILE_NAME,
                );
            }
        }
        base.inner.lock().delete_pending = false;
    }
    let key = base.key;
    drop(base);
    server.files.forget(key);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_stream_names() {
        assert!(names_default_stream("dir::$DATA"));
        assert!(names_default_stream("a\\b::$data"));
        assert!(!names_default_stream("a:b\\c"));
        assert!(!names_default_stream("dir"));
    }
}
