//! weir: a partitioned, recoverable stream-processing runtime on timely dataflow.
//!
//! Build a [`Dataflow`] from sources, operators and sinks, then run it on one worker, on
//! several worker threads, or on a cluster of processes, with the same results:
//!
//! ```
//! use weir::testing::{TestingSink, TestingSource};
//! use weir::{Dataflow, RunConfig};
//!
//! let lines = vec!["to be or".to_string(), "not to be".to_string()];
//! let mut flow = Dataflow::new("wordcount");
//! let counts = TestingSink::new();
//! flow.input("read", TestingSource::new(lines))
//!     .flat_map("split", |line: String| {
//!         line.split_whitespace().map(str::to_owned).collect::<Vec<_>>()
//!     })
//!     .as_keys("key")
//!     .count_final("count")
//!     .output("write", counts.clone());
//! weir::run(flow, RunConfig::threads(2)).unwrap();
//! assert_eq!(
//!     counts.sorted(),
//!     vec![("be".into(), 2), ("not".into(), 1), ("or".into(), 1), ("to".into(), 2)]
//! );
//! ```
//!
//! A program hands its flow to [`cli::main`], which parses the runtime flags (`-w`, `-i`,
//! `-a`, `-p`, `-s`, …, each also readable from a `WEIR_*` environment variable).
//!
//! # Layout
//! - [`dataflow`]: the graph as a value: [`Dataflow`], typed [`Stream`]s, descriptions.
//! - [`operators`]: one file per operator; the stateful ones share one keyed core.
//! - [`inputs`] and [`outputs`]: the source and sink traits (bytewax's input API).
//! - [`connectors`]: files, directories, CSV, stdin and stdout.
//! - [`testing`]: the test kit users and weir's own tests share.
//! - [`event_time`]: timestamps to and from `chrono` date-times.
//! - [`joins`]: keyed joins (inner, left, full outer; bytewax's modes) and the as-of join.
//! - [`windows`]: event-time windows (tumbling, sliding, session) over source watermarks.
//! - `engine` (private): how a plan becomes timely operators, partition assignment, routing,
//!   the worker loop, failure handling; [`run`] and [`RunConfig`] are its public face.
//! - [`recovery`]: the SQLite recovery store, snapshots at epoch ends, resume, GC.
//! - [`cli`]: flags, environment variables, logging, signals (graceful stop) and the local
//!   cluster launcher (with restarts).
//! - `metrics` (private): Prometheus metrics, the dashboard, health, served state over
//!   HTTP and the progress line; [`MetricsConfig`] is its public face.
//!
//! See `ARCHITECTURE.md` for the data path, epochs and partition assignment.

#![deny(missing_docs)]

pub mod cli;
pub mod connectors;
pub mod dataflow;
mod engine;
mod error;
pub mod event_time;
mod ids;
pub mod inputs;
pub mod joins;
mod key;
mod metrics;
pub mod operators;
pub mod outputs;
pub mod recovery;
pub mod testing;
pub mod views;
pub mod windows;

pub use dataflow::{ClockedInput, Dataflow, KeyedStream, Stream};
pub use engine::{Execution, RecoveryConfig, RunConfig, StopSignal, run};
pub use error::{BoxError, Error};
pub use ids::{Epoch, StepId, Timestamp};
pub use key::Key;
pub use metrics::MetricsConfig;

/// What items of a stream must be: cloneable, sendable and serialisable (items cross
/// threads and processes, and state is snapshotted).
pub trait Data: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static {}

impl<T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static> Data for T {}

/// The README's code blocks, compiled as doctests so they cannot drift from the API.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
