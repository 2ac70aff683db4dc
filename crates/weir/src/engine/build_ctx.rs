//! What a step sees while its timely operators are built on one worker.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use prometheus_client::metrics::counter::Counter;
use timely::dataflow::operators::{Inspect, Probe};
use timely::dataflow::{ProbeHandle, Scope, StreamVec};

use crate::dataflow::flow::EventTimeRole;
use crate::dataflow::{PortId, StepNode};
use crate::engine::Assignment;
use crate::engine::StepName;
use crate::engine::execute::Runtime;
use crate::engine::ports::PortTable;
use crate::engine::time::Time;
use serde::de::DeserializeOwned;

use crate::key::KeyRoute;
use crate::metrics::{Metrics, StepLabel, StepWorker, Table, WatermarkLag, WorkerLabel};
use crate::recovery::{SnapshotRow, decode};
use crate::testing::TestClock;
use crate::{BoxError, Data, Epoch, Error, StepId};

/// Resume states of one step on this worker: state key → encoded state.
pub(crate) type StepStates = HashMap<String, Vec<u8>>;

/// Per-step, per-worker facts that operators capture: who they are and how to fail.
#[derive(Clone)]
pub(crate) struct StepCtx {
    pub id: StepId,
    /// The step id for panic attribution and logs.
    pub name: StepName,
    pub worker: usize,
    pub peers: usize,
    runtime: Arc<Runtime>,
    probe: ProbeHandle<Time>,
    on_disk: ProbeHandle<Time>,
    assignment: Option<Arc<Assignment>>,
    resume: Rc<RefCell<StepStates>>,
    start_epoch: Epoch,
    snapshotting: bool,
    /// Whether the step acts on the watermark (its lag is a metric).
    needs_clock: bool,
    /// Set by an operator that counts the items it emits itself (see `own_items_counter`).
    counts_itself: Rc<Cell<bool>>,
}

impl StepCtx {
    /// Records an error of user code; every worker of this process then stops.
    pub(crate) fn fail(&self, source: BoxError) {
        self.runtime
            .failure
            .record(Error::step(self.id.as_str(), self.worker, source));
    }

    /// Records an error that already says where it happened.
    pub(crate) fn fail_with(&self, err: Error) {
        self.runtime.failure.record(err);
    }

    pub(crate) fn has_failed(&self) -> bool {
        self.runtime.failure.is_set()
    }

    /// Whether this process was asked to stop gracefully (see `engine/stop.rs`): at the
    /// end of their input, stateful steps keep their state instead of flushing it.
    pub(crate) fn stop_requested(&self) -> bool {
        self.runtime.stop.requested()
    }

    /// Whether every worker of the cluster has heard of the stop: inputs may end.
    pub(crate) fn stop_agreed(&self) -> bool {
        self.runtime.stop.everyone_knows()
    }

    pub(crate) fn epoch_interval(&self) -> Duration {
        self.runtime.config.epoch_interval
    }

    /// Processing time during `epoch`: the system clock's, or the run's test clock's.
    pub(crate) fn processing_time(&self, epoch: Epoch) -> SystemTime {
        match &self.runtime.config.processing_clock {
            Some(clock) => clock.time_at(epoch),
            None => SystemTime::now(),
        }
    }

    /// The run's test clock, if processing time is under a test's control.
    pub(crate) fn test_clock(&self) -> Option<&TestClock> {
        self.runtime.config.processing_clock.as_ref()
    }

    /// This process's metrics, if they are on.
    pub(crate) fn metrics(&self) -> Option<&Arc<Metrics>> {
        self.runtime.metrics.as_ref()
    }

    /// An input of this step opened `epoch`: logs and the `weir_epoch` gauge say so.
    pub(crate) fn opened_epoch(&self, epoch: Epoch) {
        self.name.span.record("epoch", epoch);
        if let Some(metrics) = self.metrics() {
            let worker = WorkerLabel {
                worker: self.worker as u64,
            };
            metrics.epoch.get_or_create(&worker).set(epoch as i64);
        }
    }

    /// Where a step that acts on the watermark reports its lag behind the wall clock, if
    /// metrics are on (see [`WatermarkLag`]).
    pub(crate) fn watermark_lag(&self) -> Option<WatermarkLag> {
        let metrics = self.metrics().filter(|_| self.needs_clock)?;
        let step = StepLabel {
            step: self.id.to_string(),
        };
        Some(WatermarkLag(metrics.watermark_lag.get_or_create_owned(&step)))
    }

    /// The items counter for an operator that counts what it emits itself, on all its
    /// outputs (cheaper than the counting operator `set_output` adds otherwise).
    pub(crate) fn own_items_counter(&self) -> Option<Counter> {
        let counter = self.items_counter()?;
        self.counts_itself.set(true);
        Some(counter)
    }

    /// The table a `serve` step publishes into (one per process and name).
    pub(crate) fn served_table(&self, name: &str, route: KeyRoute) -> Arc<Table> {
        self.runtime.serving.table(name, route)
    }

    /// The counter of items out of this step on this worker, if metrics are on.
    pub(crate) fn items_counter(&self) -> Option<Counter> {
        let labels = StepWorker {
            step: self.id.to_string(),
            worker: self.worker as u64,
        };
        Some(self.metrics()?.items.get_or_create_owned(&labels))
    }

    pub(crate) fn max_epochs_in_flight(&self) -> u64 {
        self.runtime.config.max_epochs_in_flight
    }

    /// The probe on every output step: how far the whole dataflow has completed (with
    /// recovery: every snapshot committed on every worker).
    pub(crate) fn probe(&self) -> &ProbeHandle<Time> {
        &self.probe
    }

    /// With recovery, how far every snapshot is synced to disk on every worker (the
    /// recovery writers' second output): what no crash, not even of the OS, takes back.
    pub(crate) fn on_disk(&self) -> &ProbeHandle<Time> {
        &self.on_disk
    }

    /// The cluster-wide partition assignment of this (partitioned) step.
    pub(crate) fn assignment(&self) -> Arc<Assignment> {
        self.assignment
            .clone()
            .expect("partitioned steps are assigned partitions before building")
    }

    /// The first epoch of this execution (after the resume epoch).
    pub(crate) fn start_epoch(&self) -> Epoch {
        self.start_epoch
    }

    /// Whether state must be snapshotted at every epoch's end.
    pub(crate) fn snapshotting(&self) -> bool {
        self.snapshotting
    }

    /// Takes the resume states this worker holds for this step.
    pub(crate) fn take_resume_states(&self) -> StepStates {
        self.resume.take()
    }

    /// Removes and decodes the resume state of partition `part` from `states`; a state
    /// that does not decode is recorded as this step's failure (`Err`).
    pub(crate) fn partition_state<S: DeserializeOwned>(
        &self,
        states: &mut StepStates,
        part: &str,
    ) -> Result<Option<S>, ()> {
        match states
            .remove(part)
            .map(|bytes| decode(self.id.as_str(), part, &bytes))
        {
            None => Ok(None),
            Some(Ok(state)) => Ok(Some(state)),
            Some(Err(err)) => {
                self.fail_with(err);
                Err(())
            }
        }
    }
}

/// The dataflow of one worker under construction.
pub(crate) struct BuildCtx<'s> {
    scope: Scope<'s, Time>,
    ports: PortTable<'s>,
    /// Ports some step reads.
    read_ports: HashSet<PortId>,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
    step: StepCtx,
    states: HashMap<StepId, StepStates>,
    snapshots: Vec<StreamVec<'s, Time, SnapshotRow>>,
}

/// Where the run starts: the first epoch, and the resume states of this worker by step.
pub(crate) struct Start {
    pub epoch: Epoch,
    pub snapshotting: bool,
    pub states: HashMap<StepId, StepStates>,
}

impl<'s> BuildCtx<'s> {
    pub(crate) fn new(
        scope: Scope<'s, Time>,
        steps: &[StepNode],
        port_count: usize,
        runtime: Arc<Runtime>,
        probe: ProbeHandle<Time>,
        start: Start,
    ) -> Self {
        BuildCtx {
            scope,
            ports: PortTable::new(port_count),
            read_ports: steps.iter().flat_map(|s| s.inputs.iter().copied()).collect(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            step: StepCtx {
                id: StepId::new("none").expect("a constant valid id"),
                name: StepName::new("none"),
                worker: scope.index(),
                peers: scope.peers(),
                runtime,
                probe,
                on_disk: ProbeHandle::new(),
                assignment: None,
                resume: Rc::default(),
                start_epoch: start.epoch,
                snapshotting: start.snapshotting,
                needs_clock: false,
                counts_itself: Rc::default(),
            },
            states: start.states,
            snapshots: Vec::new(),
        }
    }

    /// Switches to building `node`.
    pub(crate) fn begin(&mut self, node: &StepNode, assignments: &HashMap<StepId, Arc<Assignment>>) {
        self.inputs = node.inputs.clone();
        self.outputs = node.outputs.clone();
        self.step.id = node.id.clone();
        self.step.name = StepName::new(node.id.as_str());
        self.step.assignment = assignments.get(&node.id).cloned();
        self.step.needs_clock = node.event_time == EventTimeRole::NeedsClock;
        self.step.counts_itself = Rc::default();
        self.step.resume = Rc::new(RefCell::new(self.states.remove(&node.id).unwrap_or_default()));
    }

    pub(crate) fn scope(&self) -> Scope<'s, Time> {
        self.scope
    }

    pub(crate) fn step(&self) -> &StepCtx {
        &self.step
    }

    /// The built stream of the current step's `index`-th input.
    pub(crate) fn input<T: Data>(&self, index: usize) -> StreamVec<'s, Time, T> {
        self.ports.get(self.inputs[index])
    }

    /// Whether a step reads the current step's `index`-th output (an operator may skip
    /// producing what nobody reads).
    pub(crate) fn output_is_read(&self, index: usize) -> bool {
        self.read_ports.contains(&self.outputs[index])
    }

    /// Publishes the current step's `index`-th output; with metrics on, counts its items
    /// (unless the operator does, or no step reads it). An output no step reads feeds the
    /// flow's probe.
    pub(crate) fn set_output<T: Data>(&mut self, index: usize, stream: StreamVec<'s, Time, T>) {
        let read = self.output_is_read(index);
        let stream = match self.step.items_counter() {
            Some(counter) if read && !self.step.counts_itself.get() => stream.inspect_core(move |event| {
                if let Ok((_, items)) = event {
                    counter.inc_by(items.len() as u64);
                }
            }),
            _ => stream,
        };
        // A stream no step reads ends a branch without an output: the run is done only
        // once it is (so a branch whose input runs on keeps the worker's loop going).
        let stream = if read {
            stream
        } else {
            stream.probe_with(&self.step.probe)
        };
        self.ports.insert(self.outputs[index], stream);
    }

    /// Registers a stream of snapshots for the recovery writer (kept only when snapshotting).
    pub(crate) fn add_snapshots(&mut self, snapshots: StreamVec<'s, Time, SnapshotRow>) {
        if self.step.snapshotting {
            self.snapshots.push(snapshots);
        }
    }

    /// All snapshot streams registered by the steps.
    pub(crate) fn take_snapshots(&mut self) -> Vec<StreamVec<'s, Time, SnapshotRow>> {
        std::mem::take(&mut self.snapshots)
    }
}
