//! Sinks: partitioned and resumable, or one stateless partition per worker.

mod dynamic;
mod fixed;

pub use dynamic::{DynamicSink, StatelessSinkPartition};
pub use fixed::{FixedPartitionedSink, StatefulSinkPartition};
