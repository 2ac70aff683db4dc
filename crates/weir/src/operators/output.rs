//! `output`: write a stream to a sink (dynamic, or partitioned by key).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::{Exchange, ParallelizationContract, Pipeline};
use timely::dataflow::operators::{Operator, Probe};

use crate::dataflow::flow::{StepSpec, add_step};
use crate::dataflow::{ListPartsFn, Stream};
use crate::engine::{BuildCtx, enter_step};
use crate::ids::PartIndex;
use crate::outputs::{DynamicSink, FixedPartitionedSink, StatefulSinkPartition, StatelessSinkPartition};
use crate::recovery::{SnapshotRow, encode};
use crate::{BoxError, Data, Epoch};

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
            keyed_state: false,
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
        let parts = FixedParts {
            sink: self.clone(),
            parts,
            part_count,
            written: BTreeSet::new(),
            by_part: HashMap::new(),
        };
        sink_operator(ctx, input, pact, parts);
    }
}

/// What the sink operator writes through: one worker's partitions of a sink.
trait SinkParts<T> {
    /// Writes a batch of items (all of one epoch).
    fn write(&mut self, items: Vec<T>) -> Result<(), BoxError>;
    /// The resume states of the partitions written since the last call.
    fn snapshot(&mut self, step: &str) -> Result<Vec<SnapshotRow>, BoxError>;
    /// Closes every partition at the end of the input.
    fn close(&mut self) -> Result<(), BoxError>;
}

struct DynamicPart<P>(Option<P>);

impl<P: StatelessSinkPartition> SinkParts<P::Item> for DynamicPart<P> {
    fn write(&mut self, items: Vec<P::Item>) -> Result<(), BoxError> {
        self.0.as_mut().map_or(Ok(()), |p| p.write_batch(items))
    }
    fn snapshot(&mut self, _: &str) -> Result<Vec<SnapshotRow>, BoxError> {
        Ok(Vec::new())
    }
    fn close(&mut self) -> Result<(), BoxError> {
        self.0.as_mut().map_or(Ok(()), |p| p.close())
    }
}

struct FixedParts<S: FixedPartitionedSink> {
    sink: Arc<S>,
    /// The partitions this worker owns: their names and open partitions.
    parts: HashMap<PartIndex, (String, S::Partition)>,
    part_count: usize,
    written: BTreeSet<PartIndex>,
    by_part: HashMap<PartIndex, Vec<S::Item>>,
}

impl<S: FixedPartitionedSink> SinkParts<(String, S::Item)> for FixedParts<S> {
    fn write(&mut self, items: Vec<(String, S::Item)>) -> Result<(), BoxError> {
        for (key, value) in items {
            let index = PartIndex(self.sink.part_fn(&key) % self.part_count);
            self.by_part.entry(index).or_default().push(value);
        }
        for (index, values) in self.by_part.iter_mut().filter(|(_, v)| !v.is_empty()) {
            let Some((_, part)) = self.parts.get_mut(index) else {
                return Err(format!(
                    "internal error (a bug in weir): an item for partition {index:?} reached a worker \
                     that does not own it"
                )
                .into());
            };
            part.write_batch(std::mem::take(values))?;
            self.written.insert(*index);
        }
        Ok(())
    }

    fn snapshot(&mut self, step: &str) -> Result<Vec<SnapshotRow>, BoxError> {
        std::mem::take(&mut self.written)
            .into_iter()
            .map(|index| {
                let (name, part) = self
                    .parts
                    .get_mut(&index)
                    .expect("only owned partitions are written");
                Ok((step.to_owned(), name.clone(), Some(encode(&part.snapshot()?)?)))
            })
            .collect()
    }

    fn close(&mut self) -> Result<(), BoxError> {
        self.parts.values_mut().try_for_each(|(_, p)| p.close())
    }
}

/// The sink operator. Writes epochs in order, each as soon as no earlier epoch can still
/// arrive (the frontier epoch is written at once, later ones wait), and after an epoch's
/// last write emits the resume states of the partitions it wrote, so a snapshot never
/// includes output of a later epoch. Its snapshot output also feeds the flow's probe.
fn sink_operator<'s, T: Data, P>(
    ctx: &mut BuildCtx<'s>,
    input: StreamVec<'s, Epoch, T>,
    pact: P,
    mut parts: impl SinkParts<T> + 'static,
) where
    P: ParallelizationContract<Epoch, Vec<T>>,
{
    let step = ctx.step().clone();
    let name = step.id.to_string();
    let snapshots = input.unary_frontier::<CapacityContainerBuilder<Vec<SnapshotRow>>, _, _, _>(
        pact,
        &name,
        move |capability, _| {
            let mut held = Some(capability);
            let mut pending: BTreeMap<Epoch, VecDeque<Vec<T>>> = BTreeMap::new();
            // The epoch written to but not yet snapshotted.
            let mut open: Option<Epoch> = None;
            move |(input, frontier), output| {
                let _in_step = enter_step(&step.name);
                input.for_each(|cap, batch| {
                    let epoch = *cap.least().expect("weir sends every batch under one epoch");
                    pending.entry(epoch).or_default().push_back(std::mem::take(batch));
                });
                let Some(cap) = held.as_mut() else { return };
                if step.has_failed() {
                    return;
                }
                // Snapshots make output durable (fsync): only taken when they are stored.
                let mut snapshot = |epoch: Epoch, parts: &mut dyn SinkParts<T>| {
                    if !step.snapshotting() {
                        return;
                    }
                    match parts.snapshot(step.id.as_str()) {
                        Ok(mut rows) if !rows.is_empty() => {
                            output.session(&cap.delayed(&epoch)).give_container(&mut rows)
                        }
                        Ok(_) => {}
                        Err(err) => step.fail(err),
                    }
                };
                while let Some(mut batches) = pending.first_entry()
                    && !frontier.less_than(batches.key())
                {
                    let epoch = *batches.key();
                    if let Some(done) = open.filter(|o| *o < epoch) {
                        snapshot(done, &mut parts);
                    }
                    open = Some(epoch);
                    for batch in batches.get_mut().drain(..) {
                        if let Err(err) = parts.write(batch) {
                            step.fail(err);
                            return;
                        }
                    }
                    batches.remove();
                }
                let next = frontier.frontier().first().copied();
                if let Some(done) = open.filter(|o| next.is_none_or(|n| *o < n)) {
                    snapshot(done, &mut parts);
                    open = None;
                }
                match next {
                    Some(epoch) => cap.downgrade(&epoch),
                    None if pending.is_empty() => {
                        if let Err(err) = parts.close() {
                            step.fail(err);
                        }
                        held = None;
                    }
                    None => {}
                }
            }
        },
    );
    let probed = snapshots.probe_with(ctx.step().probe());
    ctx.add_snapshots(probed);
}
