//! `flat_map`: turn every item into zero or more items.

use std::sync::Arc;

use crate::operators::per_batch::per_batch;
use crate::{Data, Stream};

impl<T: Data> Stream<T> {
    /// Replaces every item with the items of the iterator `f` returns.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("words");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec!["a b".to_string(), "c".to_string()]))
    ///     .flat_map("split", |line: String| {
    ///         line.split_whitespace().map(str::to_owned).collect::<Vec<_>>()
    ///     })
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec!["a", "b", "c"]);
    /// ```
    pub fn flat_map<U: Data, I>(&self, step_id: &str, f: impl Fn(T) -> I + Send + Sync + 'static) -> Stream<U>
    where
        I: IntoIterator<Item = U>,
    {
        let f = Arc::new(f);
        self.unary_step(step_id, "flat_map", move |step, input| {
            let f = f.clone();
            // One `extend` per item: a returned `Vec` is appended by one copy.
            per_batch(step, input, move |data, out| {
                data.drain(..).for_each(|item| out.extend(f(item)))
            })
        })
    }
}
