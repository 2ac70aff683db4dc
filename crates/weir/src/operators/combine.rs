//! Pre-aggregation: combine values per key, per worker and epoch, before the exchange.

use std::sync::Arc;

use rustc_hash::FxHashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::Data;
use crate::Key;
use crate::engine::{
    EpochQueue, QueuedWatermarks, StepCtx, Time, at, enter_step, frontier_epoch, frontier_meet,
    received_epoch, received_inner,
};

/// Distinct keys an epoch may hold before it is sent on early, bounding memory.
const MAX_KEYS_PER_EPOCH: usize = 100_000;

/// Turns each value into an accumulator with `lift`, combines the accumulators of each key
/// within an epoch with the associative `reducer`, and emits one `(key, combined)` per key
/// when the epoch completes (or when it holds too many keys). Only for operators whose
/// result is emitted at the end (`*_final`).
pub(crate) fn combine_per_epoch<'s, K, V, A, F, R>(
    step: &StepCtx,
    input: StreamVec<'s, Time, (K, V)>,
    lift: F,
    reducer: Arc<R>,
) -> StreamVec<'s, Time, (K, A)>
where
    K: Key,
    V: Data,
    A: Data,
    F: Fn(V) -> A + 'static,
    R: Fn(A, A) -> A + 'static,
{
    let name = step.name.clone();
    input.unary_frontier::<CapacityContainerBuilder<Vec<(K, A)>>, _, _, _>(
        Pipeline,
        &format!("{}.combine", step.id),
        move |capability, _| {
            let mut held = Some(capability);
            // Per epoch: `None` only while the reducer runs; and the watermark coordinates of
            // the batches combined (they hold the capability back, see `QueuedWatermarks`).
            let mut epochs: EpochQueue<Combined<K, A>> = EpochQueue::new();
            let mut queued = QueuedWatermarks::default();
            move |(input, frontier), output| {
                let _in_step = enter_step(&name);
                let Some(cap) = held.as_mut() else { return };
                input.for_each(|incoming, data| {
                    let epoch = received_epoch(incoming.stamp());
                    let inner = received_inner(incoming.stamp());
                    queued.add(inner);
                    let (combined, inners) = epochs.at(epoch);
                    inners.push(inner);
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
                        output
                            .session(&cap.delayed(&at(epoch, cap.time().inner)))
                            .give_iterator(settled(full));
                    }
                });
                let frontier = frontier.frontier();
                for (epoch, (combined, inners)) in epochs.take_complete(frontier_epoch(&frontier)) {
                    output
                        .session(&cap.delayed(&at(epoch, cap.time().inner)))
                        .give_iterator(settled(combined));
                    inners.into_iter().for_each(|inner| queued.remove(inner));
                }
                match frontier_meet(&frontier) {
                    Some(meet) => cap.downgrade(&queued.hold(meet)),
                    None => held = None,
                }
            }
        },
    )
}

/// An epoch's combined values (`None` only while the reducer runs), and the watermark
/// coordinates of the batches combined.
type Combined<K, A> = (FxHashMap<K, Option<A>>, Vec<u64>);

/// The combined values of an epoch, ready to send.
fn settled<K, V>(combined: FxHashMap<K, Option<V>>) -> impl Iterator<Item = (K, V)> {
    combined
        .into_iter()
        .map(|(key, value)| (key, value.expect("the reducer always puts a value back")))
}
