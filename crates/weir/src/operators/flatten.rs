//! `flatten`: a stream of lists to a stream of their items.

use crate::operators::per_batch::per_batch;
use crate::{Data, Stream};

impl<T: Data> Stream<Vec<T>> {
    /// Emits the items of every list, in order.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("flatten");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![vec![1, 2], vec![], vec![3]]))
    ///     .flatten("items")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![1, 2, 3]);
    /// ```
    pub fn flatten(&self, step_id: &str) -> Stream<T> {
        self.unary_step(step_id, "flatten", |step, input| {
            per_batch(step, input, |lists: &mut Vec<Vec<T>>, out| {
                out.extend(lists.drain(..).flatten())
            })
        })
    }
}
