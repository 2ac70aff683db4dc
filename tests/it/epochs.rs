//! Epochs: they advance on the clock, the frontier epoch is processed at once, and
//! sources are held back while too many epochs are in flight, and a run with recovery ends
//! with its input.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tempfile::tempdir;

use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::testing::{TestEvent, TestingSink, TestingSource};
use weir::{BoxError, Dataflow, RunConfig, StepId};

use crate::support::{example, expected_wordcount, output_lines, run_with_limit, write_corpus};

#[test]
fn epochs_advance_on_the_interval() {
    let epochs = Arc::new(Mutex::new(Vec::new()));
    let seen = epochs.clone();
    let mut flow = Dataflow::new("epochs");
    let events = vec![
        TestEvent::Item(1),
        TestEvent::Pause(Duration::from_millis(120)),
        TestEvent::Item(2),
    ];
    flow.input("in", TestingSource::from_events(events))
        .inspect_debug_with("epoch", move |at, item: &i32| {
            seen.lock().unwrap().push((*item, at.epoch, at.step.to_owned()))
        })
        .output("out", TestingSink::new());
    let config = RunConfig {
        epoch_interval: Duration::from_millis(20),
        ..RunConfig::threads(1)
    };
    weir::run(flow, config).unwrap();
    let epochs = epochs.lock().unwrap().clone();
    assert_eq!(epochs.len(), 2);
    assert_eq!(epochs[0].2, "epoch");
    assert!(
        epochs[1].1 >= epochs[0].1 + 3,
        "a 120 ms pause spans several 20 ms epochs: {epochs:?}"
    );
}

/// Emits one item, then waits until the sink has it (end of input) or gives up with an
/// error after `patience`.
struct WaitForDelivery {
    delivered: TestingSink<(String, u64)>,
    patience: Duration,
}

struct WaitPart {
    delivered: TestingSink<(String, u64)>,
    deadline: Instant,
    sent: bool,
}

impl FixedPartitionedSource for WaitForDelivery {
    type Item = String;
    type State = ();
    type Partition = WaitPart;
    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok(vec!["one".into()])
    }
    fn build_part(&self, _: &StepId, _: &str, _: Option<()>) -> Result<WaitPart, BoxError> {
        Ok(WaitPart {
            delivered: self.delivered.clone(),
            deadline: Instant::now() + self.patience,
            sent: false,
        })
    }
}

impl StatefulSourcePartition for WaitPart {
    type Item = String;
    type State = ();
    fn next_batch(&mut self) -> Result<Batch<String>, BoxError> {
        if !std::mem::replace(&mut self.sent, true) {
            return Ok(Batch::Items(vec!["hello".into()]));
        }
        if !self.delivered.items().is_empty() {
            return Ok(Batch::Eof);
        }
        if Instant::now() > self.deadline {
            return Err("the item did not reach the sink while its epoch was open".into());
        }
        Ok(Batch::Pending)
    }
    fn snapshot(&self) {}
}

#[test]
fn the_open_epoch_is_processed_without_waiting_for_it_to_close() {
    for workers in [1, 2] {
        let delivered = TestingSink::new();
        let mut flow = Dataflow::new("latency");
        flow.input(
            "in",
            WaitForDelivery {
                delivered: delivered.clone(),
                patience: Duration::from_secs(20),
            },
        )
        .key_on("key", |s: &String| s.clone())
        .stateful_map("count", |n: Option<u64>, _: String| {
            let n = n.unwrap_or(0) + 1;
            (Some(n), n)
        })
        .output("out", delivered.clone());
        // Epochs far longer than the source's patience.
        let config = RunConfig {
            epoch_interval: Duration::from_secs(60),
            watchdog_timeout: Duration::from_secs(120),
            ..RunConfig::threads(workers)
        };
        weir::run(flow, config).unwrap();
        assert_eq!(delivered.items(), vec![("hello".to_string(), 1)]);
    }
}

#[test]
fn sources_are_held_back_while_epochs_are_in_flight() {
    // The source (one partition, on worker 0) emits an item every ~0.2 ms; half the items
    // go to worker 1, which needs 5 ms each. Unchecked, hundreds would pile up in flight.
    let total = 600u64;
    let events = (0..total).flat_map(|i| [TestEvent::Item(i), TestEvent::Pause(Duration::from_micros(200))]);
    let emitted = Arc::new(AtomicU64::new(0));
    let processed = Arc::new(AtomicU64::new(0));
    let max_in_flight = Arc::new(AtomicU64::new(0));
    let epochs_used = Arc::new(AtomicUsize::new(0));
    let last_epoch = Arc::new(AtomicU64::new(u64::MAX));
    let (e, p, m, u) = (
        emitted.clone(),
        processed.clone(),
        max_in_flight.clone(),
        epochs_used.clone(),
    );
    let mut flow = Dataflow::new("backpressure");
    flow.input("in", TestingSource::from_events(events).with_batch_size(1))
        .inspect_debug_with("count_in", move |at, _: &u64| {
            let emitted = e.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(emitted - p.load(Ordering::SeqCst), Ordering::SeqCst);
            if last_epoch.swap(at.epoch, Ordering::SeqCst) != at.epoch {
                u.fetch_add(1, Ordering::SeqCst);
            }
        })
        .redistribute("spread")
        .inspect_debug_with("slow_on_worker_1", move |at, _: &u64| {
            if at.worker == 1 {
                std::thread::sleep(Duration::from_millis(5));
            }
            processed.fetch_add(1, Ordering::SeqCst);
        })
        .output("out", TestingSink::new());
    let config = RunConfig {
        epoch_interval: Duration::from_millis(10),
        max_epochs_in_flight: 1,
        ..RunConfig::threads(2)
    };
    weir::run(flow, config).unwrap();
    assert_eq!(emitted.load(Ordering::SeqCst), total);
    let in_flight = max_in_flight.load(Ordering::SeqCst);
    assert!(
        in_flight < 120,
        "the source ran ahead: {in_flight} items in flight at once"
    );
    assert!(
        epochs_used.load(Ordering::SeqCst) > 5,
        "items should spread over many epochs"
    );
}

/// A run with a recovery store ends when its input ends, without waiting for its epoch to
/// close (here 30 s; the run is given 20): on one worker, on workers that read no partition, and across
/// processes. Before, ended partitions held the input open until their last snapshot was
/// synced, which waited for the next epoch.
#[test]
fn a_run_with_recovery_ends_with_its_input_not_its_epoch() {
    // (files, i.e. partitions; store partitions; layout)
    let configurations: [(usize, usize, &[&str]); 3] = [
        (1, 1, &["-w", "1"]),
        (2, 7, &["-w", "3"]),
        (3, 16, &["-p", "2", "-w", "2"]),
    ];
    for (files, store_partitions, layout) in configurations {
        let [input, output, store] = [(); 3].map(|_| tempdir().unwrap());
        let text = write_corpus(input.path(), files, 2_000, 50, files as u64);
        weir::recovery::init(store.path(), store_partitions).unwrap();
        let path = |dir: &tempfile::TempDir| dir.path().to_str().unwrap().to_owned();
        let (input, out, store) = (path(&input), path(&output), path(&store));
        let mut args = vec!["--input", &input, "--output", &out, "-r", &store, "-s", "30"];
        args.extend_from_slice(layout);
        let run = run_with_limit(&example("wordcount"), &args, Duration::from_secs(20));
        assert!(
            run.status.success(),
            "{layout:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let mut lines = output_lines(output.path());
        lines.sort();
        assert_eq!(lines, expected_wordcount(&text, false), "{layout:?}");
    }
}
