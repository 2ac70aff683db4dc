//! A dataflow's description drawn as Mermaid, Graphviz DOT or JSON.

use std::fmt::Write;

use crate::dataflow::Description;

impl Description {
    /// The graph as a Mermaid flowchart: one node per step, labelled with its id, kind and
    /// marks (stateful, partitioned); stateful steps drawn with rounded corners.
    pub fn to_mermaid(&self) -> String {
        let node = |id: &str| {
            self.steps
                .iter()
                .position(|s| s.id == id)
                .expect("an upstream step is a step")
        };
        let mut out = String::from("flowchart TD\n");
        for (i, step) in self.steps.iter().enumerate() {
            let label = format!("{}<br/>{}{}", step.id, step.kind, step.marks());
            let (open, close) = if step.stateful { ("([", "])") } else { ("[", "]") };
            let _ = writeln!(out, "    s{i}{open}\"{label}\"{close}");
        }
        for (from, to) in self.edges() {
            let _ = writeln!(out, "    s{} --> s{}", node(&from), node(&to));
        }
        out
    }

    /// The graph in Graphviz DOT: one box per step (rounded if stateful), labelled with its
    /// id, kind and marks.
    pub fn to_dot(&self) -> String {
        let mut out = format!("digraph \"{}\" {{\n    node [shape=box];\n", self.flow_id);
        for step in &self.steps {
            let style = if step.stateful { ", style=rounded" } else { "" };
            let _ = writeln!(
                out,
                "    \"{}\" [label=\"{}\\n{}{}\"{style}];",
                step.id,
                step.id,
                step.kind,
                step.marks()
            );
        }
        for (from, to) in self.edges() {
            let _ = writeln!(out, "    \"{from}\" -> \"{to}\";");
        }
        out.push_str("}\n");
        out
    }

    /// The graph as JSON: `{"flow_id", "steps": [{"id", "kind", "upstream", "stateful",
    /// "partitioned"}]}`, steps in build order.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a description is plain data")
    }
}

#[cfg(test)]
mod tests {
    use crate::Dataflow;
    use crate::testing::{TestingSink, TestingSource};

    fn flow() -> Dataflow {
        let mut flow = Dataflow::new("counts");
        flow.input("in", TestingSource::new(vec!["a".to_owned()]))
            .as_keys("keys")
            .count_final("count")
            .output("out", TestingSink::new());
        flow
    }

    #[test]
    fn mermaid_draws_every_step_and_edge() {
        let mermaid = flow().to_mermaid();
        assert_eq!(
            mermaid,
            "flowchart TD\n    \
             s0[\"in<br/>input, partitioned\"]\n    \
             s1[\"keys<br/>as_keys\"]\n    \
             s2([\"count<br/>count_final, stateful\"])\n    \
             s3[\"out<br/>output\"]\n    \
             s0 --> s1\n    s1 --> s2\n    s2 --> s3\n"
        );
    }

    #[test]
    fn dot_draws_every_step_and_edge() {
        let dot = flow().to_dot();
        assert!(dot.starts_with("digraph \"counts\" {"), "{dot}");
        assert!(
            dot.contains("\"count\" [label=\"count\\ncount_final, stateful\", style=rounded];"),
            "{dot}"
        );
        assert!(dot.contains("\"keys\" -> \"count\";"), "{dot}");
        assert!(dot.trim_end().ends_with('}'), "{dot}");
    }

    #[test]
    fn json_lists_steps_with_their_upstream_and_marks() {
        let json: serde_json::Value = serde_json::from_str(&flow().to_json()).unwrap();
        assert_eq!(json["flow_id"], "counts");
        let count = &json["steps"][2];
        assert_eq!(count["id"], "count");
        assert_eq!(count["upstream"], serde_json::json!(["keys"]));
        assert_eq!(count["stateful"], true);
        assert_eq!(json["steps"][0]["partitioned"], true);
    }
}
