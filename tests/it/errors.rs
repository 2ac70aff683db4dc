//! Bad input and failing user code: a clear error naming what and where, never a hang.

use std::time::Duration;

use weir::connectors::DirSource;
use weir::inputs::{Batch, DynamicSource, StatelessSourcePartition};
use weir::testing::{TestingSink, TestingSource, run_main};
use weir::{BoxError, Dataflow, Error, RunConfig, StepId};

use crate::support::{example, run_with_limit};

#[test]
fn duplicate_and_malformed_step_ids_are_refused() {
    let mut flow = Dataflow::new("ids");
    let a = flow.input("read", TestingSource::new(vec![1]));
    a.map("read", |x: i32| x).output("out", TestingSink::new());
    let err = run_main(flow).unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateStepId(id) if id == "read"),
        "{err}"
    );

    let mut flow = Dataflow::new("ids");
    flow.input("bad id", TestingSource::new(vec![1]))
        .output("out", TestingSink::new());
    let err = run_main(flow).unwrap_err().to_string();
    assert!(
        err.contains("\"bad id\"") && err.contains("invalid step id"),
        "{err}"
    );
}

#[test]
fn a_flow_without_output_is_refused() {
    let mut flow = Dataflow::new("nowhere");
    flow.input("read", TestingSource::new(vec![1]))
        .map("m", |x: i32| x);
    assert!(matches!(run_main(flow), Err(Error::NoOutputs(id)) if id == "nowhere"));
}

#[test]
fn a_source_without_partitions_is_an_error() {
    let empty = tempfile::tempdir().unwrap();
    let mut flow = Dataflow::new("empty");
    flow.input("read", DirSource::new(empty.path()))
        .output("out", TestingSink::new());
    let err = weir::run(flow, RunConfig::threads(2)).unwrap_err();
    assert!(
        matches!(&err, Error::NoPartitions { step } if step == "read"),
        "{err}"
    );
}

#[test]
fn a_panicking_closure_stops_every_worker_and_names_the_step() {
    for workers in [1, 3] {
        let mut flow = Dataflow::new("panics");
        flow.input("read", TestingSource::new(0..10_000u32))
            .redistribute("spread")
            .map(
                "boom",
                |x: u32| if x == 5_000 { panic!("bad item {x}") } else { x },
            )
            .output("out", TestingSink::new());
        let err = weir::run(flow, RunConfig::threads(workers)).unwrap_err();
        match err {
            Error::StepPanicked {
                step,
                message,
                worker,
            } => {
                assert_eq!(step, "boom");
                assert_eq!(message, "bad item 5000");
                assert!(worker < workers);
            }
            other => panic!("expected a panic error, got {other}"),
        }
    }
}

/// A dynamic source whose worker 1 fails on its first poll.
struct FailsOnWorker1;
struct Part(usize);

impl DynamicSource for FailsOnWorker1 {
    type Item = u8;
    type Partition = Part;
    fn build(&self, _: &StepId, worker: usize, _: usize) -> Result<Part, BoxError> {
        Ok(Part(worker))
    }
}

impl StatelessSourcePartition for Part {
    type Item = u8;
    fn next_batch(&mut self) -> Result<Batch<u8>, BoxError> {
        match self.0 {
            1 => Err("the upstream service refused the connection".into()),
            _ => Ok(Batch::Pending),
        }
    }
}

#[test]
fn a_source_error_stops_the_dataflow_and_names_step_and_worker() {
    let mut flow = Dataflow::new("fails");
    flow.dynamic_input("feed", FailsOnWorker1)
        .output("out", TestingSink::new());
    let err = weir::run(flow, RunConfig::threads(2)).unwrap_err().to_string();
    assert_eq!(
        err,
        "step \"feed\" failed on worker 1: the upstream service refused the connection"
    );
}

fn assert_clean_failure(args: &[&str], status: i32, message: &str) {
    let out = run_with_limit(&example("wordcount"), args, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(status), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected {message:?} in {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{args:?}: a panic trace: {stderr}");
}

#[test]
fn bad_command_lines_fail_clearly() {
    let out = tempfile::tempdir().unwrap();
    let out = out.path().to_str().unwrap();
    assert_clean_failure(
        &["--input", "/no/such/file", "--output", out],
        1,
        "cannot read input file /no/such/file",
    );
    assert_clean_failure(
        &["--input", "x", "--output", out, "-w", "many"],
        2,
        "invalid value 'many'",
    );
    assert_clean_failure(
        &[
            "--input",
            "x",
            "--output",
            out,
            "-i",
            "2",
            "-a",
            "127.0.0.1:1;127.0.0.1:2",
        ],
        1,
        "process id 2 (-i) is not below the number of addresses given (2)",
    );
    assert_clean_failure(
        &["--input", "x", "--output", out, "-p", "2", "-i", "0"],
        1,
        "do not combine",
    );
    assert_clean_failure(
        &["--input", "x", "--output", out, "-s", "0"],
        1,
        "positive number of seconds",
    );
}

#[test]
fn flags_can_come_from_the_environment() {
    let output = tempfile::tempdir().unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/sample.txt");
    let out = std::process::Command::new(example("wordcount"))
        .args(["--input", sample, "--output", output.path().to_str().unwrap()])
        .env("WEIR_WORKERS_PER_PROCESS", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("at least one worker thread"), "{stderr}");
}

#[test]
fn a_window_without_a_clocked_input_upstream_is_refused_before_running() {
    use weir::windows::Windower;
    let mut flow = Dataflow::new("unclocked");
    flow.input("in", TestingSource::new(vec![(1i64, 2u32)]))
        .key_on("key", |_| ())
        .count_window(
            "count",
            |x: &(i64, u32)| x.0,
            Windower::tumbling(Duration::from_secs(1)),
        )
        .down
        .output("out", TestingSink::new());
    let err = run_main(flow).unwrap_err();
    assert!(
        matches!(&err, Error::NoEventClock { step } if step == "count"),
        "{err}"
    );
    assert!(err.to_string().contains("input_with_clock"), "{err}");
}
