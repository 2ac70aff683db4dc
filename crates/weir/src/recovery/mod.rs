//! Recovery: per-epoch snapshots into partitioned SQLite stores, and resuming from them.
//!
//! - `schema`: the tables of a partition file, `init`, migrations.
//! - `store`: one partition file — validation, locking, reads and writes.
//! - `snapshot_table`: a partition's snapshots — committing, reading the latest, GC.
//! - `batch`: the bytes of a batch of key snapshots, as the snapshot table stores them.
//! - `fence`: only the latest execution writes; stale processes are refused.
//! - `resume`: pure decisions — which epoch to resume from, what GC may delete.
//! - `routing`: which store partition and which worker commit each snapshot row.
//! - `loader`: at start-up, reads the store once and sends each state to its worker.
//! - `writer`: the operator that makes each epoch's snapshots durable.
//! - `committer`: the writer's thread, which does its SQLite work.
//! - `inspect`: the report behind `weir recovery inspect`, the states a resume would
//!   restore, and the resume epoch the local launcher reads after a failure.

mod batch;
mod committer;
mod fence;
mod inspect;
pub(crate) mod loader;
mod lock;
mod resume;
mod routing;
mod schema;
mod snapshot;
mod snapshot_table;
mod store;
pub(crate) mod writer;

pub(crate) use inspect::next_resume_epoch;
pub use inspect::{PartitionReport, StoreReport, inspect, latest_states};
pub(crate) use routing::StoreRouting;
pub use schema::init;
pub(crate) use snapshot::{SnapshotRow, decode, encode};
pub(crate) use store::{PartitionStore, list_partitions};
