//! The case-insensitive name index of directories: folded name → actual name, per directory.
//!
//! A lookup whose exact name is missing scans the directory once and keeps the index while the
//! directory's mtime stays the same. Changes rsmbd makes itself (create, mkdir, rename, link,
//! unlink) are applied to the index in place through [`CiCache::edit`], so a client filling a
//! directory with 100,000 files does not rescan it for every new name. An edit only updates an
//! index that was current just before the change and saw no other change overlap it (one edit
//! at a time per directory, and the mtime before it equal to the index's); otherwise the index
//! is dropped and rebuilt by the next lookup. Changes made by other programs are seen through
//! the mtime. An index built or edited within the file system's timestamp granularity after the
//! directory's last change ([`racy_window_ns`]) is confirmed by one more scan once that window
//! has passed, so a change in the same clock tick cannot hide behind an unchanged mtime for
//! longer than the window.
use super::dir::LocalDirStream;
use super::error::{VfsError, VfsResult};
use super::local::fold;
use super::sys;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::os::fd::RawFd;

/// Most directories whose index is kept.
const CACHE_DIRS: usize = 256;
/// Directories with more entries than this are scanned but not kept.
const MAX_ENTRIES: usize = 1_000_000;

/// One directory's index.
struct CiDir {
    mtime_ns: i128,
    names: HashMap<String, String>,
    /// Edits in progress.
    pending: u32,
    /// Another change overlapped an edit: drop the index once no edit is pending.
    spoiled: bool,
    /// Built (or last edited) within the racy window of the directory's mtime: a change by
    /// another program in the same clock tick could be missing, so once the window has passed
    /// the index is confirmed by one more scan.
    racy: bool,
}

/// The indexes of a share's directories, keyed by (device, inode).
#[derive(Default)]
pub(crate) struct CiCache {
    dirs: Mutex<HashMap<(u64, u64), CiDir>>,
    /// Directory scans made (for tests and diagnostics).
    pub(crate) scans: std::sync::atomic::AtomicU64,
}

/// One directory change of an [`CiCache::edit`]: the directory, a name it gains, a name it
/// loses.
pub(crate) struct DirEdit<'a> {
    pub dir: RawFd,
    pub added: Option<&'a str>,
    pub removed: Option<&'a str>,
}

/// One directory an edit is under way in: its key, mtime before the change, and the names it
/// gains and loses.
struct Mark<'a> {
    key: (u64, u64),
    before: i128,
    dir: RawFd,
    added: Vec<&'a str>,
    removed: Vec<&'a str>,
}

/// A directory's identity and mtime (ns).
fn dir_state(dir: RawFd) -> VfsResult<((u64, u64), i128)> {
    let st = sys::fstatx(dir).map_err(VfsError::from_errno)?;
    let key = (
        libc::makedev(st.stx_dev_major, st.stx_dev_minor),
        st.stx_ino,
    );
    let mtime = st.stx_mtime.tv_sec as i128 * 1_000_000_000 + st.stx_mtime.tv_nsec as i128;
    Ok((key, mtime))
}

/// How long after a directory changed a scan of it may still miss a change with the same
/// mtime: 2 s on file systems with whole-second timestamps, else 50 ms (ext4, XFS and btrfs
/// stamp with the kernel's coarse clock, a few milliseconds).
fn racy_window_ns(mtime_ns: i128) -> i128 {
    if mtime_ns % 1_000_000_000 == 0 {
        2_000_000_000
    } else {
        50_000_000
    }
}

impl DirEdit<'_> {
    /// `dir` gains `name`.
    pub(crate) fn add(dir: RawFd, name: &str) -> DirEdit<'_> {
        DirEdit {
            dir,
            added: Some(name),
            removed: None,
        }
    }

    /// `dir` loses `name`.
    pub(crate) fn remove(dir: RawFd, name: &str) -> DirEdit<'_> {
        DirEdit {
            dir,
            added: None,
            removed: Some(name),
        }
    }
}

impl CiCache {
    /// The entry of `dir` equal to `name` under case folding.
    pub(crate) fn lookup(&self, dir: RawFd, name: &str) -> VfsResult<Option<String>> {
        let (key, mtime_ns) = dir_state(dir)?;
        let folded = fold(name);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        let racy = now - mtime_ns <= racy_window_ns(mtime_ns);
        if let Some(d) = self.dirs.lock().get(&key) {
            if d.mtime_ns == mtime_ns && d.pending == 0 && !d.spoiled && (racy || !d.racy) {
                return Ok(d.names.get(&folded).cloned());
            }
        }
        self.scans
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut names = HashMap::new();
        let mut found = None;
        for e in LocalDirStream::open(dir)? {
            let e = e?;
            let f = fold(&e.name);
            if f == folded && found.is_none() {
                found = Some(e.name.clone());
            }
            if names.len() < MAX_ENTRIES {
                names.entry(f).or_insert(e.name);
            }
        }
        if names.len() < MAX_ENTRIES {
            let mut c = self.dirs.lock();
            if c.get(&key).is_some_and(|d| d.pending > 0) {
                // An edit is under way: leave its entry alone.
                return Ok(found);
            }
            if c.len() >= CACHE_DIRS && !c.contains_key(&key) {
                if let Some(k) = c.iter().find(|(_, d)| d.pending == 0).map(|(k, _)| *k) {
                    c.remove(&k);
                }
            }
            c.insert(
                key,
                CiDir {
                    mtime_ns,
                    names,
                    pending: 0,
                    spoiled: false,
                    racy,
                },
            );
        }
        Ok(found)
    }

    /// Runs `op`, a change rsmbd makes to the directories of `edits`, and keeps their indexes
    /// current (or drops them when that cannot be known).
    pub(crate) fn edit<T, E>(
        &self,
        edits: &[DirEdit<'_>],
        op: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        // One mark per distinct directory, with every name change that concerns it.
        let mut marks: Vec<Mark<'_>> = Vec::new();
        {
            let mut c = self.dirs.lock();
            for e in edits {
                let Ok((key, mtime)) = dir_state(e.dir) else {
                    continue;
                };
                if let Some(m) = marks.iter_mut().find(|m| m.key == key) {
                    m.added.extend(e.added);
                    m.removed.extend(e.removed);
                    continue;
                }
                let Some(d) = c.get_mut(&key) else {
                    continue;
                };
                if d.mtime_ns != mtime || d.spoiled {
                    d.spoiled = true;
                    if d.pending == 0 {
                        c.remove(&key);
                    }
                    continue;
                }
                d.pending += 1;
                marks.push(Mark {
                    key,
                    before: mtime,
                    dir: e.dir,
                    added: e.added.into_iter().collect(),
                    removed: e.removed.into_iter().collect(),
                });
            }
        }
        let r = op();
        for Mark {
            key,
            before,
            dir,
            added,
            removed,
        } in marks
        {
            let after = dir_state(dir).ok().map(|s| s.1);
            let mut c = self.dirs.lock();
            let Some(d) = c.get_mut(&key) else {
                continue;
            };
            d.pending = d.pending.saturating_sub(1);
            // A failed change must have left the directory as it was.
            let unchanged_if_failed = r.is_ok() || after == Some(before);
            let clean = !d.spoiled
                && d.pending == 0
                && d.mtime_ns == before
                && after.is_some()
                && unchanged_if_failed;
            if !clean {
                d.spoiled = true;
                if d.pending == 0 {
                    c.remove(&key);
                }
                continue;
            }
            if r.is_ok() {
                for n in removed {
                    d.names.remove(&fold(n));
                }
                for n in added {
                    d.names.entry(fold(n)).or_insert_with(|| n.to_string());
                }
            }
            d.mtime_ns = after.unwrap_or(before);
            d.racy = true;
        }
        r
    }
}
