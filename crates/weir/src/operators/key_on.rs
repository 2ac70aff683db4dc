//! `key_on` and `as_keys`: attach a key to every item, making a keyed stream.

use std::sync::Arc;

use crate::dataflow::KeyedStream;
use crate::operators::per_batch::per_batch;
use crate::{Data, Key, Stream};

impl<T: Data> Stream<T> {
    /// Pairs every item with the key `key_fn` computes; keyed operators route by it.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("key");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![3, 14]))
    ///     .key_on("parity", |x: &u8| (x % 2).to_string())
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec![("0".to_string(), 14), ("1".to_string(), 3)]);
    /// ```
    pub fn key_on<K: Key>(
        &self,
        step_id: &str,
        key_fn: impl Fn(&T) -> K + Send + Sync + 'static,
    ) -> KeyedStream<T, K> {
        let key_fn = Arc::new(key_fn);
        self.unary_step(step_id, "key_on", move |step, input| {
            let key_fn = key_fn.clone();
            per_batch(step, input, move |data, out| {
                out.extend(data.drain(..).map(|item| (key_fn(&item), item)))
            })
        })
    }
}

impl<K: Key> Stream<K> {
    /// Makes every item its own key, with no value: the keyed stream of a word count or a
    /// distinct count, without cloning each item into a key as `key_on` would.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("as_keys");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(["x", "y", "x"].map(String::from)))
    ///     .as_keys("word")
    ///     .count_final("count")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec![("x".to_string(), 2), ("y".to_string(), 1)]);
    /// ```
    pub fn as_keys(&self, step_id: &str) -> KeyedStream<(), K> {
        self.unary_step(step_id, "as_keys", |step, input| {
            per_batch(step, input, |data, out| {
                out.extend(data.drain(..).map(|key| (key, ())))
            })
        })
    }
}
