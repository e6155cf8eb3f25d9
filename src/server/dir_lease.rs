//! Directory leases (MS-SMB2 3.3.5.9.11 with SMB2_GLOBAL_CAP_DIRECTORY_LEASING, 3.3.4.7; the
//! object store side is MS-FSA 2.1.4.13 "breaking an oplock on a parent directory").
//!
//! A 3.x client may hold a v2 lease on a directory open: R or RH (W is never granted on a
//! directory; [`super::lease`] grants them). It caches the directory's listing and the
//! attributes of its entries, so the server breaks the lease to none when the listing changes:
//! an entry created, overwritten or superseded (CREATE), deleted (delete on close), renamed
//! into or out of it, linked into it, its attributes, times or size set (SET_INFO), or its
//! data written (at the CLOSE of the open that wrote: LastWriteTime changes then, as Windows
//! and smbtorture smb2.lease.v2_request expect). The break does not wait for the
//! acknowledgment (the operation proceeds, as on Windows).
//!
//! The client tells the server which directory lease an open of a child belongs to with the
//! ParentLeaseKey of its v2 lease request (2.2.13.2.10): a change made through such an open
//! does not break that lease (the client knows of the change), but it does break every other
//! lease on the directory, the same client's leases with other keys included.
//!
//! The registry here ([`DirLeases`], one per server) maps (share, directory path) to the
//! states of the leased directory opens, so that a change of `a\b\f` finds the leases of
//! `a\b` without touching the file system; it holds weak references and costs nothing while
//! no directory lease exists.
use super::file_state::FileState;
use super::lease::LeaseId;
use super::open::Open;
use super::Server;
use crate::vfs::path::SharePath;
use crate::vfs::CreateAction;
use crate::wire::create_contexts::{lease_flags, Lease as LeaseContext};
use dashmap::DashMap;
use std::sync::{Arc, Weak};

/// (share, directory path), both lowercased (names compare case-insensitively).
type DirKey = (String, String);

/// A server's directory opens that were granted a lease, by directory
/// ([`super::Server::dir_leases`]).
#[derive(Default)]
pub struct DirLeases(DashMap<DirKey, Vec<Weak<FileState>>>);

fn dir_key(share: &str, components: &[String]) -> DirKey {
    (
        share.to_lowercase(),
        components
            .iter()
            .map(|c| c.to_lowercase())
            .collect::<Vec<_>>()
            .join("\\"),
    )
}

/// Remembers that the directory `path` of `share`, whose state is `state`, holds a lease.
fn register(dirs: &DirLeases, share: &str, path: &SharePath, state: &Arc<FileState>) {
    if dirs.0.len() > 4096 {
        dirs.0.retain(|_, v| v.iter().any(|w| w.strong_count() > 0));
    }
    let mut v = dirs.0.entry(dir_key(share, path.components())).or_default();
    v.retain(|w| w.strong_count() > 0);
    if !v.iter().any(|w| w.as_ptr() == Arc::as_ptr(state)) {
        v.push(Arc::downgrade(state));
    }
}

/// Breaks the leases of the directory holding `path` to none, except the lease `except`
/// (the ParentLeaseKey of the open that made the change, with its ClientGuid).
fn break_parent(dirs: &DirLeases, share: &str, path: &SharePath, except: Option<LeaseId>) {
    if dirs.0.is_empty() || path.stream().is_some() || path.components().is_empty() {
        return;
    }
    let key = dir_key(share, path.parent_components());
    let states: Vec<Arc<FileState>> = match dirs.0.get(&key) {
        Some(v) => v.iter().filter_map(Weak::upgrade).collect(),
        None => return,
    };
    for state in states {
        let mut notices = Vec::new();
        let changed = state
            .inner
            .lock()
            .oplocks
            .break_dir_leases(except.as_ref(), &mut notices);
        super::oplock::send(notices);
        if changed {
            state.oplock_changed.notify_waiters();
        }
    }
}

/// The ClientGuid of `ctx`'s connection.
fn client_guid(conn: &super::connection::Connection) -> [u8; 16] {
    conn.negotiated
        .lock()
        .as_ref()
        .map_or([0; 16], |n| n.client_guid.0)
}

/// The directory lease a v2 lease request names as its parent (SMB2_LEASE_FLAG_PARENT_LEASE_KEY_SET).
fn parent_of_request(client: [u8; 16], lease: Option<&LeaseContext>) -> Option<LeaseId> {
    match lease? {
        LeaseContext::V2(l) if l.flags & lease_flags::PARENT_LEASE_KEY_SET != 0 => {
            Some((client, l.parent_lease_key))
        }
        _ => None,
    }
}

/// After a successful CREATE of `path` (`action`): a directory open made with a lease request
/// joins the registry; a created, overwritten or superseded entry breaks its directory's
/// leases (but the one the request names as its parent).
#[allow(clippy::too_many_arguments)]
pub fn after_create(
    conn: &super::connection::Connection,
    share: &str,
    path: &SharePath,
    action: CreateAction,
    is_dir: bool,
    state: &Arc<FileState>,
    lease: Option<&LeaseContext>,
) {
    let dirs = &conn.server.dir_leases;
    if is_dir
        && lease.is_some()
        && path.stream().is_none()
        && state.inner.lock().oplocks.has_leases()
    {
        register(dirs, share, path, state);
    }
    if action != CreateAction::Opened && !dirs.0.is_empty() {
        let except = parent_of_request(client_guid(conn), lease);
        break_parent(dirs, share, path, except);
    }
}

/// The directory lease `open`'s own lease names as its parent, if any.
fn parent_of_open(open: &Open) -> Option<LeaseId> {
    let f = open.file()?;
    let inner = f.state.inner.lock();
    inner.oplocks.parent_of(open.file_id.volatile)
}

/// An entry `path` changed through `open` (SET_INFO, rename source or target, delete): breaks
/// the leases of its directory, but the one `open`'s lease names as its parent.
pub fn child_changed(server: &Server, open: &Open, path: &SharePath) {
    let dirs = &server.dir_leases;
    if dirs.0.is_empty() {
        return;
    }
    break_parent(dirs, &open.tree.share.name, path, parent_of_open(open));
}

/// `open`'s file or directory was renamed from `source` to `target`: both directories'
/// leases break (but the one `open`'s lease names as its parent), and a leased directory at or
/// under `source` is found under its new name from now on.
pub fn renamed(server: &Server, open: &Open, source: &SharePath, target: &SharePath) {
    let dirs = &server.dir_leases;
    if dirs.0.is_empty() {
        return;
    }
    let except = parent_of_open(open);
    let share = &open.tree.share.name;
    break_parent(dirs, share, source, except);
    break_parent(dirs, share, target, except);
    let (s, from) = dir_key(share, source.components());
    let (_, to) = dir_key(share, target.components());
    let moved: Vec<DirKey> = dirs
        .0
        .iter()
        .map(|e| e.key().clone())
        .filter(|(sh, p)| *sh == s && (*p == from || p.starts_with(&format!("{from}\\"))))
        .collect();
    for k in moved {
        if let Some((_, v)) = dirs.0.remove(&k) {
            let rest = &k.1[from.len()..];
            dirs.0
                .entry((s.clone(), format!("{to}{rest}")))
                .or_default()
                .extend(v);
        }
    }
}

/// Before the CLOSE of `open`: when its file's data changed (its LastWriteTime is kept for an
/// update), the directory's leases break, but the one `open`'s lease names as its parent.
pub fn before_close(server: &Server, open: &Open) {
    let dirs = &server.dir_leases;
    if dirs.0.is_empty() {
        return;
    }
    let Some(f) = open.file() else {
        return;
    };
    if f.is_dir || f.state.times.reported().is_none() {
        return;
    }
    break_parent(
        dirs,
        &open.tree.share.name,
        &f.handle.path(),
        parent_of_open(open),
    );
}

/// Whether directory leasing is offered on `dialect` (the 3.x family; MS-SMB2 3.3.5.4).
pub fn offered(_server: &Server, dialect: u16) -> bool {
    dialect >= 0x0300
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case() {
        let p = SharePath::parse("Dir\\Sub\\File.txt").unwrap();
        let d = SharePath::parse("dir\\SUB").unwrap();
        assert_eq!(
            dir_key("Share", p.parent_components()),
            dir_key("share", d.components())
        );
    }
}
