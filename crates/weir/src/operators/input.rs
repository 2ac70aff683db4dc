//! `input`: the source operator that polls partitions and advances epochs on a clock.
//!
//! Users call [`Dataflow::input`](crate::Dataflow::input) or
//! [`Dataflow::dynamic_input`](crate::Dataflow::dynamic_input).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

use crate::dataflow::flow::{Graph, StepSpec, add_step};
use crate::dataflow::{ListPartsFn, Stream, UnlistedPartFn};
use crate::engine::{BuildCtx, StepCtx, enter_step};
use crate::inputs::{
    Batch, DynamicSource, FixedPartitionedSource, StatefulSourcePartition, StatelessSourcePartition,
};
use crate::recovery::{SnapshotRow, decode, encode};
use crate::{BoxError, Data, Epoch};

/// Delay before polling again after a partition had nothing and named no wake-up time.
const IDLE_POLL: Duration = Duration::from_millis(1);

/// How the source operator polls one open partition, stateful or not.
trait Part<T> {
    fn next_batch(&mut self) -> Result<Batch<T>, BoxError>;
    fn next_awake(&self) -> Option<Instant>;
    /// The encoded resume state; `None` for partitions without one.
    fn snapshot(&self) -> Option<Result<Vec<u8>, BoxError>>;
    fn close(&mut self) -> Result<(), BoxError>;
}

/// A partition with its name (the key of its resume state).
type NamedPart<T> = (String, Box<dyn Part<T>>);

struct Stateful<P>(P);

impl<P: StatefulSourcePartition> Part<P::Item> for Stateful<P>
where
    P::State: serde::Serialize,
{
    fn next_batch(&mut self) -> Result<Batch<P::Item>, BoxError> {
        self.0.next_batch()
    }
    fn next_awake(&self) -> Option<Instant> {
        self.0.next_awake()
    }
    fn snapshot(&self) -> Option<Result<Vec<u8>, BoxError>> {
        Some(encode(&self.0.snapshot()))
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
    fn snapshot(&self) -> Option<Result<Vec<u8>, BoxError>> {
        None
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
    let judge = source.clone();
    let unlisted_part: Arc<UnlistedPartFn> = Arc::new(move |step, part, bytes| {
        let state = decode(step.as_str(), part, bytes)?;
        judge.unlisted_part(step, part, state)
    });
    let spec = StepSpec {
        kind: "input",
        inputs: vec![],
        output_count: 1,
        list_parts: Some(list_parts),
        unlisted_part: Some(unlisted_part),
        is_output: false,
        keyed_state: false,
    };
    let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
        let step = ctx.step().clone();
        let mut states = step.take_resume_states();
        let mut parts: Vec<NamedPart<S::Item>> = Vec::new();
        for (_, part) in step.assignment().parts_of(step.worker) {
            let Ok(resume) = step.partition_state(&mut states, part) else {
                continue;
            };
            match source.build_part(&step.id, part, resume) {
                Ok(p) => parts.push((part.to_owned(), Box::new(Stateful(p)))),
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
        unlisted_part: None,
        is_output: false,
        keyed_state: false,
    };
    let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
        let step = ctx.step().clone();
        let mut parts: Vec<NamedPart<S::Item>> = Vec::new();
        match source.build(&step.id, step.worker, step.peers) {
            Ok(p) => parts.push((step.worker.to_string(), Box::new(Stateless(p)))),
            Err(err) => step.fail(err),
        }
        build_source(ctx, parts);
    });
    add_step(graph, step_id, spec, build).pop().expect("one output")
}

/// One partition: its name, when it wants to be polled, whether it read since its last
/// snapshot.
struct Polled<T> {
    name: String,
    part: Box<dyn Part<T>>,
    awake: Instant,
    dirty: bool,
}

impl<T> Polled<T> {
    /// The snapshot row of this partition, if it has state.
    fn snapshot(&mut self, step: &StepCtx) -> Option<SnapshotRow> {
        self.dirty = false;
        match self.part.snapshot()? {
            Ok(bytes) => Some((step.id.to_string(), self.name.clone(), Some(bytes))),
            Err(err) => {
                step.fail(format!("snapshotting partition {:?}: {err}", self.name).into());
                None
            }
        }
    }
}

/// The timely source operator shared by both kinds of input.
///
/// Each activation polls every awake partition once (bounded work), emits at the current
/// epoch, and reads nothing while `max_epochs_in_flight` epochs are incomplete downstream
/// (backpressure). When the epoch's interval has passed, it snapshots the partitions that
/// read in it (on the second output) and advances to the next epoch.
fn build_source<T: Data>(ctx: &mut BuildCtx<'_>, parts: Vec<NamedPart<T>>) {
    let step: StepCtx = ctx.step().clone();
    let mut op = OperatorBuilder::new(step.id.to_string(), ctx.scope());
    let activator = ctx.scope().activator_for(op.operator_info().address);
    let (data_out, data_stream) = op.new_output::<Vec<T>>();
    let (snap_out, snap_stream) = op.new_output::<Vec<SnapshotRow>>();
    let mut data_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<T>>>::from(data_out);
    let mut snap_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<SnapshotRow>>>::from(snap_out);
    let now = Instant::now();
    let mut parts: Vec<Polled<T>> = parts
        .into_iter()
        .map(|(name, part)| Polled {
            name,
            part,
            awake: now,
            dirty: false,
        })
        .collect();
    let mut epoch: Epoch = step.start_epoch();
    let mut epoch_ends = now + step.epoch_interval();
    op.build(move |mut capabilities| {
        for cap in &mut capabilities {
            cap.downgrade(&epoch);
        }
        let mut caps = Some(capabilities);
        move |_frontiers| {
            let _in_step = enter_step(&step.name);
            let Some([data_cap, snap_cap]) = caps.as_deref_mut() else {
                return;
            };
            // After a failure, hold the capabilities: dropping them would tell every worker
            // of the cluster that this input ended before the process goes down.
            if step.has_failed() {
                return;
            }
            let (mut data, mut snaps) = (data_out.activate(), snap_out.activate());
            let mut snapshot_rows: Vec<SnapshotRow> = Vec::new();
            let now = Instant::now();
            if now >= epoch_ends {
                snapshot_rows.extend(
                    parts
                        .iter_mut()
                        .filter(|p| p.dirty)
                        .filter_map(|p| p.snapshot(&step)),
                );
                if !snapshot_rows.is_empty() {
                    snaps.session(&*snap_cap).give_container(&mut snapshot_rows);
                }
                epoch += 1;
                data_cap.downgrade(&epoch);
                snap_cap.downgrade(&epoch);
                epoch_ends = now + step.epoch_interval();
            }
            let completed = step
                .probe()
                .with_frontier(|f| f.first().copied())
                .unwrap_or(epoch);
            let backpressured = epoch.saturating_sub(completed) >= step.max_epochs_in_flight();
            if !backpressured {
                let mut session = data.session(&*data_cap);
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
                            polled.dirty = true;
                        }
                        Ok(Batch::Items(_) | Batch::Pending) => {
                            polled.awake = awake.unwrap_or(now + IDLE_POLL);
                        }
                        Ok(Batch::Eof) => {
                            let mut ended = parts.swap_remove(index);
                            snapshot_rows.extend(ended.snapshot(&step));
                            if let Err(err) = ended.part.close() {
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
            if !snapshot_rows.is_empty() {
                snaps.session(&*snap_cap).give_container(&mut snapshot_rows);
            }
            if parts.is_empty() {
                caps = None;
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
    ctx.add_snapshots(snap_stream);
    ctx.set_output(0, data_stream);
}
