//! `slice`: a range of each key's values by position (streamz's `slice`).

use crate::dataflow::KeyedStream;
use crate::{Data, Key};

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Passes on the key's values at positions `start, start + step, …` below `stop`
    /// (counting from 0, in arrival order; no end with `None`). A key past `stop` keeps
    /// only its count.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("slice");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![0, 1, 2, 3, 4, 5]))
    ///     .key_on("all", |_: &i32| ())
    ///     .slice("odd_below_5", 1, Some(5), 2)
    ///     .key_rm("unkey")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![1, 3]);
    /// ```
    ///
    /// # Panics
    /// If `step` is 0.
    pub fn slice(&self, step_id: &str, start: u64, stop: Option<u64>, step: u64) -> KeyedStream<V, K> {
        assert!(step > 0, "a slice's step is at least 1");
        self.stateful_flat_map(step_id, move |seen: Option<u64>, value| {
            let index = seen.unwrap_or(0);
            let wanted =
                index >= start && stop.is_none_or(|s| index < s) && (index - start).is_multiple_of(step);
            (Some(index + 1), wanted.then_some(value))
        })
    }
}
