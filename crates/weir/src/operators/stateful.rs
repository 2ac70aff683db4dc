//! `stateful` and `process`: the API of the one keyed, epoch-ordered stateful core every
//! stateful operator uses (its operator is in `keyed_core`).

use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;
use timely::dataflow::StreamVec;

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::dataflow::flow::EventTimeRole;
use crate::engine::{BuildCtx, Time};
use crate::operators::keyed_core::keyed_state_operator;
use crate::operators::keyed_logic::KeyedLogic;
use crate::operators::keyed_process::KeyedProcess;

/// Whether a key's state lives on after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retention {
    /// Keep the state for the next item of this key.
    Keep,
    /// Drop the state; the next item of this key starts afresh.
    Discard,
    /// Keep the state, which this call left exactly as it was (its timers may change): the
    /// key is not snapshotted for this call. A promise — a change behind it would be lost
    /// on resume — that saves a snapshot row per key and epoch when most items change
    /// nothing (a maximum not beaten, a value already held).
    Unchanged,
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
        Retention::Unchanged
    }

    /// Called for every key when the input ends. By default the state is kept as it is, so
    /// a later execution that resumes with more input continues from it.
    fn on_eof(&mut self, out: &mut Vec<Self::Out>) -> Retention {
        let _ = out;
        Retention::Unchanged
    }

    /// When to call [`on_notify`](StatefulLogic::on_notify), if ever. Asked after every call.
    fn notify_at(&self) -> Option<SystemTime> {
        None
    }

    /// The state to resume this key from.
    fn snapshot(&self) -> Self::State;
}

impl<K: Key, V: Data> KeyedStream<V, K> {
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
    pub fn stateful<L, B>(&self, step_id: &str, builder: B) -> KeyedStream<L::Out, K>
    where
        L: StatefulLogic<In = V>,
        L::Out: Data,
        B: Fn(Option<L::State>) -> L + Send + Sync + 'static,
    {
        let builder = Arc::new(builder);
        self.keyed_state_step(
            step_id,
            "stateful",
            EventTimeRole::Unrelated,
            move |ctx, input| stateful_operator(ctx, input, builder.clone()),
        )
    }

    /// Runs per-key [`KeyedProcess`] logic built by `builder(resume_state)`: like
    /// [`stateful`](Self::stateful), but the logic sees the epoch, the event-time watermark
    /// and processing time, and sets timers in event or processing time.
    ///
    /// ```
    /// use weir::inputs::EventClock;
    /// use weir::operators::{Ctx, KeyedProcess, Retention};
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::{Dataflow, Timestamp};
    /// use std::time::Duration;
    ///
    /// /// Sums a key's values stamped before 100, and emits the sum once the watermark
    /// /// reaches 100 (no on-time item before 100 can arrive after that).
    /// struct SumUntil100(u64);
    /// impl KeyedProcess for SumUntil100 {
    ///     type In = (Timestamp, u64);
    ///     type Out = u64;
    ///     type State = u64;
    ///     fn on_item(&mut self, _: &mut Ctx<'_, u64>, (ts, value): (Timestamp, u64)) -> Retention {
    ///         if ts < 100 {
    ///             self.0 += value;
    ///         }
    ///         Retention::Keep
    ///     }
    ///     fn event_timer(&self) -> Option<Timestamp> { Some(100) }
    ///     fn on_timer(&mut self, ctx: &mut Ctx<'_, u64>) -> Retention {
    ///         ctx.emit(self.0);
    ///         Retention::Discard
    ///     }
    ///     fn snapshot(&self) -> u64 { self.0 }
    /// }
    ///
    /// let mut flow = Dataflow::new("sum");
    /// let out = TestingSink::new();
    /// let clock = EventClock::new(|item: &(Timestamp, u64)| item.0, Duration::ZERO);
    /// let input = flow.input_with_clock("in", TestingSource::new(vec![(10, 1), (50, 2), (150, 4)]), clock);
    /// input.on_time
    ///     .key_on("key", |_| "k".to_string())
    ///     .process("sum", |resume: Option<u64>| SumUntil100(resume.unwrap_or(0)))
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![("k".into(), 3)]);
    /// ```
    pub fn process<L, B>(&self, step_id: &str, builder: B) -> KeyedStream<L::Out, K>
    where
        L: KeyedProcess<In = V>,
        L::Out: Data,
        B: Fn(Option<L::State>) -> L + Send + Sync + 'static,
    {
        self.process_as(step_id, "process", builder)
    }

    /// [`process`](Self::process) under another step kind (how `describe` names it).
    pub(crate) fn process_as<L, B>(
        &self,
        step_id: &str,
        kind: &'static str,
        builder: B,
    ) -> KeyedStream<L::Out, K>
    where
        L: KeyedProcess<In = V>,
        L::Out: Data,
        B: Fn(Option<L::State>) -> L + Send + Sync + 'static,
    {
        let builder = Arc::new(builder);
        self.keyed_state_step(step_id, kind, EventTimeRole::Unrelated, move |ctx, input| {
            stateful_operator(ctx, input, builder.clone())
        })
    }
}

/// Builds the stateful core on this worker running `KeyedProcess` logic per key.
pub(crate) fn stateful_operator<'s, K, V, L, B>(
    ctx: &mut BuildCtx<'s>,
    input: StreamVec<'s, Time, (K, V)>,
    builder: Arc<B>,
) -> StreamVec<'s, Time, (K, L::Out)>
where
    K: Key,
    V: Data,
    L: KeyedProcess<In = V>,
    L::Out: Data,
    B: Fn(Option<L::State>) -> L + Send + Sync + 'static,
{
    keyed_state_operator(ctx, input, |snapshotting| KeyedLogic::new(builder, snapshotting))
}
