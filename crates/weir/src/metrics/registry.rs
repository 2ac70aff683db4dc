//! The metrics of one process: a Prometheus registry and the handles operators update.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::{Epoch, Timestamp};

type SecondsGauge = Gauge<f64, AtomicU64>;

/// A step's `weir_watermark_lag_seconds` gauge.
pub(crate) struct WatermarkLag(pub SecondsGauge);

impl WatermarkLag {
    /// The step's watermark is now `watermark` (ignored once it is the end of time).
    pub(crate) fn set(&self, watermark: Timestamp) {
        if watermark == Timestamp::MAX {
            return;
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        self.0.set(now.saturating_sub(watermark) as f64 / 1000.0);
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StepWorker {
    pub step: String,
    pub worker: u64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct WorkerLabel {
    pub worker: u64,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StepLabel {
    pub step: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StepPartition {
    pub step: String,
    pub partition: String,
}

/// Every metric of this process, registered under the `weir_` prefix.
pub(crate) struct Metrics {
    registry: Registry,
    pub items: Family<StepWorker, Counter>,
    pub epoch: Family<WorkerLabel, Gauge>,
    pub epoch_lag: Family<WorkerLabel, Gauge>,
    committed_epoch: Gauge,
    committed_epoch_age: SecondsGauge,
    pub snapshot_duration: Histogram,
    pub snapshot_bytes: Counter,
    pub resume_duration: SecondsGauge,
    pub restarts: Counter,
    pub watermark_lag: Family<StepLabel, SecondsGauge>,
    pub source_backlog: Family<StepPartition, Gauge>,
    /// Whether this run snapshots (committed-epoch metrics mean something).
    recovery: bool,
    /// Set once this process's workers are connected to the cluster and building.
    connected: AtomicBool,
    /// The completed (with recovery: committed) epoch frontier, and when it last moved.
    progress: Mutex<Progress>,
    /// Set once every epoch completed: a finished run is not stalled.
    finished: AtomicBool,
}

struct Progress {
    frontier: Epoch,
    moved: Instant,
}

impl Metrics {
    pub(crate) fn new(recovery: bool) -> Metrics {
        let mut registry = Registry::with_prefix("weir");
        let metrics = Metrics {
            items: Family::default(),
            epoch: Family::default(),
            epoch_lag: Family::default(),
            committed_epoch: Gauge::default(),
            committed_epoch_age: SecondsGauge::default(),
            snapshot_duration: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            snapshot_bytes: Counter::default(),
            resume_duration: SecondsGauge::default(),
            restarts: Counter::default(),
            watermark_lag: Family::default(),
            source_backlog: Family::default(),
            recovery,
            connected: AtomicBool::new(false),
            progress: Mutex::new(Progress {
                frontier: 0,
                moved: Instant::now(),
            }),
            finished: AtomicBool::new(false),
            registry: Registry::default(),
        };
        registry.register(
            "items",
            "Items out of each step (written, for outputs)",
            metrics.items.clone(),
        );
        registry.register(
            "epoch",
            "The newest epoch the worker's inputs opened",
            metrics.epoch.clone(),
        );
        registry.register(
            "epoch_lag",
            "Epochs between the newest epoch and the completed frontier",
            metrics.epoch_lag.clone(),
        );
        if recovery {
            registry.register(
                "committed_epoch",
                "The last epoch committed to the recovery store on every worker",
                metrics.committed_epoch.clone(),
            );
            registry.register_with_unit(
                "committed_epoch_age",
                "Time since the committed epoch last advanced",
                Unit::Seconds,
                metrics.committed_epoch_age.clone(),
            );
            registry.register_with_unit(
                "snapshot_duration",
                "Time to commit one epoch's snapshots to a worker's store partitions",
                Unit::Seconds,
                metrics.snapshot_duration.clone(),
            );
            registry.register_with_unit(
                "snapshot",
                "Bytes of snapshot rows (keys and states) committed",
                Unit::Bytes,
                metrics.snapshot_bytes.clone(),
            );
            registry.register_with_unit(
                "resume_duration",
                "Time this execution took to load its resume state",
                Unit::Seconds,
                metrics.resume_duration.clone(),
            );
        }
        registry.register(
            "restarts",
            "Times the local launcher restarted this cluster",
            metrics.restarts.clone(),
        );
        registry.register_with_unit(
            "watermark_lag",
            "Wall-clock time minus the watermark of each event-time step",
            Unit::Seconds,
            metrics.watermark_lag.clone(),
        );
        registry.register(
            "source_backlog",
            "Items a source partition knows are waiting to be read",
            metrics.source_backlog.clone(),
        );
        Metrics { registry, ..metrics }
    }

    /// This process's workers are connected and running.
    pub(crate) fn set_connected(&self) {
        self.connected.store(true, Ordering::Relaxed);
    }

    /// The completed frontier (the first epoch not complete everywhere; `None`: all are)
    /// as one worker sees it.
    pub(crate) fn set_frontier(&self, frontier: Option<Epoch>) {
        let Some(frontier) = frontier else {
            self.finished.store(true, Ordering::Relaxed);
            return;
        };
        let mut progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        if frontier > progress.frontier {
            *progress = Progress {
                frontier,
                moved: Instant::now(),
            };
            if self.recovery {
                self.committed_epoch.set(frontier.saturating_sub(1) as i64);
            }
        }
    }

    /// How long the frontier has not moved, unless the run finished.
    pub(crate) fn stalled_for(&self) -> Option<std::time::Duration> {
        if self.finished.load(Ordering::Relaxed) {
            return None;
        }
        Some(
            self.progress
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .moved
                .elapsed(),
        )
    }

    /// The completed (with recovery: committed) frontier: the first epoch not complete.
    pub(crate) fn frontier(&self) -> Epoch {
        self.progress.lock().unwrap_or_else(|e| e.into_inner()).frontier
    }

    /// Whether this run has a recovery store.
    pub(crate) fn recovery(&self) -> bool {
        self.recovery
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// The metrics in the OpenMetrics text format.
    pub(crate) fn encode(&self) -> String {
        if let Some(age) = self.stalled_for() {
            self.committed_epoch_age.set(age.as_secs_f64());
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }
}
