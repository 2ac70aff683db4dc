//! `stateful_flat_map`: turn each value into zero or more outputs with its key's state.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::operators::stateful_map::MapWithState;

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Like [`stateful_map`](KeyedStream::stateful_map), but `mapper` returns any number of
    /// outputs (an iterator) for each value.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// // Emit a value only the first time it is seen for its key.
    /// let mut flow = Dataflow::new("dedupe");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![1, 2, 1, 3, 2]))
    ///     .key_on("all", |_: &u8| "all".to_string())
    ///     .stateful_flat_map("first", |seen: Option<Vec<u8>>, x: u8| {
    ///         let mut seen = seen.unwrap_or_default();
    ///         let new = (!seen.contains(&x)).then_some(x);
    ///         seen.push(x);
    ///         (Some(seen), new)
    ///     })
    ///     .key_rm("unkey")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![1, 2, 3]);
    /// ```
    pub fn stateful_flat_map<S: Data, W: Data, I>(
        &self,
        step_id: &str,
        mapper: impl Fn(Option<S>, V) -> (Option<S>, I) + Send + Sync + 'static,
    ) -> KeyedStream<W, K>
    where
        I: IntoIterator<Item = W> + 'static,
    {
        let mapper = Arc::new(mapper);
        self.stateful(step_id, move |resume: Option<S>| MapWithState {
            state: resume,
            mapper: mapper.clone(),
            _types: PhantomData,
        })
    }
}
