//! An exactly-once PostgreSQL sink for weir: [`PostgresSink`].
//!
//! Each partition of the sink numbers the rows it is given (its *position*). With a
//! recovery store, rows wait in the partition until their epoch's snapshot — which holds
//! them — is durable on every worker; then one transaction inserts (or upserts) them and
//! moves the partition's fence row `weir_fences(sink, step, part) -> position` to the
//! position after them. The fence, not the epoch number, says what is in the database: a
//! replayed epoch does not hold the items of the original one, but a resumed partition
//! continues numbering from its snapshot, and a transaction skips the rows the fence
//! already covers. A process may die at any moment:
//!
//! - before the store commit of an epoch: the resume starts from an earlier snapshot, whose
//!   rows the database either has (fence past them: skipped) or not (written on resume);
//!   rows after it were never in the database, since they are written only once durable;
//! - between the store commit and the database commit: the resumed partition's state holds
//!   the rows; it writes them when built, fenced;
//! - after the database commit: the resumed state's rows are behind the fence: skipped.
//!
//! A transaction stages its rows with a binary `COPY` into a temporary table and moves them
//! with one `INSERT … SELECT` (an upsert keeps each key's last row), so it costs a few round
//! trips whatever its size: `benches/postgres.rs` measures 350–500 k rows/s.
//!
//! Without a recovery store, rows are written at the end of each epoch (at most once
//! around a crash). The database going away gets retries with backoff, then an error
//! naming the server.

mod connect;
mod partition;
mod sink;

pub use partition::{PendingRows, PostgresPartition};
pub use sink::{Mode, PostgresSink, ToRow};
