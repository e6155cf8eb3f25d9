//! Recycled message buffers, so the READ/WRITE path allocates nothing per request in steady
//! state (issue 6): receive buffers, response messages and READ data come from here and go
//! back here once their last reference is gone (after the send).
//!
//! The pools are per thread (no locking) and bounded. A buffer taken on one worker thread and
//! given back on another joins that thread's pool; so that threads which mostly give back (the
//! one a WRITE completes on) feed those which mostly take (the one reading the next request),
//! a full pool passes a batch to a shared depot and an empty one fetches a batch from it (one
//! lock per [`BATCH`] buffers, and only when the threads are out of balance). The depot is
//! bounded too; what does not fit is freed. Three size classes: small (response headers and bodies, up to [`SMALL`] bytes of
//! capacity), medium (8 KiB READ data and sealed 8 KiB messages, [`MEDIUM`]: the hot size has
//! a class of its own so 256 outstanding 8 KiB READs hold 2 MiB, not 16, and stay pooled) and
//! large (receive buffers and bigger data, up to [`LARGE_MAX`]).
use bytes::{Bytes, BytesMut};
use std::cell::RefCell;

/// Capacity of a small buffer.
pub const SMALL: usize = 512;
/// Capacity of a medium buffer: 8 KiB of data and a transform header, SMB2 header and body.
pub const MEDIUM: usize = 8 * 1024 + 512;
/// Capacity a large buffer is allocated with at least.
pub const LARGE: usize = 64 * 1024 + 512;
/// Largest capacity kept; bigger buffers are freed instead of pooled.
pub const LARGE_MAX: usize = 1024 * 1024 + 4096;
/// Buffers kept per class and thread.
const KEEP_SMALL: usize = 256;
const KEEP_MEDIUM: usize = 256;
const KEEP_LARGE: usize = 64;

/// Buffers moved between a thread's pool and the depot at a time.
const BATCH: usize = 16;
/// Buffers the shared depot keeps per class (small, medium, large).
const DEPOT_KEEP: [usize; 3] = [512, 512, 128];

/// Per class, buffers no thread's pool had room for.
static DEPOT: [parking_lot::Mutex<Vec<BytesMut>>; 3] = [
    parking_lot::Mutex::new(Vec::new()),
    parking_lot::Mutex::new(Vec::new()),
    parking_lot::Mutex::new(Vec::new()),
];

struct Pools {
    small: Vec<BytesMut>,
    medium: Vec<BytesMut>,
    large: Vec<BytesMut>,
}

thread_local! {
    static POOLS: RefCell<Pools> = const {
        RefCell::new(Pools {
            small: Vec::new(),
            medium: Vec::new(),
            large: Vec::new(),
        })
    };
}

impl Pools {
    /// The pool of class `c` (0 small, 1 medium, 2 large).
    fn class(&mut self, c: usize) -> &mut Vec<BytesMut> {
        match c {
            0 => &mut self.small,
            1 => &mut self.medium,
            _ => &mut self.large,
        }
    }
}

/// Buffers kept per thread for class `c`.
const KEEP: [usize; 3] = [KEEP_SMALL, KEEP_MEDIUM, KEEP_LARGE];

/// A buffer of class `c` from the thread's pool, refilled from the depot when empty.
fn pop(p: &mut Pools, c: usize) -> Option<BytesMut> {
    let v = p.class(c);
    if v.is_empty() {
        let mut d = DEPOT[c].lock();
        let n = d.len().min(BATCH);
        let at = d.len() - n;
        if v.capacity() < KEEP[c] {
            v.reserve_exact(KEEP[c] - v.len());
        }
        v.extend(d.drain(at..));
    }
    v.pop()
}

/// An empty buffer with room for at least `cap` bytes, recycled when one is at hand.
pub fn take(cap: usize) -> BytesMut {
    let got = POOLS
        .try_with(|p| {
            let mut p = p.borrow_mut();
            if cap <= SMALL {
                pop(&mut p, 0)
            } else if cap <= MEDIUM {
                pop(&mut p, 1)
            } else if cap <= LARGE {
                pop(&mut p, 2)
            } else {
                let i = p.large.iter().position(|b| b.capacity() >= cap)?;
                Some(p.large.swap_remove(i))
            }
        })
        .ok()
        .flatten();
    match got {
        Some(b) => b,
        None => fresh(if cap <= SMALL {
            SMALL
        } else if cap <= MEDIUM {
            MEDIUM
        } else {
            cap.max(LARGE)
        }),
    }
}

/// A new buffer, already in the shared representation: freezing it and turning the frozen
/// `Bytes` back into a `BytesMut` ([`give_bytes`]) then allocate nothing (a plain `Vec`-backed
/// buffer would get a fresh shared header each time it is frozen).
fn fresh(cap: usize) -> BytesMut {
    let mut b = BytesMut::with_capacity(cap);
    drop(b.split_to(0));
    b
}

/// Gives a buffer back (emptied). Buffers of other sizes, or still shared, are just dropped.
pub fn give(mut b: BytesMut) {
    if b.capacity() > LARGE_MAX {
        return;
    }
    b.clear();
    // Moves the region back to the start of its allocation when nothing else uses it (no
    // copy, no allocation); a buffer that cannot offer a whole class's room is dropped.
    let c = if b.try_reclaim(LARGE) {
        2
    } else if b.try_reclaim(MEDIUM) {
        1
    } else if b.try_reclaim(SMALL) {
        0
    } else {
        return;
    };
    let _ = POOLS.try_with(|p| {
        let mut p = p.borrow_mut();
        let v = p.class(c);
        if v.len() >= KEEP[c] {
            // Full: a batch goes to the depot (what it has no room for is freed).
            let mut d = DEPOT[c].lock();
            let room = DEPOT_KEEP[c].saturating_sub(d.len()).min(BATCH);
            if d.capacity() == 0 {
                d.reserve_exact(DEPOT_KEEP[c]);
            }
            let at = v.len() - room;
            d.extend(v.drain(at..));
            drop(d);
            if v.len() >= KEEP[c] {
                return;
            }
        }
        if v.capacity() < KEEP[c] {
            v.reserve_exact(KEEP[c] - v.len());
        }
        v.push(b);
    });
}

/// Gives back the buffer behind `b` if this was its last reference.
pub fn give_bytes(b: Bytes) {
    if b.is_empty() {
        return;
    }
    if let Ok(m) = b.try_into_mut() {
        give(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back() {
        let mut b = take(100);
        assert!(b.capacity() >= SMALL);
        b.extend_from_slice(b"hello");
        let p = b.as_ptr();
        let f = b.freeze();
        let g = f.clone();
        give_bytes(f); // still shared: not pooled
        give_bytes(g);
        let again = take(10);
        assert_eq!(again.as_ptr(), p);
        assert!(again.is_empty());
        let mid = take(8192);
        assert!(mid.capacity() >= 8192 && mid.capacity() < LARGE);
        let p = mid.as_ptr();
        give(mid);
        assert_eq!(
            take(MEDIUM).as_ptr(),
            p,
            "a medium buffer comes back for 8 KiB"
        );
        let big = take(MEDIUM + 1);
        assert!(big.capacity() >= LARGE);
        give(big);
        assert!(take(70_000).capacity() >= 70_000);
    }
}
