//! Writes to one file run one after another, drained by one long-lived drainer thread.
//!
//! A client with sixteen 8 KiB writes outstanding on one file would otherwise get sixteen
//! blocking-pool threads, each waking for one `pwrite` and all but one then spinning or
//! sleeping on the file's inode lock (ext4 and XFS take it exclusively for buffered writes).
//! Here the first write of a burst hands the file's key to a drainer thread; later writes
//! join the file's queue and are picked up without another thread hand-off, in arrival order.
//! Write-through writes (which wait for the disk) do not use it, so the kernel can overlap
//! their flushes.
//!
//! Nothing here allocates per request in steady state (issue 6):
//! - a job is plain data ([`Job`], e.g. the WRITE handler's handle, offset, payload and
//!   flags), stored by value in the file's queue, never boxed;
//! - its result comes back through a completion slot (the result and the waiting task's
//!   waker) taken from a per-[`Queues`] pool and returned to it once the result is read;
//! - drainers are a bounded set of threads ([`MAX_DRAINERS`]) started on demand, parked on a
//!   condition variable when idle (and ended after [`IDLE_EXIT`] without work), fed with file
//!   keys instead of a blocking-pool task per burst;
//! - a file's queue stays in the map after a burst (with its capacity) and is found again by
//!   its key; idle queues are dropped only when the map grows past a threshold that doubles
//!   with its live size, so the map stays bounded by the files being written.
//!
//! Ordering: a file's queue is marked running when its key is handed to a drainer and
//! cleared only by that drainer once it finds the queue empty, so one drainer at most works
//! a file at a time and jobs run in the order they were queued. A drainer that ran
//! [`BUDGET`] jobs of one file while other files wait puts the file's key back at the end of
//! the ready list (still running), so one busy file cannot starve the others. The async side
//! only takes short uncontended locks: nothing blocks a reactor thread.
use crate::wire::NtStatus;
use dashmap::DashMap;
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// Most drainer threads alive at once (files drained in parallel).
pub const MAX_DRAINERS: usize = 64;
/// A drainer without work for this long ends (the next burst starts another).
pub const IDLE_EXIT: Duration = Duration::from_secs(10);
/// Jobs of one file a drainer runs before letting other waiting files go first.
pub const BUDGET: usize = 64;
/// Idle queues are dropped when the map holds more than this (or twice its last live size).
const PRUNE_MIN: usize = 1024;
/// Completion slots kept for reuse per [`Queues`].
const SLOTS_KEPT: usize = 4096;

/// One unit of queued work: plain data, run on a drainer thread.
pub trait Job: Send + 'static {
    /// What the waiting request gets back.
    type Output: Send + 'static;
    /// Does the (blocking) work.
    fn run(self) -> Self::Output;
}

/// A boxed closure is a job too (one allocation per job; for rare or test work).
impl<T: Send + 'static> Job for Box<dyn FnOnce() -> T + Send> {
    type Output = T;
    fn run(self) -> T {
        self()
    }
}

/// Where a job's result goes: recycled through [`Queues::slots`].
struct Slot<T> {
    inner: Mutex<SlotState<T>>,
}

struct SlotState<T> {
    result: Option<Result<T, NtStatus>>,
    waker: Option<Waker>,
}

impl<T> Slot<T> {
    fn new() -> Self {
        Slot {
            inner: Mutex::new(SlotState {
                result: None,
                waker: None,
            }),
        }
    }
}

/// Stores `out` in `slot`, lets go of the slot, then wakes the waiting task.
fn complete<T>(slot: Arc<Slot<T>>, out: Result<T, NtStatus>) {
    let waker = {
        let mut s = slot.inner.lock();
        s.result = Some(out);
        s.waker.take()
    };
    drop(slot);
    if let Some(w) = waker {
        w.wake();
    }
}

/// One file's pending jobs.
struct FileQueue<J: Job> {
    jobs: VecDeque<(J, Arc<Slot<J::Output>>)>,
    /// A drainer owns this file (its key is on the ready list or being drained).
    running: bool,
}

impl<J: Job> FileQueue<J> {
    fn new() -> Self {
        FileQueue {
            jobs: VecDeque::new(),
            running: false,
        }
    }
}

/// Per-file queues of one job type. Keys are file identities (e.g. the address of the file's
/// shared state, kept alive by the queued jobs).
pub struct Queues<J: Job> {
    /// The inner lock makes a queue mutable under the map's shared (read) shard lock.
    files: DashMap<usize, Mutex<FileQueue<J>>>,
    slots: Mutex<Vec<Arc<Slot<J::Output>>>>,
    /// Map size above which idle queues are dropped.
    prune_at: AtomicUsize,
}

impl<J: Job> Default for Queues<J> {
    fn default() -> Self {
        Self::new()
    }
}

impl<J: Job> Queues<J> {
    /// No queues yet.
    pub fn new() -> Self {
        Queues {
            files: DashMap::new(),
            slots: Mutex::new(Vec::new()),
            prune_at: AtomicUsize::new(PRUNE_MIN),
        }
    }

    /// Runs `job` on a drainer thread after every earlier job queued under `key`; the job is
    /// queued when the returned future is first polled. Dropping the future before it is
    /// ready does not cancel a queued job. `INTERNAL_ERROR` when the job panicked.
    pub async fn run(&'static self, key: usize, job: J) -> Result<J::Output, NtStatus> {
        let slot = self
            .slots
            .lock()
            .pop()
            .unwrap_or_else(|| Arc::new(Slot::new()));
        let start = match self.files.get(&key) {
            Some(e) => Self::push(&mut e.lock(), job, &slot),
            None => {
                if self.files.len() > self.prune_at.load(Ordering::Relaxed) {
                    self.prune();
                }
                let e = self
                    .files
                    .entry(key)
                    .or_insert_with(|| Mutex::new(FileQueue::new()));
                let start = Self::push(&mut e.lock(), job, &slot);
                start
            }
        };
        if start {
            POOL.submit(self, key);
        }
        Wait {
            queues: self,
            slot: Some(slot),
        }
        .await
    }

    /// Queues a job; true when the file had no drainer (the caller hands it to one).
    fn push(q: &mut FileQueue<J>, job: J, slot: &Arc<Slot<J::Output>>) -> bool {
        q.jobs.push_back((job, slot.clone()));
        !std::mem::replace(&mut q.running, true)
    }

    /// Drops idle queues and sets the next threshold.
    fn prune(&self) {
        self.files.retain(|_, q| {
            let q = q.get_mut();
            q.running || !q.jobs.is_empty()
        });
        let next = (self.files.len() * 2).max(PRUNE_MIN);
        self.prune_at.store(next, Ordering::Relaxed);
    }

    /// Returns a slot whose result was taken to the pool.
    fn recycle(&self, slot: Arc<Slot<J::Output>>) {
        slot.inner.lock().waker = None;
        let mut slots = self.slots.lock();
        if slots.len() < SLOTS_KEPT {
            slots.push(slot);
        }
    }

    /// Whether `key` has a queue with jobs or a drainer (for tests and diagnostics).
    pub fn busy(&self, key: usize) -> bool {
        self.files.get(&key).is_some_and(|e| {
            let q = e.lock();
            q.running || !q.jobs.is_empty()
        })
    }

    /// Number of file queues held (busy or idle).
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file queue is held.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Waits for a queued job's result.
struct Wait<J: Job> {
    queues: &'static Queues<J>,
    slot: Option<Arc<Slot<J::Output>>>,
}

impl<J: Job> Future for Wait<J> {
    type Output = Result<J::Output, NtStatus>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(slot) = self.slot.as_ref() else {
            return Poll::Ready(Err(NtStatus::INTERNAL_ERROR));
        };
        let mut s = slot.inner.lock();
        if let Some(r) = s.result.take() {
            drop(s);
            // The drainer stored the result last: the slot is free (its clone there is
            // only being dropped).
            if let Some(slot) = self.slot.take() {
                self.queues.recycle(slot);
            }
            return Poll::Ready(r);
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

// A Wait dropped before its result just lets go of the slot: the queued job still holds it.

/// A file queue as the drainer threads see it.
trait Drain: Sync {
    /// Runs up to [`BUDGET`] jobs of `key`; true when jobs are left (the file stays running).
    fn drain(&self, key: usize) -> bool;
}

impl<J: Job> Drain for Queues<J> {
    fn drain(&self, key: usize) -> bool {
        for _ in 0..BUDGET {
            let (job, slot) = {
                // Never absent: a running queue is not pruned.
                let Some(e) = self.files.get(&key) else {
                    return false;
                };
                let mut q = e.lock();
                match q.jobs.pop_front() {
                    Some(j) => j,
                    None => {
                        q.running = false;
                        return false;
                    }
                }
            };
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run()))
                .map_err(|_| NtStatus::INTERNAL_ERROR);
            complete(slot, out);
        }
        let Some(e) = self.files.get(&key) else {
            return false;
        };
        let mut q = e.lock();
        if q.jobs.is_empty() {
            q.running = false;
            false
        } else {
            true
        }
    }
}

/// Files waiting for a drainer, and the drainer threads.
struct Pool {
    state: Mutex<PoolState>,
    wake: Condvar,
}

struct PoolState {
    ready: VecDeque<(&'static dyn Drain, usize)>,
    /// Drainers waiting on `wake`.
    idle: usize,
    /// Drainers alive.
    threads: usize,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool {
    state: Mutex::new(PoolState {
        ready: VecDeque::with_capacity(64),
        idle: 0,
        threads: 0,
    }),
    wake: Condvar::new(),
});

/// Run first on every drainer thread (see [`on_thread_start`]).
static THREAD_START: Mutex<Option<fn()>> = Mutex::new(None);

/// Sets a function every drainer thread runs when it starts, as tokio's `on_thread_start`
/// does for a runtime's threads (e.g. to mark threads for accounting).
pub fn on_thread_start(f: fn()) {
    *THREAD_START.lock() = Some(f);
}

impl Pool {
    /// Hands `key` of `q` (just marked running) to a drainer.
    fn submit(&'static self, q: &'static dyn Drain, key: usize) {
        let mut st = self.state.lock();
        st.ready.push_back((q, key));
        if st.idle > 0 {
            self.wake.notify_one();
        }
        // Every idle drainer takes one ready file; start one more when they do not suffice.
        if st.ready.len() > st.idle && st.threads < MAX_DRAINERS {
            let spawned = std::thread::Builder::new()
                .name("rsmbd-write".into())
                .spawn(move || self.drainer());
            if spawned.is_ok() {
                st.threads += 1;
            } else if st.threads == 0 {
                // No thread could start and none runs: drain on the blocking pool instead.
                if let Ok(rt) = tokio::runtime::Handle::try_current() {
                    st.threads += 1;
                    drop(st);
                    rt.spawn_blocking(move || self.drainer());
                }
            }
        }
    }

    /// A drainer thread: drains ready files, parks when there are none, ends when idle long.
    fn drainer(&'static self) {
        let hook = *THREAD_START.lock();
        if let Some(f) = hook {
            f();
        }
        let mut st = self.state.lock();
        loop {
            if let Some((q, key)) = st.ready.pop_front() {
                drop(st);
                let more = q.drain(key);
                st = self.state.lock();
                if more {
                    st.ready.push_back((q, key));
                }
                continue;
            }
            st.idle += 1;
            let timed_out = self.wake.wait_for(&mut st, IDLE_EXIT).timed_out();
            st.idle -= 1;
            if timed_out && st.ready.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    type Boxed = Box<dyn FnOnce() -> usize + Send>;

    static TEST_QUEUES: LazyLock<Queues<Boxed>> = LazyLock::new(Queues::new);

    fn run(
        key: usize,
        f: impl FnOnce() -> usize + Send + 'static,
    ) -> impl Future<Output = Result<usize, NtStatus>> {
        TEST_QUEUES.run(key, Box::new(f) as Boxed)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_of_one_key_run_in_order_one_at_a_time() {
        let log = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let busy = Arc::new(AtomicUsize::new(0));
        let mut futs: Vec<_> = (0..200usize)
            .map(|i| {
                let (log, busy) = (log.clone(), busy.clone());
                Box::pin(run(7, move || {
                    assert_eq!(busy.fetch_add(1, Ordering::SeqCst), 0, "overlapping jobs");
                    log.lock().push(i);
                    busy.fetch_sub(1, Ordering::SeqCst);
                    i * 2
                }))
            })
            .collect();
        let mut results = vec![None; futs.len()];
        // Queue them in order (a job is queued on its future's first poll), then collect.
        std::future::poll_fn(|cx| {
            let mut all = true;
            for (f, r) in futs.iter_mut().zip(results.iter_mut()) {
                if r.is_none() {
                    match f.as_mut().poll(cx) {
                        Poll::Ready(v) => *r = Some(v.unwrap()),
                        Poll::Pending => all = false,
                    }
                }
            }
            if all {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        for (i, r) in results.iter().enumerate() {
            assert_eq!(*r, Some(i * 2));
        }
        {
            let log = log.lock();
            assert_eq!(log.len(), 200);
            assert!(log.windows(2).all(|w| w[0] < w[1]), "out of order");
        }
        // The drainer lets go of the queue just after its last job (the queue stays, idle).
        for _ in 0..100 {
            if !TEST_QUEUES.busy(7) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("drained queue still marked running");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn different_keys_run_side_by_side() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // Key 1 waits for key 2: only possible if they do not share a drainer.
        let a = tokio::spawn(run(1, move || rx.recv().is_ok() as usize));
        let b = tokio::spawn(run(2, move || tx.send(()).is_ok() as usize));
        assert_eq!(b.await.unwrap().unwrap(), 1);
        assert_eq!(a.await.unwrap().unwrap(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_fails_alone() {
        let a = run(11, || panic!("job panics"));
        let b = run(11, || 5);
        let (a, b) = tokio::join!(a, b);
        assert_eq!(a, Err(NtStatus::INTERNAL_ERROR));
        assert_eq!(b, Ok(5));
    }

    #[test]
    fn idle_queues_are_pruned_past_the_threshold() {
        let q: &'static Queues<Boxed> = Box::leak(Box::new(Queues::new()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            for key in 0..PRUNE_MIN + 10 {
                assert_eq!(q.run(key, Box::new(move || key)).await, Ok(key));
            }
        });
        // Each file went idle before the next one came: the map was pruned once past
        // PRUNE_MIN, so it holds far fewer queues than files written.
        assert!(q.len() <= PRUNE_MIN, "{} queues held", q.len());
        assert!(!q.is_empty());
    }
}
