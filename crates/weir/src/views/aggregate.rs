//! Per-key aggregates of a view: `reduce`, `count`, `sum` and `distinct`. Each keeps the
//! view's records arranged by key and recomputes a key's output only when its records
//! change, retracting the old output.

use std::sync::Arc;

use crate::engine::in_step;
use crate::views::{View, ViewData};

impl<K: ViewData, V: ViewData> View<K, V> {
    /// Replaces each key's records by the records `f` computes from them: `f(key, input,
    /// output)` gets the key's values in order, each with its multiplicity (all positive),
    /// and pushes `(value, multiplicity)` pairs. It is called only for keys with records,
    /// again whenever they change, and must be deterministic (see the module docs).
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::views::Change;
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("largest");
    /// let out = TestingSink::new();
    /// let items = vec![("a".to_string(), 3u64), ("a".to_string(), 5), ("b".to_string(), 1)];
    /// flow.input("in", TestingSource::new(items))
    ///     .as_collection("numbers")
    ///     .reduce("largest", |_key, values: &[(&u64, isize)], out: &mut Vec<(u64, isize)>| {
    ///         out.push((*values.last().unwrap().0, 1))
    ///     })
    ///     .changelog("changes")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// let change = |key: &str, value, diff| Change { key: key.to_string(), value, diff };
    /// assert_eq!(out.sorted(), [change("a", 5, 1), change("b", 1, 1)]);
    /// ```
    pub fn reduce<V2: ViewData>(
        &self,
        step_id: &str,
        f: impl Fn(&K, &[(&V, isize)], &mut Vec<(V2, isize)>) + Send + Sync + 'static,
    ) -> View<K, V2> {
        let f = Arc::new(f);
        self.view_step(step_id, "view_reduce", move |step, records| {
            let (f, name) = (f.clone(), step.name.clone());
            records.reduce(move |key, input, output| in_step(&name, || f(key, input, output)))
        })
    }

    /// The number of records of each key (counting multiplicities).
    pub fn count(&self, step_id: &str) -> View<K, i64> {
        self.view_step(step_id, "view_count", |_, records| {
            records
                .map(|(key, _)| key)
                .count()
                .map(|(key, count)| (key, count as i64))
        })
    }

    /// Each record once, whatever its multiplicity.
    pub fn distinct(&self, step_id: &str) -> View<K, V> {
        self.view_step(step_id, "view_distinct", |_, records| records.distinct())
    }
}

impl<K: ViewData> View<K, i64> {
    /// The sum of each key's values (counting multiplicities); a key is in the view while it
    /// has records, even if they add up to zero.
    pub fn sum(&self, step_id: &str) -> View<K, i64> {
        self.view_step(step_id, "view_sum", |_, records| {
            records.reduce(|_, values, output| {
                let sum = values.iter().map(|(value, diff)| **value * *diff as i64).sum();
                output.push((sum, 1));
            })
        })
    }
}
