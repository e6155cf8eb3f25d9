//! Writes to one file run one after another, drained by one blocking-pool thread.
//!
//! A client with sixteen 8 KiB writes outstanding on one file would otherwise get sixteen
//! blocking-pool threads, each waking for one `pwrite` and all but one then spinning or
//! sleeping on the file's inode lock (ext4 and XFS take it exclusively for buffered writes).
//! Here the first write of a burst starts one drainer; later writes join its queue and are
//! picked up without another thread hand-off, in arrival order. The queue exists only while
//! writes are in flight. Write-through writes (which wait for the disk) do not use it, so the
//! kernel can overlap their flushes.
use crate::wire::NtStatus;
use dashmap::DashMap;
use std::collections::VecDeque;
use std::sync::LazyLock;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    running: bool,
}

/// Queues by file identity (the address of the file's shared state). The inner lock only
/// makes the jobs shareable; it is taken under the map's shard lock, never contended.
static QUEUES: LazyLock<DashMap<usize, parking_lot::Mutex<Queue>>> = LazyLock::new(DashMap::new);

/// Runs `f` on the blocking pool after every earlier job queued under `key`.
pub async fn run<T: Send + 'static>(
    key: usize,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, NtStatus> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _ = tx.send(f());
    });
    let start = {
        let e = QUEUES.entry(key).or_default();
        let mut q = e.lock();
        q.jobs.push_back(job);
        !std::mem::replace(&mut q.running, true)
    };
    if start {
        tokio::task::spawn_blocking(move || drain(key));
    }
    rx.await.map_err(|_| NtStatus::INTERNAL_ERROR)
}

/// Runs the jobs of `key` until its queue is empty, then removes the queue.
fn drain(key: usize) {
    loop {
        let job = {
            let Some(e) = QUEUES.get(&key) else {
                return;
            };
            let mut q = e.lock();
            match q.jobs.pop_front() {
                Some(j) => j,
                None => {
                    q.running = false;
                    drop(q);
                    drop(e);
                    QUEUES.remove_if(&key, |_, q| {
                        let q = q.lock();
                        !q.running && q.jobs.is_empty()
                    });
                    return;
                }
            }
        };
        job();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_of_one_key_run_in_order_one_at_a_time() {
        use std::future::Future;
        use std::task::Poll;
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
        // The drainer removes the queue just after its last job.
        for _ in 0..100 {
            if !QUEUES.contains_key(&7) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("drained queue left behind");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn different_keys_run_side_by_side() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        // Key 1 waits for key 2: only possible if they do not share a drainer.
        let a = tokio::spawn(run(1, move || rx.recv().is_ok()));
        let b = tokio::spawn(run(2, move || tx.send(()).is_ok()));
        assert!(b.await.unwrap().unwrap());
        assert!(a.await.unwrap().unwrap());
    }
}
