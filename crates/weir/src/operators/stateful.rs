//! `stateful`: the one keyed, epoch-ordered stateful core every stateful operator uses.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Operator;

use crate::dataflow::KeyedStream;
use crate::engine::{StepCtx, enter_step, route_key};
use crate::{Data, Epoch};

/// Items applied per activation before the operator yields to the rest of the worker.
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

    /// Called for every key when the input ends.
    fn on_eof(&mut self, out: &mut Vec<Self::Out>) -> Retention {
        let _ = out;
        Retention::Discard
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
        self.unary_step(step_id, "stateful", move |step, input| {
            stateful_operator(step, input, builder.clone())
        })
    }
}

/// One key's logic and its pending timer.
struct Entry<L> {
    logic: L,
    timer: Option<SystemTime>,
}

/// All keys of one worker of a stateful step.
struct KeyedLogic<L: StatefulLogic, B> {
    builder: Arc<B>,
    entries: HashMap<String, Entry<L>>,
    timers: BTreeSet<(SystemTime, String)>,
    out: Vec<L::Out>,
}

impl<L, B> KeyedLogic<L, B>
where
    L: StatefulLogic,
    B: Fn(Option<L::State>) -> L,
{
    fn on_item(&mut self, key: String, value: L::In, emit: &mut impl FnMut((String, L::Out))) {
        let entry = match self.entries.get_mut(&key) {
            Some(entry) => entry,
            None => self.entries.entry(key.clone()).or_insert_with(|| Entry {
                logic: (self.builder)(None),
                timer: None,
            }),
        };
        let retention = entry.logic.on_item(value, &mut self.out);
        self.after_call(key, retention, emit);
    }

    /// Calls `on_notify` for every key whose timer is at or before `now`.
    fn fire_timers(&mut self, now: SystemTime, emit: &mut impl FnMut((String, L::Out))) {
        while let Some((at, _)) = self.timers.first()
            && *at <= now
        {
            let (_, key) = self.timers.pop_first().expect("checked above");
            let entry = self.entries.get_mut(&key).expect("a timer belongs to a live key");
            entry.timer = None;
            let retention = entry.logic.on_notify(&mut self.out);
            self.after_call(key, retention, emit);
        }
    }

    /// Calls `on_eof` for every key, in key order, and forgets all keys.
    fn finish(&mut self, emit: &mut impl FnMut((String, L::Out))) {
        let mut entries: Vec<(String, Entry<L>)> = self.entries.drain().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (key, mut entry) in entries {
            entry.logic.on_eof(&mut self.out);
            for value in self.out.drain(..) {
                emit((key.clone(), value));
            }
        }
        self.timers.clear();
    }

    fn after_call(&mut self, key: String, retention: Retention, emit: &mut impl FnMut((String, L::Out))) {
        for value in self.out.drain(..) {
            emit((key.clone(), value));
        }
        let entry = self.entries.get_mut(&key).expect("the key was just used");
        let wanted = match retention {
            Retention::Keep => entry.logic.notify_at(),
            Retention::Discard => None,
        };
        if wanted != entry.timer {
            if let Some(old) = entry.timer.take() {
                self.timers.remove(&(old, key.clone()));
            }
            if let Some(at) = wanted {
                self.timers.insert((at, key.clone()));
            }
            entry.timer = wanted;
        }
        if retention == Retention::Discard {
            self.entries.remove(&key);
        }
    }

    fn next_timer(&self) -> Option<SystemTime> {
        self.timers.first().map(|(at, _)| *at)
    }
}

pub(crate) fn stateful_operator<'s, V, L, B>(
    step: &StepCtx,
    input: StreamVec<'s, Epoch, (String, V)>,
    builder: Arc<B>,
) -> StreamVec<'s, Epoch, (String, L::Out)>
where
    V: Data,
    L: StatefulLogic<In = V>,
    L::Out: Data,
    B: Fn(Option<L::State>) -> L + Send + Sync + 'static,
{
    let ctx = step.clone();
    let scope = input.scope();
    let pact = Exchange::new(|(key, _): &(String, V)| route_key(key));
    input.unary_frontier::<CapacityContainerBuilder<Vec<(String, L::Out)>>, _, _, _>(
        pact,
        step.id.as_str(),
        move |capability, info| {
            let activator = scope.activator_for(info.address.clone());
            let mut held = Some(capability);
            let mut keyed = KeyedLogic {
                builder,
                entries: HashMap::new(),
                timers: BTreeSet::new(),
                out: Vec::new(),
            };
            // Received batches of epochs not yet applied, in epoch order.
            let mut pending: BTreeMap<Epoch, VecDeque<Vec<(String, V)>>> = BTreeMap::new();
            move |(input, frontier), output| {
                let _in_step = enter_step(&ctx.name);
                input.for_each(|cap, data| {
                    let epoch = *cap.least().expect("weir sends every batch under one epoch");
                    pending.entry(epoch).or_default().push_back(std::mem::take(data));
                });
                let Some(cap) = held.as_mut() else { return };
                let mut fuel = FUEL;
                while fuel > 0
                    && let Some(mut batches) = pending.first_entry()
                    && !frontier.less_than(batches.key())
                {
                    let at = cap.delayed(batches.key());
                    let mut session = output.session(&at);
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
                if let Some(epoch) = frontier.frontier().first() {
                    cap.downgrade(epoch);
                    let mut session = output.session(&*cap);
                    keyed.fire_timers(SystemTime::now(), &mut |item| session.give(item));
                    if let Some(at) = keyed.next_timer() {
                        let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
                        activator.activate_after(wait);
                    }
                } else if pending.is_empty() {
                    let mut session = output.session(&*cap);
                    keyed.finish(&mut |item| session.give(item));
                    drop(session);
                    held = None;
                }
            }
        },
    )
}
