//! `map_value`: transform the values of a keyed stream.

use std::sync::Arc;

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::operators::per_batch::per_batch;

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Transforms every value with `f`, keeping its key.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("values");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![("a".to_string(), 2)]))
    ///     .map_value("double", |v: i32| v * 2)
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![("a".to_string(), 4)]);
    /// ```
    pub fn map_value<W: Data>(
        &self,
        step_id: &str,
        f: impl Fn(V) -> W + Send + Sync + 'static,
    ) -> KeyedStream<W, K> {
        let f = Arc::new(f);
        self.unary_step(step_id, "map_value", move |step, input| {
            let f = f.clone();
            per_batch(step, input, move |data, out| {
                out.extend(data.drain(..).map(|(key, value)| (key, f(value))))
            })
        })
    }
}
