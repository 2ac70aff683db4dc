//! The committer: one thread per recovery writer that owns the writer's store partitions
//! and does their SQLite work (commits, syncs, garbage collection) in the order it is
//! sent, so the worker thread keeps processing the next epoch while one is written.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::Instant;

use timely::scheduling::SyncActivator;

use crate::error::panic_message;
use crate::metrics::Metrics;
use crate::recovery::store::StoredRow;
use crate::recovery::{PartitionStore, StoreRouting};
use crate::{Epoch, Error};

/// Work for the committer.
pub(crate) enum Job {
    /// Write the rows of every epoch `<= through` (one transaction per partition, rows
    /// sorted) and record `through` as the partitions' frontier; `finished`: the input ended.
    Commit {
        rows: Vec<StoredRow>,
        through: Epoch,
        finished: bool,
    },
    /// Make every commit so far survive an OS crash; `finished`: the input ended.
    Sync { through: Epoch, finished: bool },
    /// Delete snapshots superseded at or before `gc`.
    Collect { gc: Epoch },
}

/// A job done: the epoch its `through` named (`Collect` reports its `gc`).
pub(crate) enum Done {
    Committed(Epoch),
    Synced(Epoch),
    Collected,
}

/// What the committer thread needs to write.
pub(crate) struct CommitterPlan {
    pub stores: Vec<PartitionStore>,
    pub routing: StoreRouting,
    pub execution: u64,
    /// The worker whose writer this is.
    pub worker: usize,
    /// Where commit durations and bytes are counted, if metrics are on.
    pub metrics: Option<Arc<Metrics>>,
}

/// The writer's handle on its committer thread.
pub(crate) struct Committer {
    jobs: Option<Sender<Job>>,
    done: Receiver<Result<Done, Error>>,
    /// Tells the thread to drop the jobs still queued (the writer failed or was dropped).
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    /// Starts the thread; it activates the writer (`activator`) after every job.
    pub(crate) fn start(plan: CommitterPlan, activator: SyncActivator) -> Result<Committer, Error> {
        let (jobs, queue) = mpsc::channel();
        let (report, done) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name(format!("weir-committer-{}", plan.worker))
            .spawn(move || run(plan, queue, report, activator, stopped))
            .map_err(|err| Error::Recovery(format!("cannot start the recovery committer thread: {err}")))?;
        Ok(Committer {
            jobs: Some(jobs),
            done,
            stop,
            thread: Some(thread),
        })
    }

    /// Queues `job` (dropped if the thread stopped after an error, which [`done`] reports).
    ///
    /// [`done`]: Committer::done
    pub(crate) fn send(&self, job: Job) {
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
    }

    /// The jobs done since the last call, in order; an error if one failed or the thread
    /// is gone.
    pub(crate) fn done(&self) -> Result<Vec<Done>, Error> {
        let mut done = Vec::new();
        loop {
            match self.done.try_recv() {
                Ok(result) => done.push(result?),
                Err(TryRecvError::Empty) => return Ok(done),
                Err(TryRecvError::Disconnected) => {
                    return Err(Error::Internal(
                        "the recovery committer thread stopped unexpectedly".into(),
                    ));
                }
            }
        }
    }
}

impl Drop for Committer {
    /// Jobs still queued are dropped (a writer that completed has none), then the thread is
    /// joined.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The thread: runs jobs in order until the writer drops its handle or a job fails.
fn run(
    mut plan: CommitterPlan,
    queue: Receiver<Job>,
    report: Sender<Result<Done, Error>>,
    activator: SyncActivator,
    stop: Arc<AtomicBool>,
) {
    let _span = tracing::info_span!("committer", worker = plan.worker).entered();
    for job in queue {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        // A panic must reach the writer as an error (and wake it), or it would wait forever.
        let executed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| plan.execute(job)));
        let result = executed.unwrap_or_else(|panic| {
            let message = panic_message(panic.as_ref());
            Err(Error::Internal(format!(
                "the recovery committer panicked: {message}"
            )))
        });
        let failed = result.is_err();
        if report.send(result).is_err() {
            return;
        }
        let _ = activator.activate();
        if failed {
            return;
        }
    }
}

impl CommitterPlan {
    fn execute(&mut self, job: Job) -> Result<Done, Error> {
        match job {
            Job::Commit {
                rows,
                through,
                finished,
            } => {
                let (start, count) = (Instant::now(), rows.len());
                let bytes: usize = rows
                    .iter()
                    .map(|(_, step, key, state)| step.len() + key.len() + state.as_ref().map_or(0, Vec::len))
                    .sum();
                self.commit(rows, through, finished)?;
                let took = start.elapsed();
                if let Some(metrics) = &self.metrics {
                    metrics.snapshot_duration.observe(took.as_secs_f64());
                    metrics.snapshot_bytes.inc_by(bytes as u64);
                }
                tracing::debug!(epoch = through, rows = count, ?took, "committed");
                Ok(Done::Committed(through))
            }
            Job::Sync { through, finished } => {
                let stores = self.stores.iter_mut().collect();
                each_store(stores, finished, |store| store.sync())?;
                Ok(Done::Synced(through))
            }
            Job::Collect { gc } => {
                let execution = self.execution;
                self.stores
                    .iter_mut()
                    .try_for_each(|s| s.collect_garbage(execution, gc))?;
                Ok(Done::Collected)
            }
        }
    }

    /// Writes `rows` into this worker's partitions, one transaction per partition.
    fn commit(&mut self, rows: Vec<StoredRow>, through: Epoch, finished: bool) -> Result<(), Error> {
        let mine: Vec<_> = self.stores.iter().map(|s| s.partition).collect();
        let mut grouped = self.routing.group(&mine, rows, self.worker)?;
        let (execution, worker) = (self.execution, self.worker);
        let work = (self.stores.iter_mut())
            .map(|store| {
                let rows = grouped.remove(&store.partition).unwrap_or_default();
                (store, rows)
            })
            .collect();
        each_store(work, finished, |(store, rows)| {
            // Stable: a key snapshotted twice in an epoch keeps its order (the later wins).
            rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            store.commit(execution, worker, rows, through, finished)
        })
    }
}

/// Runs `work` on every store's item in turn, or, when `parallel` (the input ended: the
/// worker waits for the last commit and sync alone), on as many threads as the machine has
/// cores, each taking a share of the stores; the first error is returned, and a panic is
/// carried on to the committer.
fn each_store<T: Send>(
    mut items: Vec<T>,
    parallel: bool,
    work: impl Fn(&mut T) -> Result<(), Error> + Sync,
) -> Result<(), Error> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = if parallel { cores.min(items.len()) } else { 1 };
    if threads <= 1 {
        return items.iter_mut().try_for_each(work);
    }
    let share = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (items.chunks_mut(share))
            .map(|chunk| scope.spawn(|| chunk.iter_mut().try_for_each(&work)))
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join()).collect();
        results
            .into_iter()
            .try_for_each(|joined| joined.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    })
}
