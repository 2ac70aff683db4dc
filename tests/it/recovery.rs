//! Recovery in-process: resume after a failure, timers, rescaling, garbage collection,
//! and every kind of bad store giving a clear error.

use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use weir::connectors::FileSink;
use weir::operators::{Retention, StatefulLogic};
use weir::testing::{TestEvent, TestingSink, TestingSource};
use weir::{Dataflow, Error, RunConfig};

use crate::support::output_lines;

/// A run of `workers` threads with 10 ms epochs and the recovery store `store`.
pub(crate) fn config(store: &Path, workers: usize) -> RunConfig {
    RunConfig {
        epoch_interval: Duration::from_millis(10),
        ..RunConfig::threads(workers)
    }
    .with_recovery(store)
}

/// Running sums per key, written as `key<TAB>sum` lines into a FileSink.
fn running_sums(source: TestingSource<(String, u64)>, out: &Path) -> Dataflow {
    let mut flow = Dataflow::new("sums");
    flow.input("in", source)
        .stateful_map("sum", |sum: Option<u64>, v: u64| {
            let sum = sum.unwrap_or(0) + v;
            (Some(sum), sum)
        })
        .map("format", |(k, sum): (String, u64)| {
            (k.clone(), format!("{k}\t{sum}"))
        })
        .output("write", FileSink::new(out).with_parts(3));
    flow
}

/// Items of 7 keys with pauses (so epochs commit) and aborts in between.
fn events() -> (Vec<TestEvent<(String, u64)>>, Vec<String>) {
    let mut events = Vec::new();
    let mut sums = [0u64; 7];
    let mut lines = Vec::new();
    for i in 0..3000u64 {
        let k = (i * 13 % 7) as usize;
        sums[k] += i;
        lines.push(format!("k{k}\t{}", sums[k]));
        events.push(TestEvent::Item((format!("k{k}"), i)));
        if i % 200 == 199 {
            events.push(TestEvent::Pause(Duration::from_millis(15)));
        }
        if i % 700 == 650 {
            events.push(TestEvent::Abort);
        }
    }
    lines.sort();
    (events, lines)
}

#[test]
fn resuming_after_failures_gives_exactly_the_failure_free_output() {
    // Store partition counts past 10 too: `part-10` sorts before `part-2` as text.
    for (workers, partitions) in [([1, 1], 3), ([1, 3], 11), ([3, 2], 16), ([2, 4], 13)] {
        let (store, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        weir::recovery::init(store.path(), partitions).unwrap();
        let (events, expected) = events();
        let source = TestingSource::from_events(events).with_batch_size(50);
        let mut failures = 0;
        let mut attempt = 0;
        loop {
            // Rescaling: the first run uses workers[0], every later one workers[1].
            let threads = workers[(attempt > 0) as usize];
            attempt += 1;
            match weir::run(
                running_sums(source.clone(), out.path()),
                config(store.path(), threads),
            ) {
                Ok(()) => break,
                Err(err) => {
                    assert!(err.to_string().contains("ABORT marker"), "{err}");
                    failures += 1;
                }
            }
        }
        assert_eq!(failures, 4);
        assert_eq!(output_lines(out.path()), expected, "workers {workers:?}");
    }
}

/// The items of [`events`] without its aborts, and the expected output.
fn without_failures() -> (TestingSource<(String, u64)>, Vec<String>) {
    let (events, expected) = events();
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| !matches!(e, TestEvent::Abort))
        .collect();
    (TestingSource::from_events(events).with_batch_size(50), expected)
}

#[test]
fn a_rerun_on_a_finished_store_leaves_the_output_unchanged() {
    let (source, expected) = without_failures();
    for partitions in [1, 2, 5, 10, 11, 13, 16, 27, 40] {
        for workers in [1, 2, 3] {
            let (store, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            weir::recovery::init(store.path(), partitions).unwrap();
            for run in ["first run", "rerun"] {
                weir::run(
                    running_sums(source.clone(), out.path()),
                    config(store.path(), workers),
                )
                .unwrap();
                assert_eq!(
                    output_lines(out.path()),
                    expected,
                    "{run}: {partitions} store partitions, {workers} workers"
                );
            }
        }
    }
}

/// Remembers a deadline 500 ms after its first item; says how it ended.
struct Deadline(Option<SystemTime>);

impl StatefulLogic for Deadline {
    type In = u8;
    type Out = String;
    type State = Option<SystemTime>;
    fn on_item(&mut self, _: u8, _: &mut Vec<String>) -> Retention {
        self.0
            .get_or_insert(SystemTime::now() + Duration::from_millis(500));
        Retention::Keep
    }
    fn on_notify(&mut self, out: &mut Vec<String>) -> Retention {
        out.push("timer fired".into());
        Retention::Discard
    }
    fn on_eof(&mut self, out: &mut Vec<String>) -> Retention {
        out.push("input ended first".into());
        Retention::Discard
    }
    fn notify_at(&self) -> Option<SystemTime> {
        self.0
    }
    fn snapshot(&self) -> Option<SystemTime> {
        self.0
    }
}

#[test]
fn timers_survive_a_restore() {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 2).unwrap();
    let events = vec![
        TestEvent::Item(("k".to_string(), 1u8)),
        TestEvent::Pause(Duration::from_millis(50)),
        TestEvent::Abort,
        TestEvent::Pause(Duration::from_millis(1500)),
    ];
    let source = TestingSource::from_events(events);
    let flow = |out: &TestingSink<(String, String)>| {
        let mut flow = Dataflow::new("timers");
        flow.input("in", source.clone())
            .stateful("deadline", |resume: Option<Option<SystemTime>>| {
                Deadline(resume.flatten())
            })
            .output("out", out.clone());
        flow
    };
    let first = TestingSink::new();
    assert!(weir::run(flow(&first), config(store.path(), 1)).is_err());
    assert!(first.items().is_empty(), "the timer is not due before the abort");
    let second = TestingSink::new();
    weir::run(flow(&second), config(store.path(), 2)).unwrap();
    assert_eq!(second.items(), vec![("k".to_string(), "timer fired".to_string())]);
}

#[test]
fn garbage_collection_bounds_the_store_for_churning_keys() {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 2).unwrap();
    // 400 epochs; in each, 50 keys change and every key is deleted after 5 updates.
    let mut events = Vec::new();
    for epoch in 0..400u64 {
        for k in 0..50u64 {
            events.push(TestEvent::Item((format!("key{}", (epoch / 5) * 50 + k), 1u64)));
        }
        events.push(TestEvent::Pause(Duration::from_millis(3)));
    }
    let mut flow = Dataflow::new("churn");
    flow.input("in", TestingSource::from_events(events))
        .stateful_map("count", |n: Option<u64>, v: u64| {
            let n = n.unwrap_or(0) + v;
            (if n < 5 { Some(n) } else { None }, n)
        })
        .output("out", TestingSink::new());
    let config = RunConfig {
        epoch_interval: Duration::from_millis(2),
        ..config(store.path(), 2)
    };
    weir::run(flow, config).unwrap();
    let report = weir::recovery::inspect(store.path()).unwrap();
    let rows: u64 = report
        .partitions
        .iter()
        .flat_map(|p| &p.steps)
        .filter(|s| s.step == "count")
        .map(|s| s.snapshots)
        .sum();
    // 4000 keys were created, updated 5 times and deleted: without GC about 20 000 update
    // rows and 4 000 deletions would stay; what remains is at most the last sweep window.
    assert!(
        rows < 5000,
        "{rows} snapshot rows of a step whose keys are all deleted"
    );
}

#[test]
fn missing_or_uninitialised_stores_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let flow = || {
        let mut flow = Dataflow::new("f");
        flow.input("in", TestingSource::new(vec![1u8]))
            .output("out", TestingSink::new());
        flow
    };
    let missing = dir.path().join("nope");
    let err = weir::run(flow(), config(&missing, 1)).unwrap_err().to_string();
    assert!(
        err.contains("cannot read recovery directory") && err.contains("weir recovery init"),
        "{err}"
    );
    let err = weir::run(flow(), config(dir.path(), 1)).unwrap_err().to_string();
    assert!(
        err.contains("is not initialised") && err.contains("weir recovery init"),
        "{err}"
    );
    weir::recovery::init(dir.path(), 2).unwrap();
    let err = weir::recovery::init(dir.path(), 2).unwrap_err().to_string();
    assert!(err.contains("already holds a recovery store"), "{err}");
}

fn run_once(store: &Path) -> Result<(), Error> {
    let mut flow = Dataflow::new("f");
    flow.input("in", TestingSource::new(vec![("a".to_string(), 1u64)]))
        .stateful_map("sum", |s: Option<u64>, v: u64| (Some(s.unwrap_or(0) + v), v))
        .output("out", TestingSink::new());
    weir::run(flow, config(store, 2))
}

#[test]
fn damaged_stores_are_refused_and_left_untouched() {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 3).unwrap();
    run_once(store.path()).unwrap();
    let part = |i: usize| store.path().join(format!("part-{i}.sqlite3"));

    // A missing partition file.
    let aside = store.path().join("aside");
    std::fs::rename(part(2), &aside).unwrap();
    let err = run_once(store.path()).unwrap_err().to_string();
    assert!(err.contains("partition 2 of 3 is missing"), "{err}");
    std::fs::rename(&aside, part(2)).unwrap();

    // An extra partition file from another store.
    let other = tempfile::tempdir().unwrap();
    weir::recovery::init(other.path(), 4).unwrap();
    std::fs::copy(other.path().join("part-3.sqlite3"), part(3)).unwrap();
    let err = run_once(store.path()).unwrap_err().to_string();
    assert!(err.contains("different stores"), "{err}");
    std::fs::remove_file(part(3)).unwrap();

    // A corrupt partition file: refused, and not modified.
    let original = std::fs::read(part(1)).unwrap();
    std::fs::write(
        part(1),
        b"this is not a database, just some bytes that are long enough to look like a header...",
    )
    .unwrap();
    let err = run_once(store.path()).unwrap_err().to_string();
    assert!(err.contains("part-1.sqlite3"), "{err}");
    assert!(
        err.contains("not a weir recovery partition") || err.contains("corrupt"),
        "{err}"
    );
    assert!(
        std::fs::read(part(1))
            .unwrap()
            .starts_with(b"this is not a database")
    );
    std::fs::write(part(1), &original).unwrap();

    // A truncated partition file: refused with the file named and a hint.
    std::fs::write(part(1), &original[..original.len() / 2]).unwrap();
    let err = run_once(store.path()).unwrap_err().to_string();
    assert!(
        err.contains("part-1.sqlite3") && err.contains("corrupt or truncated"),
        "{err}"
    );
    assert!(!err.contains("recovery: recovery:"), "{err}");
    std::fs::write(part(1), &original).unwrap();
    run_once(store.path()).unwrap();
}

#[test]
fn a_state_that_no_longer_fits_its_type_is_named() {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 1).unwrap();
    run_once(store.path()).unwrap();
    let mut flow = Dataflow::new("f");
    flow.input("in", TestingSource::new(vec![("a".to_string(), 1u64)]))
        .stateful_map("sum", |s: Option<Vec<String>>, v: u64| (s, v))
        .output("out", TestingSink::new());
    let err = weir::run(flow, config(store.path(), 1)).unwrap_err().to_string();
    assert!(
        err.contains("step \"sum\", key \"a\" no longer deserialises"),
        "{err}"
    );
}

#[test]
fn state_of_a_removed_step_is_kept() {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 1).unwrap();
    run_once(store.path()).unwrap();
    let mut flow = Dataflow::new("f");
    flow.input("in", TestingSource::new(vec![("a".to_string(), 1u64)]))
        .output("out", TestingSink::new());
    weir::run(flow, config(store.path(), 1)).unwrap();
    let report = weir::recovery::inspect(store.path()).unwrap();
    assert!(
        report.partitions[0]
            .steps
            .iter()
            .any(|s| s.step == "sum" && s.snapshots > s.tombstones)
    );
    assert_eq!(report.partitions[0].executions.len(), 2);
}

#[test]
fn a_second_execution_on_the_same_store_is_refused() {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 1).unwrap();
    let (started_tx, started) = mpsc::channel();
    let path = store.path().to_owned();
    let first = std::thread::spawn(move || {
        let mut flow = Dataflow::new("slow");
        let events = vec![TestEvent::Item(1u8), TestEvent::Pause(Duration::from_secs(2))];
        flow.input("in", TestingSource::from_events(events))
            .inspect("started", move |_| {
                let _ = started_tx.send(());
            })
            .output("out", TestingSink::new());
        weir::run(flow, config(&path, 1))
    });
    started.recv().unwrap();
    let err = run_once(store.path()).unwrap_err().to_string();
    assert!(err.contains("another execution holds it"), "{err}");
    first.join().unwrap().unwrap();
}

#[test]
fn a_resume_refuses_output_files_cut_or_removed_behind_its_back() {
    let (source, _) = without_failures();
    let (store, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    weir::recovery::init(store.path(), 2).unwrap();
    let run = || weir::run(running_sums(source.clone(), out.path()), config(store.path(), 2));
    run().unwrap();
    let part = out.path().join("part-1");
    let length = std::fs::metadata(&part).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&part)
        .unwrap()
        .set_len(length / 2)
        .unwrap();
    let err = run().unwrap_err().to_string();
    assert!(
        err.contains("part-1 holds only") && err.contains("restore the file"),
        "{err}"
    );
    std::fs::remove_file(&part).unwrap();
    let err = run().unwrap_err().to_string();
    assert!(err.contains("part-1 is missing"), "{err}");
}

/// A writer whose input ends before it sees the last epoch records its partitions as
/// finished; the resume point must not fall back to the start of the run, or a rerun on
/// a finished store reads everything again (visible with an at-least-once sink).
#[test]
fn a_rerun_after_a_short_run_emits_nothing() {
    for round in 0..15 {
        let store = tempfile::tempdir().unwrap();
        weir::recovery::init(store.path(), 4).unwrap();
        for run in ["first run", "rerun"] {
            let out = TestingSink::new();
            let mut flow = Dataflow::new("short");
            // Two epochs: the second one starts just before the input ends.
            let events = vec![
                TestEvent::Item(("k".to_string(), 1u64)),
                TestEvent::Pause(Duration::from_millis(12)),
                TestEvent::Item(("j".to_string(), 1u64)),
            ];
            flow.input("in", TestingSource::from_events(events))
                .stateful_map("sum", |s: Option<u64>, v: u64| (Some(s.unwrap_or(0) + v), v))
                .output("out", out.clone());
            weir::run(flow, config(store.path(), 2)).unwrap();
            let expected = match run {
                "rerun" => vec![],
                _ => vec![("j".to_string(), 1), ("k".to_string(), 1)],
            };
            assert_eq!(out.sorted(), expected, "{run} of round {round}");
        }
    }
}
