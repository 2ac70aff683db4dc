//! The stateful core's operator: one per stateful step and worker. It queues received
//! batches per epoch, applies an epoch once no earlier one can arrive, fires timers as the
//! watermark and the clock pass them, holds its output where timers may still emit, and
//! sends the snapshots of each completed epoch; a `KeyedState` holds the keys.

use std::collections::VecDeque;
use std::time::SystemTime;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

use crate::Key;
use crate::engine::{
    BuildCtx, EpochQueue, QueuedWatermarks, Time, at, decode_watermark, encode_watermark, enter_step,
    frontier_epoch, frontier_meet, received_epoch, received_inner,
};
use crate::operators::changed_keys::SnapshotsDone;
use crate::operators::keyed_logic::Clocks;
use crate::operators::keyed_state::KeyedState;
use crate::recovery::{SnapshotRow, decode};
use crate::{Data, Epoch, Error, Timestamp};

/// Items applied (and timers fired) per activation before the operator yields to the rest
/// of the worker.
const FUEL: usize = 100_000;

/// Received batches of one epoch, each with its watermark coordinate.
type Batches<K, V> = VecDeque<(u64, Vec<(K, V)>)>;

/// Builds the stateful core on this worker: data output, snapshot output, restored keys,
/// held by the state `make` builds (told whether the step snapshots).
pub(crate) fn keyed_state_operator<'s, K, V, S>(
    ctx: &mut BuildCtx<'s>,
    input: StreamVec<'s, Time, (K, V)>,
    make: impl FnOnce(bool) -> S,
) -> StreamVec<'s, Time, (K, S::Out)>
where
    K: Key,
    V: Data,
    S: KeyedState<K, V>,
    S::Out: Data,
{
    let step = ctx.step().clone();
    let mut keyed = make(step.snapshotting());
    for (key, bytes) in step.take_resume_states() {
        let restored = crate::key::stored_key::<K>(&key)
            .map_err(|err| Error::step(step.id.as_str(), step.worker, err))
            .and_then(|k| Ok((k, decode::<S::State>(step.id.as_str(), &key, &bytes)?)));
        match restored {
            Ok((key, state)) => keyed.restore(key, state),
            Err(err) => {
                step.fail_with(err);
                break;
            }
        }
    }
    let mut op = OperatorBuilder::new(step.id.to_string(), ctx.scope());
    let activator = ctx.scope().activator_for(op.operator_info().address);
    let watermark_lag = step.watermark_lag();
    // One worker owns every key: routing would hash each item's key text for nothing.
    let single = step.peers == 1;
    let pact = Exchange::new(move |(key, _): &(K, V)| if single { 0 } else { key.route() });
    let mut input = op.new_input(input, pact);
    let (data_out, data_stream) = op.new_output::<Vec<(K, S::Out)>>();
    let (snap_out, snap_stream) = op.new_output::<Vec<SnapshotRow>>();
    let mut data_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<(K, S::Out)>>>::from(data_out);
    let mut snap_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<SnapshotRow>>>::from(snap_out);
    // Sent at the resume epoch on the first activation, while the initial capability
    // (at the scope's minimum) still allows it.
    let mut restored = Some(keyed.take_restored()).filter(|items| !items.is_empty());
    op.build(move |mut capabilities| {
        let mut snap_cap = capabilities.pop();
        let mut data_cap = capabilities.pop();
        let mut queue: EpochQueue<Batches<K, V>> = EpochQueue::new();
        let mut queued = QueuedWatermarks::default();
        // The latest epoch whose items were applied.
        let mut applied: Epoch = 0;
        // Decided once, the first time the input ended: a graceful stop (keep the state)
        // or the end of the input (run `on_eof`, maybe over several activations).
        let mut stopped: Option<bool> = None;
        move |frontiers| {
            let frontier = frontiers[0].frontier();
            let _in_step = enter_step(&step.name);
            let (mut data, mut snaps) = (data_out.activate(), snap_out.activate());
            input.for_each(|cap, batch| {
                let epoch = received_epoch(cap.stamp());
                let inner = received_inner(cap.stamp());
                queued.add(inner);
                queue.at(epoch).push_back((inner, std::mem::take(batch)));
            });
            let (Some(dcap), Some(scap)) = (data_cap.as_mut(), snap_cap.as_mut()) else {
                return;
            };
            if let Some(mut items) = restored.take() {
                let resumed = at(step.start_epoch().saturating_sub(1), u64::MAX);
                data.session(&dcap.delayed(&resumed)).give_container(&mut items);
            }
            if step.has_failed() {
                return;
            }
            let mut emit_snapshots = |scap: &Capability<Time>, done: SnapshotsDone| match done {
                Ok(Some((epoch, mut rows))) => snaps
                    .session(&scap.delayed(&at(epoch, scap.time().inner)))
                    .give_container(&mut rows),
                Ok(None) => {}
                Err(err) => step.fail(err),
            };
            let frontier_epoch = frontier_epoch(&frontier);
            let mut fuel = FUEL;
            while fuel > 0
                && let Some((epoch, batches)) = queue.first_ready(frontier_epoch)
            {
                emit_snapshots(scap, keyed.enter_epoch(epoch, step.id.as_str()));
                applied = applied.max(epoch);
                // Timers due by the time this epoch's items happen fire before them.
                let before = Clocks {
                    epoch,
                    watermark: queued.watermark(&frontier),
                    now: step.processing_time(epoch),
                };
                if keyed.timer_due(before) {
                    let mut fired = Vec::new();
                    keyed.fire_timers(before, &mut fuel, &mut |ts, item| fired.push((ts, item)));
                    for (time, mut items) in timed_runs(dcap, epoch, fired) {
                        data.session(&dcap.delayed(&time)).give_container(&mut items);
                    }
                }
                let time = dcap.delayed(&at(epoch, dcap.time().inner));
                let mut session = data.session(&time);
                let mut emit = |item| session.give(item);
                while fuel > 0
                    && let Some((inner, batch)) = batches.pop_front()
                {
                    queued.remove(inner);
                    let clocks = Clocks {
                        epoch,
                        watermark: queued.watermark(&frontier).min(decode_watermark(inner)),
                        now: step.processing_time(epoch),
                    };
                    fuel = fuel.saturating_sub(batch.len());
                    keyed.on_batch(batch, clocks, &mut emit);
                }
                if batches.is_empty() {
                    queue.remove_first();
                }
            }
            if fuel == 0 {
                activator.activate();
                return;
            }
            match frontier_meet(&frontier) {
                Some(meet) => {
                    emit_snapshots(scap, keyed.close_epoch_before(Some(meet.outer), step.id.as_str()));
                    // Not past the frontier, a queued batch or what a timer may still emit
                    // at; never back.
                    let hold = |keyed: &S, dcap: &Capability<Time>| {
                        let hold = queued.hold(meet);
                        let timers = keyed.output_hold().map_or(u64::MAX, encode_watermark);
                        at(hold.outer, hold.inner.min(timers).max(dcap.time().inner))
                    };
                    let held = hold(&keyed, dcap);
                    dcap.downgrade(&held);
                    scap.downgrade(&held);
                    let clocks = Clocks {
                        epoch: meet.outer,
                        watermark: queued.watermark(&frontier),
                        now: step.processing_time(meet.outer),
                    };
                    if let Some(lag) = &watermark_lag {
                        lag.set(clocks.watermark);
                    }
                    if keyed.timer_due(clocks) {
                        emit_snapshots(scap, keyed.enter_epoch(meet.outer, step.id.as_str()));
                        let mut fired = Vec::new();
                        keyed.fire_timers(clocks, &mut fuel, &mut |ts, item| fired.push((ts, item)));
                        for (time, mut items) in timed_runs(dcap, meet.outer, fired) {
                            data.session(&dcap.delayed(&time)).give_container(&mut items);
                        }
                        // What fired no longer holds the output back.
                        let held = hold(&keyed, dcap);
                        dcap.downgrade(&held);
                        scap.downgrade(&held);
                    }
                    // Timers still due (out of fuel, or re-armed when already due) run on the
                    // next activation, after the rest of the worker had its turn. Event timers
                    // run when the frontier moves, which activates the operator.
                    if keyed.timer_due(clocks) {
                        activator.activate();
                    } else if let Some(at) = keyed.next_processing_timer()
                        && step.test_clock().is_none()
                    {
                        // (A test clock moves with epochs, whose frontier activates us.)
                        activator.activate_after(at.duration_since(SystemTime::now()).unwrap_or_default());
                    }
                }
                None if queue.is_empty() && *stopped.get_or_insert_with(|| step.stop_requested()) => {
                    // A graceful stop, not the end of the input: the state stays as it is
                    // (snapshotted for the resume), nothing is flushed.
                    emit_snapshots(scap, keyed.close_epoch_before(None, step.id.as_str()));
                    data_cap = None;
                    snap_cap = None;
                }
                None if queue.is_empty() => {
                    // End of input: each key's last event timer, then `on_eof`, run in the
                    // last epoch seen, after its items, under the same work bound as items.
                    let last = applied.max(dcap.time().outer).max(step.start_epoch());
                    emit_snapshots(scap, keyed.enter_epoch(last, step.id.as_str()));
                    let clocks = Clocks {
                        epoch: last,
                        watermark: Timestamp::MAX,
                        now: step.processing_time(last),
                    };
                    let mut fired = Vec::new();
                    let done = keyed.finish(clocks, &mut fuel, &mut |ts, item| fired.push((ts, item)));
                    for (time, mut items) in timed_runs(dcap, last, fired) {
                        data.session(&dcap.delayed(&time)).give_container(&mut items);
                    }
                    if !done {
                        activator.activate();
                        return;
                    }
                    emit_snapshots(scap, keyed.close_epoch_before(None, step.id.as_str()));
                    data_cap = None;
                    snap_cap = None;
                }
                None => activator.activate(),
            }
        }
    });
    ctx.add_snapshots(snap_stream);
    data_stream
}

/// Timer outputs in runs of one time, in order: an item with an event time goes at that
/// watermark, one without at the capability's, in `epoch` (never below the capability).
fn timed_runs<T>(
    cap: &Capability<Time>,
    epoch: Epoch,
    fired: Vec<(Option<Timestamp>, T)>,
) -> Vec<(Time, Vec<T>)> {
    let floor = cap.time().inner;
    let mut runs: Vec<(Time, Vec<T>)> = Vec::new();
    for (ts, item) in fired {
        let inner = ts.map_or(floor, |ts| encode_watermark(ts).max(floor));
        let time = at(epoch.max(cap.time().outer), inner);
        match runs.last_mut() {
            Some((last, items)) if *last == time => items.push(item),
            _ => runs.push((time, vec![item])),
        }
    }
    runs
}
