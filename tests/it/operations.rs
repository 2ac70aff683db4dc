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

/// The value of the sample `name{labels}` (labels as written, e.g. `worker="0"`) in a
/// scrape; the sum over every series of `name` whose labels contain `labels`.
pub(crate) fn sample(scrape: &str, name: &str, labels: &str) -> Option<f64> {
    let values: Vec<f64> = scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
            (metric == name && rest.contains(labels)).then(|| value.parse().ok())?
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

/// Starts Nexmark q5 (a window, event time) paced to a few seconds, with recovery and
/// metrics on a free port; returns the child, the metrics address and the temp dirs.
pub(crate) fn paced_nexmark(
    extra: &[&str],
    failpoints: Option<&str>,
) -> (std::process::Child, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    weir::recovery::init(&store, 2).unwrap();
    let addr = crate::support::free_addresses(1);
    let mut args = vec![
        "--query",
        "q5",
        "--events",
        "40000",
        "--rate",
        "8000",
        "--sink",
        "null",
        "-s",
        "0.2",
        "-w",
        "2",
        "-r",
        store.to_str().unwrap(),
        "--metrics-addr",
        &addr,
    ];
    args.extend_from_slice(extra);
    let mut command = std::process::Command::new(example("nexmark"));
    command
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    if let Some(failpoints) = failpoints {
        command.env("FAILPOINTS", failpoints);
    }
    (command.spawn().unwrap(), addr, dir)
}

#[test]
fn metrics_move_during_a_run_and_name_every_series() {
    let (child, addr, _dir) = paced_nexmark(&[], None);
    let scrape = || {
        crate::support::http_get(&addr, "/metrics")
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
    };
    let committed = |text: &str| sample(text, "weir_committed_epoch", "");
    let mut first = None;
    crate::support::wait_until("a committed epoch in the metrics", LIMIT, || {
        first = scrape().filter(|t| committed(t).is_some_and(|e| e >= 2.0));
        first.is_some()
    });
    let first = first.unwrap();
    let mut second = None;
    crate::support::wait_until("the committed epoch to advance", LIMIT, || {
        second = scrape().filter(|t| committed(t) > committed(&first));
        second.is_some()
    });
    let second = second.unwrap();
    let items = |t: &str| sample(t, "weir_items_total", "step=\"bids\"").unwrap_or(0.0);
    assert!(
        items(&second) > items(&first),
        "items counted as they flow:\n{second}"
    );
    for (name, labels) in [
        ("weir_items_total", "step=\"q5_count\",worker=\"1\""),
        ("weir_epoch", "worker=\"0\""),
        ("weir_epoch_lag", "worker=\"1\""),
        ("weir_committed_epoch_age_seconds", ""),
        ("weir_snapshot_duration_seconds_count", ""),
        ("weir_snapshot_bytes_total", ""),
        ("weir_resume_duration_seconds", ""),
        ("weir_restarts_total", ""),
        ("weir_watermark_lag_seconds", "step=\""),
    ] {
        assert!(
            sample(&second, name, labels).is_some(),
            "{name}{{{labels}}} missing:\n{second}"
        );
    }
    assert!(sample(&second, "weir_snapshot_bytes_total", "").unwrap() > 0.0);
    // Nexmark's generator does not know a backlog: no series rather than a false zero.
    assert_eq!(sample(&second, "weir_source_backlog", ""), None);
    let (status, health) = crate::support::http_get(&addr, "/health").unwrap();
    assert_eq!((status, health.as_str()), (200, "ok\n"));
    let (_, graph) = crate::support::http_get(&addr, "/dataflow").unwrap();
    let graph: serde_json::Value = serde_json::from_str(&graph).unwrap();
    assert_eq!(graph["flow_id"], "nexmark_q5");
    check_with_promtool(&second);
    let output = crate::support::wait_output(child, LIMIT);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Lints a scrape the way Prometheus users would, where `promtool` is installed (`.ci/run`
/// installs it).
fn check_with_promtool(scrape: &str) {
    use std::io::Write;
    let Ok(mut promtool) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        eprintln!("promtool is not installed: the scrape's format is not linted");
        return;
    };
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(scrape.as_bytes())
        .unwrap();
    let output = promtool.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn health_turns_503_when_commits_stall() {
    // Three commits per worker go through, then every commit hangs.
    let failpoints = "weir::recovery::commit=6*off->sleep(600000)";
    let (mut child, addr, _dir) = paced_nexmark(&["--health-stall-timeout", "1"], Some(failpoints));
    crate::support::wait_until("healthy", LIMIT, || {
        crate::support::http_get(&addr, "/health").is_some_and(|(s, _)| s == 200)
    });
    let mut answer = None;
    crate::support::wait_until("unhealthy", LIMIT, || {
        answer = crate::support::http_get(&addr, "/health").filter(|(s, _)| *s == 503);
        answer.is_some()
    });
    let (_, text) = answer.unwrap();
    assert!(text.starts_with("stalled: no epoch completed for"), "{text}");
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn progress_shows_on_a_terminal_and_nowhere_else() {
    let nexmark = example("nexmark");
    let args = [
        "--query", "q1", "--events", "30000", "--rate", "10000", "--sink", "null", "-s", "0.2",
    ];
    // `script` (util-linux) runs the command on a pseudo-terminal.
    let command = std::iter::once(nexmark.to_str().unwrap())
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ");
    let on_terminal = run_with_limit(
        std::path::Path::new("script"),
        &["-qec", &command, "/dev/null"],
        LIMIT,
    );
    let shown = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(on_terminal.status.success(), "{shown}");
    assert!(
        shown.contains("items/s read"),
        "a progress line on the terminal: {shown:?}"
    );
    assert!(shown.contains("complete "), "{shown:?}");
    let piped = run_with_limit(&nexmark, &args, LIMIT);
    assert!(piped.status.success());
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !stderr.contains("items/s"),
        "no progress when stderr is not a terminal: {stderr}"
    );
}
