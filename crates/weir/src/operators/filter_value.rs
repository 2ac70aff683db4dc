//! `filter_value`: keep the keyed items whose value a predicate accepts.

use std::sync::Arc;

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::operators::per_batch::per_batch;

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Keeps the `(key, value)` pairs for which `predicate(&value)` is `true`.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("values");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![("a".to_string(), 1), ("b".to_string(), 5)]))
    ///     .filter_value("big", |v: &i32| *v > 2)
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![("b".to_string(), 5)]);
    /// ```
    pub fn filter_value(
        &self,
        step_id: &str,
        predicate: impl Fn(&V) -> bool + Send + Sync + 'static,
    ) -> KeyedStream<V, K> {
        let predicate = Arc::new(predicate);
        self.unary_step(step_id, "filter_value", move |step, input| {
            let predicate = predicate.clone();
            per_batch(step, input, move |data, out| {
                data.retain(|(_, value)| predicate(value));
                std::mem::swap(data, out);
            })
        })
    }
}
