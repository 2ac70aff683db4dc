//! Sinks with one stateless partition per worker.

use crate::{BoxError, Data, StepId};

/// An output where every worker writes through its own partition; not resumable
/// (at-least-once around a restart).
pub trait DynamicSink: Send + Sync + 'static {
    /// The items written.
    type Item: Data;
    /// One worker's partition.
    type Partition: StatelessSinkPartition<Item = Self::Item>;

    /// Builds the partition of worker `worker_index` of `worker_count`.
    fn build(
        &self,
        step_id: &StepId,
        worker_index: usize,
        worker_count: usize,
    ) -> Result<Self::Partition, BoxError>;
}

/// The partition of one worker of a [`DynamicSink`].
pub trait StatelessSinkPartition: 'static {
    /// The items written.
    type Item;

    /// Writes a batch of items, in the order they arrived.
    fn write_batch(&mut self, items: Vec<Self::Item>) -> Result<(), BoxError>;

    /// Called once when the dataflow completes; not called on a crash.
    fn close(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}
