//! Pre-aggregation: combine values per key, per worker and epoch, before the exchange.

use std::collections::BTreeMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::engine::{StepCtx, enter_step};
use crate::{Data, Epoch};

/// Distinct keys an epoch may hold before it is sent on early, bounding memory.
const MAX_KEYS_PER_EPOCH: usize = 100_000;

/// Turns each value into an accumulator with `lift`, combines the accumulators of each key
/// within an epoch with the associative `reducer`, and emits one `(key, combined)` per key
/// when the epoch completes (or when it holds too many keys). Only for operators whose
/// result is emitted at the end (`*_final`).
pub(crate) fn combine_per_epoch<'s, V, A, F, R>(
    step: &StepCtx,
    input: StreamVec<'s, Epoch, (String, V)>,
    lift: F,
    reducer: Arc<R>,
) -> StreamVec<'s, Epoch, (String, A)>
where
    V: Data,
    A: Data,
    F: Fn(V) -> A + 'static,
    R: Fn(A, A) -> A + 'static,
{
    let name = step.name.clone();
    input.unary_frontier::<CapacityContainerBuilder<Vec<(String, A)>>, _, _, _>(
        Pipeline,
        &format!("{}.combine", step.id),
        move |capability, _| {
            let mut held = Some(capability);
            // `None` only while the reducer runs.
            let mut epochs: BTreeMap<Epoch, FxHashMap<String, Option<A>>> = BTreeMap::new();
            move |(input, frontier), output| {
                let _in_step = enter_step(&name);
                let Some(cap) = held.as_mut() else { return };
                input.for_each(|incoming, data| {
                    let epoch = *incoming.least().expect("weir sends every batch under one epoch");
                    let combined = epochs.entry(epoch).or_default();
                    for (key, value) in data.drain(..) {
                        match combined.get_mut(&key) {
                            Some(acc) => *acc = acc.take().map(|acc| reducer(acc, lift(value))),
                            None => {
                                combined.insert(key, Some(lift(value)));
                            }
                        }
                    }
                    if combined.len() >= MAX_KEYS_PER_EPOCH {
                        let full = std::mem::take(combined);
                        output.session(&cap.delayed(&epoch)).give_iterator(settled(full));
                    }
                });
                while let Some(entry) = epochs.first_entry()
                    && !frontier.less_equal(entry.key())
                {
                    let epoch = *entry.key();
                    output
                        .session(&cap.delayed(&epoch))
                        .give_iterator(settled(entry.remove()));
                }
                match frontier.frontier().first() {
                    Some(epoch) => cap.downgrade(epoch),
                    None => held = None,
                }
            }
        },
    )
}

/// The combined values of an epoch, ready to send.
fn settled<V>(combined: FxHashMap<String, Option<V>>) -> impl Iterator<Item = (String, V)> {
    combined
        .into_iter()
        .map(|(key, value)| (key, value.expect("the reducer always puts a value back")))
}
