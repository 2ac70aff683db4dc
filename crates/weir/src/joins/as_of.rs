//! `join_as_of`: each left item joined with the latest right value at or before its
//! timestamp, emitted once the watermark has passed that timestamp.

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::dataflow::flow::EventTimeRole;
use crate::engine::passed;
use crate::joins::two_sides::{Side, two_sided_step};
use crate::operators::{Ctx, KeyedProcess, Retention};
use crate::{Data, Key, KeyedStream, Timestamp};

/// A left item of an as-of join with the right value it was joined with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsOf<L, R> {
    /// The left item.
    pub left: L,
    /// Its event time.
    pub timestamp: Timestamp,
    /// The latest right value at or before `timestamp`, if any.
    pub right: Option<R>,
    /// The right value's event time.
    pub right_timestamp: Option<Timestamp>,
    /// No right value, or one older than the staleness bound: the right side was silent
    /// too long before this item.
    pub stale: bool,
}

struct AsOfSpec<L, R> {
    left_ts: Box<dyn Fn(&L) -> Timestamp + Send + Sync>,
    right_ts: Box<dyn Fn(&R) -> Timestamp + Send + Sync>,
    staleness: Option<Timestamp>,
}

/// A key's left items waiting for the watermark, and the right values they may need, both
/// by timestamp.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Timeline<L, R> {
    pending: Vec<(Timestamp, L)>,
    rights: Vec<(Timestamp, R)>,
}

struct KeyAsOf<L, R> {
    spec: Arc<AsOfSpec<L, R>>,
    line: Timeline<L, R>,
}

/// Inserts after every element at or before `ts`, keeping arrival order among equals.
fn insert_sorted<T>(items: &mut Vec<(Timestamp, T)>, ts: Timestamp, item: T) {
    let at = items.partition_point(|(t, _)| *t <= ts);
    items.insert(at, (ts, item));
}

impl<L: Data, R: Data> KeyAsOf<L, R> {
    fn join(&self, ts: Timestamp, left: L) -> AsOf<L, R> {
        let at = self.line.rights.partition_point(|(t, _)| *t <= ts);
        let right = at.checked_sub(1).map(|i| self.line.rights[i].clone());
        let stale = match (&right, self.spec.staleness) {
            (None, _) => true,
            (Some((rts, _)), Some(bound)) => ts.saturating_sub(*rts) > bound,
            (Some(_), None) => false,
        };
        AsOf {
            left,
            timestamp: ts,
            right_timestamp: right.as_ref().map(|(t, _)| *t),
            right: right.map(|(_, r)| r),
            stale,
        }
    }

    /// Keeps of the right values only those a pending or later left item can need: the
    /// latest at or before the earliest such item's time (pending ones, and on-time ones
    /// to come, which are at or after the watermark), and every later one.
    fn forget_unneeded_rights(&mut self, watermark: Timestamp) {
        let horizon = self
            .line
            .pending
            .first()
            .map_or(watermark, |(ts, _)| (*ts).min(watermark));
        let needed = self.line.rights.partition_point(|(t, _)| *t <= horizon);
        if needed > 1 {
            self.line.rights.drain(..needed - 1);
        }
    }

    fn retention(&self) -> Retention {
        match self.line.pending.is_empty() && self.line.rights.is_empty() {
            true => Retention::Discard,
            false => Retention::Keep,
        }
    }
}

impl<L: Data, R: Data> KeyedProcess for KeyAsOf<L, R> {
    type In = Side<L, R>;
    type Out = AsOf<L, R>;
    type State = Timeline<L, R>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, AsOf<L, R>>, value: Side<L, R>) -> Retention {
        match value {
            Side::Left(left) => {
                let ts = (self.spec.left_ts)(&left);
                if passed(ctx.watermark(), ts) {
                    // Arrived after the watermark passed it (only through a stateful step
                    // in between): joined with what is known now.
                    let joined = self.join(ts, left);
                    ctx.emit(joined);
                } else {
                    insert_sorted(&mut self.line.pending, ts, left);
                }
            }
            Side::Right(right) => {
                let ts = (self.spec.right_ts)(&right);
                insert_sorted(&mut self.line.rights, ts, right);
                self.forget_unneeded_rights(ctx.watermark());
            }
        }
        self.retention()
    }

    /// Joins the left items the watermark has passed, then forgets right values no later
    /// item can need (all but the latest at or before the watermark).
    fn on_timer(&mut self, ctx: &mut Ctx<'_, AsOf<L, R>>) -> Retention {
        let watermark = ctx.watermark();
        let due = self
            .line
            .pending
            .partition_point(|(ts, _)| passed(watermark, *ts));
        let ready: Vec<(Timestamp, L)> = self.line.pending.drain(..due).collect();
        for (ts, left) in ready {
            let joined = self.join(ts, left);
            ctx.emit(joined);
        }
        self.forget_unneeded_rights(watermark);
        self.retention()
    }

    fn event_timer(&self) -> Option<Timestamp> {
        self.line.pending.first().map(|(ts, _)| ts.saturating_add(1))
    }

    fn snapshot(&self) -> Timeline<L, R> {
        self.line.clone()
    }
}

impl<K: Key, L: Data> KeyedStream<L, K> {
    /// The as-of (temporal) join: each left item is joined with the latest `right` value of
    /// its key at or before its timestamp, and emitted once the watermark has passed that
    /// timestamp — so a stalled right stream holds results back instead of joining stale
    /// data. With `staleness`, an item whose right value is older than that (or missing)
    /// is marked [`stale`](AsOf::stale). A key keeps its latest right value for later items.
    ///
    /// The watermark is the step's: the least over the clocked sources of both sides.
    pub fn join_as_of<R: Data>(
        &self,
        step_id: &str,
        right: &KeyedStream<R, K>,
        left_ts: impl Fn(&L) -> Timestamp + Send + Sync + 'static,
        right_ts: impl Fn(&R) -> Timestamp + Send + Sync + 'static,
        staleness: Option<Duration>,
    ) -> KeyedStream<AsOf<L, R>, K> {
        let spec = Arc::new(AsOfSpec {
            left_ts: Box::new(left_ts),
            right_ts: Box::new(right_ts),
            staleness: staleness.map(|d| Timestamp::try_from(d.as_millis()).unwrap_or(Timestamp::MAX)),
        });
        two_sided_step(
            self,
            right,
            step_id,
            "join_as_of",
            EventTimeRole::NeedsClock,
            move |resume| KeyAsOf {
                spec: spec.clone(),
                line: resume.unwrap_or(Timeline {
                    pending: Vec::new(),
                    rights: Vec::new(),
                }),
            },
        )
    }
}
