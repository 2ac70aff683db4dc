//! A plain description of a dataflow graph: steps, kinds and edges, for display and rendering.

use std::fmt;

use serde::Serialize;

use crate::dataflow::flow::Graph;

/// One step as the description lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepDescription {
    /// The step id.
    pub id: String,
    /// The operator kind, e.g. `"map"` or `"input"`.
    pub kind: &'static str,
    /// Ids of the steps feeding this one, in input order.
    pub upstream: Vec<String>,
    /// Whether it keeps keyed state (snapshotted with recovery).
    pub stateful: bool,
    /// Whether its partitions are assigned across the cluster (a partitioned source or
    /// sink).
    pub partitioned: bool,
}

/// The steps of a dataflow in build order, each with the steps that feed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Description {
    /// The dataflow id.
    pub flow_id: String,
    /// Steps in build order.
    pub steps: Vec<StepDescription>,
}

impl Description {
    pub(crate) fn of(graph: &Graph) -> Self {
        let producer = |port: usize| {
            graph
                .steps()
                .iter()
                .find(|s| s.outputs.contains(&port))
                .map(|s| s.id.to_string())
                .expect("every port is an output of an earlier step")
        };
        let steps = graph
            .steps()
            .iter()
            .map(|s| StepDescription {
                id: s.id.to_string(),
                kind: s.kind,
                upstream: s.inputs.iter().map(|&p| producer(p)).collect(),
                stateful: s.keyed_state.is_some(),
                partitioned: s.list_parts.is_some(),
            })
            .collect();
        Description {
            flow_id: graph.flow_id().to_owned(),
            steps,
        }
    }

    /// Every edge `(from, to)` between steps.
    pub fn edges(&self) -> Vec<(String, String)> {
        self.steps
            .iter()
            .flat_map(|s| s.upstream.iter().map(|u| (u.clone(), s.id.clone())))
            .collect()
    }
}

impl StepDescription {
    /// `", stateful"`, `", partitioned"`, both or nothing: the marks renderings append.
    pub(crate) fn marks(&self) -> String {
        let mut marks = String::new();
        if self.stateful {
            marks.push_str(", stateful");
        }
        if self.partitioned {
            marks.push_str(", partitioned");
        }
        marks
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "dataflow {}", self.flow_id)?;
        for step in &self.steps {
            write!(f, "  {} ({}{})", step.id, step.kind, step.marks())?;
            if !step.upstream.is_empty() {
                write!(f, " <- {}", step.upstream.join(", "))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
