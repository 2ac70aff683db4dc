//! `output`: write a stream to a sink (dynamic, or partitioned by key).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::{Exchange, ParallelizationContract, Pipeline};
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

use crate::dataflow::flow::{EventTimeRole, StepSpec, add_step};
use crate::dataflow::{ListPartsFn, Stream};
use crate::engine::{
    BuildCtx, EpochQueue, Time, at, enter_step, frontier_epoch, frontier_meet, received_epoch,
};
use crate::ids::PartIndex;
use crate::operators::sink_parts::{DynamicPart, FixedParts, SinkParts};
use crate::outputs::{DynamicSink, FixedPartitionedSink};
use crate::recovery::SnapshotRow;
use crate::{Data, Epoch};

/// Longest wait between two looks at whether written snapshots became durable.
const DURABILITY_POLL: Duration = Duration::from_millis(20);

/// Marks sinks added through [`DynamicSink`].
pub struct Dynamic;
/// Marks sinks added through [`FixedPartitionedSink`].
pub struct Partitioned;

/// Something [`Stream::output`] can write to: implemented for every [`DynamicSink`] and
/// every [`FixedPartitionedSink`]. `M` only tells the two implementations apart.
pub trait Sink<T, M>: sealed::BuildSink<T, M> {}

impl<S: sealed::BuildSink<T, M>, T, M> Sink<T, M> for S {}

mod sealed {
    use super::*;

    /// How a sink becomes a step; implemented only here, for the two sink traits.
    #[allow(private_interfaces)]
    pub trait BuildSink<T, M>: Send + Sync + 'static {
        fn list_parts_fn(self: &Arc<Self>) -> Option<Arc<ListPartsFn>>;
        fn build_on(self: &Arc<Self>, ctx: &mut BuildCtx<'_>);
    }
}

impl<T: Data> Stream<T> {
    /// Writes every item to `sink`; ends a branch of the dataflow.
    ///
    /// Accepts a [`DynamicSink`] for any stream and a [`FixedPartitionedSink`] for a keyed
    /// stream (items are routed to the partition of their key).
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("out");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(["a", "b"].map(String::from))).output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec!["a", "b"]);
    /// ```
    pub fn output<M, S: Sink<T, M>>(&self, step_id: &str, sink: S) {
        let sink = Arc::new(sink);
        let spec = StepSpec {
            kind: "output",
            inputs: vec![self.port()],
            output_count: 0,
            list_parts: sink.list_parts_fn(),
            unlisted_part: None,
            is_output: true,
            keyed_state: None,
            event_time: EventTimeRole::Unrelated,
        };
        let build = Arc::new(move |ctx: &mut BuildCtx<'_>| sink.build_on(ctx));
        add_step::<()>(self.graph(), step_id, spec, build);
    }
}

// The trait is sealed: its methods are not callable outside weir.
#[allow(private_interfaces)]
impl<S: DynamicSink> sealed::BuildSink<S::Item, Dynamic> for S {
    fn list_parts_fn(self: &Arc<Self>) -> Option<Arc<ListPartsFn>> {
        None
    }

    fn build_on(self: &Arc<Self>, ctx: &mut BuildCtx<'_>) {
        let step = ctx.step().clone();
        let part = match self.build(&step.id, step.worker, step.peers) {
            Ok(part) => Some(part),
            Err(err) => {
                step.fail(err);
                None
            }
        };
        let input = ctx.input::<S::Item>(0);
        sink_operator(ctx, input, Pipeline, DynamicPart(part));
    }
}

#[allow(private_interfaces)]
impl<V: Data, S: FixedPartitionedSink<Item = V>> sealed::BuildSink<(String, V), Partitioned> for S {
    fn list_parts_fn(self: &Arc<Self>) -> Option<Arc<ListPartsFn>> {
        let sink = self.clone();
        Some(Arc::new(move || sink.list_parts()))
    }

    fn build_on(self: &Arc<Self>, ctx: &mut BuildCtx<'_>) {
        let step = ctx.step().clone();
        let assignment = step.assignment();
        let mut states = step.take_resume_states();
        let mut parts = HashMap::new();
        for (index, name) in assignment.parts_of(step.worker) {
            let Ok(resume) = step.partition_state(&mut states, name) else {
                continue;
            };
            match self.build_part(&step.id, name, resume) {
                Ok(p) => {
                    parts.insert(index, (name.clone(), p));
                }
                Err(err) => step.fail(format!("building partition {name:?}: {err}").into()),
            }
        }
        let part_count = assignment.len();
        let router = self.clone();
        let pact = Exchange::new(move |(key, _): &(String, V)| {
            assignment.owner(PartIndex(router.part_fn(key) % part_count)) as u64
        });
        let input = ctx.input::<(String, V)>(0);
        let parts = FixedParts::new(self.clone(), parts, part_count);
        sink_operator(ctx, input, pact, parts);
    }
}

/// The sink operator. Writes epochs in order, each as soon as no earlier epoch can still
/// arrive (the frontier epoch is written at once, later ones wait), and after an epoch's
/// last write emits the resume states of the partitions it wrote, so a snapshot never
/// includes output of a later epoch. Its snapshot output also feeds the flow's probe.
///
/// With a recovery store, it then tells the partitions when their snapshots are durable
/// everywhere (synced to disk on every worker), polling for it while some wait,
/// and at the end of the input stays alive until the last ones are, before `close`.
fn sink_operator<'s, T: Data, P>(
    ctx: &mut BuildCtx<'s>,
    input: StreamVec<'s, Time, T>,
    pact: P,
    mut parts: impl SinkParts<T> + 'static,
) where
    P: ParallelizationContract<Time, Vec<T>>,
{
    let step = ctx.step().clone();
    let mut op = OperatorBuilder::new(step.id.to_string(), ctx.scope());
    let activator = ctx.scope().activator_for(op.operator_info().address);
    let mut input = op.new_input(input, pact);
    let (snap_out, snapshots) = op.new_output::<Vec<SnapshotRow>>();
    let mut snap_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<SnapshotRow>>>::from(snap_out);
    let poll = (step.epoch_interval() / 4).clamp(Duration::from_millis(1), DURABILITY_POLL);
    let written = step.items_counter();
    op.build_reschedule(move |mut capabilities| {
        let mut held = capabilities.pop();
        let mut queue: EpochQueue<VecDeque<Vec<T>>> = EpochQueue::new();
        // The epoch written to but not yet snapshotted.
        let mut open: Option<Epoch> = None;
        let mut closed = false;
        move |frontiers| {
            let frontier = frontiers[0].frontier();
            let _in_step = enter_step(&step.name);
            let mut output = snap_out.activate();
            input.for_each(|cap, batch| {
                queue
                    .at(received_epoch(cap.stamp()))
                    .push_back(std::mem::take(batch));
            });
            if step.has_failed() || closed {
                return false;
            }
            if let Some(cap) = held.as_mut() {
                // Snapshots make output durable (fsync): only taken when they are stored.
                let mut snapshot = |epoch: Epoch, parts: &mut dyn SinkParts<T>| {
                    if !step.snapshotting() {
                        if let Err(err) = parts.finalize(epoch) {
                            step.fail(err);
                        }
                        return;
                    }
                    match parts.snapshot(step.id.as_str(), epoch) {
                        Ok(mut rows) if !rows.is_empty() => output
                            .session(&cap.delayed(&at(epoch, cap.time().inner)))
                            .give_container(&mut rows),
                        Ok(_) => {}
                        Err(err) => step.fail(err),
                    }
                };
                let next = frontier_epoch(&frontier);
                while let Some((epoch, batches)) = queue.first_ready(next) {
                    if let Some(done) = open.filter(|o| *o < epoch) {
                        snapshot(done, &mut parts);
                    }
                    open = Some(epoch);
                    for batch in batches.drain(..) {
                        if let Some(written) = &written {
                            written.inc_by(batch.len() as u64);
                        }
                        if let Err(err) = parts.write(epoch, batch) {
                            step.fail(err);
                            return false;
                        }
                    }
                    queue.remove_first();
                }
                if let Some(done) = open.filter(|o| next.is_none_or(|n| *o < n)) {
                    snapshot(done, &mut parts);
                    open = None;
                }
                match frontier_meet(&frontier) {
                    Some(meet) => cap.downgrade(&meet),
                    None if queue.is_empty() => held = None,
                    None => {}
                }
            }
            // The on-disk probe passed an epoch: its snapshots are synced on every worker.
            let durable = step
                .on_disk()
                .with_frontier(|f| frontier_epoch(&f).map_or(Epoch::MAX, |e| e.saturating_sub(1)));
            if let Err(err) = parts.durable(durable) {
                step.fail(err);
                return false;
            }
            if parts.awaiting_durability() {
                activator.activate_after(poll);
                return true;
            }
            if held.is_none() {
                closed = true;
                if let Err(err) = parts.close() {
                    step.fail(err);
                }
            }
            false
        }
    });
    let probed = snapshots.probe_with(ctx.step().probe());
    ctx.add_snapshots(probed);
}
