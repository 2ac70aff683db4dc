//! `join_window`: a keyed join of two streams within each event-time window.

use std::sync::Arc;

use crate::dataflow::flow::EventTimeRole;
use crate::engine::BuildCtx;
use crate::joins::JoinKind;
use crate::joins::two_sides::{Side, tagged_inputs, two_input_spec};
use crate::windows::key_windows::WindowSpec;
use crate::windows::operators::{split_events, window_events};
use crate::windows::{WindowOut, Windower};
use crate::{Data, Key, KeyedStream, Stream, Timestamp};

/// A window's values of each side.
type Sides<L, R> = (Vec<L>, Vec<R>);

/// A joined pair; a side is `None` in an outer join (or, for a late item, the other side).
pub type Joined<L, R> = (Option<L>, Option<R>);

/// Every `(left, right)` combination of a window's values that `kind` emits.
fn combinations<L: Clone, R: Clone>((lefts, rights): Sides<L, R>, kind: JoinKind) -> Vec<Joined<L, R>> {
    let emits = match kind {
        JoinKind::Inner => !lefts.is_empty() && !rights.is_empty(),
        JoinKind::Left => !lefts.is_empty(),
        JoinKind::FullOuter => true,
    };
    if !emits {
        return Vec::new();
    }
    let lefts: Vec<Option<L>> = match lefts.is_empty() {
        true => vec![None],
        false => lefts.into_iter().map(Some).collect(),
    };
    let rights: Vec<Option<R>> = match rights.is_empty() {
        true => vec![None],
        false => rights.into_iter().map(Some).collect(),
    };
    lefts
        .iter()
        .flat_map(|l| rights.iter().map(move |r| (l.clone(), r.clone())))
        .collect()
}

impl<K: Key, L: Data> KeyedStream<L, K> {
    /// Joins this stream with `right` within each window of `windower`, per key: when a
    /// window closes, emits every `(left, right)` combination of its values that `kind`
    /// asks for (inner: both sides present; left: a left value, with `None` if no right;
    /// full outer: either). Values are stamped by `left_ts` and `right_ts`; the late and
    /// metadata streams are those of every window step (late items are `Side` values as
    /// `(Option<L>, Option<R>)` with one side set).
    pub fn join_window<R: Data>(
        &self,
        step_id: &str,
        right: &KeyedStream<R, K>,
        left_ts: impl Fn(&L) -> Timestamp + Send + Sync + 'static,
        right_ts: impl Fn(&R) -> Timestamp + Send + Sync + 'static,
        windower: Windower,
        kind: JoinKind,
    ) -> WindowOut<Vec<Joined<L, R>>, Joined<L, R>, K> {
        let spec = Arc::new(WindowSpec::<Side<L, R>, Sides<L, R>, Vec<Joined<L, R>>> {
            windower,
            timestamp: Box::new(move |side: &Side<L, R>| match side {
                Side::Left(l) => left_ts(l),
                Side::Right(r) => right_ts(r),
            }),
            init: Box::new(|| (Vec::new(), Vec::new())),
            fold: Box::new(|(lefts, rights): &mut Sides<L, R>, side, _| match side {
                Side::Left(l) => lefts.push(l),
                Side::Right(r) => rights.push(r),
            }),
            merge: Box::new(|(mut l1, mut r1), (l2, r2)| {
                l1.extend(l2);
                r1.extend(r2);
                (l1, r1)
            }),
            finish: Box::new(move |sides, _| combinations(sides, kind)),
        });
        let step_spec = two_input_spec(self, right, "join_window", 3, EventTimeRole::NeedsClock);
        let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
            let both = tagged_inputs::<K, L, R>(ctx);
            let events = window_events(ctx, both, spec.clone());
            let as_pairs = timely::dataflow::operators::vec::Map::map(events, |(k, event)| {
                (k, event.map_late(Side::into_pair))
            });
            split_events::<K, Vec<Joined<L, R>>, Joined<L, R>>(ctx, as_pairs);
        });
        let ports = self.graph().borrow_mut().add(step_id, step_spec, build);
        let graph = self.graph().clone();
        WindowOut {
            down: Stream::from_port(graph.clone(), ports[0]),
            late: Stream::from_port(graph.clone(), ports[1]),
            meta: Stream::from_port(graph, ports[2]),
        }
    }
}
