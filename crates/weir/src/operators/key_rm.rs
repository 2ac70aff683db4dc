//! `key_rm`: drop the keys of a keyed stream.

use crate::Key;
use crate::dataflow::KeyedStream;
use crate::operators::per_batch::per_batch;
use crate::{Data, Stream};

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Keeps only the values.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("unkey");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![("a".to_string(), 1)]))
    ///     .key_rm("unkey")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![1]);
    /// ```
    pub fn key_rm(&self, step_id: &str) -> Stream<V> {
        self.unary_step(step_id, "key_rm", |step, input| {
            per_batch(step, input, |data: &mut Vec<(K, V)>, out| {
                out.extend(data.drain(..).map(|(_, value)| value))
            })
        })
    }
}
