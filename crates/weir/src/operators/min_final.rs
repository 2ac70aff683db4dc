//! `min_final`: the smallest value of each key, emitted when the input ends.

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;

impl<K: Key, V: Data + Ord> KeyedStream<V, K> {
    /// Emits `(key, smallest value)` per key when the input ends.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("min");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![("a".to_string(), 3), ("a".to_string(), 9)]))
    ///     .min_final("min")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![("a".to_string(), 3)]);
    /// ```
    pub fn min_final(&self, step_id: &str) -> KeyedStream<V, K> {
        self.reduce_final_leaving(step_id, std::cmp::min, |acc, value| value > acc)
    }
}
