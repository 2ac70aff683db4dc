//! `output`: write a stream to a sink (dynamic, or partitioned by key).

use std::collections::HashMap;
use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::{Operator, Probe};

use crate::dataflow::flow::{StepSpec, add_step};
use crate::dataflow::{ListPartsFn, Stream};
use crate::engine::{BuildCtx, StepCtx, enter_step};
use crate::outputs::{DynamicSink, FixedPartitionedSink, StatefulSinkPartition, StatelessSinkPartition};
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
            is_output: true,
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
        let mut part = match self.build(&step.id, step.worker, step.peers) {
            Ok(part) => Some(part),
            Err(err) => {
                step.fail(err);
                None
            }
        };
        let input = ctx.input::<S::Item>(0);
        write_operator(&step, input, Pipeline, move |batch| match part.as_mut() {
            Some(part) => match batch {
                Some(items) => part.write_batch(items),
                None => part.close(),
            },
            None => Ok(()),
        });
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
        let part_count = assignment.parts.len();
        let mut parts: HashMap<usize, S::Partition> = HashMap::new();
        for (index, part) in assignment.parts.iter().enumerate() {
            if assignment.owners[index] != step.worker {
                continue;
            }
            match self.build_part(&step.id, part, None) {
                Ok(p) => {
                    parts.insert(index, p);
                }
                Err(err) => step.fail(format!("building partition {part:?}: {err}").into()),
            }
        }
        let router = self.clone();
        let owners = assignment.owners.clone();
        let pact =
            Exchange::new(move |(key, _): &(String, V)| owners[router.part_fn(key) % part_count] as u64);
        let sink = self.clone();
        let mut by_part: HashMap<usize, Vec<V>> = HashMap::new();
        let input = ctx.input::<(String, V)>(0);
        write_operator(&step, input, pact, move |batch| {
            let Some(items) = batch else {
                return parts.values_mut().try_for_each(|p| p.close());
            };
            for (key, value) in items {
                by_part
                    .entry(sink.part_fn(&key) % part_count)
                    .or_default()
                    .push(value);
            }
            for (index, values) in by_part.iter_mut().filter(|(_, v)| !v.is_empty()) {
                let part = parts
                    .get_mut(index)
                    .expect("items are routed to the partition owner");
                part.write_batch(std::mem::take(values))?;
            }
            Ok(())
        });
    }
}

/// The sink operator: hands each arriving batch to `write(Some(batch))` and calls
/// `write(None)` once the input is complete. Its (empty) output feeds the flow's probe.
fn write_operator<'s, T: Data, P>(
    step: &StepCtx,
    input: StreamVec<'s, Epoch, T>,
    pact: P,
    mut write: impl FnMut(Option<Vec<T>>) -> Result<(), BoxError> + 'static,
) where
    P: timely::dataflow::channels::pact::ParallelizationContract<Epoch, Vec<T>>,
{
    let ctx = step.clone();
    let mut closed = false;
    input
        .unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(pact, step.id.as_str(), move |_, _| {
            move |(input, frontier), _output| {
                let _in_step = enter_step(&ctx.name);
                input.for_each(|_, data| {
                    if !ctx.has_failed()
                        && let Err(err) = write(Some(std::mem::take(data)))
                    {
                        ctx.fail(err);
                    }
                });
                if frontier.is_empty() && !closed {
                    closed = true;
                    if let Err(err) = write(None) {
                        ctx.fail(err);
                    }
                }
            }
        })
        .probe_with(step.probe());
}
