//! The server-wide change-notification registry (MS-SMB2 3.3.5.19, MS-FSA 2.1.5.10 and
//! 2.1.4.16 "FsRtlNotifyFullReportChange").
//!
//! A directory open becomes a *watch* with its first CHANGE_NOTIFY: the completion filter,
//! WATCH_TREE and OutputBufferLength of that first request stay with the open (as Windows and
//! Samba do: "if the first notify returns NOTIFY_ENUM_DIR, all do"). From then on every change
//! rsmbd's handlers [`report`] is matched against the watches of the share and queued on each
//! open that wants it, whether or not a request is waiting (MS-SMB2: the server buffers
//! changes for the open between requests). A waiting request completes with the queued
//! changes; when they do not fit in the first request's OutputBufferLength, or the queue
//! overflowed, the request completes with STATUS_NOTIFY_ENUM_DIR and the queue is dropped.
//!
//! Changes made outside SMB (directly on the server's file system) are not seen.
use super::Server;
use crate::vfs::SharePath;
use crate::wire::{FileId, NtStatus};
use dashmap::DashMap;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;

/// Most bytes of FILE_NOTIFY_INFORMATION queued on one open, whatever its buffer size.
const MAX_QUEUED_BYTES: usize = 1 << 20;

/// The registry: watches by the volatile FileId of their directory open.
#[derive(Default)]
pub struct NotifyBus {
    watches: DashMap<u64, Arc<Watch>>,
}

/// One watched directory open.
pub struct Watch {
    /// The directory open.
    pub open: FileId,
    /// Its session.
    pub session_id: u64,
    /// Its tree connect.
    pub tree_id: u32,
    /// Name of the share.
    pub share: String,
    /// The directory, relative to the share root.
    pub dir: SharePath,
    /// CompletionFilter of the first request.
    pub filter: u32,
    /// SMB2_WATCH_TREE of the first request.
    pub tree: bool,
    /// OutputBufferLength of the first request.
    pub max_bytes: u32,
    state: Mutex<WatchState>,
    /// Woken on every queued change and whenever a waiter leaves.
    pub wake: tokio::sync::Notify,
}

#[derive(Default)]
struct WatchState {
    events: Vec<(u32, String)>,
    bytes: usize,
    overflow: bool,
    waiters: VecDeque<u64>,
    next_ticket: u64,
}

/// Bytes one FILE_NOTIFY_INFORMATION entry takes, aligned to 4 (MS-FSCC 2.7.1).
fn entry_len(name: &str) -> usize {
    (12 + name.encode_utf16().count() * 2).div_ceil(4) * 4
}

fn eq_component(a: &str, b: &str) -> bool {
    a == b || a.to_lowercase() == b.to_lowercase()
}

impl Watch {
    /// The name of `path` relative to this watch's directory, if this watch sees it.
    fn relative_name(&self, path: &SharePath) -> Option<String> {
        let dir = self.dir.components();
        let p = path.components();
        if p.len() <= dir.len() || !dir.iter().zip(p).all(|(a, b)| eq_component(a, b)) {
            return None;
        }
        let rest = &p[dir.len()..];
        if rest.len() > 1 && !self.tree {
            return None;
        }
        let mut name = rest.join("\\");
        if let Some(s) = path.stream() {
            name.push(':');
            name.push_str(s);
        }
        Some(name)
    }

    fn push(&self, action: u32, name: String) {
        let mut st = self.state.lock();
        if st.overflow {
            return;
        }
        let len = entry_len(&name);
        if st.bytes + len > (self.max_bytes as usize).min(MAX_QUEUED_BYTES) {
            st.overflow = true;
            st.events.clear();
            st.bytes = 0;
        } else {
            st.bytes += len;
            st.events.push((action, name));
        }
        drop(st);
        self.wake.notify_waiters();
    }

    /// Takes what is queued for a request: `None` when nothing is; `Err(NOTIFY_ENUM_DIR)` after
    /// an overflow or when the changes exceed `buffer_len`.
    pub fn take(&self, buffer_len: u32) -> Option<Result<Vec<(u32, String)>, NtStatus>> {
        let mut st = self.state.lock();
        if st.overflow {
            st.overflow = false;
            return Some(Err(NtStatus::NOTIFY_ENUM_DIR));
        }
        if st.events.is_empty() {
            return None;
        }
        let bytes = std::mem::take(&mut st.bytes);
        let events = std::mem::take(&mut st.events);
        if bytes > buffer_len as usize {
            return Some(Err(NtStatus::NOTIFY_ENUM_DIR));
        }
        Some(Ok(events))
    }

    /// Queues a waiting request; returns its ticket (requests are answered in order).
    pub fn enqueue_waiter(&self) -> u64 {
        let mut st = self.state.lock();
        let t = st.next_ticket;
        st.next_ticket += 1;
        st.waiters.push_back(t);
        t
    }

    /// Whether `ticket` is the oldest waiting request.
    pub fn is_first(&self, ticket: u64) -> bool {
        self.state.lock().waiters.front() == Some(&ticket)
    }

    /// Whether any request is waiting.
    pub fn has_waiters(&self) -> bool {
        !self.state.lock().waiters.is_empty()
    }

    /// Removes a waiting request and lets the next one look.
    pub fn dequeue_waiter(&self, ticket: u64) {
        self.state.lock().waiters.retain(|t| *t != ticket);
        self.wake.notify_waiters();
    }
}

impl NotifyBus {
    /// The watch of a directory open, created by its first CHANGE_NOTIFY with that request's
    /// parameters.
    #[allow(clippy::too_many_arguments)]
    pub fn watch(
        &self,
        open: FileId,
        session_id: u64,
        tree_id: u32,
        share: &str,
        dir: SharePath,
        filter: u32,
        tree: bool,
        max_bytes: u32,
    ) -> Arc<Watch> {
        self.watches
            .entry(open.volatile)
            .or_insert_with(|| {
                Arc::new(Watch {
                    open,
                    session_id,
                    tree_id,
                    share: share.to_string(),
                    dir,
                    filter,
                    tree,
                    max_bytes,
                    state: Mutex::new(WatchState::default()),
                    wake: tokio::sync::Notify::new(),
                })
            })
            .clone()
    }

    /// Forgets the watch of an open (it closed).
    pub fn forget(&self, open: FileId) {
        if let Some((_, w)) = self.watches.remove(&open.volatile) {
            w.wake.notify_waiters();
        }
    }

    /// Number of watches (for tests and status).
    pub fn len(&self) -> usize {
        self.watches.len()
    }

    /// True when nothing is watched.
    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }
}

/// Reports a change: `path` (relative to the root of share `share`) was changed as `action`
/// (a FILE_ACTION_* of [`crate::wire::change_notify::notify_action`]), which matches the
/// completion-filter bits `filter` ([`crate::wire::change_notify::completion_filter`]).
///
/// Call it after the change succeeded, from any handler (it never blocks; it takes short
/// locks only). Typical pairs: create/mkdir `ADDED` with `FILE_NAME`/`DIR_NAME`; delete
/// `REMOVED` with `FILE_NAME`/`DIR_NAME`; rename `RENAMED_OLD_NAME` (old path) then
/// `RENAMED_NEW_NAME` (new path) with `FILE_NAME`/`DIR_NAME`; write `MODIFIED` with
/// `LAST_WRITE` (plus `SIZE` when the size changed); SET_INFO basic `MODIFIED` with
/// `ATTRIBUTES`/`LAST_WRITE`/`CREATION`/`LAST_ACCESS` as set; end-of-file `MODIFIED` with
/// `SIZE`; security `MODIFIED` with `SECURITY`; EA `MODIFIED` with `EA`; streams
/// `ADDED_STREAM`/`REMOVED_STREAM`/`MODIFIED_STREAM` with `STREAM_*` on a path with a stream.
pub fn report(server: &Server, share: &str, path: &SharePath, action: u32, filter: u32) {
    let bus = &server.notify;
    if bus.watches.is_empty() {
        return;
    }
    let mut dead = Vec::new();
    for w in bus.watches.iter() {
        if !w.share.eq_ignore_ascii_case(share) || w.filter & filter == 0 {
            continue;
        }
        if server.opens.get(w.open, w.session_id, w.tree_id).is_none() {
            dead.push(w.open);
            continue;
        }
        if let Some(name) = w.relative_name(path) {
            w.push(action, name);
        }
    }
    for d in dead {
        bus.forget(d);
    }
}

/// Whether two paths lie in the same directory (names compared case-insensitively).
fn same_parent(a: &SharePath, b: &SharePath) -> bool {
    let (a, b) = (a.parent_components(), b.parent_components());
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| eq_component(x, y))
}

/// Reports a rename of `from` to `to` (MS-FSA 2.1.5.14.11): within one directory as
/// `RENAMED_OLD_NAME` then `RENAMED_NEW_NAME`; into another directory as `REMOVED` from the
/// old one then `ADDED` to the new one. `filter` is `FILE_NAME` or `DIR_NAME`.
pub fn report_rename(server: &Server, share: &str, from: &SharePath, to: &SharePath, filter: u32) {
    use crate::wire::change_notify::notify_action as na;
    let (old, new) = if same_parent(from, to) {
        (
            na::FILE_ACTION_RENAMED_OLD_NAME,
            na::FILE_ACTION_RENAMED_NEW_NAME,
        )
    } else {
        (na::FILE_ACTION_REMOVED, na::FILE_ACTION_ADDED)
    };
    report(server, share, from, old, filter);
    report(server, share, to, new, filter);
}

impl NotifyBus {
    /// True when some CHANGE_NOTIFY watch is registered: hot paths (WRITE) build the path
    /// to report only then.
    pub fn is_watched(&self) -> bool {
        !self.watches.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(dir: &str, tree: bool, max: u32) -> Watch {
        Watch {
            open: FileId::default(),
            session_id: 1,
            tree_id: 1,
            share: "s".into(),
            dir: SharePath::parse(dir).unwrap(),
            filter: 3,
            tree,
            max_bytes: max,
            state: Mutex::new(WatchState::default()),
            wake: tokio::sync::Notify::new(),
        }
    }

    #[test]
    fn relative_names() {
        let w = watch("a", false, 1000);
        let p = |s: &str| SharePath::parse(s).unwrap();
        assert_eq!(w.relative_name(&p("a\\f")), Some("f".into()));
        assert_eq!(w.relative_name(&p("A\\f")), Some("f".into()));
        assert_eq!(w.relative_name(&p("a\\b\\f")), None);
        assert_eq!(w.relative_name(&p("a")), None);
        assert_eq!(w.relative_name(&p("b\\f")), None);
        let t = watch("a", true, 1000);
        assert_eq!(t.relative_name(&p("a\\b\\f")), Some("b\\f".into()));
        let root = watch("", false, 1000);
        assert_eq!(root.relative_name(&p("f")), Some("f".into()));
    }

    #[test]
    fn rename_parents() {
        let p = |s: &str| SharePath::parse(s).unwrap();
        assert!(same_parent(&p("a\\x"), &p("A\\y")));
        assert!(same_parent(&p("x"), &p("y")));
        assert!(!same_parent(&p("a\\x"), &p("y")));
        assert!(!same_parent(&p("a\\x"), &p("b\\x")));
    }

    #[test]
    fn queue_and_overflow() {
        let w = watch("", false, 40);
        assert!(w.take(1000).is_none());
        w.push(1, "abc".into());
        assert_eq!(w.take(1000), Some(Ok(vec![(1, "abc".into())])));
        w.push(1, "abc".into());
        assert_eq!(w.take(0), Some(Err(NtStatus::NOTIFY_ENUM_DIR)));
        assert!(w.take(1000).is_none());
        for _ in 0..3 {
            w.push(1, "abcdefgh".into());
        }
        assert_eq!(w.take(1000), Some(Err(NtStatus::NOTIFY_ENUM_DIR)));
        assert!(w.take(1000).is_none());
    }

    #[test]
    fn waiters_in_order() {
        let w = watch("", false, 40);
        let a = w.enqueue_waiter();
        let b = w.enqueue_waiter();
        assert!(w.is_first(a) && !w.is_first(b));
        w.dequeue_waiter(a);
        assert!(w.is_first(b));
    }
}
