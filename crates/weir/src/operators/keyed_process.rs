//! `KeyedProcess`: per-key logic that sees time — the epoch, the event-time watermark,
//! processing time — and sets timers in event or processing time.

use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::operators::stateful::{Retention, StatefulLogic};
use crate::{Epoch, Timestamp};

/// What a [`KeyedProcess`] call sees and where it emits.
pub struct Ctx<'a, O> {
    pub(crate) out: &'a mut Vec<O>,
    pub(crate) epoch: Epoch,
    pub(crate) watermark: Timestamp,
    pub(crate) now: SystemTime,
}

impl<O> Ctx<'_, O> {
    /// Emits `value` under the call's key.
    pub fn emit(&mut self, value: O) {
        self.out.push(value);
    }

    /// The epoch the call runs in.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The event-time watermark of the step's input: no on-time item below it can still
    /// arrive (`Timestamp::MAX` once the input ended, or when no clocked source is
    /// upstream; `Timestamp::MIN` before any watermark).
    pub fn watermark(&self) -> Timestamp {
        self.watermark
    }

    /// Processing time, as of the activation that runs the call.
    pub fn now(&self) -> SystemTime {
        self.now
    }
}

/// Per-key logic of a [`process`](crate::Stream::process) step: the core every stateful
/// operator is built on.
///
/// One instance lives per key, built from its resume state (or `None`); items of a key
/// arrive in epoch order. Timers are part of the state: after every call the core asks
/// [`event_timer`](KeyedProcess::event_timer) and
/// [`processing_timer`](KeyedProcess::processing_timer), and calls
/// [`on_timer`](KeyedProcess::on_timer) once the watermark reaches the first or the clock
/// the second — so `snapshot` must capture them, and they survive a restore.
pub trait KeyedProcess: 'static {
    /// The values the step receives.
    type In;
    /// The values it emits (with the key).
    type Out;
    /// The serialisable state of one key.
    type State: Serialize + DeserializeOwned;

    /// Handles one value.
    fn on_item(&mut self, ctx: &mut Ctx<'_, Self::Out>, value: Self::In) -> Retention;

    /// Called once the watermark reaches [`event_timer`](KeyedProcess::event_timer) or
    /// processing time reaches [`processing_timer`](KeyedProcess::processing_timer).
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Out>) -> Retention {
        let _ = ctx;
        Retention::Unchanged
    }

    /// Called for every key when the input ends (after the last event timers fired). By
    /// default the state is kept as it is, so a later execution that resumes with more
    /// input continues from it.
    fn on_eof(&mut self, ctx: &mut Ctx<'_, Self::Out>) -> Retention {
        let _ = ctx;
        Retention::Unchanged
    }

    /// The event time at which to call [`on_timer`](KeyedProcess::on_timer), if any.
    fn event_timer(&self) -> Option<Timestamp> {
        None
    }

    /// The processing time at which to call [`on_timer`](KeyedProcess::on_timer), if any.
    fn processing_timer(&self) -> Option<SystemTime> {
        None
    }

    /// The state to resume this key from.
    fn snapshot(&self) -> Self::State;
}

impl<L: StatefulLogic> KeyedProcess for L {
    type In = L::In;
    type Out = L::Out;
    type State = L::State;

    fn on_item(&mut self, ctx: &mut Ctx<'_, L::Out>, value: L::In) -> Retention {
        StatefulLogic::on_item(self, value, ctx.out)
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, L::Out>) -> Retention {
        self.on_notify(ctx.out)
    }
    fn on_eof(&mut self, ctx: &mut Ctx<'_, L::Out>) -> Retention {
        StatefulLogic::on_eof(self, ctx.out)
    }
    fn processing_timer(&self) -> Option<SystemTime> {
        self.notify_at()
    }
    fn snapshot(&self) -> L::State {
        StatefulLogic::snapshot(self)
    }
}
