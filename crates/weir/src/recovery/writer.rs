//! The recovery writer: makes each epoch's snapshots durable in the partitions this
//! worker owns, then lets the epoch count as complete.

use std::collections::BTreeMap;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::core::Concatenate;
use timely::dataflow::operators::{Operator, Probe};

use crate::engine::{BuildCtx, enter_step};
use crate::recovery::resume::gc_epoch;
use crate::recovery::{PartitionStore, SnapshotRow, StoreRouting};
use crate::{Epoch, Error};

/// Epochs between two garbage-collection sweeps at least (a sweep reads the whole file).
const SWEEP_EVERY: u64 = 16;

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
pub(crate) fn build_writer(ctx: &mut BuildCtx<'_>, plan: WriterPlan) {
    let step = ctx.step().clone();
    let snapshots = ctx.take_snapshots();
    let scope = ctx.scope();
    let WriterPlan {
        mut stores,
        routing,
        execution,
        resume_epoch,
        backup_epochs,
    } = plan;
    let route = routing.clone();
    let pact = Exchange::new(move |(step, key, _): &SnapshotRow| route.owner_of(step, key) as u64);
    let probe = step.probe().clone();
    let durable = probe.clone();
    let me = step.worker;
    scope
        .concatenate(snapshots)
        .unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
            pact,
            "recovery_writer",
            move |cap, _| {
                let mut held = Some(cap);
                let mut pending: BTreeMap<Epoch, Vec<SnapshotRow>> = BTreeMap::new();
                let mut committed = resume_epoch;
                let mut swept = 0;
                let name: std::rc::Rc<str> = std::rc::Rc::from("recovery_writer");
                move |(input, frontier), _output| {
                    let _in_step = enter_step(&name);
                    input.for_each(|cap, rows| {
                        let epoch = *cap.least().expect("weir sends every batch under one epoch");
                        pending.entry(epoch).or_default().append(rows);
                    });
                    let Some(cap) = held.as_mut() else { return };
                    let done_through = match frontier.frontier().first() {
                        Some(&f) => f.saturating_sub(1),
                        None => pending.keys().next_back().copied().unwrap_or(0).max(*cap.time()),
                    };
                    if done_through > committed || (frontier.is_empty() && !pending.is_empty()) {
                        let result = commit(&mut stores, &mut pending, done_through, &routing, execution, me);
                        if let Err(err) = result {
                            step.fail_with(err);
                            held = None;
                            return;
                        }
                        committed = committed.max(done_through);
                        let durable =
                            probe.with_frontier(|f| f.first().map_or(committed, |f| f.saturating_sub(1)));
                        let gc = gc_epoch(durable, backup_epochs);
                        if gc >= swept + SWEEP_EVERY.max(backup_epochs) {
                            if let Err(err) = stores.iter_mut().try_for_each(|s| s.collect_garbage(gc)) {
                                step.fail_with(err);
                            }
                            swept = gc;
                        }
                    }
                    match frontier.frontier().first() {
                        Some(epoch) => cap.downgrade(epoch),
                        None => held = None,
                    }
                }
            },
        )
        .probe_with(&durable);
}

/// Writes the rows of every epoch `<= through` into this worker's partitions.
fn commit(
    stores: &mut [PartitionStore],
    pending: &mut BTreeMap<Epoch, Vec<SnapshotRow>>,
    through: Epoch,
    routing: &StoreRouting,
    execution: u64,
    me: usize,
) -> Result<(), Error> {
    let later = pending.split_off(&(through + 1));
    let done = std::mem::replace(pending, later);
    let rows = done.into_iter().flat_map(|(epoch, rows)| {
        rows.into_iter()
            .map(move |(step, key, value)| (epoch, step, key, value))
    });
    let mine: Vec<_> = stores.iter().map(|s| s.partition).collect();
    let mut grouped = routing.group(&mine, rows, me)?;
    for store in stores {
        let mut rows = grouped.remove(&store.partition).unwrap_or_default();
        rows.sort_unstable_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
        store.commit(execution, me, &rows, through)?;
    }
    Ok(())
}
