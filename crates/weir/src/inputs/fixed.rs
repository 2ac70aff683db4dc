//! Sources with a fixed set of partitions, each with resume state.

use std::task::Waker;
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::inputs::Batch;
use crate::{BoxError, Data, StepId, Timestamp};

/// An input with a fixed number of independent partitions, each resumable from a state.
///
/// Every worker lists the partitions it can reach; the runtime builds each listed partition
/// exactly once in the whole cluster, on a worker that listed it, spreading them evenly.
/// If partitions can seek, this gives exactly-once input. Each partition must hold distinct
/// data: the same data in two partitions is processed twice.
pub trait FixedPartitionedSource: Send + Sync + 'static {
    /// The items the source emits.
    type Item: Data;
    /// Where a partition resumes reading (for example a byte offset).
    type State: Serialize + DeserializeOwned + 'static;
    /// One open partition.
    type Partition: StatefulSourcePartition<Item = Self::Item, State = Self::State>;

    /// The partitions this worker can reach (not necessarily all of them).
    fn list_parts(&self) -> Result<Vec<String>, BoxError>;

    /// Opens `for_part` (one this worker listed), resuming from `resume_state` if given.
    ///
    /// Derive all partition state from `resume_state`; do not pre-build it in the source.
    fn build_part(
        &self,
        step_id: &StepId,
        for_part: &str,
        resume_state: Option<Self::State>,
    ) -> Result<Self::Partition, BoxError>;

    /// Decides, at resume, about a partition that has state in the recovery store but that
    /// no worker lists now (say, a file that was deleted). `Ok` runs without it (its state
    /// stays in the store, for a later run that lists it again); an error stops the run
    /// before it starts.
    ///
    /// The default is that error: for most sources, state that nobody can resume from is
    /// input that would be lost (a queue partition that became unreachable).
    /// [`DirSource`](crate::connectors::DirSource) accepts a file it had read to its end.
    fn unlisted_part(&self, step_id: &StepId, part: &str, state: Self::State) -> Result<(), BoxError> {
        let _ = (step_id, part, state);
        Err(UNREACHABLE_PART.into())
    }
}

/// What to do about stored state of a partition that no worker lists, by default.
pub(crate) const UNREACHABLE_PART: &str = "make it reachable again or start from a fresh store";

/// An open partition of a [`FixedPartitionedSource`] that knows its position.
pub trait StatefulSourcePartition: 'static {
    /// The items the partition emits.
    type Item;
    /// Its resume state.
    type State;

    /// Reads what is ready now. Must not block: return [`Batch::Pending`] if nothing is
    /// ready. Keep batches bounded (say up to a few thousand items): the worker runs other
    /// steps between polls.
    fn next_batch(&mut self) -> Result<Batch<Self::Item>, BoxError>;

    /// When to poll next; `None` means at once (or in 1 ms after an empty batch).
    /// Use this instead of sleeping in `next_batch`.
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

    /// The test kit's hook: a [`TestClock`](crate::testing::TestClock) advance the
    /// partition reached (the marker's place in its script, and the advance), which ends
    /// the epoch. Other partitions keep the default.
    #[doc(hidden)]
    fn take_clock_advance(&mut self) -> Option<(u64, std::time::Duration)> {
        None
    }

    /// The position after the last item returned by `next_batch`, to resume from.
    fn snapshot(&self) -> Self::State;

    /// How many items the partition knows are waiting upstream (a Kafka partition's
    /// high watermark minus its next offset), reported as `weir_source_backlog` at each
    /// epoch's end when metrics are on; `None` if it does not know.
    fn backlog(&self) -> Option<u64> {
        None
    }

    /// Called once the snapshot `state` is durable on every worker (without a recovery
    /// store, at once): no resume will go back before it, so the source may acknowledge
    /// its upstream up to there (commit a consumer group's offsets, delete what was read).
    /// Called in order, also for the last snapshot of a partition that ended (before
    /// [`close`](Self::close), which waits for it); not for the snapshots of the last
    /// epoch before a graceful stop (the next run acknowledges them).
    fn on_durable(&mut self, state: Self::State) -> Result<(), BoxError> {
        let _ = state;
        Ok(())
    }

    /// Called once when the partition reached its end and its last snapshot is durable (at
    /// once without a recovery store), or at a graceful stop; not called on a crash.
    fn close(&mut self) -> Result<(), BoxError> {
        Ok(())
    }
}
