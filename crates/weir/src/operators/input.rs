//! `input`: the source operator that polls partitions and advances epochs on a clock.
//!
//! Users call [`Dataflow::input`](crate::Dataflow::input) or
//! [`Dataflow::dynamic_input`](crate::Dataflow::dynamic_input).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::operator::source;

use crate::dataflow::flow::{Graph, StepSpec, add_step};
use crate::dataflow::{ListPartsFn, Stream};
use crate::engine::{BuildCtx, StepCtx, enter_step};
use crate::inputs::{
    Batch, DynamicSource, FixedPartitionedSource, StatefulSourcePartition, StatelessSourcePartition,
};
use crate::{BoxError, Data, Epoch};

/// Delay before polling again after a partition had nothing and named no wake-up time.
const IDLE_POLL: Duration = Duration::from_millis(1);

/// How the source operator polls one open partition, stateful or not.
trait Part<T> {
    fn next_batch(&mut self) -> Result<Batch<T>, BoxError>;
    fn next_awake(&self) -> Option<Instant>;
    fn close(&mut self) -> Result<(), BoxError>;
}

struct Stateful<P>(P);

impl<P: StatefulSourcePartition> Part<P::Item> for Stateful<P> {
    fn next_batch(&mut self) -> Result<Batch<P::Item>, BoxError> {
        self.0.next_batch()
    }
    fn next_awake(&self) -> Option<Instant> {
        self.0.next_awake()
    }
    fn close(&mut self) -> Result<(), BoxError> {
        self.0.close()
    }
}

struct Stateless<P>(P);

impl<P: StatelessSourcePartition> Part<P::Item> for Stateless<P> {
    fn next_batch(&mut self) -> Result<Batch<P::Item>, BoxError> {
        self.0.next_batch()
    }
    fn next_awake(&self) -> Option<Instant> {
        self.0.next_awake()
    }
    fn close(&mut self) -> Result<(), BoxError> {
        self.0.close()
    }
}

/// Adds a [`FixedPartitionedSource`] step.
pub(crate) fn fixed<S: FixedPartitionedSource>(
    graph: &Rc<RefCell<Graph>>,
    step_id: &str,
    source: S,
) -> Stream<S::Item> {
    let source = Arc::new(source);
    let lister = source.clone();
    let list_parts: Arc<ListPartsFn> = Arc::new(move || lister.list_parts());
    let spec = StepSpec {
        kind: "input",
        inputs: vec![],
        output_count: 1,
        list_parts: Some(list_parts),
        is_output: false,
    };
    let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
        let step = ctx.step().clone();
        let assignment = step.assignment();
        let mut parts: Vec<Box<dyn Part<S::Item>>> = Vec::new();
        for part in assignment.parts_of(step.worker) {
            match source.build_part(&step.id, part, None) {
                Ok(p) => parts.push(Box::new(Stateful(p))),
                Err(err) => step.fail(format!("building partition {part:?}: {err}").into()),
            }
        }
        build_source(ctx, parts);
    });
    add_step(graph, step_id, spec, build).pop().expect("one output")
}

/// Adds a [`DynamicSource`] step.
pub(crate) fn dynamic<S: DynamicSource>(
    graph: &Rc<RefCell<Graph>>,
    step_id: &str,
    source: S,
) -> Stream<S::Item> {
    let spec = StepSpec {
        kind: "dynamic_input",
        inputs: vec![],
        output_count: 1,
        list_parts: None,
        is_output: false,
    };
    let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
        let step = ctx.step().clone();
        let mut parts: Vec<Box<dyn Part<S::Item>>> = Vec::new();
        match source.build(&step.id, step.worker, step.peers) {
            Ok(p) => parts.push(Box::new(Stateless(p))),
            Err(err) => step.fail(err),
        }
        build_source(ctx, parts);
    });
    add_step(graph, step_id, spec, build).pop().expect("one output")
}

/// One partition and when it wants to be polled.
struct Polled<T> {
    part: Box<dyn Part<T>>,
    awake: Instant,
}

/// The timely source operator shared by both kinds of input.
///
/// Each activation polls every awake partition once (bounded work), emits at the current
/// epoch, advances the epoch when its interval has passed, and reads nothing while
/// `max_epochs_in_flight` epochs are incomplete downstream (backpressure).
fn build_source<T: Data>(ctx: &mut BuildCtx<'_>, parts: Vec<Box<dyn Part<T>>>) {
    let step: StepCtx = ctx.step().clone();
    let scope = ctx.scope();
    let name = step.id.to_string();
    let stream = source::<_, CapacityContainerBuilder<Vec<T>>, _, _>(scope, &name, move |cap, info| {
        let activator = scope.activator_for(info.address.clone());
        let mut cap = Some(cap);
        let now = Instant::now();
        let mut parts: Vec<Polled<T>> = parts
            .into_iter()
            .map(|part| Polled { part, awake: now })
            .collect();
        let mut epoch: Epoch = 0;
        let mut epoch_ends = now + step.epoch_interval();
        move |output| {
            let _in_step = enter_step(&step.name);
            let Some(capability) = cap.as_mut() else { return };
            if step.has_failed() {
                cap = None;
                return;
            }
            let now = Instant::now();
            if now >= epoch_ends {
                epoch += 1;
                capability.downgrade(&epoch);
                epoch_ends = now + step.epoch_interval();
            }
            let completed = step
                .probe()
                .with_frontier(|f| f.first().copied())
                .unwrap_or(epoch);
            let backpressured = epoch - completed >= step.max_epochs_in_flight();
            if !backpressured {
                let mut session = output.session(capability);
                let mut index = 0;
                while index < parts.len() {
                    let polled = &mut parts[index];
                    if polled.awake > now {
                        index += 1;
                        continue;
                    }
                    let result = polled.part.next_batch();
                    let awake = polled.part.next_awake();
                    match result {
                        Ok(Batch::Items(mut items)) if !items.is_empty() => {
                            session.give_container(&mut items);
                            polled.awake = awake.unwrap_or(now);
                        }
                        Ok(Batch::Items(_) | Batch::Pending) => {
                            polled.awake = awake.unwrap_or(now + IDLE_POLL);
                        }
                        Ok(Batch::Eof) => {
                            if let Err(err) = parts.swap_remove(index).part.close() {
                                step.fail(err);
                            }
                            continue;
                        }
                        Err(err) => {
                            step.fail(err);
                            return;
                        }
                    }
                    index += 1;
                }
            }
            if parts.is_empty() {
                cap = None;
                return;
            }
            let next = if backpressured {
                now + IDLE_POLL
            } else {
                parts
                    .iter()
                    .map(|p| p.awake)
                    .min()
                    .unwrap_or(epoch_ends)
                    .min(epoch_ends)
            };
            activator.activate_after(next.saturating_duration_since(Instant::now()));
        }
    });
    ctx.set_output(0, stream);
}
