//! Sources, modelled on bytewax's input API: partitioned and resumable, or one per worker.

mod batch;
mod dynamic;
mod event_clock;
mod fixed;
mod simple_polling;
mod system_clock;

pub use batch::Batch;
pub use dynamic::{DynamicSource, StatelessSourcePartition};
pub use event_clock::EventClock;
pub(crate) use event_clock::PartitionClock;
pub(crate) use fixed::UNREACHABLE_PART;
pub use fixed::{FixedPartitionedSource, StatefulSourcePartition};
pub use simple_polling::{PollError, SimplePollingSource};
pub use system_clock::{SystemClock, SystemClockPartition};
