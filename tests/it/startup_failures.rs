//! A failure on one worker during start-up (here: recording the new execution in its
//! store partition, refused by an injected SQLite trigger) stops the whole run with that
//! error, in every execution mode, instead of leaving the other workers waiting for it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use weir::testing::{TestingSink, TestingSource};
use weir::{Dataflow, RunConfig};

use crate::support::{example, free_addresses, wait_output};

/// Makes starting any execution in partition `index` of `store` fail.
fn refuse_executions(store: &Path, index: usize) {
    let conn = rusqlite::Connection::open(store.join(format!("part-{index}.sqlite3"))).unwrap();
    conn.execute_batch(
        "CREATE TRIGGER refuse BEFORE INSERT ON executions
         BEGIN SELECT RAISE(ABORT, 'injected start-up failure'); END;",
    )
    .unwrap();
}

fn flow() -> Dataflow {
    let mut flow = Dataflow::new("startup");
    flow.input("in", TestingSource::new(vec![("a".to_string(), 1u64)]))
        .stateful_map("sum", |s: Option<u64>, v: u64| (Some(s.unwrap_or(0) + v), v))
        .output("out", TestingSink::new());
    flow
}

#[test]
fn a_worker_failing_at_start_up_stops_every_thread_with_its_error() {
    for workers in [1, 2, 3] {
        let store = tempfile::tempdir().unwrap();
        weir::recovery::init(store.path(), workers).unwrap();
        // The last worker owns the last partition.
        refuse_executions(store.path(), workers - 1);
        let (tx, rx) = mpsc::channel();
        let config = RunConfig {
            // Far beyond the limit below: the failure must stop the run by itself.
            watchdog_timeout: Duration::from_secs(600),
            ..RunConfig::threads(workers)
        }
        .with_recovery(store.path());
        std::thread::spawn(move || tx.send(weir::run(flow(), config)));
        let result = rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("{workers} workers: the run hung after a start-up failure"));
        let err = result.unwrap_err().to_string();
        assert!(
            err.contains("injected start-up failure"),
            "{workers} workers: {err}"
        );
    }
}

#[test]
fn a_process_failing_at_start_up_stops_the_cluster() {
    let (input, output, store) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    std::fs::write(input.path().join("words"), "a b c\n").unwrap();
    weir::recovery::init(store.path(), 4).unwrap();
    // Two processes of two workers: worker 3, in process 1, owns partition 3.
    refuse_executions(store.path(), 3);
    let addresses = free_addresses(2);
    let children: Vec<_> = (0..2)
        .map(|id| {
            Command::new(example("wordcount"))
                .args(["--input", input.path().to_str().unwrap()])
                .args(["--output", output.path().to_str().unwrap()])
                .args(["-r", store.path().to_str().unwrap(), "-w", "2"])
                .args(["-i", &id.to_string(), "-a", &addresses])
                // Far beyond the limit below: the failure must stop the cluster by itself.
                .args(["--watchdog-timeout", "600"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|child| wait_output(child, Duration::from_secs(120)))
        .collect();
    let stderr = String::from_utf8_lossy(&outputs[1].stderr);
    assert_eq!(outputs[1].status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("injected start-up failure"), "{stderr}");
    assert!(
        !outputs[0].status.success(),
        "process 0 cannot finish without process 1"
    );
}
