//! `count_final`: count the items of each key, emitted when the input ends.

use std::sync::Arc;

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::dataflow::flow::EventTimeRole;
use crate::operators::reduce_final::reduce_core;

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Emits `(key, number of items)` per key when the input ends. Counts are pre-combined
    /// on each worker per epoch, so only one record per key and epoch crosses the network.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("count");
    /// let out = TestingSink::new();
    /// let words = ["x", "y", "x"].map(String::from);
    /// flow.input("in", TestingSource::new(words))
    ///     .key_on("word", |w: &String| w.clone())
    ///     .count_final("count")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec![("x".to_string(), 2), ("y".to_string(), 1)]);
    /// ```
    pub fn count_final(&self, step_id: &str) -> KeyedStream<u64, K> {
        self.keyed_state_step(step_id, "count_final", EventTimeRole::Unrelated, |ctx, input| {
            reduce_core(
                ctx,
                input,
                |_: V| 1u64,
                Arc::new(|a: u64, b: u64| a + b),
                |_, _| false,
            )
        })
    }
}
