//! `redistribute`: spread items evenly over all workers.

use timely::dataflow::operators::Exchange;

use crate::{Data, Stream};

impl<T: Data> Stream<T> {
    /// Sends items round-robin to all workers, to spread expensive work after an input
    /// whose partitions are uneven.
    ///
    /// ```
    /// use weir::testing::{TestingSink, TestingSource};
    /// use weir::{Dataflow, RunConfig};
    ///
    /// let mut flow = Dataflow::new("spread");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(0..10))
    ///     .redistribute("spread")
    ///     .output("out", out.clone());
    /// weir::run(flow, RunConfig::threads(2)).unwrap();
    /// assert_eq!(out.sorted(), (0..10).collect::<Vec<_>>());
    /// ```
    pub fn redistribute(&self, step_id: &str) -> Stream<T> {
        self.unary_step(step_id, "redistribute", |step, input| {
            let mut next = step.worker as u64;
            input.exchange(move |_| {
                next = next.wrapping_add(1);
                next
            })
        })
    }
}
