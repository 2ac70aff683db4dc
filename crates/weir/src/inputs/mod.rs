//! Sources, modelled on bytewax's input API: partitioned and resumable, or one per worker;
//! and adapters that make a partition from an iterator, a getter or an async stream (the
//! bytewax seed's `batch`, `batch_getter` and `batch_async`), with sources made from them
//! in one call.

mod async_runtime;
mod batch;
mod dynamic;
mod event_clock;
mod fixed;
mod from_getter;
mod from_iter;
mod from_stream;
mod per_partition;
mod simple_polling;
mod system_clock;

pub use async_runtime::async_runtime;
pub use batch::Batch;
pub use dynamic::{DynamicSource, StatelessSourcePartition};
pub use event_clock::EventClock;
pub(crate) use event_clock::PartitionClock;
pub(crate) use fixed::UNREACHABLE_PART;
pub use fixed::{FixedPartitionedSource, StatefulSourcePartition};
pub use from_getter::{GetterPartition, Got, ResumableGetter};
pub use from_iter::{IterPartition, ResumableIter};
pub use from_stream::{ResumableStream, StreamPartition};
pub use per_partition::{
    DEFAULT_BATCH_SIZE, NamedParts, PerWorker, iter_per_partition, iter_per_worker, stream_per_partition,
    stream_per_worker,
};
pub use simple_polling::{PollError, SimplePollingSource};
pub use system_clock::{SystemClock, SystemClockPartition};
