//! The `weir recovery` command: init, inspect (text and JSON), and its errors.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use weir::connectors::FileSink;
use weir::testing::TestingSource;
use weir::{Dataflow, RunConfig};

fn weir(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(args)
        .output()
        .expect("run weir")
}

fn count_words(store: &Path, out: &Path, workers: usize) {
    let mut flow = Dataflow::new("words");
    flow.input("read", TestingSource::new(["a b", "b c"].map(String::from)))
        .flat_map("split", |line: String| {
            line.split(' ').map(str::to_owned).collect::<Vec<_>>()
        })
        .key_on("key", |word: &String| word.clone())
        .count_final("count")
        .map("format", |(word, n): (String, u64)| {
            (word.clone(), format!("{word}\t{n}"))
        })
        .output("write", FileSink::new(out).with_parts(2));
    let config = RunConfig {
        epoch_interval: Duration::from_millis(10),
        ..RunConfig::threads(workers)
    }
    .with_recovery(store);
    weir::run(flow, config).unwrap();
}

#[test]
fn init_then_inspect_shows_executions_fronts_and_snapshots() {
    let (dir, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = dir.path().join("store");
    let store_arg = store.to_str().unwrap();
    let init = weir(&["recovery", "init", store_arg, "--partitions", "2"]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    count_words(&store, out.path(), 1);
    // Every stateful step has snapshots after the first run (the second, on a finished
    // store, may garbage-collect the count's: its keys were discarded at the end).
    let first = weir(&["recovery", "inspect", store_arg, "--json"]);
    let first: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let steps: Vec<&str> = (first["partitions"].as_array().unwrap().iter())
        .flat_map(|p| p["steps"].as_array().unwrap())
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    for step in ["read", "count", "write"] {
        assert!(steps.contains(&step), "{steps:?}");
    }
    count_words(&store, out.path(), 2);

    let json = weir(&["recovery", "inspect", store_arg, "--json"]);
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let partitions = report["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 2);
    for p in partitions {
        let executions = p["executions"].as_array().unwrap();
        assert_eq!(executions.len(), 2, "{p}");
        assert_eq!(executions[0]["worker_count"], 1);
        assert_eq!(executions[1]["worker_count"], 2);
        assert!(p["fronts"].as_array().unwrap().len() >= 2, "{p}");
    }
    assert!(report["resume_epoch"].as_u64().unwrap() > 0, "{report}");

    let text = weir(&["recovery", "inspect", store_arg]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("execution 1: 2 workers, resumed from epoch"),
        "{text}"
    );
    assert!(text.contains("step write:"), "{text}");
    assert!(text.contains("the next execution resumes from epoch"), "{text}");

    // The second run resumed after the completed first one: nothing was written twice.
    let mut lines: Vec<String> = (0..2)
        .flat_map(|p| {
            std::fs::read_to_string(out.path().join(format!("part-{p}")))
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    assert_eq!(lines, ["a\t1", "b\t2", "c\t1"]);
}

#[test]
fn bad_uses_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let missing = weir(&["recovery", "inspect", &format!("{store}/nope")]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("weir recovery init"));
    let empty = weir(&["recovery", "inspect", store]);
    assert!(String::from_utf8_lossy(&empty.stderr).contains("not a recovery store"));
    assert!(
        weir(&["recovery", "init", store, "--partitions", "2"])
            .status
            .success()
    );
    let again = weir(&["recovery", "init", store, "--partitions", "2"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a recovery store"));
    let zero = weir(&["recovery", "init", &format!("{store}/z"), "--partitions", "0"]);
    assert!(String::from_utf8_lossy(&zero.stderr).contains("at least one partition"));
}
