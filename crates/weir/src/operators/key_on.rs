//! `key_on`: attach a key to every item, making a keyed stream.

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
