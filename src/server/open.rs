//! Opens (MS-SMB2 3.3.1.10), in a server-wide table keyed by the volatile half of the FileId so
//! that any channel of the session finds them.
use super::rpc::SrvsvcPipe;
use super::session::TreeConnect;
use crate::wire::FileId;
use dashmap::DashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What an open refers to.
pub enum OpenKind {
    /// A named pipe on IPC$ (DCE/RPC).
    Pipe(parking_lot::Mutex<SrvsvcPipe>),
    /// A file, directory or stream on a disk share.
    File(FileOpen),
}

/// The per-open state of a file, directory or stream.
pub struct FileOpen {
    /// The backend's handle.
    pub handle: Arc<dyn crate::vfs::Handle>,
    /// State shared with the file's other opens.
    pub state: Arc<super::file_state::FileState>,
    /// ShareAccess of the CREATE.
    pub share_access: u32,
    /// CreateOptions of the CREATE.
    pub create_options: u32,
    /// A directory.
    pub is_dir: bool,
    /// Delete the file when this open closes (FILE_DELETE_ON_CLOSE or FileDispositionInformation).
    pub delete_on_close: std::sync::atomic::AtomicBool,
    /// FilePositionInformation.
    pub position: AtomicU64,
    /// FileModeInformation.
    pub mode: std::sync::atomic::AtomicU32,
    /// QUERY_DIRECTORY cursor: the listing in progress and its search pattern.
    pub dir: parking_lot::Mutex<Option<DirCursor>>,
}

/// A directory enumeration in progress on an open (MS-SMB2 3.3.1.10 Open.EnumerationLocation
/// and Open.EnumerationSearchPattern).
pub struct DirCursor {
    /// The streamed listing.
    pub stream: Box<dyn crate::vfs::DirStream>,
    /// The pattern of the first QUERY_DIRECTORY.
    pub pattern: String,
    /// "." and ".." already returned (they come first).
    pub dots_done: u8,
    /// An entry read from the stream that did not fit in the last response.
    pub pushed_back: Option<crate::vfs::DirEntry>,
    /// The enumeration reached its end.
    pub finished: bool,
}

impl Open {
    /// The file part of a disk open.
    pub fn file(&self) -> Option<&FileOpen> {
        match &self.kind {
            OpenKind::File(f) => Some(f),
            OpenKind::Pipe(_) => None,
        }
    }
}

/// One open.
pub struct Open {
    /// Its FileId.
    pub file_id: FileId,
    /// The session that opened it.
    pub session_id: u64,
    /// The tree it was opened through.
    pub tree: Arc<TreeConnect>,
    /// GrantedAccess.
    pub granted_access: u32,
    /// The name the client opened, relative to the share.
    pub name: String,
    /// The object.
    pub kind: OpenKind,
}

/// The server-wide table of opens.
#[derive(Default)]
pub struct OpenTable {
    by_volatile: DashMap<u64, Arc<Open>>,
    next: AtomicU64,
    /// Opens per session, so the per-session limit is checked in O(1) (a session may hold
    /// tens of thousands of opens).
    per_session: DashMap<u64, usize>,
}

impl OpenTable {
    /// A fresh FileId: the volatile half counts up, the persistent half is random so ids are
    /// not guessable across sessions.
    pub fn new_file_id(&self) -> FileId {
        let volatile = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut b = [0u8; 8];
        let _ = getrandom::getrandom(&mut b);
        FileId {
            persistent: u64::from_le_bytes(b) >> 1,
            volatile,
        }
    }

    /// Registers an open.
    pub fn insert(&self, open: Arc<Open>) {
        self.by_volatile.insert(open.file_id.volatile, open);
    }

    /// The open a request names, if it belongs to this session and tree.
    pub fn get(&self, id: FileId, session_id: u64, tree_id: u32) -> Option<Arc<Open>> {
        self.by_volatile
            .get(&id.volatile)
            .filter(|o| o.file_id == id && o.session_id == session_id && o.tree.id == tree_id)
            .map(|o| o.clone())
    }

    /// The open with FileId `id`, whatever its session and tree (server-side lookups: saving
    /// a persistent record, closing for a reconnect).
    pub fn by_file_id(&self, id: FileId) -> Option<Arc<Open>> {
        self.by_volatile
            .get(&id.volatile)
            .filter(|o| o.file_id == id)
            .map(|o| o.clone())
    }

    /// Removes an open.
    pub fn remove(&self, id: FileId) -> Option<Arc<Open>> {
        self.by_volatile.remove(&id.volatile).map(|(_, o)| o)
    }

    /// Removes and returns every open matching `pred` (logoff, tree disconnect, disconnect).
    pub fn drain_where(&self, pred: impl Fn(&Open) -> bool) -> Vec<Arc<Open>> {
        let ids: Vec<u64> = self
            .by_volatile
            .iter()
            .filter(|o| pred(o))
            .map(|o| *o.key())
            .collect();
        ids.into_iter()
            .filter_map(|id| self.by_volatile.remove(&id).map(|(_, o)| o))
            .collect()
    }

    /// Every open, copied out of the table (for `rsmbd status`; no table lock is held after).
    pub fn snapshot(&self) -> Vec<Arc<Open>> {
        self.by_volatile.iter().map(|o| o.clone()).collect()
    }

    /// Whether any open matches `pred` (read-only scan).
    pub fn any(&self, pred: impl Fn(&Open) -> bool) -> bool {
        self.by_volatile.iter().any(|o| pred(&o))
    }

    /// Counts a new open of `session`, unless the session already holds `limit` opens
    /// (the caller answers STATUS_INSUFFICIENT_RESOURCES). Every successful reservation is
    /// given back with [`OpenTable::release_slot`] when the open closes or never happens.
    pub fn reserve_slot(&self, session: u64, limit: usize) -> bool {
        let mut n = self.per_session.entry(session).or_insert(0);
        if *n >= limit {
            return false;
        }
        *n += 1;
        true
    }

    /// Gives back a slot taken by [`OpenTable::reserve_slot`].
    pub fn release_slot(&self, session: u64) {
        let gone = match self.per_session.get_mut(&session) {
            Some(mut n) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            None => false,
        };
        if gone {
            self.per_session.remove_if(&session, |_, n| *n == 0);
        }
    }
}

impl OpenTable {
    /// Makes every later FileId's volatile half larger than `volatile` (opens restored from
    /// the persistent store keep their FileIds).
    pub fn reserve_volatile(&self, volatile: u64) {
        self.next.fetch_max(volatile, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_session_slots_are_limited_and_given_back() {
        let t = OpenTable::default();
        assert!(t.reserve_slot(7, 2));
        assert!(t.reserve_slot(7, 2));
        assert!(!t.reserve_slot(7, 2), "third open over a limit of 2");
        assert!(t.reserve_slot(8, 2), "other sessions are not affected");
        t.release_slot(7);
        assert!(t.reserve_slot(7, 2));
        t.release_slot(7);
        t.release_slot(7);
        t.release_slot(7); // more releases than reservations never underflow
        assert!(t.per_session.get(&7).is_none());
    }
}
