//! `Dataflow`: the graph of steps a user builds before anything runs.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::sync::Arc;

use crate::dataflow::{ClockedInput, Description, Stream};
use crate::engine::BuildCtx;
use crate::inputs::{DynamicSource, EventClock, FixedPartitionedSource, SystemClock};
use crate::key::KeyRoute;
use crate::{BoxError, Data, Error, StepId, Timestamp};

/// Index of a stream inside one dataflow graph.
pub(crate) type PortId = usize;

/// Builds one step's timely operators on one worker. Runs once per worker, in step order.
pub(crate) type BuildFn = dyn for<'s> Fn(&mut BuildCtx<'s>) + Send + Sync;

/// Lists the partitions a worker can reach (for partitioned sources and sinks).
pub(crate) type ListPartsFn = dyn Fn() -> Result<Vec<String>, BoxError> + Send + Sync;

/// Decides about the encoded stored state of a partition that no worker lists
/// (see [`FixedPartitionedSource::unlisted_part`]).
pub(crate) type UnlistedPartFn = dyn Fn(&StepId, &str, &[u8]) -> Result<(), BoxError> + Send + Sync;

/// One step of the graph: its id, kind, streams in and out, and how to build it.
pub(crate) struct StepNode {
    pub id: StepId,
    pub kind: &'static str,
    pub inputs: Vec<PortId>,
    pub outputs: Vec<PortId>,
    /// Present for steps whose partitions are assigned across the cluster before the run.
    pub list_parts: Option<Arc<ListPartsFn>>,
    /// Present for partitioned sources: what to do with state of a partition nobody lists.
    pub unlisted_part: Option<Arc<UnlistedPartFn>>,
    /// Output steps end the graph; their progress is what sources watch for backpressure.
    pub is_output: bool,
    /// Keyed state (routed to workers by key) that recovery snapshots and restores: how a
    /// stored key's text routes to its worker.
    pub keyed_state: Option<KeyRoute>,
    /// Whether it is a clocked input or needs one upstream.
    pub event_time: EventTimeRole,
    pub build: Arc<BuildFn>,
}

/// The frozen, validated graph that every worker instantiates identically.
pub(crate) struct Plan {
    pub steps: Vec<StepNode>,
    pub port_count: usize,
}

pub(crate) struct Graph {
    flow_id: String,
    steps: Vec<StepNode>,
    port_count: usize,
    seen_ids: HashSet<String>,
    errors: Vec<Error>,
}

/// What a new step declares about itself.
pub(crate) struct StepSpec {
    pub kind: &'static str,
    pub inputs: Vec<PortId>,
    pub output_count: usize,
    pub list_parts: Option<Arc<ListPartsFn>>,
    pub unlisted_part: Option<Arc<UnlistedPartFn>>,
    pub is_output: bool,
    pub keyed_state: Option<KeyRoute>,
    pub event_time: EventTimeRole,
}

impl StepSpec {
    /// A step of `kind` over the streams at `inputs` with `output_count` outputs: no
    /// partitions, no keyed state, nothing to do with event time.
    pub(crate) fn plain(kind: &'static str, inputs: Vec<PortId>, output_count: usize) -> StepSpec {
        StepSpec {
            kind,
            inputs,
            output_count,
            list_parts: None,
            unlisted_part: None,
            is_output: false,
            keyed_state: None,
            event_time: EventTimeRole::Unrelated,
        }
    }
}

/// What a step has to do with event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventTimeRole {
    /// Nothing.
    Unrelated,
    /// An input with an event clock: its watermarks bound the steps downstream.
    Clock,
    /// A step that acts on the watermark (windows, as-of joins): meaningless without a
    /// clocked input upstream, where the watermark would be "end of time" from the start.
    NeedsClock,
    /// A step whose items no longer follow the watermark of its inputs (a view's boundary:
    /// what leaves a view appears when its epoch closes): no clock is seen through it.
    Unclocked,
}

impl Graph {
    /// Adds a step; a bad or duplicate id is recorded and reported when the flow runs.
    pub(crate) fn add(&mut self, id: &str, spec: StepSpec, build: Arc<BuildFn>) -> Vec<PortId> {
        let step_id = match StepId::new(id) {
            Ok(step_id) => step_id,
            Err(err) => {
                self.errors.push(err);
                StepId::new("invalid").expect("a constant valid id")
            }
        };
        if !self.seen_ids.insert(id.to_owned()) {
            self.errors.push(Error::DuplicateStepId(id.to_owned()));
        }
        let outputs: Vec<PortId> = (self.port_count..self.port_count + spec.output_count).collect();
        self.port_count += spec.output_count;
        self.steps.push(StepNode {
            id: step_id,
            kind: spec.kind,
            inputs: spec.inputs,
            outputs: outputs.clone(),
            list_parts: spec.list_parts,
            unlisted_part: spec.unlisted_part,
            is_output: spec.is_output,
            keyed_state: spec.keyed_state,
            event_time: spec.event_time,
            build,
        });
        outputs
    }
}

/// A dataflow: a graph of typed steps, built before anything runs.
///
/// Every worker instantiates the same graph in the same order. Step ids are checked as
/// steps are added and reported by [`run`](crate::run) (empty, malformed or duplicate ids).
///
/// ```
/// use weir::testing::{run_main, TestingSink, TestingSource};
/// use weir::Dataflow;
///
/// let mut flow = Dataflow::new("double");
/// let out = TestingSink::new();
/// flow.input("numbers", TestingSource::new(vec![1, 2, 3]))
///     .map("double", |x: i32| x * 2)
///     .output("out", out.clone());
/// run_main(flow).unwrap();
/// assert_eq!(out.sorted(), vec![2, 4, 6]);
/// ```
pub struct Dataflow {
    graph: Rc<RefCell<Graph>>,
}

impl Dataflow {
    /// Starts an empty dataflow named `id`.
    pub fn new(id: &str) -> Self {
        Dataflow {
            graph: Rc::new(RefCell::new(Graph {
                flow_id: id.to_owned(),
                steps: Vec::new(),
                port_count: 0,
                seen_ids: HashSet::new(),
                errors: Vec::new(),
            })),
        }
    }

    /// Adds a partitioned, resumable input: see [`FixedPartitionedSource`].
    pub fn input<S: FixedPartitionedSource>(&mut self, step_id: &str, source: S) -> Stream<S::Item> {
        let mut outputs = crate::operators::input::fixed(&self.graph, step_id, source, None);
        outputs.remove(0)
    }

    /// Adds a partitioned, resumable input whose items carry event time: each partition
    /// keeps a watermark (part of its snapshot) and splits off its late items; see
    /// [`EventClock`].
    pub fn input_with_clock<S: FixedPartitionedSource>(
        &mut self,
        step_id: &str,
        source: S,
        clock: EventClock<S::Item>,
    ) -> ClockedInput<S::Item> {
        ClockedInput::from_outputs(crate::operators::input::fixed(
            &self.graph,
            step_id,
            source,
            Some(clock),
        ))
    }

    /// Adds a partitioned, resumable input whose items are stamped with the processing time
    /// they are read at, `(read_ms, item)`, with watermarks that follow the system clock:
    /// windows over `|item| item.0` are processing-time windows. See [`SystemClock`].
    pub fn input_with_system_clock<S: FixedPartitionedSource>(
        &mut self,
        step_id: &str,
        source: S,
    ) -> ClockedInput<(Timestamp, S::Item)> {
        let clock = EventClock::new(|item: &(Timestamp, S::Item)| item.0, std::time::Duration::ZERO);
        self.input_with_clock(step_id, SystemClock(source), clock)
    }

    /// Adds an input with one stateless partition per worker: see [`DynamicSource`].
    pub fn dynamic_input<S: DynamicSource>(&mut self, step_id: &str, source: S) -> Stream<S::Item> {
        let mut outputs = crate::operators::input::dynamic(&self.graph, step_id, source, None);
        outputs.remove(0)
    }

    /// Adds an input with one stateless partition per worker whose items carry event time;
    /// see [`EventClock`]. (Its watermarks are not resumable: neither are its partitions.)
    pub fn dynamic_input_with_clock<S: DynamicSource>(
        &mut self,
        step_id: &str,
        source: S,
        clock: EventClock<S::Item>,
    ) -> ClockedInput<S::Item> {
        ClockedInput::from_outputs(crate::operators::input::dynamic(
            &self.graph,
            step_id,
            source,
            Some(clock),
        ))
    }

    /// Lists the steps and the edges between them.
    pub fn describe(&self) -> Description {
        Description::of(&self.graph.borrow())
    }

    /// The graph as a Mermaid flowchart (see [`Description::to_mermaid`]).
    pub fn to_mermaid(&self) -> String {
        self.describe().to_mermaid()
    }

    /// The graph in Graphviz DOT (see [`Description::to_dot`]).
    pub fn to_dot(&self) -> String {
        self.describe().to_dot()
    }

    /// The graph as JSON (see [`Description::to_json`]).
    pub fn to_json(&self) -> String {
        self.describe().to_json()
    }

    /// Checks the graph and freezes it for the workers.
    pub(crate) fn into_plan(self) -> Result<Plan, Error> {
        let graph = self.graph.replace(Graph {
            flow_id: String::new(),
            steps: Vec::new(),
            port_count: 0,
            seen_ids: HashSet::new(),
            errors: Vec::new(),
        });
        if let Some(err) = graph.errors.into_iter().next() {
            return Err(err);
        }
        if !graph.steps.iter().any(|s| s.is_output) {
            return Err(Error::NoOutputs(graph.flow_id));
        }
        check_event_clocks(&graph.steps)?;
        Ok(Plan {
            steps: graph.steps,
            port_count: graph.port_count,
        })
    }
}

impl Graph {
    pub(crate) fn flow_id(&self) -> &str {
        &self.flow_id
    }

    pub(crate) fn steps(&self) -> &[StepNode] {
        &self.steps
    }
}

/// Every input of a step that acts on the watermark has a clocked source upstream (an
/// as-of join's right side without one would never hold its results back).
fn check_event_clocks(steps: &[StepNode]) -> Result<(), Error> {
    let producer: std::collections::HashMap<PortId, usize> = steps
        .iter()
        .enumerate()
        .flat_map(|(index, step)| step.outputs.iter().map(move |port| (*port, index)))
        .collect();
    let clocked_upstream = |start: usize| {
        let mut todo = vec![start];
        let mut seen = HashSet::new();
        while let Some(index) = todo.pop() {
            if !seen.insert(index) {
                continue;
            }
            match steps[index].event_time {
                EventTimeRole::Clock => return true,
                EventTimeRole::Unclocked => continue,
                _ => {}
            }
            todo.extend(steps[index].inputs.iter().map(|port| producer[port]));
        }
        false
    };
    for step in steps.iter().filter(|s| s.event_time == EventTimeRole::NeedsClock) {
        if !step.inputs.iter().all(|port| clocked_upstream(producer[port])) {
            return Err(Error::NoEventClock {
                step: step.id.to_string(),
            });
        }
    }
    Ok(())
}

/// Adds a step to `graph` and returns handles to its outputs.
pub(crate) fn add_step<T: Data>(
    graph: &Rc<RefCell<Graph>>,
    step_id: &str,
    spec: StepSpec,
    build: Arc<BuildFn>,
) -> Vec<Stream<T>> {
    let ports = graph.borrow_mut().add(step_id, spec, build);
    ports
        .into_iter()
        .map(|p| Stream::from_port(graph.clone(), p))
        .collect()
}
