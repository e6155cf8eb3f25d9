//! Registered-memory pool for RDMA Read/Write (MS-SMBD 3.1.4.4/3.1.4.5 data placement),
//! the allocation half, independent of verbs so it is unit-tested anywhere.
//!
//! Why: registering memory (ibv_reg_mr) pins pages and builds the device's translation
//! table in the kernel; deregistering undoes it. Doing that for every RDMA Read (a WRITE's
//! payload) and RDMA Write (a READ's data) cost two system calls, a zeroed allocation and a
//! page walk per 8 KiB I/O. Instead each connection (one protection domain per connection in
//! `transport::rdma::ib`) registers a few large *slabs* once, and placement segments borrow
//! runs of fixed-size *chunks* from them.
//!
//! Sizes and bounds ([`PoolConfig::default`]):
//! - chunk [`CHUNK`] = 8 KiB: the SMB 8 KiB I/O takes exactly one chunk; a 1 MiB segment
//!   (MaxReadWriteSize) takes 128 contiguous chunks of one slab (one SGE per work request);
//! - slab [`SLAB`] = 2 MiB (256 chunks), so every segment up to MaxReadWriteSize fits in a
//!   slab; slabs are registered lazily (none until the first placement) and at most
//!   [`MAX_SLABS`] = 8 per connection: 16 MiB of pinned memory at most, kept until the
//!   connection ends;
//! - a segment larger than a slab (only with a MaxReadWriteSize configured above 2 MiB)
//!   gets its own registration, as before, but at most [`MAX_FALLBACK`] = 16 MiB of such
//!   buffers are in flight (one is always allowed when none is, so progress is guaranteed).
//!
//! On exhaustion ([`Reserve::Wait`]) nothing fails: the driver keeps the segment queued, in
//! order, and posts it when a completion releases chunks. Every lease is released exactly
//! once when its work request completes (or fails), so waiting segments always make
//! progress: a segment never needs more than one slab, and slabs held by posted work
//! requests free themselves without depending on queued ones.
//!
//! Allocation is first fit over a per-slab bitmap (256 bits), lowest slab first, so small
//! I/O packs into the first slab and the later slabs are registered only under load.

/// Bytes per chunk.
pub const CHUNK: usize = 8 * 1024;
/// Bytes per slab (one registration).
pub const SLAB: usize = 2 * 1024 * 1024;
/// Slabs per connection at most.
pub const MAX_SLABS: usize = 8;
/// Bytes of per-operation registrations (segments larger than a slab) in flight at most.
pub const MAX_FALLBACK: usize = 16 * 1024 * 1024;

/// Pool geometry and bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Bytes per chunk.
    pub chunk: usize,
    /// Chunks per slab.
    pub slab_chunks: usize,
    /// Slabs at most.
    pub max_slabs: usize,
    /// Bytes of fallback (per-operation) registrations in flight at most.
    pub max_fallback: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            chunk: CHUNK,
            slab_chunks: SLAB / CHUNK,
            max_slabs: MAX_SLABS,
            max_fallback: MAX_FALLBACK,
        }
    }
}

impl PoolConfig {
    /// Bytes per slab.
    pub fn slab_bytes(&self) -> usize {
        self.chunk * self.slab_chunks
    }
}

/// A buffer lent to one RDMA Read/Write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lease {
    /// `chunks` chunks from chunk `first` of slab `slab`: bytes
    /// `first * chunk .. (first + chunks) * chunk` of that slab.
    Chunks {
        /// Slab index.
        slab: usize,
        /// First chunk.
        first: usize,
        /// Chunks.
        chunks: usize,
    },
    /// A per-operation registration of `len` bytes (the caller owns the buffer).
    Fallback {
        /// Bytes.
        len: usize,
    },
}

impl Lease {
    /// Offset in its slab (0 for a fallback).
    pub fn offset(&self, cfg: &PoolConfig) -> usize {
        match *self {
            Lease::Chunks { first, .. } => first * cfg.chunk,
            Lease::Fallback { .. } => 0,
        }
    }
}

/// The answer to [`ChunkPool::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reserve {
    /// Use this buffer; give it back with [`ChunkPool::release`].
    Got(Lease),
    /// No room in the registered slabs, but another may be added: register
    /// [`PoolConfig::slab_bytes`] bytes, call [`ChunkPool::add_slab`], then reserve again.
    Grow,
    /// Nothing free now: retry after a release.
    Wait,
}

/// Usage counters (for logs and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Leases of chunks handed out.
    pub pooled: u64,
    /// Per-operation registrations handed out.
    pub fallbacks: u64,
    /// Times a reservation had to wait.
    pub waits: u64,
    /// Chunks in use now.
    pub chunks_in_use: usize,
    /// Fallback bytes in flight now.
    pub fallback_in_use: usize,
}

/// The chunk allocator of one connection's registered slabs.
#[derive(Debug)]
pub struct ChunkPool {
    cfg: PoolConfig,
    /// Per slab, one bit per chunk (set = in use).
    used: Vec<Vec<u64>>,
    stats: PoolStats,
}

impl ChunkPool {
    /// An empty pool (no slab yet).
    pub fn new(cfg: PoolConfig) -> Self {
        assert!(cfg.chunk > 0 && cfg.slab_chunks > 0, "empty pool geometry");
        ChunkPool {
            cfg,
            used: Vec::new(),
            stats: PoolStats::default(),
        }
    }

    /// The geometry.
    pub fn config(&self) -> &PoolConfig {
        &self.cfg
    }

    /// Slabs registered so far.
    pub fn slabs(&self) -> usize {
        self.used.len()
    }

    /// Counters.
    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    /// Records a newly registered slab (after [`Reserve::Grow`]); returns its index.
    pub fn add_slab(&mut self) -> usize {
        self.used.push(vec![0; self.cfg.slab_chunks.div_ceil(64)]);
        self.used.len() - 1
    }

    /// Stops growing at the slabs registered so far (registering another failed).
    pub fn cap_slabs(&mut self) {
        self.cfg.max_slabs = self.used.len();
    }

    /// A buffer of at least `len` bytes (`len` > 0).
    pub fn reserve(&mut self, len: usize) -> Reserve {
        let len = len.max(1);
        if len > self.cfg.slab_bytes() {
            let in_use = self.stats.fallback_in_use;
            if in_use == 0 || in_use.saturating_add(len) <= self.cfg.max_fallback {
                self.stats.fallback_in_use += len;
                self.stats.fallbacks += 1;
                return Reserve::Got(Lease::Fallback { len });
            }
            self.stats.waits += 1;
            return Reserve::Wait;
        }
        let n = len.div_ceil(self.cfg.chunk);
        for slab in 0..self.used.len() {
            if let Some(first) = self.find_run(slab, n) {
                self.mark(slab, first, n, true);
                self.stats.chunks_in_use += n;
                self.stats.pooled += 1;
                return Reserve::Got(Lease::Chunks {
                    slab,
                    first,
                    chunks: n,
                });
            }
        }
        if self.used.len() < self.cfg.max_slabs {
            return Reserve::Grow;
        }
        self.stats.waits += 1;
        Reserve::Wait
    }

    /// Gives a lease back (once).
    pub fn release(&mut self, lease: Lease) {
        match lease {
            Lease::Chunks {
                slab,
                first,
                chunks,
            } => {
                debug_assert!(self.is_used(slab, first, chunks), "double release");
                self.mark(slab, first, chunks, false);
                self.stats.chunks_in_use = self.stats.chunks_in_use.saturating_sub(chunks);
            }
            Lease::Fallback { len } => {
                self.stats.fallback_in_use = self.stats.fallback_in_use.saturating_sub(len);
            }
        }
    }

    fn bit(&self, slab: usize, i: usize) -> bool {
        self.used[slab][i / 64] & (1u64 << (i % 64)) != 0
    }

    fn is_used(&self, slab: usize, first: usize, n: usize) -> bool {
        slab < self.used.len()
            && first + n <= self.cfg.slab_chunks
            && (first..first + n).all(|i| self.bit(slab, i))
    }

    /// First run of `n` free chunks in `slab`.
    fn find_run(&self, slab: usize, n: usize) -> Option<usize> {
        let total = self.cfg.slab_chunks;
        let words = &self.used[slab];
        let mut i = 0;
        let mut run_start = 0;
        let mut run = 0;
        while i < total {
            // Skip whole words in use.
            if i % 64 == 0 && words[i / 64] == u64::MAX {
                i += 64;
                run = 0;
                continue;
            }
            if self.bit(slab, i) {
                run = 0;
            } else {
                if run == 0 {
                    run_start = i;
                }
                run += 1;
                if run == n {
                    return Some(run_start);
                }
            }
            i += 1;
        }
        None
    }

    fn mark(&mut self, slab: usize, first: usize, n: usize, used: bool) {
        let words = &mut self.used[slab];
        for i in first..first + n {
            if used {
                words[i / 64] |= 1u64 << (i % 64);
            } else {
                words[i / 64] &= !(1u64 << (i % 64));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> PoolConfig {
        PoolConfig {
            chunk: 8,
            slab_chunks: 128,
            max_slabs: 2,
            max_fallback: 2048,
        }
    }

    fn got(r: Reserve) -> Lease {
        match r {
            Reserve::Got(l) => l,
            other => panic!("expected a lease, got {other:?}"),
        }
    }

    #[test]
    fn grows_lazily_up_to_the_bound_then_waits() {
        let mut p = ChunkPool::new(small());
        assert_eq!(
            p.reserve(8),
            Reserve::Grow,
            "no slab before the first placement"
        );
        assert_eq!(p.add_slab(), 0);
        let a = got(p.reserve(1000)); // 125 chunks
        assert_eq!(
            a,
            Lease::Chunks {
                slab: 0,
                first: 0,
                chunks: 125
            }
        );
        let b = got(p.reserve(24)); // the last 3 chunks of slab 0
        assert_eq!(b.offset(p.config()), 125 * 8);
        assert_eq!(p.reserve(1), Reserve::Grow);
        assert_eq!(p.add_slab(), 1);
        let c = got(p.reserve(1024));
        assert!(matches!(
            c,
            Lease::Chunks {
                slab: 1,
                first: 0,
                chunks: 128
            }
        ));
        assert_eq!(p.reserve(1), Reserve::Wait, "both slabs full, no third");
        assert_eq!(p.stats().waits, 1);
        p.release(b);
        assert_eq!(
            got(p.reserve(9)),
            Lease::Chunks {
                slab: 0,
                first: 125,
                chunks: 2
            },
            "recycled chunks are handed out again"
        );
        assert_eq!(p.stats().chunks_in_use, 125 + 2 + 128);
    }

    #[test]
    fn first_fit_needs_a_contiguous_run() {
        let mut p = ChunkPool::new(small());
        p.add_slab();
        let leases: Vec<Lease> = (0..16).map(|_| got(p.reserve(64))).collect(); // 8 chunks each
                                                                                // Free every other lease: 8 holes of 8 chunks, none of 16.
        for l in leases.iter().step_by(2) {
            p.release(*l);
        }
        assert_eq!(p.reserve(128), Reserve::Grow, "no run of 16 free chunks");
        assert_eq!(
            got(p.reserve(64)),
            Lease::Chunks {
                slab: 0,
                first: 0,
                chunks: 8
            }
        );
        p.release(leases[3]);
        // Chunks 16..24 (lease 2) and 24..32 (lease 3) are now one run of 16.
        assert_eq!(
            got(p.reserve(128)),
            Lease::Chunks {
                slab: 0,
                first: 16,
                chunks: 16
            }
        );
    }

    #[test]
    fn release_everything_returns_to_empty() {
        let mut p = ChunkPool::new(small());
        p.add_slab();
        p.add_slab();
        let mut held = Vec::new();
        for len in [1, 7, 8, 9, 100, 1024, 500, 3, 64] {
            match p.reserve(len) {
                Reserve::Got(l) => held.push(l),
                Reserve::Wait => {}
                Reserve::Grow => unreachable!("both slabs present"),
            }
        }
        for l in held {
            p.release(l);
        }
        assert_eq!(p.stats().chunks_in_use, 0);
        assert_eq!(
            got(p.reserve(1024)),
            Lease::Chunks {
                slab: 0,
                first: 0,
                chunks: 128
            }
        );
    }

    #[test]
    fn oversized_segments_fall_back_within_a_bound() {
        let mut p = ChunkPool::new(small());
        let big = small().slab_bytes() + 1; // 1025
        let a = got(p.reserve(big));
        assert_eq!(a, Lease::Fallback { len: big });
        assert_eq!(
            p.reserve(big),
            Reserve::Wait,
            "2050 bytes would pass the 2048 bound"
        );
        p.release(a);
        // One is always allowed when none is in flight, however large.
        let huge = got(p.reserve(10_000));
        assert_eq!(p.stats().fallback_in_use, 10_000);
        assert_eq!(p.reserve(big), Reserve::Wait);
        p.release(huge);
        assert_eq!(p.stats().fallback_in_use, 0);
        assert_eq!(p.stats().fallbacks, 2);
        assert_eq!(p.slabs(), 0, "fallbacks never register slabs");
    }

    #[test]
    fn default_geometry_fits_max_read_write_size_in_one_slab() {
        let c = PoolConfig::default();
        assert!(c.slab_bytes() >= 1 << 20);
        let mut p = ChunkPool::new(c);
        p.add_slab();
        let one_mib = got(p.reserve(1 << 20));
        assert!(matches!(one_mib, Lease::Chunks { chunks: 128, .. }));
        // 8 KiB I/O: one chunk each, 128 more fit beside the 1 MiB segment.
        for _ in 0..128 {
            assert!(matches!(
                got(p.reserve(8192)),
                Lease::Chunks { chunks: 1, .. }
            ));
        }
        assert_eq!(p.reserve(8192), Reserve::Grow);
    }
}
