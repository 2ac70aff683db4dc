//! The shared shape of steps with two outputs: each item goes to one of them.

use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

use crate::dataflow::flow::StepSpec;
use crate::engine::{BuildCtx, enter_step};
use crate::{Data, Stream};

/// Which output an item goes to, and as what.
pub(crate) enum Side<A, B> {
    First(A),
    Second(B),
}

/// Adds a stateless step of kind `kind` that sends each item of `stream` to one of two
/// outputs, as `split` says.
pub(crate) fn split_step<T: Data, A: Data, B: Data>(
    stream: &Stream<T>,
    step_id: &str,
    kind: &'static str,
    split: impl Fn(T) -> Side<A, B> + Send + Sync + 'static,
) -> (Stream<A>, Stream<B>) {
    let split = Arc::new(split);
    let spec = StepSpec::plain(kind, vec![stream.port()], 2);
    let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
        let split = split.clone();
        let step = ctx.step().clone();
        let mut builder = OperatorBuilder::new(step.id.to_string(), ctx.scope());
        let mut input = builder.new_input(ctx.input::<T>(0), Pipeline);
        let (first, first_stream) = builder.new_output::<Vec<A>>();
        let (second, second_stream) = builder.new_output::<Vec<B>>();
        let mut first = OutputBuilder::<_, CapacityContainerBuilder<Vec<A>>>::from(first);
        let mut second = OutputBuilder::<_, CapacityContainerBuilder<Vec<B>>>::from(second);
        builder.build(move |_initial_capabilities| {
            move |_frontiers| {
                let _in_step = enter_step(&step.name);
                let (mut first, mut second) = (first.activate(), second.activate());
                input.for_each(|cap, data| {
                    let (mut firsts, mut seconds) = (Vec::new(), Vec::new());
                    for item in data.drain(..) {
                        match split(item) {
                            Side::First(a) => firsts.push(a),
                            Side::Second(b) => seconds.push(b),
                        }
                    }
                    if !firsts.is_empty() {
                        first.session(&cap).give_container(&mut firsts);
                    }
                    if !seconds.is_empty() {
                        second.session(&cap).give_container(&mut seconds);
                    }
                });
            }
        });
        ctx.set_output(0, first_stream);
        ctx.set_output(1, second_stream);
    });
    let graph = stream.graph();
    let ports = graph.borrow_mut().add(step_id, spec, build);
    let (first, second) = (ports[0], ports[1]);
    (
        Stream::from_port(graph.clone(), first),
        Stream::from_port(graph.clone(), second),
    )
}
