//! The recovery writer: makes each epoch's snapshots durable in the partitions this
//! worker owns, then lets the epoch count as complete.

use std::rc::Rc;
use std::time::{Duration, Instant};

use timely::dataflow::ProbeHandle;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::core::Concatenate;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

use crate::engine::{BuildCtx, EpochQueue, Time, at, enter_step, frontier_epoch, received_epoch};
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

/// Routes every snapshot to the owner of its partition and writes it there.
///
/// The writer holds a capability at its input frontier until the rows of every completed
/// epoch are committed (one transaction per partition, rows sorted, plus the partition's
/// new frontier), so nothing downstream of the probe sees an epoch complete before it is
/// durable on every worker. The probe it feeds is the one sources read for backpressure.
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
    let mut writer = Writer {
        me: step.worker,
        committed: plan.resume_epoch,
        synced: plan.resume_epoch,
        swept: 0,
        pending: EpochQueue::new(),
        plan,
        last_sync: Instant::now(),
        synced_everywhere: step.on_disk().clone(),
    };
    let name: Rc<str> = Rc::from("recovery_writer");
    let failed = step.clone();
    op.build(move |mut capabilities| {
        let mut synced_cap = capabilities.pop();
        let mut committed_cap = capabilities.pop();
        move |frontiers| {
            let _in_step = enter_step(&name);
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
            let frontier = frontier_epoch(&frontiers[0].frontier());
            if let Err(err) = writer.advance(frontier, committed.time().outer) {
                failed.fail_with(err);
                return;
            }
            match frontier {
                Some(epoch) => {
                    committed.downgrade(&at(epoch, 0));
                    synced.downgrade(&at((writer.synced + 1).max(synced.time().outer), 0));
                }
                None => (committed_cap, synced_cap) = (None, None),
            }
        }
    });
    committed.probe_with(step.probe());
    synced.probe_with(step.on_disk());
}

/// One worker's writer: its partitions, and how far it has committed, synced and swept.
struct Writer {
    plan: WriterPlan,
    me: usize,
    /// Rows received, by epoch, not yet committed.
    pending: EpochQueue<Vec<SnapshotRow>>,
    /// Every epoch up to this one is committed in this worker's partitions.
    committed: Epoch,
    /// Every epoch up to this one is on disk in this worker's partitions.
    synced: Epoch,
    /// Garbage was last collected up to this epoch.
    swept: Epoch,
    /// When the partitions were last synced.
    last_sync: Instant,
    /// How far every writer of the cluster has synced.
    synced_everywhere: ProbeHandle<Time>,
}

impl Writer {
    /// Commits the epochs the input `frontier` has passed (everything at the end; `held`
    /// is the writer's capability time), syncs when due, and collects garbage behind what
    /// every partition has on disk.
    fn advance(&mut self, frontier: Option<Epoch>, held: Epoch) -> Result<(), Error> {
        let done_through = match frontier {
            Some(f) => f.saturating_sub(1),
            None => self.pending.last_epoch().unwrap_or(0).max(held),
        };
        // At the end the writer may never have seen the last epoch: it records that its
        // partitions are finished, which resume counts as holding every epoch.
        let finished = frontier.is_none();
        if done_through > self.committed || finished {
            self.commit(done_through, finished)?;
            self.committed = self.committed.max(done_through);
        }
        let due = self.committed >= self.synced + SYNC_EVERY
            || (self.committed > self.synced && self.last_sync.elapsed() >= SYNC_INTERVAL);
        if finished || due {
            self.plan.stores.iter_mut().try_for_each(|s| s.sync())?;
            self.synced = self.committed;
            self.last_sync = Instant::now();
        }
        debug_assert!(self.synced <= self.committed, "only committed epochs are synced");
        let on_disk = self
            .synced_everywhere
            .with_frontier(|f| frontier_epoch(&f).map_or(self.synced, |e| e.saturating_sub(1)));
        let gc = gc_epoch(on_disk, self.plan.backup_epochs);
        if gc >= self.swept + SWEEP_EVERY.max(self.plan.backup_epochs) {
            self.plan
                .stores
                .iter_mut()
                .try_for_each(|s| s.collect_garbage(self.plan.execution, gc))?;
            self.swept = gc;
        }
        Ok(())
    }

    /// Writes the rows of every epoch `<= through` into this worker's partitions, one
    /// transaction per partition.
    fn commit(&mut self, through: Epoch, finished: bool) -> Result<(), Error> {
        let rows = self
            .pending
            .take_complete(Some(through + 1))
            .into_iter()
            .flat_map(|(epoch, rows)| {
                rows.into_iter()
                    .map(move |(step, key, value)| (epoch, step, key, value))
            });
        let plan = &mut self.plan;
        let mine: Vec<_> = plan.stores.iter().map(|s| s.partition).collect();
        let mut grouped = plan.routing.group(&mine, rows, self.me)?;
        for store in &mut plan.stores {
            let mut rows = grouped.remove(&store.partition).unwrap_or_default();
            rows.sort_unstable_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
            store.commit(plan.execution, self.me, &rows, through, finished)?;
        }
        Ok(())
    }
}
