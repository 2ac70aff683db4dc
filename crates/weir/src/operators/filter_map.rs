//! `filter_map`: transform items and drop those that map to `None`.

use std::sync::Arc;

use crate::operators::per_batch::per_batch;
use crate::{Data, Stream};

impl<T: Data> Stream<T> {
    /// Maps every item with `f` and keeps the `Some` results.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("parse");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(["1", "x", "3"].map(String::from)))
    ///     .filter_map("parse", |s: String| s.parse::<u32>().ok())
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec![1, 3]);
    /// ```
    pub fn filter_map<U: Data>(
        &self,
        step_id: &str,
        f: impl Fn(T) -> Option<U> + Send + Sync + 'static,
    ) -> Stream<U> {
        let f = Arc::new(f);
        self.unary_step(step_id, "filter_map", move |step, input| {
            let f = f.clone();
            per_batch(step, input, move |data, out| {
                out.extend(data.drain(..).filter_map(&*f))
            })
        })
    }
}
