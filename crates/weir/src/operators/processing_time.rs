//! Operators over processing time, per key: `timed_window`, `delay`, `rate_limit`
//! (streamz's).

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::dataflow::KeyedStream;
use crate::operators::{Ctx, KeyedProcess, Retention};
use crate::{Data, Key};

/// A key's values waiting for their time, each with the time it may be emitted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Waiting<V> {
    queue: VecDeque<(SystemTime, V)>,
    /// When the key last emitted (rate limiting).
    last: Option<SystemTime>,
}

/// Delays values (`spacing` false: each by `interval` after it arrived) or spaces them
/// (`spacing` true: at most one per `interval`).
struct Paced<V> {
    interval: Duration,
    spacing: bool,
    waiting: Waiting<V>,
}

impl<V: Data> Paced<V> {
    fn release(&mut self, ctx: &mut Ctx<'_, V>) -> Retention {
        let now = ctx.now();
        while let Some((due, _)) = self.waiting.queue.front() {
            let due = match (self.spacing, self.waiting.last) {
                (true, Some(last)) => last + self.interval,
                (true, None) => now,
                (false, _) => *due,
            };
            if due > now {
                break;
            }
            let (_, value) = self.waiting.queue.pop_front().expect("checked above");
            ctx.emit(value);
            self.waiting.last = Some(now);
        }
        // A rate-limited key is forgotten once its interval after the last value passed.
        let spaced_out = self.waiting.last.is_none_or(|last| last + self.interval <= now);
        match self.waiting.queue.is_empty() && (!self.spacing || spaced_out) {
            true => Retention::Discard,
            false => Retention::Keep,
        }
    }
}

impl<V: Data> KeyedProcess for Paced<V> {
    type In = V;
    type Out = V;
    type State = Waiting<V>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, V>, value: V) -> Retention {
        let due = ctx.now() + self.interval;
        self.waiting.queue.push_back((due, value));
        self.release(ctx)
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, V>) -> Retention {
        self.release(ctx)
    }

    /// At the end of the input the values still waiting are emitted at once: nothing is
    /// dropped.
    fn on_eof(&mut self, ctx: &mut Ctx<'_, V>) -> Retention {
        for (_, value) in self.waiting.queue.drain(..) {
            ctx.emit(value);
        }
        Retention::Discard
    }

    fn processing_timer(&self) -> Option<SystemTime> {
        let Some((due, _)) = self.waiting.queue.front() else {
            // A rate-limited key is called once more when it may be forgotten.
            return self
                .waiting
                .last
                .filter(|_| self.spacing)
                .map(|last| last + self.interval);
        };
        Some(match (self.spacing, self.waiting.last) {
            (true, Some(last)) => last + self.interval,
            (true, None) => SystemTime::UNIX_EPOCH,
            (false, _) => *due,
        })
    }

    fn snapshot(&self) -> Waiting<V> {
        self.waiting.clone()
    }
}

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Gathers each key's values for `interval` of processing time from its first value,
    /// then emits them as a list (streamz's `timed_window`). The same as
    /// [`collect`](KeyedStream::collect) with no size bound.
    pub fn timed_window(&self, step_id: &str, interval: Duration) -> KeyedStream<Vec<V>, K> {
        self.collect(step_id, interval, usize::MAX)
    }

    /// Emits each value `interval` of processing time after it arrived, in order per key.
    /// At the end of the input, values still waiting are emitted at once.
    pub fn delay(&self, step_id: &str, interval: Duration) -> KeyedStream<V, K> {
        self.paced(step_id, "delay", interval, false)
    }

    /// Emits at most one value per `interval` of processing time per key, in order; values
    /// wait, none is dropped (at the end of the input the waiting ones are emitted at once).
    /// To limit the whole stream, key every item alike.
    pub fn rate_limit(&self, step_id: &str, interval: Duration) -> KeyedStream<V, K> {
        self.paced(step_id, "rate_limit", interval, true)
    }

    fn paced(
        &self,
        step_id: &str,
        kind: &'static str,
        interval: Duration,
        spacing: bool,
    ) -> KeyedStream<V, K> {
        self.process_as(step_id, kind, move |resume: Option<Waiting<V>>| Paced {
            interval,
            spacing,
            waiting: resume.unwrap_or(Waiting {
                queue: VecDeque::new(),
                last: None,
            }),
        })
    }
}
