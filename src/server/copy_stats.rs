//! Per-share counters of server-side copies, shown by `rsmbd status` (one `share` line per
//! disk share): bytes moved by each copy method of the VFS engine ([`crate::vfs::copy`]) and by
//! each FSCTL that asked for them.
//!
//! ```text
//! share name=NAME reflink=yes|no clone_bytes=N copy_file_range_bytes=N read_write_bytes=N copychunk_bytes=N duplicate_extents_bytes=N odx_bytes=N
//! ```
//!
//! A copy is counted on the share of its target. Relaxed atomics: nothing is ordered by them.
use super::Server;
use crate::vfs::copy::CopyOutcome;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Which request made a copy.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CopyFsctl {
    /// FSCTL_SRV_COPYCHUNK / FSCTL_SRV_COPYCHUNK_WRITE (MS-SMB2 3.3.5.15.6).
    Copychunk,
    /// FSCTL_DUPLICATE_EXTENTS_TO_FILE[_EX] (MS-FSCC 2.3.7, 2.3.9).
    DuplicateExtents,
    /// FSCTL_OFFLOAD_WRITE (MS-FSCC 2.3.80).
    Odx,
}

/// Counters of one share.
#[derive(Debug, Default)]
pub struct CopyStats {
    /// Bytes reflinked (FICLONERANGE).
    pub clone_bytes: AtomicU64,
    /// Bytes copied by copy_file_range(2).
    pub copy_file_range_bytes: AtomicU64,
    /// Bytes copied through the read/write loop.
    pub read_write_bytes: AtomicU64,
    /// Bytes copied for COPYCHUNK requests.
    pub copychunk_bytes: AtomicU64,
    /// Bytes cloned for DUPLICATE_EXTENTS requests.
    pub duplicate_extents_bytes: AtomicU64,
    /// Bytes copied for ODX (OFFLOAD_WRITE) requests.
    pub odx_bytes: AtomicU64,
}

impl CopyStats {
    /// Counts a copy made for `fsctl`.
    pub fn record(&self, fsctl: CopyFsctl, o: &CopyOutcome) {
        let add = |c: &AtomicU64, n: u64| {
            if n > 0 {
                c.fetch_add(n, Ordering::Relaxed);
            }
        };
        add(&self.clone_bytes, o.cloned);
        add(&self.copy_file_range_bytes, o.copy_file_range);
        add(&self.read_write_bytes, o.read_write);
        add(
            match fsctl {
                CopyFsctl::Copychunk => &self.copychunk_bytes,
                CopyFsctl::DuplicateExtents => &self.duplicate_extents_bytes,
                CopyFsctl::Odx => &self.odx_bytes,
            },
            o.total(),
        );
    }

    /// The counters in `rsmbd status` order.
    pub fn values(&self) -> [u64; 6] {
        [
            &self.clone_bytes,
            &self.copy_file_range_bytes,
            &self.read_write_bytes,
            &self.copychunk_bytes,
            &self.duplicate_extents_bytes,
            &self.odx_bytes,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }
}

/// The `share` lines of `rsmbd status`, one per disk share.
pub fn render(server: &Server) -> String {
    let mut out = String::new();
    for s in server.shares.iter().filter(|s| s.vfs.is_some()) {
        let v = s.copy_stats.values();
        let _ = writeln!(
            out,
            "share name={} reflink={} clone_bytes={} copy_file_range_bytes={} read_write_bytes={} copychunk_bytes={} duplicate_extents_bytes={} odx_bytes={}",
            super::status::quote(&s.name),
            if s.supports_block_refcounting() { "yes" } else { "no" },
            v[0], v[1], v[2], v[3], v[4], v[5]
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_by_method_and_fsctl() {
        let s = CopyStats::default();
        let o = CopyOutcome {
            cloned: 4096,
            copy_file_range: 10,
            read_write: 1,
        };
        s.record(CopyFsctl::Copychunk, &o);
        s.record(
            CopyFsctl::DuplicateExtents,
            &CopyOutcome {
                cloned: 8192,
                ..Default::default()
            },
        );
        s.record(
            CopyFsctl::Odx,
            &CopyOutcome {
                read_write: 3,
                ..Default::default()
            },
        );
        assert_eq!(s.values(), [12288, 10, 4, 4107, 8192, 3]);
    }
}
