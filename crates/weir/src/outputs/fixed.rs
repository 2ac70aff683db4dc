//! Sinks with a fixed set of partitions, each with resume state.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{BoxError, Data, Epoch, StepId};

/// An output with a fixed set of partitions; keyed items go to the partition chosen by
/// [`part_fn`](FixedPartitionedSink::part_fn) of their key.
///
/// Like sources, every listed partition is built exactly once in the cluster, on a worker
/// that listed it. With a resumable partition (one that can return to a snapshot), output
/// can be made exactly-once around a restart.
pub trait FixedPartitionedSink: Send + Sync + 'static {
    /// The values written (the sink consumes `(key, value)` pairs).
    type Item: Data;
    /// What a partition resumes from (for example a byte offset).
    type State: Clone + Serialize + DeserializeOwned + 'static;
    /// One open partition.
    type Partition: StatefulSinkPartition<Item = Self::Item, State = Self::State>;

    /// The partitions this worker can reach.
    fn list_parts(&self) -> Result<Vec<String>, BoxError>;

    /// Which partition a key goes to: an index (taken modulo their number) into the list of
    /// all partitions listed by any worker, in natural order: runs of digits compare as
    /// numbers, so `part-0`, `part-1`, …, `part-10` are indexes 0, 1, …, 10. Must be the
    /// same on every worker.
    fn part_fn(&self, item_key: &str) -> usize;

    /// Opens `for_part`, resuming from `resume_state` if given.
    fn build_part(
        &self,
        step_id: &StepId,
        for_part: &str,
        resume_state: Option<Self::State>,
    ) -> Result<Self::Partition, BoxError>;
}

/// An open partition of a [`FixedPartitionedSink`].
pub trait StatefulSinkPartition: 'static {
    /// The values written.
    type Item;
    /// Its resume state.
    type State;

    /// Writes a batch of values, in the order they arrived.
    fn write_batch(&mut self, items: Vec<Self::Item>) -> Result<(), BoxError>;

    /// Writes a batch of values of `epoch`: what the runtime calls. Epochs come in order;
    /// by default [`write_batch`](StatefulSinkPartition::write_batch). Note that a replayed
    /// epoch (after a resume) does not hold the items its first run held: epochs are cut
    /// by a clock, so a sink that fences its external writes must fence by its own
    /// position (what its snapshot records), never by epoch number.
    fn write_epoch(&mut self, epoch: Epoch, items: Vec<Self::Item>) -> Result<(), BoxError> {
        let _ = epoch;
        self.write_batch(items)
    }

    /// The state to resume writing from, covering everything written so far. Called at the
    /// end of every epoch when the flow runs with a recovery store, just before the state
    /// is committed there: make everything it covers durable first (flush and `fsync`), or
    /// an OS crash could leave a store that records output the sink no longer holds.
    fn snapshot(&mut self) -> Result<Self::State, BoxError>;

    /// Called, with a recovery store, once the snapshot `state` of `epoch` (as [`snapshot`]
    /// returned it) is committed on every worker: a resume will never go back before it,
    /// so what it covers is final (a sink can publish it, or commit it to an external
    /// system). Called in epoch order; at the end of the input, before [`close`]. A
    /// process can die before this call, or during it: a resume then rebuilds the
    /// partition from `state`, and the sink must finish the job there (idempotently).
    ///
    /// [`snapshot`]: StatefulSinkPartition::snapshot
    /// [`close`]: StatefulSinkPartition::close
    fn on_durable(&mut self, epoch: Epoch, state: Self::State) -> Result<(), BoxError> {
        let _ = (epoch, state);
        Ok(())
    }

    /// Called without a recovery store, at the end of every epoch this partition was
    /// written in: nothing is snapshotted and nothing can be resumed, so what it wrote
    /// in `epoch` is final as soon as it is written (a sink that holds writes back until
    /// they are durable, with a store, commits them here).
    fn on_final(&mut self, epoch: Epoch) -> Result<(), BoxError> {
        let _ = epoch;
        Ok(())
    }

    /// Called once when the dataflow completes; not called on a crash.
    fn close(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}
