//! Sources, modelled on bytewax's input API: partitioned and resumable, or one per worker.

mod batch;
mod dynamic;
mod fixed;
mod simple_polling;

pub use batch::Batch;
pub use dynamic::{DynamicSource, StatelessSourcePartition};
pub(crate) use fixed::UNREACHABLE_PART;
pub use fixed::{FixedPartitionedSource, StatefulSourcePartition};
pub use simple_polling::{PollError, SimplePollingSource};
