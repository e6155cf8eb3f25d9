//! LOCK (MS-SMB2 3.3.5.14) and the byte-range lock rules of MS-FSA 2.1.5.7 (lock) and
//! 2.1.5.8 (unlock).
//!
//! - The first element decides the kind of request: all unlocks, or all locks.
//! - A lock request whose element flags are not exactly SHARED or EXCLUSIVE (optionally with
//!   FAIL_IMMEDIATELY) fails with STATUS_INVALID_PARAMETER before anything is done; so does a
//!   request of more than one lock where some element lacks FAIL_IMMEDIATELY (3.3.5.14.2).
//! - A range whose last byte lies beyond 2^64 - 1 is STATUS_INVALID_LOCK_RANGE.
//! - Unlocks run in order and stop at the first failure (an element that does not exactly match
//!   a lock of this open is STATUS_RANGE_NOT_LOCKED; an element with other flags is
//!   STATUS_INVALID_PARAMETER); unlocks done before it stay done. An exclusive lock is
//!   released before a shared lock of the same range.
//! - Locks are all-or-nothing: on a conflict the locks this request already took are rolled
//!   back. A conflict is STATUS_LOCK_NOT_GRANTED when FAIL_IMMEDIATELY is set; a single
//!   blocking lock instead goes asynchronous ([`Outcome::Pending`]) and waits on
//!   [`FileState::unlocked`] until it can be granted, cancelled (STATUS_CANCELLED), or its open
//!   is closed (STATUS_RANGE_NOT_LOCKED).
//! - Conflicts (Windows semantics): shared locks never conflict with each other; a shared lock
//!   may stack on an exclusive lock of the same open; everything else conflicts when the ranges
//!   overlap. A zero-length range overlaps a range that strictly contains its offset, and two
//!   identical non-empty ranges always overlap.
//!
//! - Lock sequence verification (3.3.5.14, "lock replay"): on a connection above 2.0.2 whose
//!   server capabilities include MULTI_CHANNEL (the spec also applies it to durable, persistent
//!   and resilient opens on any dialect; rsmbd does not yet on a 2.1 connection), a request
//!   whose LockSequenceIndex (1..=64) names a Valid entry of the open's LockSequenceArray
//!   holding its LockSequenceNumber is a replay and succeeds without doing anything; a
//!   different number invalidates the entry. A request that succeeds records its number in
//!   the entry. Index 0 or beyond 64 is never checked.
use super::{bad_request, body_of, files};
use crate::server::dispatch::{Cancel, Ctx, Outcome, PendingOp, Reply};
use crate::server::file_state::{ByteLock, FileState, FileStateInner};
use crate::server::file_state::{FILE_READ_DATA, FILE_WRITE_DATA};
use crate::server::open::Open;
use crate::wire::lock::{lock_flags, LockElement, LockRequest, LockResponse};
use crate::wire::negotiate::SMB2_GLOBAL_CAP_MULTI_CHANNEL;
use crate::wire::NtStatus;
use std::sync::Arc;
use std::time::Duration;

/// STATUS_INVALID_LOCK_RANGE (MS-ERREF 2.3.1): the range's end lies beyond 2^64.
pub const STATUS_INVALID_LOCK_RANGE: NtStatus = NtStatus(0xC000_01A1);

/// How often a waiting lock re-checks that its open still exists (closing an open that holds
/// no locks does not wake waiters).
const OPEN_POLL: Duration = Duration::from_millis(100);

/// One validated lock element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockRange {
    /// First byte.
    pub offset: u64,
    /// Length (0 allowed).
    pub length: u64,
    /// Exclusive or shared.
    pub exclusive: bool,
}

/// What a LOCK request asks for after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockPlan {
    /// Unlock these ranges in order; `None` is an element with flags other than UNLOCK, which
    /// fails with STATUS_INVALID_PARAMETER when reached.
    Unlock(Vec<Option<(u64, u64)>>),
    /// Take these locks, all or nothing; `blocking` when a conflict should wait.
    Lock {
        /// The ranges.
        ranges: Vec<LockRange>,
        /// A single element without FAIL_IMMEDIATELY.
        blocking: bool,
    },
}

/// Whether `offset + length - 1` fits in 64 bits (MS-SMB2 3.3.5.14).
fn range_valid(offset: u64, length: u64) -> bool {
    length == 0 || offset.checked_add(length - 1).is_some()
}

/// Validates the elements of a request (MS-SMB2 3.3.5.14.1, 3.3.5.14.2).
pub fn plan(locks: &[LockElement]) -> Result<LockPlan, NtStatus> {
    use lock_flags::*;
    let first = locks.first().ok_or(NtStatus::INVALID_PARAMETER)?;
    let unlock = first.flags & UNLOCK != 0;
    if unlock {
        let mut out = Vec::with_capacity(locks.len());
        for l in locks {
            if !range_valid(l.offset, l.length) {
                return Err(STATUS_INVALID_LOCK_RANGE);
            }
            out.push((l.flags == UNLOCK).then_some((l.offset, l.length)));
        }
        return Ok(LockPlan::Unlock(out));
    }
    let mut ranges = Vec::with_capacity(locks.len());
    for l in locks {
        let exclusive = match l.flags {
            SHARED_LOCK | 0x11 => false,
            EXCLUSIVE_LOCK | 0x12 => true,
            _ => return Err(NtStatus::INVALID_PARAMETER),
        };
        if !range_valid(l.offset, l.length) {
            return Err(STATUS_INVALID_LOCK_RANGE);
        }
        ranges.push(LockRange {
            offset: l.offset,
            length: l.length,
            exclusive,
        });
    }
    if locks.len() > 1 && locks.iter().any(|l| l.flags & FAIL_IMMEDIATELY == 0) {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let blocking = locks.len() == 1 && first.flags & FAIL_IMMEDIATELY == 0;
    Ok(LockPlan::Lock { ranges, blocking })
}

/// Whether two ranges overlap for locking purposes (see the module doc).
pub fn ranges_overlap(o1: u64, l1: u64, o2: u64, l2: u64) -> bool {
    if l1 != 0 && o1 == o2 && l1 == l2 {
        return true;
    }
    let (s1, e1) = (o1 as u128, o1 as u128 + l1 as u128);
    let (s2, e2) = (o2 as u128, o2 as u128 + l2 as u128);
    !(s1 >= e2 || s2 >= e1)
}

/// Whether a new lock `r` of `open` conflicts with `existing` (MS-FSA 2.1.5.7).
pub fn conflicts(existing: &ByteLock, open: u64, r: &LockRange) -> bool {
    if !existing.exclusive && !r.exclusive {
        return false;
    }
    if existing.exclusive && !r.exclusive && existing.open == open {
        return false;
    }
    ranges_overlap(existing.offset, existing.length, r.offset, r.length)
}

/// Takes every range for `open`, or none: on the first conflict the ones taken are removed
/// again and STATUS_LOCK_NOT_GRANTED is returned.
pub fn try_lock(
    inner: &mut FileStateInner,
    open: u64,
    ranges: &[LockRange],
) -> Result<(), NtStatus> {
    let before = inner.locks.len();
    for r in ranges {
        if inner.locks.iter().any(|l| conflicts(l, open, r)) {
            inner.locks.truncate(before);
            return Err(NtStatus::LOCK_NOT_GRANTED);
        }
        inner.locks.push(ByteLock {
            open,
            offset: r.offset,
            length: r.length,
            exclusive: r.exclusive,
        });
    }
    Ok(())
}

/// Releases ranges of `open` in order, stopping at the first failure; returns how many were
/// released and the outcome (MS-FSA 2.1.5.8).
pub fn unlock(
    inner: &mut FileStateInner,
    open: u64,
    ranges: &[Option<(u64, u64)>],
) -> (usize, Result<(), NtStatus>) {
    let mut done = 0;
    for r in ranges {
        let Some((offset, length)) = *r else {
            return (done, Err(NtStatus::INVALID_PARAMETER));
        };
        let matches = |l: &ByteLock| l.open == open && l.offset == offset && l.length == length;
        let pos = inner
            .locks
            .iter()
            .position(|l| matches(l) && l.exclusive)
            .or_else(|| inner.locks.iter().position(matches));
        match pos {
            Some(i) => {
                inner.locks.remove(i);
                done += 1;
            }
            None => return (done, Err(NtStatus::RANGE_NOT_LOCKED)),
        }
    }
    (done, Ok(()))
}

/// The LockSequenceIndex and LockSequenceNumber of a request that takes part in lock sequence
/// verification (MS-SMB2 3.3.5.14).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockSequence {
    /// LockSequenceIndex, 1..=64.
    pub index: u32,
    /// LockSequenceNumber (4 bits).
    pub number: u8,
}

/// Whether the request is a replay of the last successful request with the same index on
/// `open`; a different number resets the entry (MS-SMB2 3.3.5.14).
pub fn is_replay(inner: &mut FileStateInner, open: u64, seq: Option<LockSequence>) -> bool {
    let Some(seq) = seq else { return false };
    let Some(array) = inner.lock_sequences.get_mut(&open) else {
        return false;
    };
    match array.entry(seq.index) {
        Some(e) if *e == Some(seq.number) => true,
        Some(e) => {
            *e = None;
            false
        }
        None => false,
    }
}

/// Records a successful request's number in the open's LockSequenceArray.
pub fn record_sequence(inner: &mut FileStateInner, open: u64, seq: Option<LockSequence>) {
    if let Some(seq) = seq {
        if let Some(e) = inner
            .lock_sequences
            .entry(open)
            .or_default()
            .entry(seq.index)
        {
            *e = Some(seq.number);
        }
    }
}

/// The request's lock sequence, when verification applies to it: a dialect above 2.0.2 with
/// MULTI_CHANNEL in the server's capabilities, and an index in 1..=64.
fn sequence_of(ctx: &Ctx, req: &LockRequest) -> Option<LockSequence> {
    let applies = ctx.conn.negotiated.lock().as_ref().is_some_and(|n| {
        n.dialect != 0x0202 && n.server_capabilities & SMB2_GLOBAL_CAP_MULTI_CHANNEL != 0
    });
    (applies && (1..=64).contains(&req.lock_sequence_index)).then_some(LockSequence {
        index: req.lock_sequence_index,
        number: req.lock_sequence_number,
    })
}

fn ok_reply() -> Reply {
    Reply::ok(body_of(|b| LockResponse.encode(b)))
}

/// Handles LOCK.
pub async fn handle(ctx: Ctx) -> Outcome {
    match run(&ctx) {
        Ok(Some((open, state, range, seq))) => {
            Outcome::Pending(wait_for_lock(&ctx, open, state, range, seq))
        }
        Ok(None) => {
            // A persistent open's locks are on disk before the client hears of them.
            if let Ok(req) = LockRequest::decode(&ctx.msg) {
                let server = ctx.conn.server.clone();
                crate::server::persistent::save_lock_change(&server, &ctx, req.file_id).await;
            }
            Outcome::Reply(ok_reply())
        }
        Err(s) => Outcome::Reply(Reply::error(s)),
    }
}

/// A blocking lock that must wait: its open, the file's state, the range and the request's
/// lock sequence.
type Blocked = (Arc<Open>, Arc<FileState>, LockRange, Option<LockSequence>);

/// Does everything that can be done at once; returns the blocked lock that must wait.
fn run(ctx: &Ctx) -> Result<Option<Blocked>, NtStatus> {
    let req = LockRequest::decode(&ctx.msg).map_err(bad_request)?;
    let open = files::find_open(ctx, req.file_id)?;
    let file = open.file().ok_or(NtStatus::INVALID_PARAMETER)?;
    if file.is_dir {
        return Err(NtStatus::INVALID_PARAMETER);
    }
    let plan = plan(&req.locks)?;
    if open.granted_access & (FILE_READ_DATA | FILE_WRITE_DATA) == 0 {
        return Err(NtStatus::ACCESS_DENIED);
    }
    let state = file.state.clone();
    let id = open.file_id.volatile;
    let seq = sequence_of(ctx, &req);
    match plan {
        LockPlan::Unlock(ranges) => {
            let (done, r) = {
                let mut inner = state.inner.lock();
                if is_replay(&mut inner, id, seq) {
                    return Ok(None);
                }
                let (done, r) = unlock(&mut inner, id, &ranges);
                if r.is_ok() {
                    record_sequence(&mut inner, id, seq);
                }
                (done, r)
            };
            if done > 0 {
                state.unlocked.notify_waiters();
            }
            r.map(|_| None)
        }
        LockPlan::Lock { ranges, blocking } => {
            // Bind the result first: the state's guard must be gone before breaking oplocks,
            // which takes the same lock.
            let locked = {
                let mut inner = state.inner.lock();
                if is_replay(&mut inner, id, seq) {
                    return Ok(None);
                }
                let r = try_lock(&mut inner, id, &ranges);
                if r.is_ok() {
                    record_sequence(&mut inner, id, seq);
                }
                r
            };
            match locked {
                Ok(()) => {
                    // A byte-range lock breaks LEVEL_II oplocks to none (MS-FSA 2.1.4.12).
                    state.break_read_caching(id);
                    Ok(None)
                }
                Err(_) if blocking => Ok(Some((open.clone(), state.clone(), ranges[0], seq))),
                Err(e) => Err(e),
            }
        }
    }
}

/// A blocking lock: waits until it can be granted, is cancelled, or its open goes away.
fn wait_for_lock(
    ctx: &Ctx,
    open: Arc<Open>,
    state: Arc<FileState>,
    range: LockRange,
    seq: Option<LockSequence>,
) -> PendingOp {
    let cancel = Cancel::new();
    let c = cancel.clone();
    let server = ctx.conn.server.clone();
    let (sid, tid) = (ctx.session_id, ctx.tree_id);
    let fut = async move {
        let id = open.file_id;
        loop {
            let notified = state.unlocked.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if c.is_cancelled() {
                return Reply::error(NtStatus::CANCELLED);
            }
            if server.opens.get(id, sid, tid).is_none() {
                return Reply::error(NtStatus::RANGE_NOT_LOCKED);
            }
            let locked = {
                let mut inner = state.inner.lock();
                let ok = try_lock(&mut inner, id.volatile, &[range]).is_ok();
                if ok {
                    record_sequence(&mut inner, id.volatile, seq);
                }
                ok
            };
            if locked {
                state.break_read_caching(id.volatile);
                crate::server::persistent::save(&server, &open).await;
                return ok_reply();
            }
            tokio::select! {
                _ = notified => {}
                _ = c.cancelled() => {}
                _ = tokio::time::sleep(OPEN_POLL) => {}
            }
        }
    };
    PendingOp {
        fut: Box::pin(fut),
        cancel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lock_flags::*;

    fn el(offset: u64, length: u64, flags: u32) -> LockElement {
        LockElement {
            offset,
            length,
            flags,
        }
    }

    fn r(offset: u64, length: u64, exclusive: bool) -> LockRange {
        LockRange {
            offset,
            length,
            exclusive,
        }
    }

    #[test]
    fn flag_validation() {
        assert_eq!(plan(&[el(0, 0, 0)]), Err(NtStatus::INVALID_PARAMETER));
        assert_eq!(plan(&[el(0, 1, !0x17)]), Err(NtStatus::INVALID_PARAMETER));
        assert_eq!(
            plan(&[el(0, 1, EXCLUSIVE_LOCK | SHARED_LOCK)]),
            Err(NtStatus::INVALID_PARAMETER)
        );
        // Lock then unlock in one request: refused before anything happens.
        assert_eq!(
            plan(&[el(0, 1, 0x12), el(0, 1, UNLOCK)]),
            Err(NtStatus::INVALID_PARAMETER)
        );
        // More than one lock, one of them blocking.
        assert_eq!(
            plan(&[el(0, 1, 0x11), el(5, 1, SHARED_LOCK)]),
            Err(NtStatus::INVALID_PARAMETER)
        );
        // Unlock followed by something else: deferred.
        assert_eq!(
            plan(&[el(0, 1, UNLOCK), el(5, 1, 0x12)]),
            Ok(LockPlan::Unlock(vec![Some((0, 1)), None]))
        );
        assert_eq!(
            plan(&[el(1, 1, UNLOCK | FAIL_IMMEDIATELY)]),
            Ok(LockPlan::Unlock(vec![None]))
        );
        assert_eq!(
            plan(&[el(0, 1, EXCLUSIVE_LOCK)]),
            Ok(LockPlan::Lock {
                ranges: vec![r(0, 1, true)],
                blocking: true
            })
        );
    }

    #[test]
    fn range_limits() {
        assert_eq!(
            plan(&[el(u64::MAX, u64::MAX, 0x12)]),
            Err(STATUS_INVALID_LOCK_RANGE)
        );
        assert_eq!(
            plan(&[el(u64::MAX, 2, 0x12)]),
            Err(STATUS_INVALID_LOCK_RANGE)
        );
        assert!(plan(&[el(u64::MAX, 1, 0x12)]).is_ok());
        assert!(plan(&[el(u64::MAX, 0, 0x12)]).is_ok());
    }

    #[test]
    fn conflicts_and_stacking() {
        let mut s = FileStateInner::default();
        assert!(try_lock(&mut s, 1, &[r(100, 10, true)]).is_ok());
        // Shared on own exclusive stacks; exclusive on own exclusive does not.
        assert!(try_lock(&mut s, 1, &[r(100, 10, false)]).is_ok());
        assert_eq!(
            try_lock(&mut s, 1, &[r(100, 10, true)]),
            Err(NtStatus::LOCK_NOT_GRANTED)
        );
        assert_eq!(
            try_lock(&mut s, 2, &[r(105, 1, false)]),
            Err(NtStatus::LOCK_NOT_GRANTED)
        );
        // Zero-length lock inside the range conflicts; at its start it does not.
        assert_eq!(
            try_lock(&mut s, 2, &[r(102, 0, true)]),
            Err(NtStatus::LOCK_NOT_GRANTED)
        );
        assert!(try_lock(&mut s, 2, &[r(100, 0, true)]).is_ok());
        // Unlock takes the exclusive first.
        assert_eq!(unlock(&mut s, 1, &[Some((100, 10))]), (1, Ok(())));
        assert!(s.locks.iter().any(|l| l.open == 1 && !l.exclusive));
        assert!(try_lock(&mut s, 2, &[r(100, 10, false)]).is_ok());
    }

    #[test]
    fn all_or_nothing_and_ordered_unlock() {
        let mut s = FileStateInner::default();
        assert!(try_lock(&mut s, 2, &[r(20, 1, true)]).is_ok());
        assert_eq!(
            try_lock(&mut s, 1, &[r(10, 1, true), r(20, 1, true)]),
            Err(NtStatus::LOCK_NOT_GRANTED)
        );
        assert_eq!(s.locks.len(), 1);
        assert!(try_lock(&mut s, 1, &[r(10, 1, true), r(30, 1, true)]).is_ok());
        assert_eq!(
            unlock(&mut s, 1, &[Some((40, 1)), Some((10, 1))]),
            (0, Err(NtStatus::RANGE_NOT_LOCKED))
        );
        assert_eq!(
            unlock(&mut s, 1, &[Some((10, 1)), None]),
            (1, Err(NtStatus::INVALID_PARAMETER))
        );
        assert_eq!(
            unlock(&mut s, 2, &[Some((30, 1))]),
            (0, Err(NtStatus::RANGE_NOT_LOCKED))
        );
    }

    #[test]
    fn lock_sequence_replay() {
        let mut s = FileStateInner::default();
        let seq = |index, number| {
            Some(LockSequence {
                index,
                number: number as u8,
            })
        };
        assert!(!is_replay(&mut s, 1, seq(1, 1)));
        record_sequence(&mut s, 1, seq(1, 1));
        assert!(is_replay(&mut s, 1, seq(1, 1)));
        assert!(!is_replay(&mut s, 2, seq(1, 1)));
        assert!(!is_replay(&mut s, 1, seq(2, 1)));
        // A different number invalidates the entry.
        assert!(!is_replay(&mut s, 1, seq(1, 2)));
        assert!(!is_replay(&mut s, 1, seq(1, 1)));
        record_sequence(&mut s, 1, seq(64, 3));
        assert!(is_replay(&mut s, 1, seq(64, 3)));
        record_sequence(&mut s, 1, seq(65, 3));
        assert!(!is_replay(&mut s, 1, seq(65, 3)));
        assert!(!is_replay(&mut s, 1, None));
    }

    #[test]
    fn overlap_edges() {
        assert!(ranges_overlap(u64::MAX, 1, u64::MAX, 1));
        assert!(!ranges_overlap(u64::MAX, 0, u64::MAX, 0));
        assert!(!ranges_overlap(0, 10, 10, 10));
        assert!(ranges_overlap(10, 0, 5, 10));
        assert!(!ranges_overlap(5, 0, 5, 10));
    }
}
