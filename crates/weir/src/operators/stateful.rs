//! `stateful`: the one keyed, epoch-ordered stateful core every stateful operator uses.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Capability;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

use crate::dataflow::KeyedStream;
use crate::engine::{BuildCtx, enter_step, route_key};
use crate::operators::keyed_logic::{KeyedLogic, SnapshotsDone};
use crate::recovery::{SnapshotRow, decode};
use crate::{Data, Epoch};

/// Items applied (and timers fired) per activation before the operator yields to the rest
/// of the worker.
const FUEL: usize = 100_000;

/// Whether a key's state lives on after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Keep the state for the next item of this key.
    Keep,
    /// Drop the state; the next item of this key starts afresh.
    Discard,
}

/// Per-key logic of a [`stateful`](crate::Stream::stateful) step.
///
/// One instance lives per key, built from its resume state (or `None`). Items of a key
/// arrive in epoch order. `snapshot` must capture everything needed to rebuild it, including
/// any deadline behind [`notify_at`](StatefulLogic::notify_at), so timers survive a restore.
pub trait StatefulLogic: 'static {
    /// The values the step receives.
    type In;
    /// The values it emits (with the key).
    type Out;
    /// The serialisable state of one key.
    type State: Serialize + DeserializeOwned;

    /// Handles one value; pushes outputs onto `out`.
    fn on_item(&mut self, value: Self::In, out: &mut Vec<Self::Out>) -> Retention;

    /// Called once the wall-clock time of [`notify_at`](StatefulLogic::notify_at) passes.
    fn on_notify(&mut self, out: &mut Vec<Self::Out>) -> Retention {
        let _ = out;
        Retention::Keep
    }

    /// Called for every key when the input ends. By default the state is kept, so a later
    /// execution that resumes with more input continues from it.
    fn on_eof(&mut self, out: &mut Vec<Self::Out>) -> Retention {
        let _ = out;
        Retention::Keep
    }

    /// When to call [`on_notify`](StatefulLogic::on_notify), if ever. Asked after every call.
    fn notify_at(&self) -> Option<SystemTime> {
        None
    }

    /// The state to resume this key from.
    fn snapshot(&self) -> Self::State;
}

impl<V: Data> KeyedStream<V> {
    /// Runs per-key `logic` built by `builder(resume_state)`: the core of every stateful
    /// operator. Keys are routed to workers by a mixed hash of the key.
    ///
    /// Epochs are applied in order, but items of the current (frontier) epoch are applied as
    /// they arrive: only items of later epochs wait.
    ///
    /// ```
    /// use weir::operators::{Retention, StatefulLogic};
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// /// Emits the running sum and forgets the key once it reaches 10.
    /// struct SumTo10(u32);
    /// impl StatefulLogic for SumTo10 {
    ///     type In = u32;
    ///     type Out = u32;
    ///     type State = u32;
    ///     fn on_item(&mut self, value: u32, out: &mut Vec<u32>) -> Retention {
    ///         self.0 += value;
    ///         out.push(self.0);
    ///         if self.0 >= 10 { Retention::Discard } else { Retention::Keep }
    ///     }
    ///     fn snapshot(&self) -> u32 { self.0 }
    /// }
    ///
    /// let mut flow = Dataflow::new("sum");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![4u32, 6, 1]))
    ///     .key_on("key", |_| "k".to_string())
    ///     .stateful("sum", |resume: Option<u32>| SumTo10(resume.unwrap_or(0)))
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![("k".into(), 4), ("k".into(), 10), ("k".into(), 1)]);
    /// ```
    pub fn stateful<L, B>(&self, step_id: &str, builder: B) -> KeyedStream<L::Out>
    where
        L: StatefulLogic<In = V>,
        L::Out: Data,
        B: Fn(Option<L::State>) -> L + Send + Sync + 'static,
    {
        let builder = Arc::new(builder);
        self.keyed_state_step(step_id, "stateful", move |ctx, input| {
            stateful_operator(ctx, input, builder.clone())
        })
    }
}

/// Builds the stateful core on this worker: data output, snapshot output, restored keys.
pub(crate) fn stateful_operator<'s, V, L, B>(
    ctx: &mut BuildCtx<'s>,
    input: StreamVec<'s, Epoch, (String, V)>,
    builder: Arc<B>,
) -> StreamVec<'s, Epoch, (String, L::Out)>
where
    V: Data,
    L: StatefulLogic<In = V>,
    L::Out: Data,
    B: Fn(Option<L::State>) -> L + Send + Sync + 'static,
{
    let step = ctx.step().clone();
    let mut keyed = KeyedLogic::new(builder, step.snapshotting());
    for (key, bytes) in step.take_resume_states() {
        match decode::<L::State>(step.id.as_str(), &key, &bytes) {
            Ok(state) => keyed.restore(key, state),
            Err(err) => {
                step.fail_with(err);
                break;
            }
        }
    }
    let mut op = OperatorBuilder::new(step.id.to_string(), ctx.scope());
    let activator = ctx.scope().activator_for(op.operator_info().address);
    let pact = Exchange::new(|(key, _): &(String, V)| route_key(key));
    let mut input = op.new_input(input, pact);
    let (data_out, data_stream) = op.new_output::<Vec<(String, L::Out)>>();
    let (snap_out, snap_stream) = op.new_output::<Vec<SnapshotRow>>();
    let mut data_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<(String, L::Out)>>>::from(data_out);
    let mut snap_out = OutputBuilder::<_, CapacityContainerBuilder<Vec<SnapshotRow>>>::from(snap_out);
    op.build(move |mut capabilities| {
        let mut snap_cap = capabilities.pop();
        let mut data_cap = capabilities.pop();
        // Received batches of epochs not yet applied, in epoch order.
        let mut pending: BTreeMap<Epoch, VecDeque<Vec<(String, V)>>> = BTreeMap::new();
        // The latest epoch whose items were applied.
        let mut applied: Epoch = 0;
        move |frontiers| {
            let frontier = &frontiers[0];
            let _in_step = enter_step(&step.name);
            let (mut data, mut snaps) = (data_out.activate(), snap_out.activate());
            input.for_each(|cap, batch| {
                let epoch = *cap.least().expect("weir sends every batch under one epoch");
                pending.entry(epoch).or_default().push_back(std::mem::take(batch));
            });
            let (Some(dcap), Some(scap)) = (data_cap.as_mut(), snap_cap.as_mut()) else {
                return;
            };
            if step.has_failed() {
                return;
            }
            let mut emit_snapshots = |scap: &Capability<Epoch>, done: SnapshotsDone| match done {
                Ok(Some((epoch, mut rows))) => snaps.session(&scap.delayed(&epoch)).give_container(&mut rows),
                Ok(None) => {}
                Err(err) => step.fail(err),
            };
            let mut fuel = FUEL;
            while fuel > 0
                && let Some(mut batches) = pending.first_entry()
                && !frontier.less_than(batches.key())
            {
                let epoch = *batches.key();
                emit_snapshots(scap, keyed.enter_epoch(epoch, step.id.as_str()));
                applied = applied.max(epoch);
                let at = dcap.delayed(&epoch);
                let mut session = data.session(&at);
                let mut emit = |item| session.give(item);
                while fuel > 0
                    && let Some(batch) = batches.get_mut().pop_front()
                {
                    fuel = fuel.saturating_sub(batch.len());
                    for (key, value) in batch {
                        keyed.on_item(key, value, &mut emit);
                    }
                }
                if batches.get().is_empty() {
                    batches.remove();
                }
            }
            if fuel == 0 {
                activator.activate();
                return;
            }
            match frontier.frontier().first().copied() {
                Some(epoch) => {
                    emit_snapshots(scap, keyed.close_epoch_before(Some(epoch), step.id.as_str()));
                    dcap.downgrade(&epoch);
                    scap.downgrade(&epoch);
                    let now = SystemTime::now();
                    if keyed.next_timer().is_some_and(|at| at <= now) {
                        emit_snapshots(scap, keyed.enter_epoch(epoch, step.id.as_str()));
                        let mut session = data.session(&*dcap);
                        keyed.fire_timers(now, &mut fuel, &mut |item| session.give(item));
                    }
                    // Timers still due (out of fuel, or re-armed in the past) run on the next
                    // activation, after the rest of the worker had its turn.
                    if let Some(at) = keyed.next_timer() {
                        activator.activate_after(at.duration_since(SystemTime::now()).unwrap_or_default());
                    }
                }
                None if pending.is_empty() => {
                    // End of input: `on_eof` runs in the last epoch seen, after its items.
                    let last = applied.max(*dcap.time());
                    emit_snapshots(scap, keyed.enter_epoch(last, step.id.as_str()));
                    {
                        let at = dcap.delayed(&last);
                        let mut session = data.session(&at);
                        keyed.finish(&mut |item| session.give(item));
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
