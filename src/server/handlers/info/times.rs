//! LastWriteTime bookkeeping of open files: delayed updates after a write and times a handle
//! has fixed (MS-FSA 2.1.5.3, 2.1.5.6, 2.1.5.14.2 and 2.1.5.14.4; MS-FSCC 2.4.7).
//!
//! Linux moves a file's mtime on every write; Windows does not. There, the first write
//! through a handle schedules a LastWriteTime update a little later (NTFS defers it; Samba
//! waits two seconds), a FLUSH, a set of end of file or any FileBasicInformation through the
//! handle applies a scheduled update at once, and writes after the first update only mark the
//! handle to update the time when it closes. A handle that set LastWriteTime explicitly, or
//! set it to -1 (Open.UserSetModificationTime), makes no updates until it sets -2.
//!
//! The server keeps, per file, the LastWriteTime it reports ([`FileTimes`], in the file's
//! shared state) once an open has written or fixed a time; every report of the open's file
//! ([`super::stat`], CLOSE, the CREATE response of a further open) shows it instead of the
//! backend's mtime; QUERY_DIRECTORY lists the backend's. When an open that touched it closes,
//! the value is written to the backend; after the last such open the backend's mtime is
//! trusted again. Directories are left alone: their LastWriteTime is the backend's.
//!
//! ChangeTime is reported as the LastWriteTime (see [`super::query_file::change_time`]), so
//! freezing it (-1) is covered by the LastWriteTime rules; LastAccessTime follows the backend.
use crate::server::file_state::FileState;
use crate::server::open::FileOpen;
use crate::vfs::FileStat;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How long after a handle's first write its LastWriteTime update happens (Samba's default
/// "smbd:writetimeupdatedelay").
pub const WRITE_TIME_UPDATE_DELAY: Duration = Duration::from_secs(2);

/// A file's reported LastWriteTime and the timestamp state of the opens that touched it.
#[derive(Debug, Default)]
pub struct FileTimes {
    inner: Mutex<TimesInner>,
}

#[derive(Debug, Default)]
struct TimesInner {
    /// LastWriteTime reported instead of the backend's mtime.
    write_time: Option<u64>,
    /// Opens that wrote or set times, by volatile FileId.
    opens: HashMap<u64, OpenTimes>,
}

/// Per-open state (MS-FSA Open.UserSetModificationTime and the delayed update).
#[derive(Debug, Default, Clone, Copy)]
struct OpenTimes {
    /// Open.UserSetModificationTime: this open does not update LastWriteTime.
    user_set: bool,
    /// A write went through this open (its delayed update was scheduled).
    triggered: bool,
    /// The scheduled update has not happened yet.
    pending: bool,
    /// A write after the scheduled update: update LastWriteTime at close.
    update_on_close: bool,
}

/// What a data change through an open does to LastWriteTime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// WRITE: the update is delayed.
    Write,
    /// End of file or allocation set: the update is immediate.
    Size,
}

fn now() -> u64 {
    crate::server::filetime_now()
}

impl FileTimes {
    /// The LastWriteTime to report instead of the backend's, if any.
    pub fn reported(&self) -> Option<u64> {
        self.inner.lock().write_time
    }

    /// Whether no LastWriteTime is kept yet (a change must then capture the backend's).
    pub fn needs_base(&self) -> bool {
        self.inner.lock().write_time.is_none()
    }

    /// Records a data change through open `id`; true when a delayed update is to be
    /// scheduled for it.
    pub fn change(&self, id: u64, base: Option<u64>, change: Change) -> bool {
        let mut t = self.inner.lock();
        if t.write_time.is_none() {
            // Without the earlier value, report the current one (a racing first change).
            t.write_time = Some(base.unwrap_or_else(now));
        }
        let o = t.opens.entry(id).or_default();
        if o.user_set {
            false
        } else if change == Change::Size {
            o.pending = false;
            o.triggered = true;
            t.write_time = Some(now());
            false
        } else if !o.triggered {
            o.triggered = true;
            o.pending = true;
            true
        } else {
            if !o.pending {
                o.update_on_close = true;
            }
            false
        }
    }

    /// Applies open `id`'s scheduled update now, if it has one (the delay ran out, FLUSH,
    /// FileBasicInformation).
    pub fn apply_pending(&self, id: u64) {
        let mut t = self.inner.lock();
        if let Some(o) = t.opens.get_mut(&id) {
            if o.pending {
                o.pending = false;
                if !o.user_set {
                    t.write_time = Some(now());
                }
            }
        }
    }

    /// FileBasicInformation through open `id`: a scheduled update happens now, then the
    /// LastWriteTime field takes effect. `current` is the backend's LastWriteTime, used when
    /// a freeze starts with no kept value.
    pub fn set_basic(&self, id: u64, write: BasicWrite, current: Option<u64>) {
        self.apply_pending(id);
        let mut t = self.inner.lock();
        match write {
            BasicWrite::Unchanged => {}
            BasicWrite::Thaw => {
                if let Some(o) = t.opens.get_mut(&id) {
                    o.user_set = false;
                }
            }
            BasicWrite::Freeze | BasicWrite::Set(_) => {
                let value = match write {
                    BasicWrite::Set(v) => v,
                    _ => t.write_time.or(current).unwrap_or_else(now),
                };
                t.write_time = Some(value);
                let o = t.opens.entry(id).or_default();
                o.user_set = true;
                o.pending = false;
                o.update_on_close = false;
            }
        }
    }

    /// CLOSE of open `id`: a scheduled or close-time update happens now; returns the kept
    /// LastWriteTime to write to the backend when this open touched it.
    pub fn closing(&self, id: u64) -> Option<u64> {
        let mut t = self.inner.lock();
        let o = t.opens.remove(&id)?;
        if !o.user_set && (o.pending || o.update_on_close) {
            t.write_time = Some(now());
        }
        t.write_time
    }

    /// After CLOSE wrote `value` to the backend: with no open left that keeps a value, the
    /// backend's mtime is the truth again.
    pub fn persisted(&self, value: u64) {
        let mut t = self.inner.lock();
        if t.opens.is_empty() && t.write_time == Some(value) {
            t.write_time = None;
        }
    }
}

/// How FileBasicInformation sets LastWriteTime (MS-FSA 2.1.5.14.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BasicWrite {
    /// 0: unchanged.
    Unchanged,
    /// -1: this open stops updating LastWriteTime.
    Freeze,
    /// -2: this open updates LastWriteTime again.
    Thaw,
    /// An explicit value (the open then stops updating it).
    Set(u64),
}

/// Whether a data change of `f` needs the backend's LastWriteTime from before the change.
/// Ask before the change; pass the value to [`after_change`].
pub fn needs_base(f: &FileOpen) -> bool {
    !f.is_dir && f.state.times.needs_base()
}

/// Records a data change through open `id` of `f`; `base` is the LastWriteTime before it
/// (when [`needs_base`] said so). A first write schedules the delayed update.
pub fn after_change(f: &FileOpen, id: u64, base: Option<u64>, change: Change) {
    if f.is_dir || !f.state.times.change(id, base, change) {
        return;
    }
    let weak: Weak<FileState> = Arc::downgrade(&f.state);
    tokio::spawn(async move {
        tokio::time::sleep(WRITE_TIME_UPDATE_DELAY).await;
        if let Some(state) = weak.upgrade() {
            state.times.apply_pending(id);
        }
    });
}

/// FLUSH through open `id` (MS-FSA 2.1.5.6): a scheduled update happens now.
pub fn flushed(f: &FileOpen, id: u64) {
    f.state.times.apply_pending(id);
}

/// Reports the file's LastWriteTime as the server keeps it.
pub fn adjust(f: &FileOpen, st: &mut FileStat) {
    if f.is_dir {
        return;
    }
    if let Some(w) = f.state.times.reported() {
        st.last_write_time = w;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delayed_update_then_update_on_close() {
        let t = FileTimes::default();
        assert!(t.needs_base());
        assert!(t.change(1, Some(100), Change::Write));
        assert_eq!(t.reported(), Some(100));
        // A second write before the update schedules nothing more.
        assert!(!t.change(1, None, Change::Write));
        t.apply_pending(1);
        let w = t.reported().unwrap();
        assert!(w > 100);
        // A write after the update only marks the close.
        assert!(!t.change(1, None, Change::Write));
        assert_eq!(t.reported(), Some(w));
        let c = t.closing(1).unwrap();
        assert!(c >= w);
        t.persisted(c);
        assert_eq!(t.reported(), None);
    }

    #[test]
    fn one_write_no_close_update() {
        let t = FileTimes::default();
        t.change(1, Some(100), Change::Write);
        t.apply_pending(1);
        let w = t.reported().unwrap();
        assert_eq!(t.closing(1), Some(w));
    }

    #[test]
    fn size_change_is_immediate() {
        let t = FileTimes::default();
        t.change(1, Some(100), Change::Write);
        t.change(1, None, Change::Size);
        let w = t.reported().unwrap();
        assert!(w > 100);
        assert_eq!(t.closing(1), Some(w));
    }

    #[test]
    fn freeze_and_thaw() {
        let t = FileTimes::default();
        t.set_basic(1, BasicWrite::Freeze, Some(100));
        assert!(!t.change(1, None, Change::Write));
        t.change(1, None, Change::Size);
        assert_eq!(t.reported(), Some(100));
        assert_eq!(t.closing(1), Some(100));
        t.set_basic(2, BasicWrite::Set(500), None);
        t.change(2, None, Change::Write);
        assert_eq!(t.reported(), Some(500));
        t.set_basic(2, BasicWrite::Thaw, None);
        assert!(t.change(2, None, Change::Write));
        t.set_basic(2, BasicWrite::Unchanged, None);
        assert!(t.reported().unwrap() > 500);
    }

    #[test]
    fn untouched_open_persists_nothing() {
        let t = FileTimes::default();
        t.change(1, Some(100), Change::Write);
        assert_eq!(t.closing(7), None);
        // Another open keeps the value reported.
        t.persisted(100);
        assert_eq!(t.reported(), Some(100));
    }
}
