//! Operating a run: the metrics of each process and its HTTP endpoint (`--metrics-addr`):
//! the live dashboard on `/`, Prometheus text on `/metrics`, `/health`, the graph on
//! `/dataflow` and served state on `/state/…`; and the progress line on a terminal.
//!
//! Metrics cost nothing unless enabled: without `--metrics-addr` (or a progress line) no
//! step counts its items.

mod progress;
mod registry;
mod server;
mod serving;
mod text_format;

use std::net::SocketAddr;
use std::time::Duration;

pub(crate) use progress::ProgressLine;
pub(crate) use registry::{Metrics, StepLabel, StepPartition, StepWorker, WatermarkLag, WorkerLabel};
pub(crate) use server::{Server, Site};
pub(crate) use serving::{Owner, Serving, Table};

/// Where a process serves its metrics, and when it reports itself unhealthy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// `host:port` to listen on (port 0: any free port, logged at start).
    pub addr: SocketAddr,
    /// `/health` answers 503 when no epoch completed (with recovery: was committed) for
    /// this long.
    pub stall_timeout: Duration,
}
