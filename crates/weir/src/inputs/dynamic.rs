//! Sources with one stateless partition per worker.

use std::task::Waker;
use std::time::Instant;

use crate::inputs::Batch;
use crate::{BoxError, Data, StepId, Timestamp};

/// An input where every worker reads its own, distinct share and nothing is resumable
/// (at-most-once around a restart).
pub trait DynamicSource: Send + Sync + 'static {
    /// The items the source emits.
    type Item: Data;
    /// One worker's partition.
    type Partition: StatelessSourcePartition<Item = Self::Item>;

    /// Builds the partition of worker `worker_index` of `worker_count`; called once per worker.
    fn build(
        &self,
        step_id: &StepId,
        worker_index: usize,
        worker_count: usize,
    ) -> Result<Self::Partition, BoxError>;
}

/// The partition of one worker of a [`DynamicSource`].
pub trait StatelessSourcePartition: 'static {
    /// The items the partition emits.
    type Item;

    /// Reads what is ready now, without blocking (see [`Batch`]).
    fn next_batch(&mut self) -> Result<Batch<Self::Item>, BoxError>;

    /// When to poll next; `None` means at once (or in 1 ms after an empty batch).
    fn next_awake(&self) -> Option<Instant> {
        None
    }

    /// Called once, before the first poll, with a waker that makes the input poll this
    /// partition at once, whatever its `next_awake` said: a partition fed by another thread
    /// (a channel, an async task) wakes it when something arrives instead of being polled
    /// on a short timer. The default ignores it.
    fn set_waker(&mut self, waker: Waker) {
        let _ = waker;
    }

    /// The partition's own event-time watermark, for a partition that knows its order
    /// exactly (a generator, a log whose producer stamps in order): no later item is below
    /// it. Asked after every batch of an input with an [`EventClock`](crate::inputs::EventClock);
    /// the partition's watermark is the larger of this and the clock's.
    fn watermark(&self) -> Option<Timestamp> {
        None
    }

    /// Called once when the partition reached its end; not called on a crash.
    fn close(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}
