//! What a step sees while its timely operators are built on one worker.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use timely::dataflow::{ProbeHandle, Scope, StreamVec};

use crate::dataflow::StepNode;
use crate::engine::Assignment;
use crate::engine::execute::Runtime;
use crate::engine::ports::PortTable;
use crate::{BoxError, Data, Epoch, Error, StepId};

/// Per-step, per-worker facts that operators capture: who they are and how to fail.
#[derive(Clone)]
pub(crate) struct StepCtx {
    pub id: StepId,
    /// The step id as a cheaply cloned string, for panic attribution.
    pub name: Rc<str>,
    pub worker: usize,
    pub peers: usize,
    runtime: Arc<Runtime>,
    probe: ProbeHandle<Epoch>,
    assignment: Option<Arc<Assignment>>,
}

impl StepCtx {
    /// Records an error of user code; every worker of this process then stops.
    pub(crate) fn fail(&self, source: BoxError) {
        self.runtime
            .failure
            .record(Error::step(self.id.as_str(), self.worker, source));
    }

    pub(crate) fn has_failed(&self) -> bool {
        self.runtime.failure.is_set()
    }

    pub(crate) fn epoch_interval(&self) -> Duration {
        self.runtime.config.epoch_interval
    }

    pub(crate) fn max_epochs_in_flight(&self) -> u64 {
        self.runtime.config.max_epochs_in_flight
    }

    /// The probe on every output step: how far the whole dataflow has completed.
    pub(crate) fn probe(&self) -> &ProbeHandle<Epoch> {
        &self.probe
    }

    /// The cluster-wide partition assignment of this (partitioned) step.
    pub(crate) fn assignment(&self) -> Arc<Assignment> {
        self.assignment
            .clone()
            .expect("partitioned steps are assigned partitions before building")
    }
}

/// The dataflow of one worker under construction.
pub(crate) struct BuildCtx<'s> {
    scope: Scope<'s, Epoch>,
    ports: PortTable<'s>,
    inputs: Vec<usize>,
    outputs: Vec<usize>,
    step: StepCtx,
}

impl<'s> BuildCtx<'s> {
    pub(crate) fn new(
        scope: Scope<'s, Epoch>,
        port_count: usize,
        runtime: Arc<Runtime>,
        probe: ProbeHandle<Epoch>,
    ) -> Self {
        BuildCtx {
            scope,
            ports: PortTable::new(port_count),
            inputs: Vec::new(),
            outputs: Vec::new(),
            step: StepCtx {
                id: StepId::new("none").expect("a constant valid id"),
                name: Rc::from("none"),
                worker: scope.index(),
                peers: scope.peers(),
                runtime,
                probe,
                assignment: None,
            },
        }
    }

    /// Switches to building `node`.
    pub(crate) fn begin(&mut self, node: &StepNode, assignments: &HashMap<StepId, Arc<Assignment>>) {
        self.inputs = node.inputs.clone();
        self.outputs = node.outputs.clone();
        self.step.id = node.id.clone();
        self.step.name = Rc::from(node.id.as_str());
        self.step.assignment = assignments.get(&node.id).cloned();
    }

    pub(crate) fn scope(&self) -> Scope<'s, Epoch> {
        self.scope
    }

    pub(crate) fn step(&self) -> &StepCtx {
        &self.step
    }

    /// The built stream of the current step's `index`-th input.
    pub(crate) fn input<T: Data>(&self, index: usize) -> StreamVec<'s, Epoch, T> {
        self.ports.get(self.inputs[index])
    }

    /// Publishes the current step's `index`-th output.
    pub(crate) fn set_output<T: Data>(&mut self, index: usize, stream: StreamVec<'s, Epoch, T>) {
        self.ports.insert(self.outputs[index], stream);
    }
}
