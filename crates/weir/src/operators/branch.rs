//! `branch`: split a stream in two by a predicate.

use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

use crate::dataflow::flow::{EventTimeRole, StepSpec, add_step};
use crate::engine::{BuildCtx, enter_step};
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
        let predicate = Arc::new(predicate);
        let spec = StepSpec {
            kind: "branch",
            inputs: vec![self.port()],
            output_count: 2,
            list_parts: None,
            unlisted_part: None,
            is_output: false,
            keyed_state: None,
            event_time: EventTimeRole::Unrelated,
        };
        let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
            let predicate = predicate.clone();
            let step = ctx.step().clone();
            let mut builder = OperatorBuilder::new(step.id.to_string(), ctx.scope());
            let mut input = builder.new_input(ctx.input::<T>(0), Pipeline);
            let (trues, trues_stream) = builder.new_output::<Vec<T>>();
            let (falses, falses_stream) = builder.new_output::<Vec<T>>();
            let mut trues = OutputBuilder::<_, CapacityContainerBuilder<Vec<T>>>::from(trues);
            let mut falses = OutputBuilder::<_, CapacityContainerBuilder<Vec<T>>>::from(falses);
            builder.build(move |_initial_capabilities| {
                move |_frontiers| {
                    let _in_step = enter_step(&step.name);
                    let (mut trues, mut falses) = (trues.activate(), falses.activate());
                    input.for_each(|cap, data| {
                        let (mut yes, mut no): (Vec<T>, Vec<T>) = data.drain(..).partition(|x| predicate(x));
                        if !yes.is_empty() {
                            trues.session(&cap).give_container(&mut yes);
                        }
                        if !no.is_empty() {
                            falses.session(&cap).give_container(&mut no);
                        }
                    });
                }
            });
            ctx.set_output(0, trues_stream);
            ctx.set_output(1, falses_stream);
        });
        let mut outputs = add_step::<T>(self.graph(), step_id, spec, build);
        let falses = outputs.pop().expect("two outputs");
        let trues = outputs.pop().expect("two outputs");
        Branch { trues, falses }
    }
}
