//! The recovery writer: makes each epoch's snapshots durable in the partitions this
//! worker owns, then lets the epoch count as complete.

use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::dataflow::ProbeHandle;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::core::Concatenate;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

use crate::engine::{BuildCtx, EpochQueue, StepName, Time, at, enter_step, frontier_epoch, received_epoch};
use crate::metrics::Metrics;
use crate::recovery::committer::{Committer, CommitterPlan, Done, Job};
use crate::recovery::resume::gc_epoch;
use crate::recovery::{PartitionStore, SnapshotRow, StoreRouting};
use crate::{Epoch, Error};

/// Epochs between two garbage-collection sweeps at least (a sweep reads the whole file).
const SWEEP_EVERY: u64 = 16;

/// Epochs between two syncs of a partition to disk at most (commits alone survive a
/// process crash, not an OS crash)...
const SYNC_EVERY: u64 = 16;

/// ...and time between two syncs at most, while epochs get committed: how long output of a
/// durable-only sink (`FileSink` with `Visibility::WhenDurable`) waits at most beyond its
/// epoch.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Where this worker writes: its partitions and the facts of this execution.
pub(crate) struct WriterPlan {
    pub stores: Vec<PartitionStore>,
    /// Which worker writes each row.
    pub routing: StoreRouting,
    pub execution: u64,
    pub resume_epoch: Epoch,
    pub backup_epochs: u64,
}

/// Routes every snapshot to the owner of its partition and has it written there.
///
/// The writer holds a capability at its input frontier until the rows of every completed
/// epoch are committed (one transaction per partition, rows sorted, plus the partition's
/// new frontier), so nothing downstream of the probe sees an epoch complete before it is
/// durable on every worker. The probe it feeds is the one sources read for backpressure.
/// The SQLite work runs on the writer's [`Committer`] thread, in order, while the worker
/// goes on with later epochs; the thread wakes the writer when a job is done.
///
/// Commits are `synchronous = NORMAL`: an OS crash may lose a partition's last commits.
/// So every [`SYNC_EVERY`] epochs or [`SYNC_INTERVAL`] (and at the end) the writer syncs
/// its partitions to disk, and a second output, probed by [`StepCtx::on_disk`], tells
/// every writer and sink how far *all* partitions are on disk. Garbage collection never
/// goes past that, so an OS crash cannot leave one partition behind what another has
/// already collected, and sinks are told a snapshot is durable only then.
pub(crate) fn build_writer(ctx: &mut BuildCtx<'_>, plan: WriterPlan) {
    let step = ctx.step().clone();
    let snapshots = ctx.take_snapshots();
    let scope = ctx.scope();
    let route = plan.routing.clone();
    let pact = Exchange::new(move |(step, key, _): &SnapshotRow| route.owner_of(step, key) as u64);
    let mut op = OperatorBuilder::new("recovery_writer".to_owned(), scope);
    let mut input = op.new_input(scope.concatenate(snapshots), pact);
    // The outputs carry no data: only their frontiers matter.
    let (_, committed) = op.new_output::<Vec<()>>();
    let (_, synced) = op.new_output::<Vec<()>>();
    let activator = scope
        .worker()
        .sync_activator_for(op.operator_info().address.to_vec());
    let (committer, epochs) = plan.split(step.worker, step.metrics().cloned());
    let mut writer = match Committer::start(committer, activator) {
        Ok(committer) => Some(Writer::new(committer, epochs, step.on_disk().clone())),
        Err(err) => {
            step.fail_with(err);
            None
        }
    };
    let name = StepName::new("recovery_writer");
    let failed = step.clone();
    op.build(move |mut capabilities| {
        let mut synced_cap = capabilities.pop();
        let mut committed_cap = capabilities.pop();
        move |frontiers| {
            let _in_step = enter_step(&name);
            let Some(writer) = writer.as_mut() else { return };
            input.for_each(|cap, rows| {
                writer.pending.at(received_epoch(cap.stamp())).append(rows);
            });
            let (Some(committed), Some(synced)) = (committed_cap.as_mut(), synced_cap.as_mut()) else {
                return;
            };
            // After a failure, write nothing more and hold the capabilities: dropping them
            // would let other processes' probes pass epochs this writer never committed.
            if failed.has_failed() {
                return;
            }
            if let Err(err) = writer.advance(frontier_epoch(&frontiers[0].frontier())) {
                failed.fail_with(err);
                return;
            }
            if writer.drained() {
                (committed_cap, synced_cap) = (None, None);
                return;
            }
            committed.downgrade(&at((writer.committed + 1).max(committed.time().outer), 0));
            synced.downgrade(&at((writer.synced + 1).max(synced.time().outer), 0));
        }
    });
    committed.probe_with(step.probe());
    synced.probe_with(step.on_disk());
}

/// The epochs a writer starts from.
struct WriterEpochs {
    resume_epoch: Epoch,
    backup_epochs: u64,
}

impl WriterPlan {
    /// What the committer thread takes, and what the writer keeps.
    fn split(self, worker: usize, metrics: Option<Arc<Metrics>>) -> (CommitterPlan, WriterEpochs) {
        let committer = CommitterPlan {
            stores: self.stores,
            routing: self.routing,
            execution: self.execution,
            worker,
            metrics,
        };
        let epochs = WriterEpochs {
            resume_epoch: self.resume_epoch,
            backup_epochs: self.backup_epochs,
        };
        (committer, epochs)
    }
}

/// One worker's writer: what it has sent its committer, and what the committer has done.
struct Writer {
    committer: Committer,
    backup_epochs: u64,
    /// Rows received, by epoch, not yet sent.
    pending: EpochQueue<Vec<SnapshotRow>>,
    /// The latest input frontier seen: every epoch before it is complete.
    seen: Epoch,
    /// Every epoch up to this one is sent to be committed...
    requested: Epoch,
    /// ...and up to this one committed in this worker's partitions.
    committed: Epoch,
    /// Every epoch up to this one is sent to be synced...
    sync_requested: Epoch,
    /// ...and up to this one on disk in this worker's partitions.
    synced: Epoch,
    /// Jobs sent and not done yet.
    in_flight: usize,
    /// The input ended and the last commit and sync are sent.
    final_sent: bool,
    /// Garbage is being collected up to this epoch.
    swept: Epoch,
    /// When a sync was last sent.
    last_sync: Instant,
    /// How far every writer of the cluster has synced.
    synced_everywhere: ProbeHandle<Time>,
}

impl Writer {
    fn new(committer: Committer, epochs: WriterEpochs, synced_everywhere: ProbeHandle<Time>) -> Writer {
        let resumed = epochs.resume_epoch;
        Writer {
            committer,
            backup_epochs: epochs.backup_epochs,
            pending: EpochQueue::new(),
            seen: resumed,
            requested: resumed,
            committed: resumed,
            sync_requested: resumed,
            synced: resumed,
            in_flight: 0,
            final_sent: false,
            swept: 0,
            last_sync: Instant::now(),
            synced_everywhere,
        }
    }

    /// Whether the input ended and everything is committed and synced.
    fn drained(&self) -> bool {
        self.final_sent && self.in_flight == 0
    }

    fn send(&mut self, job: Job) {
        self.in_flight += 1;
        self.committer.send(job);
    }

    /// Takes in what the committer did, then sends it the epochs the input `frontier` has
    /// passed (everything at the end), a sync when due, and garbage collection behind what
    /// every partition has on disk.
    fn advance(&mut self, frontier: Option<Epoch>) -> Result<(), Error> {
        for done in self.committer.done()? {
            self.in_flight -= 1;
            match done {
                Done::Committed(epoch) => self.committed = self.committed.max(epoch),
                Done::Synced(epoch) => self.synced = self.synced.max(epoch),
                Done::Collected => {}
            }
        }
        if self.final_sent {
            return Ok(());
        }
        // At the end (of the input, or of a graceful stop) the writer may never have
        // received the last epoch's rows: it records that its partitions are finished,
        // which resume counts as holding every epoch (everything routed here is committed).
        let ended = frontier.is_none();
        let through = match frontier {
            Some(f) => {
                self.seen = self.seen.max(f);
                f.saturating_sub(1)
            }
            None => self.pending.last_epoch().unwrap_or(0).max(self.seen),
        };
        if through > self.requested || ended {
            let rows = self
                .pending
                .take_complete(Some(through + 1))
                .into_iter()
                .flat_map(|(epoch, rows)| {
                    rows.into_iter()
                        .map(move |(step, key, value)| (epoch, step, key, value))
                })
                .collect();
            self.send(Job::Commit {
                rows,
                through,
                finished: ended,
            });
            self.requested = self.requested.max(through);
        }
        let due = self.requested >= self.sync_requested + SYNC_EVERY
            || (self.requested > self.sync_requested && self.last_sync.elapsed() >= SYNC_INTERVAL);
        if ended || due {
            self.send(Job::Sync {
                through: self.requested,
                finished: ended,
            });
            self.sync_requested = self.requested;
            self.last_sync = Instant::now();
        }
        self.final_sent = ended;
        let on_disk = self
            .synced_everywhere
            .with_frontier(|f| frontier_epoch(&f).map_or(self.synced, |e| e.saturating_sub(1)));
        let gc = gc_epoch(on_disk, self.backup_epochs);
        if gc >= self.swept + SWEEP_EVERY.max(self.backup_epochs) {
            self.send(Job::Collect { gc });
            self.swept = gc;
        }
        Ok(())
    }
}
