//! `filter`: keep the items a predicate accepts.

use std::sync::Arc;

use crate::operators::per_batch::per_batch;
use crate::{Data, Stream};

impl<T: Data> Stream<T> {
    /// Keeps the items for which `predicate` returns `true`.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("filter");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(1..=6))
    ///     .filter("odd", |x: &i32| x % 2 == 1)
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec![1, 3, 5]);
    /// ```
    pub fn filter(&self, step_id: &str, predicate: impl Fn(&T) -> bool + Send + Sync + 'static) -> Stream<T> {
        let predicate = Arc::new(predicate);
        self.unary_step(step_id, "filter", move |step, input| {
            let predicate = predicate.clone();
            per_batch(step, input, move |data, out| {
                data.retain(|x| predicate(x));
                std::mem::swap(data, out);
            })
        })
    }
}
