//! `input`: the source operator that polls partitions, advances epochs on a clock, and,
//! with an [`EventClock`], splits off late items and carries each partition's watermark.
//!
//! Users call [`Dataflow::input`](crate::Dataflow::input),
//! [`Dataflow::dynamic_input`](crate::Dataflow::dynamic_input) or their `_with_clock`
//! variants.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

use crate::dataflow::flow::{EventTimeRole, Graph, StepSpec, add_step};
use crate::dataflow::{ListPartsFn, Stream, UnlistedPartFn};
use crate::engine::{BuildCtx, StepCtx, at, encode_watermark, enter_step, frontier_epoch};
use crate::inputs::{Batch, DynamicSource, EventClock, FixedPartitionedSource};
use crate::operators::polled::{Polled, close_durable, source_watermark};
use crate::operators::source_parts::{NamedPart, Stateful, Stateless};
use crate::recovery::{SnapshotRow, decode};
use crate::{Data, Epoch, Timestamp};

/// How often an input that stopped reading looks whether every worker heard of the stop.
const STOP_POLL: Duration = Duration::from_millis(5);

/// How often an input whose partitions all ended looks whether their last snapshots are
/// durable.
const DURABLE_POLL: Duration = Duration::from_millis(20);

/// Delay before polling again after a partition had nothing and named no wake-up time.
const IDLE_POLL: Duration = Duration::from_millis(1);

/// When to poll a partition that had nothing again (unless it wakes first): `IDLE_POLL`
/// after its poll returned.
fn idle_until() -> Instant {
    Instant::now() + IDLE_POLL
}

/// How often a source whose clock opted into processing-time advance or idleness looks at
/// the time while its partitions read nothing.
const CLOCK_TICK: Duration = Duration::from_millis(50);

/// The event-time role of an input, with or without a clock.
fn role(clocked: bool) -> EventTimeRole {
    match clocked {
        true => EventTimeRole::Clock,
        false => EventTimeRole::Unrelated,
    }
}

/// Adds a [`FixedPartitionedSource`] step; with a clock, also returns its late items.
pub(crate) fn fixed<S: FixedPartitionedSource>(
    graph: &Rc<RefCell<Graph>>,
    step_id: &str,
    source: S,
    clock: Option<EventClock<S::Item>>,
) -> Vec<Stream<S::Item>> {
    let source = Arc::new(source);
    let lister = source.clone();
    let list_parts: Arc<ListPartsFn> = Arc::new(move || lister.list_parts());
    let judge = source.clone();
    let clocked = clock.is_some();
    let unlisted_part: Arc<UnlistedPartFn> = Arc::new(move |step, part, bytes| {
        let state = match clocked {
            true => decode::<(S::State, Timestamp)>(step.as_str(), part, bytes)?.0,
            false => decode(step.as_str(), part, bytes)?,
        };
        judge.unlisted_part(step, part, state)
    });
    let spec = StepSpec {
        kind: "input",
        inputs: vec![],
        output_count: if clocked { 2 } else { 1 },
        list_parts: Some(list_parts),
        unlisted_part: Some(unlisted_part),
        is_output: false,
        keyed_state: None,
        event_time: role(clocked),
    };
    let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
        let step = ctx.step().clone();
        let mut states = step.take_resume_states();
        let mut parts: Vec<NamedPart<S::Item>> = Vec::new();
        for (_, part) in step.assignment().parts_of(step.worker) {
            let resumed = match clocked {
                true => step.partition_state::<(S::State, Timestamp)>(&mut states, part),
                false => step
                    .partition_state::<S::State>(&mut states, part)
                    .map(|s| s.map(|s| (s, Timestamp::MIN))),
            };
            let Ok(resumed) = resumed else { continue };
            let (resume, watermark) = match resumed {
                Some((state, watermark)) => (Some(state), watermark),
                None => (None, Timestamp::MIN),
            };
            match source.build_part(&step.id, part, resume) {
                Ok(p) => parts.push(NamedPart {
                    name: part.to_owned(),
                    part: Box::new(Stateful(p, Default::default())),
                    watermark,
                }),
                Err(err) => step.fail(format!("building partition {part:?}: {err}").into()),
            }
        }
        build_source(ctx, parts, clock.clone());
    });
    add_step(graph, step_id, spec, build)
}

/// Adds a [`DynamicSource`] step; with a clock, also returns its late items.
pub(crate) fn dynamic<S: DynamicSource>(
    graph: &Rc<RefCell<Graph>>,
    step_id: &str,
    source: S,
    clock: Option<EventClock<S::Item>>,
) -> Vec<Stream<S::Item>> {
    let spec = StepSpec {
        kind: "dynamic_input",
        inputs: vec![],
        output_count: if clock.is_some() { 2 } else { 1 },
        list_parts: None,
        unlisted_part: None,
        is_output: false,
        keyed_state: None,
        event_time: role(clock.is_some()),
    };
    let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
        let step = ctx.step().clone();
        let mut parts: Vec<NamedPart<S::Item>> = Vec::new();
        match source.build(&step.id, step.worker, step.peers) {
            Ok(p) => parts.push(NamedPart {
                name: step.worker.to_string(),
                part: Box::new(Stateless(p)),
                watermark: Timestamp::MIN,
            }),
            Err(err) => step.fail(err),
        }
        build_source(ctx, parts, clock.clone());
    });
    add_step(graph, step_id, spec, build)
}

/// The timely source operator shared by both kinds of input.
///
/// Each activation polls every awake partition once (bounded work), emits at the current
/// epoch, and reads nothing while `max_epochs_in_flight` epochs are incomplete downstream
/// (backpressure). When the epoch's interval has passed, it snapshots the partitions that
/// read in it (on the second output) and advances to the next epoch.
///
/// With a clock, items below their partition's watermark go to the late output, and the
/// capabilities' inner coordinate follows the worker's watermark (`engine/time.rs`): it is
/// raised only after the items read under the old one were sent.
fn build_source<T: Data>(ctx: &mut BuildCtx<'_>, parts: Vec<NamedPart<T>>, clock: Option<EventClock<T>>) {
    let step: StepCtx = ctx.step().clone();
    let read = step.own_items_counter();
    let mut op = OperatorBuilder::new(step.id.to_string(), ctx.scope());
    let activator = ctx.scope().activator_for(op.operator_info().address);
    let (data_out, data_stream) = op.new_output::<Vec<T>>();
    let (snap_out, snap_stream) = op.new_output::<Vec<SnapshotRow>>();
    let (late_out, late_stream) = op.new_output::<Vec<T>>();
    let mut data_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<T>>>::from(data_out);
    let mut snap_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<SnapshotRow>>>::from(snap_out);
    let mut late_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<T>>>::from(late_out);
    let address = op.operator_info().address.to_vec();
    let waker = Arc::new(Mutex::new(ctx.scope().worker().sync_activator_for(address)));
    let now = Instant::now();
    let mut parts: Vec<Polled<T>> = parts
        .into_iter()
        .map(|named| Polled::new(named, &step, now, &waker))
        .collect();
    let clocked = clock.is_some();
    let mut epoch: Epoch = step.start_epoch();
    let mut epoch_ends = now + step.epoch_interval();
    // The inner coordinate of the capabilities: this worker's watermark.
    let mut inner = match &clock {
        Some(clock) => encode_watermark(source_watermark(&mut parts, clock, now, false)),
        None => u64::MAX,
    };
    let mut late = Vec::new();
    // Partitions that ended, with the epoch of their last snapshot: closed once it is
    // durable, so a source acknowledges its last position upstream too (`on_durable`).
    let mut ending: Vec<(Polled<T>, Epoch)> = Vec::new();
    // Test clock advances partitions reached: they end the epoch (`TestClock`).
    let mut clock_advances: Vec<(String, Duration)> = Vec::new();
    // The operator stays scheduled (`true`) while ended partitions wait to close, after
    // its capabilities are dropped.
    op.build_reschedule(move |mut capabilities| {
        for cap in &mut capabilities {
            cap.downgrade(&at(epoch, inner));
        }
        step.opened_epoch(epoch);
        let mut caps = Some(capabilities);
        move |_frontiers| {
            let _in_step = enter_step(&step.name);
            let Some([data_cap, snap_cap, late_cap]) = caps.as_deref_mut() else {
                // Every partition ended and the input with them: the last snapshots are on
                // their way to the store, and the ended partitions close once durable. An
                // error now fails the step after the writers' final commit.
                let open = close_durable(&step, &mut [], &mut ending);
                if open {
                    activator.activate_after(DURABLE_POLL);
                }
                return open;
            };
            // After a failure, hold the capabilities: dropping them would tell every worker
            // of the cluster that this input ended before the process goes down.
            if step.has_failed() {
                return false;
            }
            let (mut data, mut snaps, mut lates) =
                (data_out.activate(), snap_out.activate(), late_out.activate());
            // A graceful stop: read nothing more; once every worker knows, snapshot what was
            // read, close the partitions and end in this epoch (`engine/stop.rs`).
            if step.stop_requested() {
                if !step.stop_agreed() {
                    activator.activate_after(STOP_POLL);
                    return false;
                }
                let mut rows: Vec<SnapshotRow> = (parts.iter_mut())
                    .filter(|p| p.dirty)
                    .filter_map(|p| p.snapshot(&step, epoch, clocked))
                    .collect();
                snaps.session(&*snap_cap).give_container(&mut rows);
                if step.has_failed() {
                    return false;
                }
                let mut open = parts.iter_mut().chain(ending.iter_mut().map(|(p, _)| p));
                if let Some(err) = open.find_map(|p| p.part.close().err()) {
                    step.fail(err);
                    return false;
                }
                ending.clear();
                caps = None;
                return false;
            }
            let mut snapshot_rows: Vec<SnapshotRow> = Vec::new();
            let now = Instant::now();
            if now >= epoch_ends || !clock_advances.is_empty() {
                snapshot_rows.extend(
                    parts
                        .iter_mut()
                        .filter(|p| p.dirty)
                        .filter_map(|p| p.snapshot(&step, epoch, clocked)),
                );
                if !snapshot_rows.is_empty() {
                    snaps.session(&*snap_cap).give_container(&mut snapshot_rows);
                }
                parts.iter().for_each(Polled::report_backlog);
                epoch += 1;
                step.opened_epoch(epoch);
                for cap in [&mut *data_cap, &mut *snap_cap, &mut *late_cap] {
                    cap.downgrade(&at(epoch, inner));
                }
                epoch_ends = now + step.epoch_interval();
                // Test clock advance markers ended the last epoch: later ones are later.
                for (marker, by) in clock_advances.drain(..) {
                    if let Some(test_clock) = step.test_clock() {
                        test_clock.advance_from(marker, epoch, by);
                    }
                }
            }
            let completed = step
                .probe()
                .with_frontier(|f| frontier_epoch(&f))
                .unwrap_or(epoch);
            let backpressured = epoch.saturating_sub(completed) >= step.max_epochs_in_flight();
            if !backpressured {
                let mut session = data.session(&*data_cap);
                let mut late_session = lates.session(&*late_cap);
                let mut index = 0;
                while index < parts.len() {
                    let polled = &mut parts[index];
                    if !polled.due(now) {
                        index += 1;
                        continue;
                    }
                    let result = polled.part.next_batch();
                    let awake = polled.part.next_awake();
                    if let Some((index, by)) = polled.part.take_clock_advance() {
                        let marker = format!("{}/{}/{index}", step.id, polled.name);
                        clock_advances.push((marker, by));
                        // Its position after the marker belongs in the epoch's snapshot.
                        polled.dirty = true;
                    }
                    match result {
                        Ok(Batch::Items(mut items)) => {
                            if let Some(read) = &read {
                                read.inc_by(items.len() as u64);
                            }
                            if let Some(clock) = &clock {
                                let reported = polled.part.watermark();
                                let split = polled
                                    .clock
                                    .split_late(clock, &mut items, &mut late, reported, now);
                                if let Err(err) = split {
                                    let name = &polled.name;
                                    step.fail(
                                        format!("event time of an item of partition {name:?}: {err}").into(),
                                    );
                                    return false;
                                }
                                if !late.is_empty() {
                                    polled.dirty = true;
                                    late_session.give_container(&mut late);
                                }
                            }
                            if items.is_empty() {
                                polled.awake = awake.unwrap_or_else(idle_until);
                            } else {
                                session.give_container(&mut items);
                                polled.awake = awake.unwrap_or(now);
                                polled.dirty = true;
                            }
                        }
                        Ok(Batch::Pending) => {
                            if let Some(reported) = polled.part.watermark()
                                && reported > polled.clock.watermark()
                            {
                                polled.clock.report(reported);
                                polled.dirty = true;
                            }
                            polled.awake = awake.unwrap_or_else(idle_until);
                        }
                        Ok(Batch::Eof) => {
                            let mut ended = parts.swap_remove(index);
                            ended.clock.end();
                            snapshot_rows.extend(ended.snapshot(&step, epoch, clocked));
                            ending.push((ended, epoch));
                            continue;
                        }
                        Err(err) => {
                            step.fail(err);
                            return false;
                        }
                    }
                    index += 1;
                }
            }
            if !snapshot_rows.is_empty() {
                snaps.session(&*snap_cap).give_container(&mut snapshot_rows);
            }
            let waiting = close_durable(&step, &mut parts, &mut ending);
            if step.has_failed() {
                return false;
            }
            if parts.is_empty() {
                // Every partition ended: so does the input, at once (downstream steps and
                // the recovery writer finish this epoch), while ended partitions wait.
                caps = None;
                if waiting {
                    activator.activate_after(DURABLE_POLL);
                }
                return waiting;
            }
            if let Some(clock) = &clock {
                let watermark = encode_watermark(source_watermark(&mut parts, clock, now, backpressured));
                if watermark > inner {
                    inner = watermark;
                    for cap in [&mut *data_cap, &mut *snap_cap, &mut *late_cap] {
                        cap.downgrade(&at(epoch, inner));
                    }
                }
            }
            let mut next = if backpressured {
                now + IDLE_POLL
            } else {
                parts
                    .iter()
                    .map(|p| p.awake)
                    .min()
                    .unwrap_or(epoch_ends)
                    .min(epoch_ends)
            };
            if clock
                .as_ref()
                .is_some_and(|c| c.advance_with_processing_time || c.idle_after.is_some())
            {
                next = next.min(now + CLOCK_TICK);
            }
            activator.activate_after(next.saturating_duration_since(Instant::now()));
            false
        }
    });
    ctx.add_snapshots(snap_stream);
    ctx.set_output(0, data_stream);
    if clocked {
        ctx.set_output(1, late_stream);
    }
}
