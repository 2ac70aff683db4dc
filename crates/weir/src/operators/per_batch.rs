//! The shared shape of stateless operators: transform each received batch in place.

use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::Data;
use crate::engine::Time;
use crate::engine::{StepCtx, enter_step};

/// Builds a pipeline (no exchange) operator that hands every received batch to `logic`,
/// which moves its results into the output buffer.
pub(crate) fn per_batch<'s, T: Data, U: Data>(
    step: &StepCtx,
    input: StreamVec<'s, Time, T>,
    mut logic: impl FnMut(&mut Vec<T>, &mut Vec<U>) + 'static,
) -> StreamVec<'s, Time, U> {
    let name = step.name.clone();
    let emitted = step.own_items_counter();
    input.unary::<CapacityContainerBuilder<Vec<U>>, _, _, _>(Pipeline, step.id.as_str(), move |_, _| {
        let mut buffer = Vec::new();
        move |input, output| {
            let _in_step = enter_step(&name);
            input.for_each(|cap, data| {
                logic(data, &mut buffer);
                if !buffer.is_empty() {
                    if let Some(emitted) = &emitted {
                        emitted.inc_by(buffer.len() as u64);
                    }
                    output.session(&cap).give_container(&mut buffer);
                }
            });
        }
    })
}
