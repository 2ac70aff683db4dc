//! `flat_map_value`: turn every keyed value into zero or more values of the same key.

use std::sync::Arc;

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::operators::per_batch::per_batch;

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Replaces every value with the values `f` returns, each under the same key.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("values");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![("a".to_string(), 2)]))
    ///     .flat_map_value("repeat", |n: usize| vec![n; n])
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![("a".to_string(), 2), ("a".to_string(), 2)]);
    /// ```
    pub fn flat_map_value<W: Data, I>(
        &self,
        step_id: &str,
        f: impl Fn(V) -> I + Send + Sync + 'static,
    ) -> KeyedStream<W, K>
    where
        I: IntoIterator<Item = W>,
    {
        let f = Arc::new(f);
        self.unary_step(step_id, "flat_map_value", move |step, input| {
            let f = f.clone();
            per_batch(step, input, move |data, out| {
                for (key, value) in data.drain(..) {
                    out.extend(f(value).into_iter().map(|w| (key.clone(), w)));
                }
            })
        })
    }
}
