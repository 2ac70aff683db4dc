//! `unique`: drop values a key has seen (streamz's `unique`).

use std::collections::VecDeque;

use crate::dataflow::KeyedStream;
use crate::{Data, Key};

impl<K: Key, V: Data + PartialEq> KeyedStream<V, K> {
    /// Passes a value on unless its key has seen it among its last `history` distinct
    /// values (all of them with `None`: state grows with the distinct values). To drop
    /// repeats of a field across the whole stream, key by that field.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("unique");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![1, 2, 1, 3, 2]))
    ///     .key_on("all", |_: &i32| ())
    ///     .unique("new", None)
    ///     .key_rm("unkey")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![1, 2, 3]);
    /// ```
    pub fn unique(&self, step_id: &str, history: Option<usize>) -> KeyedStream<V, K> {
        self.stateful_flat_map(step_id, move |seen: Option<VecDeque<V>>, value| {
            let mut seen = seen.unwrap_or_default();
            if seen.contains(&value) {
                return (Some(seen), None);
            }
            seen.push_back(value.clone());
            if history.is_some_and(|h| seen.len() > h) {
                seen.pop_front();
            }
            (Some(seen), Some(value))
        })
    }
}
