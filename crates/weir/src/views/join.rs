//! Joins of two views on their keys.

use crate::views::{View, ViewData};

impl<K: ViewData, V: ViewData> View<K, V> {
    /// The inner join with `other`: a record `(key, (v, w))` for every record `(key, v)`
    /// here and `(key, w)` there (multiplicities multiply). When either side changes, the
    /// combinations it made are retracted and the new ones added.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::views::Change;
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("joined");
    /// let out = TestingSink::new();
    /// let names = flow.input("names", TestingSource::new(vec![(1u64, Some("ann".to_string()))]));
    /// let ages = flow.input("ages", TestingSource::new(vec![(1u64, Some(30u32)), (2, Some(40))]));
    /// names
    ///     .as_table("names_table")
    ///     .join("with_age", &ages.as_table("ages_table"))
    ///     .changelog("changes")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), [Change { key: 1, value: ("ann".to_string(), 30), diff: 1 }]);
    /// ```
    pub fn join<W: ViewData>(&self, step_id: &str, other: &View<K, W>) -> View<K, (V, W)> {
        self.view_step2(step_id, "view_join", other, |_, left, right| left.join(right))
    }

    /// The left outer join with `other`: as [`join`](Self::join), plus `(key, (v, None))`
    /// for every record here whose key has no record there.
    pub fn left_join<W: ViewData>(&self, step_id: &str, other: &View<K, W>) -> View<K, (V, Option<W>)> {
        self.view_step2(step_id, "view_left_join", other, |_, left, right| {
            let keys = right.clone().map(|(key, _)| key).distinct();
            let matched = left.clone().join(right).map(|(key, (v, w))| (key, (v, Some(w))));
            let unmatched = left.antijoin(keys).map(|(key, v)| (key, (v, None)));
            matched.concat(unmatched)
        })
    }
}
