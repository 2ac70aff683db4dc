//! A plain description of a dataflow graph: steps, kinds and edges, for display and rendering.

use std::fmt;

use crate::dataflow::flow::Graph;

/// One step as the description lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDescription {
    /// The step id.
    pub id: String,
    /// The operator kind, e.g. `"map"` or `"input"`.
    pub kind: &'static str,
    /// Ids of the steps feeding this one, in input order.
    pub upstream: Vec<String>,
}

/// The steps of a dataflow in build order, each with the steps that feed it.
#[derive(Debug, Clone, PartialEq, Eq)]
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

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "dataflow {}", self.flow_id)?;
        for step in &self.steps {
            write!(f, "  {} ({})", step.id, step.kind)?;
            if !step.upstream.is_empty() {
                write!(f, " <- {}", step.upstream.join(", "))?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
