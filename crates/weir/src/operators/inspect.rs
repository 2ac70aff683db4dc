//! `inspect`: look at every item without changing the stream.

use std::sync::Arc;

use crate::operators::per_batch::per_batch;
use crate::{Data, Stream};

impl<T: Data> Stream<T> {
    /// Calls `f` on every item and passes the item on unchanged.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let seen = Arc::new(AtomicUsize::new(0));
    /// let counter = seen.clone();
    /// let mut flow = Dataflow::new("inspect");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![1, 2, 3]))
    ///     .inspect("count", move |_: &i32| { counter.fetch_add(1, Ordering::SeqCst); })
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(seen.load(Ordering::SeqCst), 3);
    /// assert_eq!(out.sorted(), vec![1, 2, 3]);
    /// ```
    pub fn inspect(&self, step_id: &str, f: impl Fn(&T) + Send + Sync + 'static) -> Stream<T> {
        let f = Arc::new(f);
        self.unary_step(step_id, "inspect", move |step, input| {
            let f = f.clone();
            per_batch(step, input, move |data, out| {
                data.iter().for_each(|x| f(x));
                std::mem::swap(data, out);
            })
        })
    }
}
