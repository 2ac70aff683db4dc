//! `branch`: split a stream in two by a predicate.

use crate::operators::split::{Side, split_step};
use crate::{Data, Stream};

/// The two outputs of [`Stream::branch`].
pub struct Branch<T> {
    /// Items the predicate accepted.
    pub trues: Stream<T>,
    /// Items the predicate refused.
    pub falses: Stream<T>,
}

impl<T: Data> Stream<T> {
    /// Sends each item to `trues` or `falses` by `predicate`.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("branch");
    /// let (small, big) = (TestingSink::new(), TestingSink::new());
    /// let branch = flow.input("in", TestingSource::new(vec![1, 50, 7, 99]))
    ///     .branch("size", |x: &i32| *x < 10);
    /// branch.trues.output("small", small.clone());
    /// branch.falses.output("big", big.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!((small.sorted(), big.sorted()), (vec![1, 7], vec![50, 99]));
    /// ```
    pub fn branch(&self, step_id: &str, predicate: impl Fn(&T) -> bool + Send + Sync + 'static) -> Branch<T> {
        let (trues, falses) = split_step(self, step_id, "branch", move |item| match predicate(&item) {
            true => Side::First(item),
            false => Side::Second(item),
        });
        Branch { trues, falses }
    }
}
