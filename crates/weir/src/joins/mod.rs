//! Joins: keyed joins of two streams with bytewax's modes, and the as-of (temporal) join
//! over event time.
//!
//! Joins are keyed (partitioned): both sides are routed by key to the worker owning it,
//! where one stateful core holds the key's values of both sides and snapshots them.

mod as_of;
mod keyed_join;
pub(crate) mod two_sides;
mod zips;

pub use as_of::AsOf;

/// Which values a key keeps per side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinInsert {
    /// The first value of a side; later ones are ignored.
    First,
    /// The latest value of a side.
    Last,
    /// Every value of a side: emits the cross product.
    Product,
    /// Every value of a side until it is part of an emitted combination, then none of them:
    /// for the many side of a one-to-many join whose one side arrives once (see
    /// [`JoinSpec::insert_right`]), its state stays small.
    UntilJoined,
}

/// When a key emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinEmit {
    /// Once the sides the kind needs are present; then the key starts afresh.
    Complete,
    /// At the end of the input, if the sides the kind needs are present.
    Final,
    /// After every value, once the sides the kind needs are present (the key keeps its
    /// values).
    Running,
    /// After every value the key keeps, the combinations it makes with the values held on
    /// the other sides, once the sides the kind needs are present: each combination once,
    /// when its last value arrives (the key keeps its values). With
    /// [`JoinInsert::Product`] this is a streaming inner join. (In an outer join a value
    /// emitted with `None` is not taken back when the other side arrives.)
    New,
}

/// Which sides must be present to emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Both.
    Inner,
    /// The left one (the right one is `None` if absent).
    Left,
    /// Either (the absent one is `None`).
    FullOuter,
}

/// How a [`join`](crate::KeyedStream::join) combines its sides. Defaults: keep the last
/// value per side, emit once complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinSpec {
    pub(crate) kind: JoinKind,
    pub(crate) insert: JoinInsert,
    /// The right side's insert mode, if not `insert`.
    pub(crate) insert_right: Option<JoinInsert>,
    pub(crate) emit: JoinEmit,
}

impl JoinSpec {
    fn of(kind: JoinKind) -> Self {
        JoinSpec {
            kind,
            insert: JoinInsert::Last,
            insert_right: None,
            emit: JoinEmit::Complete,
        }
    }

    /// An inner join: emits when both sides are present.
    pub fn inner() -> Self {
        Self::of(JoinKind::Inner)
    }

    /// A left outer join: emits when the left side is present.
    pub fn left() -> Self {
        Self::of(JoinKind::Left)
    }

    /// A full outer join: emits when either side is present.
    pub fn full_outer() -> Self {
        Self::of(JoinKind::FullOuter)
    }

    /// Which values a key keeps per side.
    pub fn insert(mut self, insert: JoinInsert) -> Self {
        self.insert = insert;
        self
    }

    /// Which values a key keeps of the right side (the second stream) of a two-stream
    /// join, if not what [`insert`](Self::insert) says: for example the first auction and
    /// each bid only until it joined it (`insert(First).insert_right(UntilJoined)`). In
    /// [`join_all`](crate::KeyedStream::join_all) it is the first of the other streams.
    pub fn insert_right(mut self, insert: JoinInsert) -> Self {
        self.insert_right = Some(insert);
        self
    }

    /// The insert mode of side `side` (0: left).
    pub(crate) fn insert_of(&self, side: usize) -> JoinInsert {
        match (side, self.insert_right) {
            (1, Some(insert)) => insert,
            _ => self.insert,
        }
    }

    /// When a key emits.
    pub fn emit(mut self, emit: JoinEmit) -> Self {
        self.emit = emit;
        self
    }
}
