//! State shared by every open of one file across sessions and connections (DESIGN.md
//! `FileState`): share modes (MS-FSA 2.1.5.1.2 "check sharing access"), delete-pending, and
//! byte-range locks (MS-FSA 2.1.5.7). One per (device, inode), in [`FileStates`]; the lock is
//! a short-held mutex, never held across an `.await`.
use dashmap::DashMap;
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// Access bits that take part in sharing checks.
pub const FILE_READ_DATA: u32 = 0x0001;
/// FILE_WRITE_DATA.
pub const FILE_WRITE_DATA: u32 = 0x0002;
/// FILE_APPEND_DATA.
pub const FILE_APPEND_DATA: u32 = 0x0004;
/// FILE_EXECUTE.
pub const FILE_EXECUTE: u32 = 0x0020;
/// DELETE.
pub const DELETE: u32 = 0x0001_0000;
/// FILE_SHARE_READ.
pub const FILE_SHARE_READ: u32 = 0x1;
/// FILE_SHARE_WRITE.
pub const FILE_SHARE_WRITE: u32 = 0x2;
/// FILE_SHARE_DELETE.
pub const FILE_SHARE_DELETE: u32 = 0x4;

/// One open's entry in the sharing table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareEntry {
    /// The open (volatile FileId).
    pub open: u64,
    /// Its GrantedAccess.
    pub access: u32,
    /// Its ShareAccess.
    pub share: u32,
}

/// One byte-range lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteLock {
    /// The open that holds it (volatile FileId).
    pub open: u64,
    /// First byte.
    pub offset: u64,
    /// Length (0 is a valid, zero-length lock).
    pub length: u64,
    /// Exclusive, or shared.
    pub exclusive: bool,
}

impl ByteLock {
    /// Whether two ranges overlap. Zero-length ranges overlap nothing (MS-FSA 2.1.5.7).
    pub fn overlaps(&self, offset: u64, length: u64) -> bool {
        if self.length == 0 || length == 0 {
            return false;
        }
        let a_end = self.offset.saturating_add(self.length);
        let b_end = offset.saturating_add(length);
        self.offset < b_end && offset < a_end
    }
}

/// Open.LockSequenceArray (MS-SMB2 3.3.1.10): for each LockSequenceIndex 1..=64, the
/// LockSequenceNumber of the last successful LOCK request that used it (`None`: not Valid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockSequenceArray(pub [Option<u8>; 64]);

impl Default for LockSequenceArray {
    fn default() -> Self {
        Self([None; 64])
    }
}

impl LockSequenceArray {
    /// The entry of `index` (1..=64), if the index is in range.
    pub fn entry(&mut self, index: u32) -> Option<&mut Option<u8>> {
        let i = usize::try_from(index).ok()?.checked_sub(1)?;
        self.0.get_mut(i)
    }
}

/// Mutable part of a file's state.
#[derive(Debug, Default)]
pub struct FileStateInner {
    /// Opens and their access/share modes.
    pub opens: Vec<ShareEntry>,
    /// The file is to be deleted when its last open closes.
    pub delete_pending: bool,
    /// Byte-range locks.
    pub locks: Vec<ByteLock>,
    /// Open.LockSequenceArray of the opens that have used lock sequence numbers, by volatile
    /// FileId (MS-SMB2 3.3.1.10, 3.3.5.14).
    pub lock_sequences: std::collections::HashMap<u64, LockSequenceArray>,
    /// Oplocks and leases of the opens (MS-FSA 2.1.5.17; [`super::oplock`], [`super::lease`]).
    pub oplocks: super::oplock::Oplocks,
}

/// State of one file.
#[derive(Debug, Default)]
pub struct FileState {
    /// (device, inode).
    pub key: (u64, u64),
    /// The mutable part.
    pub inner: Mutex<FileStateInner>,
    /// Woken whenever locks are released, for blocked lock requests.
    pub unlocked: tokio::sync::Notify,
    /// Woken when an oplock break ends (acknowledged, closed, broken), for waiting CREATEs.
    pub oplock_changed: tokio::sync::Notify,
    /// The LastWriteTime the server reports while opens hold it (delayed and frozen updates).
    pub times: crate::server::handlers::info::times::FileTimes,
    /// The server's ODX token table, told of every change to the file's data (none in unit
    /// tests that build a state alone).
    pub odx: OdxStore,
}

/// The server's ODX token table as a file state holds it.
#[derive(Default, Clone)]
pub struct OdxStore(Option<Arc<crate::server::odx::Store>>);

impl std::fmt::Debug for OdxStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OdxStore")
    }
}

impl OdxStore {
    /// `[offset, offset + len)` of file `key` is about to change: its tokens no longer hold.
    pub fn note_write(&self, key: (u64, u64), offset: u64, len: u64) {
        if let Some(s) = &self.0 {
            s.note_write(key, offset, len);
        }
    }

    /// File `key` is being cut to `size` bytes: tokens covering anything from there end.
    pub fn note_truncate(&self, key: (u64, u64), size: u64) {
        if let Some(s) = &self.0 {
            s.note_truncate(key, size);
        }
    }
}

fn data_access(a: u32) -> (bool, bool, bool) {
    (
        a & (FILE_READ_DATA | FILE_EXECUTE) != 0,
        a & (FILE_WRITE_DATA | FILE_APPEND_DATA) != 0,
        a & DELETE != 0,
    )
}

/// Whether an open with (`access`, `share`) may join opens `existing` (MS-FSA 2.1.5.1.2).
pub fn sharing_ok(existing: &[ShareEntry], access: u32, share: u32) -> bool {
    let (r, w, d) = data_access(access);
    if !(r || w || d) {
        // Attribute-only opens never conflict.
        return true;
    }
    existing.iter().all(|e| {
        let (er, ew, ed) = data_access(e.access);
        if !(er || ew || ed) {
            return true;
        }
        !(r && e.share & FILE_SHARE_READ == 0
            || w && e.share & FILE_SHARE_WRITE == 0
            || d && e.share & FILE_SHARE_DELETE == 0
            || er && share & FILE_SHARE_READ == 0
            || ew && share & FILE_SHARE_WRITE == 0
            || ed && share & FILE_SHARE_DELETE == 0)
    })
}

impl FileState {
    /// Whether `open` may read (`write == false`) or write `[offset, offset+length)` given the
    /// locks of other opens (MS-FSA 2.1.4.10): a shared lock of another open blocks writes, an
    /// exclusive one blocks both; an open's own shared lock blocks its own writes too.
    pub fn io_allowed(&self, open: u64, offset: u64, length: u64, write: bool) -> bool {
        if write {
            // The range is about to change: ODX tokens for it no longer hold.
            self.odx.note_write(self.key, offset, length);
        }
        let inner = self.inner.lock();
        !inner.locks.iter().any(|l| {
            l.overlaps(offset, length)
                && if l.open == open {
                    write && !l.exclusive
                } else {
                    write || l.exclusive
                }
        })
    }

    /// Removes every lock of `open` and every share entry of it; returns true when that was
    /// the last open of the file.
    pub fn release_open(&self, open: u64) -> bool {
        let mut inner = self.inner.lock();
        let before = inner.locks.len();
        inner.locks.retain(|l| l.open != open);
        inner.lock_sequences.remove(&open);
        let unlocked = inner.locks.len() != before;
        inner.opens.retain(|e| e.open != open);
        let last = inner.opens.is_empty();
        let mut oplock_changed = inner.oplocks.release(open);
        oplock_changed |= self.release_lease(&mut inner, open);
        drop(inner);
        if unlocked {
            self.unlocked.notify_waiters();
        }
        if oplock_changed {
            self.oplock_changed.notify_waiters();
        }
        last
    }
}

/// The server-wide table of file states, by (device, inode). Entries are weak: a state lives
/// as long as some open holds it.
pub struct FileStates {
    map: DashMap<(u64, u64), Weak<FileState>>,
    /// The server's ODX token table (MS-FSCC 2.3.42), which every state reports changes to.
    pub odx: Arc<crate::server::odx::Store>,
}

impl Default for FileStates {
    fn default() -> Self {
        FileStates {
            map: DashMap::new(),
            odx: Arc::new(crate::server::odx::new_store()),
        }
    }
}

impl FileStates {
    /// The state of a file, created on first use.
    pub fn get_or_create(&self, key: (u64, u64)) -> Arc<FileState> {
        let mut e = self.map.entry(key).or_default();
        if let Some(s) = e.upgrade() {
            return s;
        }
        let s = Arc::new(FileState {
            key,
            odx: OdxStore(Some(self.odx.clone())),
            ..Default::default()
        });
        *e = Arc::downgrade(&s);
        s
    }

    /// Drops the table entry of a file whose last open went away.
    pub fn forget(&self, key: (u64, u64)) {
        self.map.remove_if(&key, |_, w| w.strong_count() == 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(open: u64, access: u32, share: u32) -> ShareEntry {
        ShareEntry {
            open,
            access,
            share,
        }
    }

    #[test]
    fn sharing_rules() {
        let rd = e(1, FILE_READ_DATA, FILE_SHARE_READ);
        assert!(sharing_ok(&[rd], FILE_READ_DATA, FILE_SHARE_READ));
        assert!(!sharing_ok(
            &[rd],
            FILE_WRITE_DATA,
            FILE_SHARE_READ | FILE_SHARE_WRITE
        ));
        assert!(!sharing_ok(&[rd], FILE_READ_DATA, FILE_SHARE_WRITE));
        assert!(sharing_ok(&[rd], 0x80 /* FILE_READ_ATTRIBUTES */, 0));
        assert!(!sharing_ok(
            &[e(1, DELETE, FILE_SHARE_READ)],
            FILE_READ_DATA,
            FILE_SHARE_READ
        ));
        assert!(sharing_ok(&[e(1, DELETE, 7)], FILE_READ_DATA, 7));
    }

    #[test]
    fn lock_overlap_and_io() {
        let s = FileState::default();
        s.inner.lock().locks.push(ByteLock {
            open: 1,
            offset: 10,
            length: 10,
            exclusive: false,
        });
        assert!(s.io_allowed(2, 0, 100, false));
        assert!(!s.io_allowed(2, 0, 100, true));
        assert!(!s.io_allowed(1, 15, 1, true));
        assert!(s.io_allowed(2, 20, 5, true));
        assert!(s.io_allowed(2, 0, 0, true));
        s.inner.lock().locks.push(ByteLock {
            open: 1,
            offset: 100,
            length: 1,
            exclusive: true,
        });
        assert!(!s.io_allowed(2, 100, 1, false));
        assert!(s.io_allowed(1, 100, 1, true));
        assert!(ByteLock {
            open: 1,
            offset: u64::MAX - 1,
            length: 10,
            exclusive: true
        }
        .overlaps(u64::MAX - 1, 1));
    }

    #[test]
    fn states_are_shared_and_forgotten() {
        let t = FileStates::default();
        let a = t.get_or_create((1, 2));
        let b = t.get_or_create((1, 2));
        assert!(Arc::ptr_eq(&a, &b));
        drop((a, b));
        t.forget((1, 2));
        assert!(t.map.is_empty());
    }
}
