//! How a dataflow runs: worker threads or a cluster of processes, epoch length, limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::Error;
use crate::engine::StopSignal;
use crate::metrics::MetricsConfig;
use crate::testing::TestClock;

/// Where the workers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Execution {
    /// `n` worker threads in this process.
    Threads(usize),
    /// This process is one of a cluster started by hand (or by a launcher).
    Cluster {
        /// Worker threads in each process; every process must use the same number.
        workers_per_process: usize,
        /// The index of this process, `0..addresses.len()`.
        process_id: usize,
        /// `host:port` of every process, in process order.
        addresses: Vec<String>,
    },
}

/// Where and how a dataflow snapshots its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryConfig {
    /// A store created by `weir recovery init`.
    pub directory: PathBuf,
    /// How long superseded snapshots are kept before garbage collection, so an older
    /// backup of the store stays resumable.
    pub backup_interval: Duration,
}

/// The run-time settings of a dataflow execution.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Where the workers run.
    pub execution: Execution,
    /// How long an epoch lasts; sources advance the epoch on this clock.
    pub epoch_interval: Duration,
    /// Sources stop reading while this many epochs are not yet complete downstream.
    pub max_epochs_in_flight: u64,
    /// A worker that sees no epoch complete for this long stops the run (hung peer).
    pub watchdog_timeout: Duration,
    /// How long processes of a cluster wait for each other at start-up.
    pub connect_timeout: Duration,
    /// Snapshot state at every epoch's end and resume from the store (`None`: no recovery).
    pub recovery: Option<RecoveryConfig>,
    /// Processing time for tests (`None`: the system clock); see [`TestClock`].
    pub processing_clock: Option<TestClock>,
    /// Serve metrics, health and the graph over HTTP (`None`: no server, no counting).
    pub metrics: Option<MetricsConfig>,
    /// Stops the run gracefully when given (see [`StopSignal`]).
    pub stop: StopSignal,
    /// Rewrite a progress line on stderr every second (the CLI turns it on when stderr is
    /// a terminal); counts items as metrics do.
    pub progress: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            execution: Execution::Threads(1),
            epoch_interval: Duration::from_secs(10),
            max_epochs_in_flight: 2,
            watchdog_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(60),
            recovery: None,
            processing_clock: None,
            metrics: None,
            stop: StopSignal::new(),
            progress: false,
        }
    }
}

impl RunConfig {
    /// The default configuration with `workers` threads in this process.
    pub fn threads(workers: usize) -> Self {
        RunConfig {
            execution: Execution::Threads(workers),
            ..RunConfig::default()
        }
    }

    /// This configuration with epochs of `interval`.
    pub fn with_epoch_interval(self, interval: Duration) -> Self {
        RunConfig {
            epoch_interval: interval,
            ..self
        }
    }

    /// This configuration with snapshots into the store at `directory` (made by
    /// `weir recovery init`), keeping no superseded snapshots.
    pub fn with_recovery(self, directory: impl Into<PathBuf>) -> Self {
        RunConfig {
            recovery: Some(RecoveryConfig {
                directory: directory.into(),
                backup_interval: Duration::ZERO,
            }),
            ..self
        }
    }

    /// This configuration serving metrics at `addr` (see [`MetricsConfig`]), unhealthy
    /// after 60 s without progress.
    pub fn with_metrics(self, addr: SocketAddr) -> Self {
        RunConfig {
            metrics: Some(MetricsConfig {
                addr,
                stall_timeout: Duration::from_secs(60),
            }),
            ..self
        }
    }

    /// This configuration, stopped gracefully when `signal` is given.
    pub fn with_stop_signal(self, signal: StopSignal) -> Self {
        RunConfig { stop: signal, ..self }
    }

    /// This process's index, the workers per process, and the workers of the cluster.
    pub(crate) fn layout(&self) -> (usize, usize, usize) {
        match &self.execution {
            Execution::Threads(n) => (0, *n, *n),
            Execution::Cluster {
                workers_per_process,
                process_id,
                addresses,
            } => (
                *process_id,
                *workers_per_process,
                workers_per_process * addresses.len(),
            ),
        }
    }

    /// The global indices of this process's workers.
    pub(crate) fn local_workers(&self) -> Vec<usize> {
        match &self.execution {
            Execution::Threads(n) => (0..*n).collect(),
            Execution::Cluster {
                workers_per_process,
                process_id,
                ..
            } => (process_id * workers_per_process..(process_id + 1) * workers_per_process).collect(),
        }
    }

    /// The number of epochs the backup interval spans (at least 0).
    pub(crate) fn backup_epochs(&self) -> u64 {
        let backup = self
            .recovery
            .as_ref()
            .map_or(Duration::ZERO, |r| r.backup_interval);
        (backup.as_secs_f64() / self.epoch_interval.as_secs_f64()).ceil() as u64
    }

    /// Checks that the settings can work together.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |msg: String| Err(Error::Config(msg));
        match &self.execution {
            Execution::Threads(0) => return bad("at least one worker thread is needed".into()),
            Execution::Cluster {
                workers_per_process,
                process_id,
                addresses,
            } => {
                if *workers_per_process == 0 {
                    return bad("at least one worker per process is needed".into());
                }
                if addresses.is_empty() {
                    return bad("a cluster needs the address of every process (-a)".into());
                }
                if *process_id >= addresses.len() {
                    return bad(format!(
                        "process id {process_id} (-i) is not below the number of addresses \
                         given ({}): ids run from 0 to {}",
                        addresses.len(),
                        addresses.len() - 1
                    ));
                }
            }
            Execution::Threads(_) => {}
        }
        if self.epoch_interval.is_zero() {
            return bad("the epoch (snapshot) interval must be longer than zero".into());
        }
        if self.max_epochs_in_flight == 0 {
            return bad("at least one epoch must be allowed in flight".into());
        }
        if self.watchdog_timeout <= self.epoch_interval {
            return bad(format!(
                "the watchdog timeout ({:?}) must be longer than the epoch interval ({:?}), \
                 or every quiet epoch would look like a hang",
                self.watchdog_timeout, self.epoch_interval
            ));
        }
        Ok(())
    }
}
