//! `map`: transform every item.

use std::sync::Arc;

use crate::operators::per_batch::per_batch;
use crate::{Data, Stream};

impl<T: Data> Stream<T> {
    /// Transforms every item with `f`.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("map");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![1, 2, 3]))
    ///     .map("square", |x: i64| x * x)
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec![1, 4, 9]);
    /// ```
    pub fn map<U: Data>(&self, step_id: &str, f: impl Fn(T) -> U + Send + Sync + 'static) -> Stream<U> {
        let f = Arc::new(f);
        self.unary_step(step_id, "map", move |step, input| {
            let f = f.clone();
            per_batch(step, input, move |data, out| out.extend(data.drain(..).map(&*f)))
        })
    }
}
