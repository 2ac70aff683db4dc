//! `inspect_debug`: look at every item with its step, worker and epoch.

use std::fmt::Debug;
use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::engine::{enter_step, received_epoch};
use crate::{Data, Epoch, Stream};

/// Where an item was seen by [`Stream::inspect_debug_with`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen<'a> {
    /// The step id.
    pub step: &'a str,
    /// The worker that saw the item.
    pub worker: usize,
    /// The epoch the item belongs to.
    pub epoch: Epoch,
}

impl<T: Data + Debug> Stream<T> {
    /// Prints every item to stderr as `step W<worker> @<epoch>: <item>` and passes it on.
    /// (stderr, because stdout may carry a dataflow's data.)
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("debug");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![1]))
    ///     .inspect_debug("show")            // prints "show W0 @0: 1"
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![1]);
    /// ```
    pub fn inspect_debug(&self, step_id: &str) -> Stream<T> {
        self.inspect_debug_with(step_id, |seen, item| {
            eprintln!("{} W{} @{}: {item:?}", seen.step, seen.worker, seen.epoch)
        })
    }
}

impl<T: Data> Stream<T> {
    /// Calls `f` with where and when every item was seen, and passes the item on.
    pub fn inspect_debug_with(
        &self,
        step_id: &str,
        f: impl Fn(&Seen<'_>, &T) + Send + Sync + 'static,
    ) -> Stream<T> {
        let f = Arc::new(f);
        self.unary_step(step_id, "inspect_debug", move |step, input| {
            let f = f.clone();
            let (name, worker) = (step.name.clone(), step.worker);
            input.unary::<CapacityContainerBuilder<Vec<T>>, _, _, _>(
                Pipeline,
                step.id.as_str(),
                move |_, _| {
                    move |input, output| {
                        let _in_step = enter_step(&name);
                        input.for_each(|cap, data| {
                            let epoch = received_epoch(cap.stamp());
                            let seen = Seen {
                                step: &name.name,
                                worker,
                                epoch,
                            };
                            data.iter().for_each(|item| f(&seen, item));
                            output.session(&cap).give_container(data);
                        });
                    }
                },
            )
        })
    }
}
