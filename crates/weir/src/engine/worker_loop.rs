//! One worker's life: assign partitions, build the dataflow, step it until done or failed.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::metrics::gauge::Gauge;
use timely::dataflow::operators::Probe;
use timely::dataflow::operators::vec::Input;
use timely::dataflow::{InputHandleVec, ProbeHandle};
use timely::worker::Worker;

use crate::dataflow::Plan;
use crate::engine::execute::Runtime;
use crate::engine::failure::take_last_panic;
use crate::engine::setup::{Assignments, assign_partitions};
use crate::engine::time::{Time, frontier_epoch};
use crate::engine::{BuildCtx, Execution, Start, StopBroadcast, all_gather};
use crate::metrics::{Metrics, WorkerLabel};
use crate::recovery::loader::load;
use crate::recovery::writer::{WriterPlan, build_writer};
use crate::{Epoch, Error};

/// Longest a worker parks before it looks at the failure flag and the watchdog again.
const PARK: Duration = Duration::from_millis(50);

/// Runs the plan on one worker until every input ends, or until any worker of this
/// process fails.
pub(crate) fn run_worker(worker: &mut Worker, plan: &Plan, runtime: &Arc<Runtime>) -> Result<(), Error> {
    let _span = tracing::info_span!("worker", worker = worker.index()).entered();
    let started = start(worker, plan, runtime);
    let (start, assignments, mut writer) = match started {
        Ok(started) => started,
        Err(err) => {
            // The other workers may be waiting for this one in a start-up exchange: tell
            // this process's workers to stop, and drop the half-run start-up dataflows
            // (timely would otherwise step them forever after this closure returns).
            runtime.failure.record(err);
            drop_dataflows(worker);
            return Err(runtime.failure.take().unwrap_or(Error::Cancelled {
                worker: worker.index(),
            }));
        }
    };
    let probe = ProbeHandle::<Time>::new();
    // Timely's top-level scopes need a totally ordered timestamp: the dataflow lives in a
    // child scope of (epoch, watermark) times (`engine/time.rs`).
    worker.dataflow::<Epoch, _, _>(|top| {
        top.scoped::<Time, _, _>("weir", |scope| {
            let mut ctx = BuildCtx::new(
                scope,
                &plan.steps,
                plan.port_count,
                runtime.clone(),
                probe.clone(),
                start,
            );
            for node in &plan.steps {
                ctx.begin(node, &assignments.steps);
                (node.build)(&mut ctx);
            }
            if let Some(writer) = writer.take() {
                build_writer(&mut ctx, writer);
            }
        })
    });
    tracing::debug!(steps = plan.steps.len(), "dataflow built");
    let progress = runtime.metrics.as_ref().map(|metrics| {
        metrics.set_connected();
        ProgressGauges::new(metrics, worker.index())
    });
    drive(worker, runtime, &probe, progress)
}

/// Start-up: partition assignment and, with a recovery store, the resume point and the
/// states this worker starts from.
fn start(
    worker: &mut Worker,
    plan: &Plan,
    runtime: &Arc<Runtime>,
) -> Result<(Start, Assignments, Option<WriterPlan>), Error> {
    let recovery_dir = runtime.config.recovery.as_ref().map(|r| r.directory.as_path());
    let assignments = assign_partitions(worker, plan, recovery_dir, runtime)?;
    exchange_served_addresses(worker, plan, runtime)?;
    let (Some(dir), Some(recovery)) = (recovery_dir, &assignments.recovery) else {
        let start = Start {
            epoch: 0,
            snapshotting: false,
            states: HashMap::new(),
        };
        return Ok((start, assignments, None));
    };
    let loading = Instant::now();
    let loaded = load(worker, plan, runtime, dir, recovery, &assignments.steps)?;
    if let Some(metrics) = &runtime.metrics {
        metrics.resume_duration.set(loading.elapsed().as_secs_f64());
    }
    if worker.index() == 0 {
        tracing::info!(
            execution = loaded.point.execution,
            resume_epoch = loaded.point.epoch,
            "recovery: starting execution"
        );
    }
    let start = Start {
        epoch: loaded.point.epoch + 1,
        snapshotting: true,
        states: loaded.states,
    };
    Ok((start, assignments, Some(loaded.writer)))
}

/// With served streams in a cluster, tells every process where the others' HTTP
/// endpoints are, so a request for a key another process owns is redirected there.
fn exchange_served_addresses(worker: &mut Worker, plan: &Plan, runtime: &Arc<Runtime>) -> Result<(), Error> {
    let cluster = matches!(runtime.config.execution, Execution::Cluster { .. });
    if !cluster || !plan.steps.iter().any(|s| s.kind == "serve") {
        return Ok(());
    }
    let all = all_gather(worker, runtime.metrics_address.clone(), runtime)?;
    let (_, per_process, _) = runtime.config.layout();
    let processes: Option<Vec<String>> = all.into_iter().step_by(per_process).collect();
    match processes {
        Some(addresses) => runtime.serving.set_addresses(addresses),
        None if worker.index() == 0 => {
            tracing::warn!(
                "served streams: not every process has --metrics-addr, so keys are not redirected"
            );
        }
        None => {}
    }
    Ok(())
}

/// Drops every dataflow of this worker, complete or not.
fn drop_dataflows(worker: &mut Worker) {
    for dataflow in worker.installed_dataflows() {
        worker.drop_dataflow(dataflow);
    }
}

/// Liveness of every worker of the cluster, through timely's own progress protocol: each
/// worker advances a data-less input on a clock; the frontier of all of them advances
/// only while every worker (every process) keeps stepping.
struct Heartbeat {
    input: Option<InputHandleVec<u64, ()>>,
    probe: ProbeHandle<u64>,
    interval: Duration,
    next_beat: Instant,
    last_frontier: Option<u64>,
    last_progress: Instant,
}

impl Heartbeat {
    fn new(worker: &mut Worker, watchdog: Duration) -> Self {
        let mut input = InputHandleVec::new();
        let probe = worker.dataflow::<u64, _, _>(|scope| scope.input_from(&mut input).probe().0);
        let interval = (watchdog / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
        Heartbeat {
            input: Some(input),
            probe,
            interval,
            next_beat: Instant::now(),
            last_frontier: Some(0),
            last_progress: Instant::now(),
        }
    }

    /// Beats if it is time; returns how long the cluster-wide frontier has not moved.
    fn beat(&mut self) -> Duration {
        let now = Instant::now();
        if let Some(input) = &mut self.input
            && now >= self.next_beat
        {
            input.advance_to(input.time() + 1);
            self.next_beat = now + self.interval;
        }
        let frontier = self.probe.with_frontier(|f| f.first().copied());
        if frontier != self.last_frontier {
            self.last_frontier = frontier;
            self.last_progress = now;
        }
        now - self.last_progress
    }

    /// Stops beating: this worker's dataflow is done.
    fn stop(&mut self) {
        self.input = None;
    }
}

/// The progress metrics a worker keeps up to date as the completed frontier moves.
struct ProgressGauges {
    metrics: Arc<Metrics>,
    epoch: Gauge,
    lag: Gauge,
    frontier: Option<Option<Epoch>>,
}

impl ProgressGauges {
    fn new(metrics: &Arc<Metrics>, worker: usize) -> Self {
        let worker = WorkerLabel {
            worker: worker as u64,
        };
        ProgressGauges {
            metrics: metrics.clone(),
            epoch: metrics.epoch.get_or_create_owned(&worker),
            lag: metrics.epoch_lag.get_or_create_owned(&worker),
            frontier: None,
        }
    }

    /// Updates the gauges if the frontier moved or the inputs opened a new epoch.
    fn update(&mut self, probe: &ProbeHandle<Time>) {
        let frontier = probe.with_frontier(|f| frontier_epoch(&f));
        if self.frontier != Some(frontier) {
            self.frontier = Some(frontier);
            self.metrics.set_frontier(frontier);
        }
        let lag = frontier.map_or(0, |f| (self.epoch.get() - f as i64).max(0));
        self.lag.set(lag);
    }
}

/// Steps the worker, turning panics into errors and watching that peers stay alive.
fn drive(
    worker: &mut Worker,
    runtime: &Runtime,
    probe: &ProbeHandle<Time>,
    mut progress: Option<ProgressGauges>,
) -> Result<(), Error> {
    let me = worker.index();
    let watchdog = runtime.config.watchdog_timeout;
    let mut heartbeat = Heartbeat::new(worker, watchdog);
    let mut stop = StopBroadcast::new(worker);
    loop {
        if runtime.failure.is_set() {
            drop_dataflows(worker);
            return Err(runtime.failure.take().unwrap_or(Error::Cancelled { worker: me }));
        }
        match catch_unwind(AssertUnwindSafe(|| worker.step_or_park(Some(PARK)))) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(_) => {
                let (step, message) = take_last_panic()
                    .unwrap_or_else(|| ("<runtime>".to_owned(), "panic outside any step".to_owned()));
                runtime.failure.record(Error::StepPanicked {
                    step,
                    worker: me,
                    message,
                });
                continue;
            }
        }
        if let Some(progress) = &mut progress {
            progress.update(probe);
        }
        if probe.done() {
            heartbeat.stop();
            stop.close();
        } else {
            stop.poll(&runtime.stop);
        }
        let silent = heartbeat.beat();
        if silent > watchdog {
            runtime.failure.record(Error::Stalled {
                worker: me,
                seconds: silent.as_secs_f64(),
            });
        }
    }
}
