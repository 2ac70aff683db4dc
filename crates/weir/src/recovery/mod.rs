//! Recovery: per-epoch snapshots into partitioned SQLite stores, and resuming from them.
//!
//! - `store`: one partition file — schema, validation, locking, reads and writes.
//! - `resume`: pure decisions — which epoch to resume from, what GC may delete.
//! - `routing`: which store partition and which worker commit each snapshot row.
//! - `loader`: at start-up, reads the store once and sends each state to its worker.
//! - `writer`: the operator that makes each epoch's snapshots durable.
//! - `inspect`: the report behind `weir recovery inspect`, and the resume epoch the local
//!   launcher reads after a failure.

mod inspect;
pub(crate) mod loader;
mod resume;
mod routing;
mod snapshot;
mod store;
pub(crate) mod writer;

pub(crate) use inspect::next_resume_epoch;
pub use inspect::{PartitionReport, StoreReport, inspect};
pub(crate) use routing::StoreRouting;
pub(crate) use snapshot::{SnapshotRow, decode, encode};
pub use store::init;
pub(crate) use store::{PartitionStore, list_partitions};
