//! `flat_map_batch`: transform whole batches at once.

use std::sync::Arc;

use crate::operators::per_batch::per_batch;
use crate::{Data, Stream};

impl<T: Data> Stream<T> {
    /// Hands every received batch to `f` and emits the items it returns.
    ///
    /// Useful when per-call overhead dominates (calling out to a batch API). Batches are
    /// whatever arrived together; their size is not fixed.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("batch");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![1, 2, 3]))
    ///     .flat_map_batch("negate", |batch: Vec<i32>| batch.into_iter().map(|x| -x).collect())
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec![-3, -2, -1]);
    /// ```
    pub fn flat_map_batch<U: Data>(
        &self,
        step_id: &str,
        f: impl Fn(Vec<T>) -> Vec<U> + Send + Sync + 'static,
    ) -> Stream<U> {
        let f = Arc::new(f);
        self.unary_step(step_id, "flat_map_batch", move |step, input| {
            let f = f.clone();
            per_batch(step, input, move |data, out| *out = f(std::mem::take(data)))
        })
    }
}
