//! Operating a run: the graph flag, log flags, metrics and health endpoints.

use std::time::Duration;

use crate::support::{example, run_with_limit};

const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn the_graph_flag_prints_the_flow_and_runs_nothing() {
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("never");
    let args = |format| {
        vec![
            "--input".to_owned(),
            "examples/data".to_owned(),
            "--output".to_owned(),
            output.display().to_string(),
            "--graph".to_owned(),
            format,
        ]
    };
    let run = |format: &str| {
        let args = args(format.to_owned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let result = run_with_limit(&example("wordcount"), &args, LIMIT);
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
        String::from_utf8(result.stdout).unwrap()
    };
    let json: serde_json::Value = serde_json::from_str(&run("json")).unwrap();
    let steps: Vec<(&str, &str)> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_str().unwrap(), s["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(steps.first(), Some(&("read", "input")));
    assert!(steps.contains(&("count", "count_final")), "{steps:?}");
    assert_eq!(steps.last(), Some(&("write", "output")));
    let mermaid = run("mermaid");
    assert!(mermaid.starts_with("flowchart TD\n"), "{mermaid}");
    assert_eq!(
        mermaid.matches(" --> ").count(),
        steps.len() - 1,
        "a chain: {mermaid}"
    );
    assert!(run("dot").starts_with("digraph \"wordcount\""));
    assert!(!output.exists(), "the flow did not run");
}

#[test]
fn a_bad_log_filter_is_refused_with_the_flag_named() {
    let result = run_with_limit(
        &example("wordcount"),
        &[
            "--input",
            "examples/data",
            "--output",
            "x",
            "--log-level",
            "weir=loud",
        ],
        LIMIT,
    );
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert_eq!(result.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--log-level \"weir=loud\" is not a log filter"),
        "{stderr}"
    );
}

#[test]
fn json_logs_go_to_stderr_and_only_data_to_stdout() {
    let out = tempfile::tempdir().unwrap();
    let output = out.path().join("counts");
    let result = run_with_limit(
        &example("wordcount"),
        &[
            "--input",
            "examples/data",
            "--output",
            output.to_str().unwrap(),
            "-p",
            "2",
            "--log-format",
            "json",
            "--log-level",
            "debug",
        ],
        LIMIT,
    );
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "{stderr}");
    assert!(result.stdout.is_empty(), "stdout carries only data");
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!lines.is_empty(), "debug logs were written");
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["fields"].is_object())
    );
    let workers: std::collections::BTreeSet<u64> = lines
        .iter()
        .filter_map(|l| l["span"]["worker"].as_u64())
        .collect();
    assert_eq!(workers, [0, 1].into(), "each worker's logs name it: {stderr}");
}
