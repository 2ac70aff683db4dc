//! `accumulate`: a running state per key, emitted after every value (streamz's
//! `accumulate`).

use crate::dataflow::KeyedStream;
use crate::{Data, Key};

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Folds each key's values into a running state, starting from `init`, and emits the
    /// state after every value. (To emit something other than the state, use
    /// [`stateful_map`](KeyedStream::stateful_map).) Per key: for a running total of the
    /// whole stream, key every item alike (one worker then holds it).
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("sums");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![1, 2, 3]))
    ///     .key_on("all", |_: &i32| ())
    ///     .accumulate("sum", 0, |sum, x| sum + x)
    ///     .key_rm("unkey")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![1, 3, 6]);
    /// ```
    pub fn accumulate<S: Data>(
        &self,
        step_id: &str,
        init: S,
        fold: impl Fn(S, V) -> S + Send + Sync + 'static,
    ) -> KeyedStream<S, K> {
        self.stateful_map(step_id, move |state: Option<S>, value| {
            let state = fold(state.unwrap_or_else(|| init.clone()), value);
            (Some(state.clone()), state)
        })
    }
}
