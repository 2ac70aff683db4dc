//! `sort_by_time`: each key's values in timestamp order, as the watermark passes them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dataflow::flow::EventTimeRole;
use crate::engine::passed;
use crate::operators::stateful::stateful_operator;
use crate::operators::{Ctx, KeyedProcess, Retention};
use crate::{Data, Key, KeyedStream, Timestamp};

/// A key's values not yet passed by the watermark, by timestamp.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Unsorted<V>(Vec<(Timestamp, V)>);

struct KeySort<V> {
    timestamp: Arc<dyn Fn(&V) -> Timestamp + Send + Sync>,
    held: Unsorted<V>,
}

impl<V: Data> KeyedProcess for KeySort<V> {
    type In = V;
    type Out = V;
    type State = Unsorted<V>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, V>, value: V) -> Retention {
        let ts = (self.timestamp)(&value);
        if passed(ctx.watermark(), ts) {
            // Too late to be put in order (only behind a stateful step): passed on at once.
            ctx.emit(value);
        } else {
            let held = &mut self.held.0;
            let at = held.partition_point(|(t, _)| *t <= ts);
            held.insert(at, (ts, value));
        }
        self.retention()
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, V>) -> Retention {
        let watermark = ctx.watermark();
        let due = self.held.0.partition_point(|(ts, _)| passed(watermark, *ts));
        for (_, value) in self.held.0.drain(..due) {
            ctx.emit(value);
        }
        self.retention()
    }

    fn event_timer(&self) -> Option<Timestamp> {
        self.held.0.first().map(|(ts, _)| ts.saturating_add(1))
    }

    fn snapshot(&self) -> Unsorted<V> {
        self.held.clone()
    }
}

impl<V> KeySort<V> {
    fn retention(&self) -> Retention {
        match self.held.0.is_empty() {
            true => Retention::Discard,
            false => Retention::Keep,
        }
    }
}

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Emits each key's values in timestamp order (equal timestamps in arrival order),
    /// each once the watermark has passed it — when no earlier on-time value can arrive.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::inputs::EventClock;
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("sort");
    /// let out = TestingSink::new();
    /// let clock = EventClock::new(|x: &i64| *x, Duration::from_millis(10));
    /// flow.input_with_clock("in", TestingSource::new(vec![5, 1, 9, 3, 20]), clock)
    ///     .on_time
    ///     .key_on("all", |_| ())
    ///     .sort_by_time("sorted", |x: &i64| *x)
    ///     .key_rm("unkey")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![1, 3, 5, 9, 20]);
    /// ```
    pub fn sort_by_time(
        &self,
        step_id: &str,
        timestamp: impl Fn(&V) -> Timestamp + Send + Sync + 'static,
    ) -> KeyedStream<V, K> {
        let timestamp: Arc<dyn Fn(&V) -> Timestamp + Send + Sync> = Arc::new(timestamp);
        let builder = Arc::new(move |resume: Option<Unsorted<V>>| KeySort {
            timestamp: timestamp.clone(),
            held: resume.unwrap_or(Unsorted(Vec::new())),
        });
        self.keyed_state_step(
            step_id,
            "sort_by_time",
            EventTimeRole::NeedsClock,
            move |ctx, input| stateful_operator(ctx, input, builder.clone()),
        )
    }
}
