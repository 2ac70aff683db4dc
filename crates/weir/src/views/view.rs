//! `View<K, V>`: an incrementally maintained collection of `(key, value)` records, and the
//! record-at-a-time steps on it.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::Arc;

use differential_dataflow::{AsCollection, VecCollection};

use crate::Data;
use crate::dataflow::Stream;
use crate::dataflow::flow::{StepSpec, add_step};
use crate::engine::{BuildCtx, StepCtx, Time, in_step};

/// One update of a view: a record, the time it happens at (`(epoch, u64::MAX)`), and how
/// many times it enters (positive) or leaves (negative) the view.
pub(crate) type Update<K, V> = ((K, V), Time, isize);

/// A view's records, as differential sees them inside one step's build.
pub(crate) type Records<'s, K, V> = VecCollection<'s, Time, (K, V)>;

/// What a view's keys and values must be: weir data that can be ordered, hashed and printed
/// (differential sorts and hashes records to consolidate and route them).
pub trait ViewData: Data + Ord + Hash + Debug {}

impl<T: Data + Ord + Hash + Debug> ViewData for T {}

/// An incrementally maintained collection of `(key, value)` records with multiplicities,
/// made from keyed streams by [`as_table`](crate::Stream::as_table),
/// [`as_collection`](crate::Stream::as_collection) or
/// [`as_changes`](crate::Stream::as_changes), and read back as its net changes per epoch by
/// [`changelog`](View::changelog), [`upserts`](View::upserts) or [`rows`](View::rows). See
/// the [module docs](crate::views) for when to use one.
pub struct View<K, V> {
    updates: Stream<Update<K, V>>,
}

impl<K, V> Clone for View<K, V> {
    fn clone(&self) -> Self {
        View {
            updates: self.updates.clone(),
        }
    }
}

impl<K: ViewData, V: ViewData> View<K, V> {
    pub(crate) fn from_updates(updates: Stream<Update<K, V>>) -> Self {
        View { updates }
    }

    pub(crate) fn updates(&self) -> &Stream<Update<K, V>> {
        &self.updates
    }

    /// Adds a step from this view's records to another view's, built by `build`.
    pub(crate) fn view_step<K2: ViewData, V2: ViewData>(
        &self,
        step_id: &str,
        kind: &'static str,
        build: impl for<'s> Fn(&StepCtx, Records<'s, K, V>) -> Records<'s, K2, V2> + Send + Sync + 'static,
    ) -> View<K2, V2> {
        let updates = self.updates.unary_step(step_id, kind, move |step, input| {
            build(step, input.as_collection()).inner
        });
        View::from_updates(updates)
    }

    /// Adds a step from this view's and `other`'s records to another view's.
    pub(crate) fn view_step2<K2: ViewData, V2: ViewData, K3: ViewData, V3: ViewData>(
        &self,
        step_id: &str,
        kind: &'static str,
        other: &View<K2, V2>,
        build: impl for<'s> Fn(&StepCtx, Records<'s, K, V>, Records<'s, K2, V2>) -> Records<'s, K3, V3>
        + Send
        + Sync
        + 'static,
    ) -> View<K3, V3> {
        let spec = StepSpec::plain(kind, vec![self.updates.port(), other.updates.port()], 1);
        let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
            let left = ctx.input::<Update<K, V>>(0).as_collection();
            let right = ctx.input::<Update<K2, V2>>(1).as_collection();
            let output = build(ctx.step(), left, right).inner;
            ctx.set_output(0, output);
        });
        let updates = add_step(self.updates.graph(), step_id, spec, build)
            .pop()
            .expect("one output was declared");
        View::from_updates(updates)
    }

    /// Replaces each record by `f(record)`.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::views::Change;
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("doubled");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![("a".to_string(), 1u64), ("b".to_string(), 2)]))
    ///     .as_collection("numbers")
    ///     .map("double", |(key, n)| (key, n * 2))
    ///     .changelog("changes")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// let change = |key: &str, value, diff| Change { key: key.to_string(), value, diff };
    /// assert_eq!(out.sorted(), [change("a", 2, 1), change("b", 4, 1)]);
    /// ```
    pub fn map<K2: ViewData, V2: ViewData>(
        &self,
        step_id: &str,
        f: impl Fn((K, V)) -> (K2, V2) + Send + Sync + 'static,
    ) -> View<K2, V2> {
        let f = Arc::new(f);
        self.view_step(step_id, "view_map", move |step, records| {
            let (f, name) = (f.clone(), step.name.clone());
            records.map(move |record| in_step(&name, || f(record)))
        })
    }

    /// Keeps the records for which `f` is true.
    pub fn filter(&self, step_id: &str, f: impl Fn(&(K, V)) -> bool + Send + Sync + 'static) -> View<K, V> {
        let f = Arc::new(f);
        self.view_step(step_id, "view_filter", move |step, records| {
            let (f, name) = (f.clone(), step.name.clone());
            records.filter(move |record| in_step(&name, || f(record)))
        })
    }

    /// Replaces each record by the records `f` returns for it.
    pub fn flat_map<K2: ViewData, V2: ViewData, I>(
        &self,
        step_id: &str,
        f: impl Fn((K, V)) -> I + Send + Sync + 'static,
    ) -> View<K2, V2>
    where
        I: IntoIterator<Item = (K2, V2)>,
    {
        let f = Arc::new(f);
        self.view_step(step_id, "view_flat_map", move |step, records| {
            let (f, name) = (f.clone(), step.name.clone());
            records.flat_map(move |record| in_step(&name, || f(record).into_iter().collect::<Vec<_>>()))
        })
    }

    /// Adds up the updates of each record within each epoch, dropping those that cancel out
    /// (what leaves a view is consolidated anyway; this only saves work downstream).
    pub fn consolidate(&self, step_id: &str) -> View<K, V> {
        self.view_step(step_id, "view_consolidate", |_, records| records.consolidate())
    }
}
