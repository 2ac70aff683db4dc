//! `join` and `join_all`: keyed joins of two or more streams with bytewax's insert and emit
//! modes.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use timely::dataflow::operators::core::Concatenate;
use timely::dataflow::operators::vec::Map;

use crate::dataflow::flow::EventTimeRole;
use crate::engine::BuildCtx;
use crate::joins::two_sides::{Side, keyed_spec, two_sided_step};
use crate::joins::{JoinEmit, JoinInsert, JoinKind, JoinSpec};
use crate::operators::stateful::stateful_operator;
use crate::operators::{Ctx, KeyedProcess, Retention};
use crate::{Data, Key, KeyedStream, Stream};

/// The values a key holds per side.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Held<V> {
    sides: Vec<Vec<V>>,
}

/// One key's join of `sides` inputs, whose values arrive tagged with their side.
struct KeyJoin<V> {
    spec: JoinSpec,
    held: Held<V>,
}

/// Keeps `value` as `mode` says; whether it was kept.
fn insert<T>(values: &mut Vec<T>, value: T, mode: JoinInsert) -> bool {
    match mode {
        JoinInsert::First if !values.is_empty() => return false,
        JoinInsert::First | JoinInsert::Product | JoinInsert::UntilJoined => values.push(value),
        JoinInsert::Last => {
            values.clear();
            values.push(value);
        }
    }
    true
}

impl<V: Data> KeyJoin<V> {
    /// A key's join of `sides` streams, resuming from `resume`. A join resumed with more
    /// streams than it had starts the new ones empty; with fewer, forgets the values of the
    /// streams it no longer has (the last ones).
    fn new(spec: JoinSpec, sides: usize, resume: Option<Held<V>>) -> Self {
        let mut held = resume.unwrap_or(Held { sides: Vec::new() });
        held.sides.resize_with(sides, Vec::new);
        KeyJoin { spec, held }
    }

    /// Whether the sides the join kind needs are present (the first is the left one).
    fn ready(&self) -> bool {
        let sides = &self.held.sides;
        match self.spec.kind {
            JoinKind::Inner => sides.iter().all(|s| !s.is_empty()),
            JoinKind::Left => !sides[0].is_empty(),
            JoinKind::FullOuter => sides.iter().any(|s| !s.is_empty()),
        }
    }

    /// Emits every combination of the held values, a side without any as `None`; with
    /// `only`, a side index, just those with that side's last value.
    fn emit_all(&self, ctx: &mut Ctx<'_, Vec<Option<V>>>, only: Option<usize>) {
        let mut combinations: Vec<Vec<Option<V>>> = vec![Vec::new()];
        for (index, side) in self.held.sides.iter().enumerate() {
            let choices: Vec<Option<V>> = match (side.last(), only == Some(index)) {
                (None, _) => vec![None],
                (Some(last), true) => vec![Some(last.clone())],
                (Some(_), false) => side.iter().cloned().map(Some).collect(),
            };
            combinations = combinations
                .into_iter()
                .flat_map(|prefix| {
                    choices.iter().map(move |choice| {
                        let mut combination = prefix.clone();
                        combination.push(choice.clone());
                        combination
                    })
                })
                .collect();
        }
        combinations.into_iter().for_each(|c| ctx.emit(c));
    }

    /// Drops the values of `UntilJoined` sides that were in the combinations just emitted:
    /// with `only` (the side whose new value was emitted), that side's new value and the
    /// other sides' values.
    fn forget_joined(&mut self, only: Option<usize>) {
        for (index, side) in self.held.sides.iter_mut().enumerate() {
            if self.spec.insert_of(index) != JoinInsert::UntilJoined {
                continue;
            }
            match only == Some(index) {
                true => {
                    side.pop();
                }
                false => side.clear(),
            }
        }
    }

    /// Whether forgetting after the new value of `side` joined forgets that value and
    /// nothing else: its side keeps values only until joined, and no other such side holds
    /// any.
    fn forgets_only(&self, side: usize) -> bool {
        self.spec.insert_of(side) == JoinInsert::UntilJoined && self.forgets_nothing_but(Some(side))
    }

    /// Whether no side that keeps values until joined holds any, `except` aside.
    fn forgets_nothing_but(&self, except: Option<usize>) -> bool {
        (self.held.sides.iter().enumerate()).all(|(index, values)| {
            Some(index) == except
                || self.spec.insert_of(index) != JoinInsert::UntilJoined
                || values.is_empty()
        })
    }

    fn retention(&self) -> Retention {
        match self.held.sides.iter().all(Vec::is_empty) {
            true => Retention::Discard,
            false => Retention::Keep,
        }
    }
}

impl<V: Data> KeyedProcess for KeyJoin<V> {
    type In = (usize, V);
    type Out = Vec<Option<V>>;
    type State = Held<V>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, Self::Out>, (side, value): (usize, V)) -> Retention {
        let kept = insert(&mut self.held.sides[side], value, self.spec.insert_of(side));
        // Whether the state ends as it was: nothing kept, or a value forgotten as soon as
        // it joined while no other side held values to forget.
        let mut unchanged = !kept;
        // Which combinations were emitted: all (`Some(None)`), or those of the new value.
        let emitted = match self.spec.emit {
            JoinEmit::Complete if self.ready() => {
                self.emit_all(ctx, None);
                self.held.sides.iter_mut().for_each(Vec::clear);
                unchanged = false;
                None
            }
            JoinEmit::Running if self.ready() => Some(None),
            JoinEmit::New if kept && self.ready() => Some(Some(side)),
            _ => None,
        };
        if let Some(only) = emitted {
            unchanged = match only {
                Some(side) => self.forgets_only(side),
                None => unchanged && self.forgets_nothing_but(None),
            };
            self.emit_all(ctx, only);
            self.forget_joined(only);
        }
        match self.retention() {
            Retention::Keep if unchanged => Retention::Unchanged,
            retention => retention,
        }
    }

    fn on_eof(&mut self, ctx: &mut Ctx<'_, Self::Out>) -> Retention {
        if self.spec.emit == JoinEmit::Final && self.ready() {
            self.emit_all(ctx, None);
            self.forget_joined(None);
            return Retention::Discard;
        }
        Retention::Unchanged
    }

    fn snapshot(&self) -> Held<V> {
        self.held.clone()
    }
}

/// The two-sided join with typed sides: the same logic over `Side` values, its
/// combinations turned into pairs.
struct PairJoin<L, R>(KeyJoin<Side<L, R>>);

impl<L: Data, R: Data> PairJoin<L, R> {
    /// Runs `call` on the inner join and emits its combinations as pairs.
    fn pairs(
        &mut self,
        ctx: &mut Ctx<'_, (Option<L>, Option<R>)>,
        call: impl FnOnce(&mut KeyJoin<Side<L, R>>, &mut Ctx<'_, Vec<Option<Side<L, R>>>>) -> Retention,
    ) -> Retention {
        let mut combinations = Vec::new();
        let mut inner = Ctx {
            out: &mut combinations,
            epoch: ctx.epoch,
            watermark: ctx.watermark,
            now: ctx.now,
        };
        let retention = call(&mut self.0, &mut inner);
        for mut combination in combinations {
            let right = combination.pop().flatten().and_then(Side::into_right);
            let left = combination.pop().flatten().and_then(Side::into_left);
            ctx.emit((left, right));
        }
        retention
    }
}

impl<L: Data, R: Data> KeyedProcess for PairJoin<L, R> {
    type In = Side<L, R>;
    type Out = (Option<L>, Option<R>);
    type State = Held<Side<L, R>>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, Self::Out>, value: Side<L, R>) -> Retention {
        let side = match value {
            Side::Left(_) => 0,
            Side::Right(_) => 1,
        };
        self.pairs(ctx, |join, inner| join.on_item(inner, (side, value)))
    }

    fn on_eof(&mut self, ctx: &mut Ctx<'_, Self::Out>) -> Retention {
        self.pairs(ctx, |join, inner| join.on_eof(inner))
    }

    fn snapshot(&self) -> Held<Side<L, R>> {
        self.0.snapshot()
    }
}

impl<K: Key, L: Data> KeyedStream<L, K> {
    /// Joins this stream with `right` by key, as `spec` says: which values a key keeps
    /// per side ([`JoinInsert`]), when it emits ([`JoinEmit`]), and which sides must be
    /// present ([`JoinKind`]). Emits `(left, right)`; a side is `None` only in an outer
    /// join. Keys are routed to workers like every keyed step; the held values are
    /// snapshotted with the key. For more than two streams, see
    /// [`join_all`](KeyedStream::join_all).
    ///
    /// ```
    /// use weir::joins::JoinSpec;
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("join");
    /// let out = TestingSink::new();
    /// let names = flow.input("names", TestingSource::new(vec![(1u32, "ann".to_string())]))
    ///     .key_on("by_id", |(id, _)| *id)
    ///     .map_value("name", |(_, name)| name);
    /// let emails = flow.input("emails", TestingSource::new(vec![(1u32, "a@x".to_string())]))
    ///     .key_on("by_id_too", |(id, _)| *id)
    ///     .map_value("email", |(_, email)| email);
    /// names.join("join", &emails, JoinSpec::inner()).output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![(1, (Some("ann".to_string()), Some("a@x".to_string())))]);
    /// ```
    pub fn join<R: Data>(
        &self,
        step_id: &str,
        right: &KeyedStream<R, K>,
        spec: JoinSpec,
    ) -> KeyedStream<(Option<L>, Option<R>), K> {
        two_sided_step(
            self,
            right,
            step_id,
            "join",
            EventTimeRole::Unrelated,
            move |resume| PairJoin(KeyJoin::new(spec, 2, resume)),
        )
    }

    /// Joins this stream with `others` (values of one type: use an enum for different
    /// ones) by key, as [`join`](KeyedStream::join) does two: emits one list per
    /// combination, a value per stream in order (this one first), `None` for a stream
    /// without one in an outer join; [`JoinKind::Left`] needs this stream's value.
    pub fn join_all(
        &self,
        step_id: &str,
        others: &[&KeyedStream<L, K>],
        spec: JoinSpec,
    ) -> KeyedStream<Vec<Option<L>>, K> {
        let sides = others.len() + 1;
        let ports = std::iter::once(self.port())
            .chain(others.iter().map(|s| s.port()))
            .collect();
        let step_spec = keyed_spec::<K>(ports, "join_all", 1, EventTimeRole::Unrelated);
        let builder = Arc::new(move |resume| KeyJoin::new(spec, sides, resume));
        let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
            let tagged: Vec<_> = (0..sides)
                .map(|side| ctx.input::<(K, L)>(side).map(move |(k, v)| (k, (side, v))))
                .collect();
            let all = ctx.scope().concatenate(tagged);
            let out = stateful_operator(ctx, all, builder.clone());
            ctx.set_output(0, out);
        });
        let port = self.graph().borrow_mut().add(step_id, step_spec, build)[0];
        Stream::from_port(self.graph().clone(), port)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    /// A call context at epoch 0 emitting into `out`.
    fn ctx<O>(out: &mut Vec<O>) -> Ctx<'_, O> {
        Ctx {
            out,
            epoch: 0,
            watermark: 0,
            now: SystemTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_join_resumed_with_another_number_of_streams_adapts_its_sides() {
        let held = Held {
            sides: vec![vec![1], vec![2]],
        };
        let spec = JoinSpec::inner().emit(JoinEmit::Running);
        let mut join = KeyJoin::new(spec, 3, Some(held.clone()));
        let mut out = Vec::new();
        let mut ctx = ctx(&mut out);
        join.on_item(&mut ctx, (2, 3));
        assert_eq!(out, vec![vec![Some(1), Some(2), Some(3)]]);
        assert_eq!(KeyJoin::new(spec, 1, Some(held)).held.sides, vec![vec![1]]);
    }

    #[test]
    fn a_join_says_unchanged_only_when_its_held_values_are_as_they_were() {
        // Left: the first value; right: values until joined; each new pair once.
        let spec = JoinSpec::inner()
            .insert(JoinInsert::First)
            .insert_right(JoinInsert::UntilJoined)
            .emit(JoinEmit::New);
        let mut join = KeyJoin::new(spec, 2, None);
        let mut out = Vec::new();
        let mut ctx = ctx(&mut out);
        // A right value waits: changed. The left one joins it and forgets it: changed.
        assert_eq!(join.on_item(&mut ctx, (1, 10)), Retention::Keep);
        assert_eq!(join.on_item(&mut ctx, (0, 1)), Retention::Keep);
        // A right value joins at once and is forgotten; a second left value is not kept.
        assert_eq!(join.on_item(&mut ctx, (1, 11)), Retention::Unchanged);
        assert_eq!(join.on_item(&mut ctx, (0, 2)), Retention::Unchanged);
        assert_eq!(join.on_eof(&mut ctx), Retention::Unchanged);
        assert_eq!(out, vec![vec![Some(1), Some(10)], vec![Some(1), Some(11)]]);
        assert_eq!(join.held.sides, vec![vec![1], vec![]]);
    }
}
