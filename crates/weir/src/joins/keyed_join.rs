//! `join`: a keyed join of two streams with bytewax's insert and emit modes.

use serde::{Deserialize, Serialize};

use crate::dataflow::flow::EventTimeRole;
use crate::joins::two_sides::{Side, two_sided_step};
use crate::joins::{JoinEmit, JoinInsert, JoinKind, JoinSpec};
use crate::operators::{Ctx, KeyedProcess, Retention};
use crate::{Data, Key, KeyedStream};

/// The values a key holds per side.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Held<L, R> {
    lefts: Vec<L>,
    rights: Vec<R>,
}

/// One key's join.
struct KeyJoin<L, R> {
    spec: JoinSpec,
    held: Held<L, R>,
}

fn insert<T>(values: &mut Vec<T>, value: T, mode: JoinInsert) {
    match mode {
        JoinInsert::First if !values.is_empty() => {}
        JoinInsert::First | JoinInsert::Product => values.push(value),
        JoinInsert::Last => {
            values.clear();
            values.push(value);
        }
    }
}

/// The side's values, or one `None` if it has none (for outer joins).
fn or_none<T: Clone>(values: &[T]) -> Vec<Option<T>> {
    match values.is_empty() {
        true => vec![None],
        false => values.iter().cloned().map(Some).collect(),
    }
}

impl<L: Data, R: Data> KeyJoin<L, R> {
    /// Whether the sides the join kind needs are present.
    fn ready(&self) -> bool {
        let (l, r) = (!self.held.lefts.is_empty(), !self.held.rights.is_empty());
        match self.spec.kind {
            JoinKind::Inner => l && r,
            JoinKind::Left => l,
            JoinKind::FullOuter => l || r,
        }
    }

    /// Emits every combination of the held values.
    fn emit_all(&self, ctx: &mut Ctx<'_, (Option<L>, Option<R>)>) {
        let rights = or_none(&self.held.rights);
        for left in or_none(&self.held.lefts) {
            for right in &rights {
                ctx.emit((left.clone(), right.clone()));
            }
        }
    }

    fn retention(&self) -> Retention {
        match self.held.lefts.is_empty() && self.held.rights.is_empty() {
            true => Retention::Discard,
            false => Retention::Keep,
        }
    }
}

impl<L: Data, R: Data> KeyedProcess for KeyJoin<L, R> {
    type In = Side<L, R>;
    type Out = (Option<L>, Option<R>);
    type State = Held<L, R>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, Self::Out>, value: Side<L, R>) -> Retention {
        match value {
            Side::Left(l) => insert(&mut self.held.lefts, l, self.spec.insert),
            Side::Right(r) => insert(&mut self.held.rights, r, self.spec.insert),
        }
        match self.spec.emit {
            JoinEmit::Complete if self.ready() => {
                self.emit_all(ctx);
                self.held.lefts.clear();
                self.held.rights.clear();
            }
            JoinEmit::Running if self.ready() => self.emit_all(ctx),
            _ => {}
        }
        self.retention()
    }

    fn on_eof(&mut self, ctx: &mut Ctx<'_, Self::Out>) -> Retention {
        if self.spec.emit == JoinEmit::Final && self.ready() {
            self.emit_all(ctx);
            return Retention::Discard;
        }
        Retention::Keep
    }

    fn snapshot(&self) -> Held<L, R> {
        self.held.clone()
    }
}

impl<K: Key, L: Data> KeyedStream<L, K> {
    /// Joins this stream with `right` by key, as `spec` says: which values a key keeps
    /// per side ([`JoinInsert`]), when it emits ([`JoinEmit`]), and which sides must be
    /// present ([`JoinKind`]). Emits `(left, right)`; a side is `None` only in an outer
    /// join. Keys are routed to workers like every keyed step; the held values are
    /// snapshotted with the key.
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
            move |resume: Option<Held<L, R>>| KeyJoin {
                spec,
                held: resume.unwrap_or(Held {
                    lefts: Vec::new(),
                    rights: Vec::new(),
                }),
            },
        )
    }
}
