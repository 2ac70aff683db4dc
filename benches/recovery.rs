//! Recovery costs: `cargo bench --bench recovery`.
//!
//! 1. Throughput of a keyed stateful step with recovery on vs off, in the same run: 10 k hot
//!    keys that all change every epoch, 2 workers; epochs of `EPOCH_MS` (default 1000) and a
//!    store of `STORE_PARTITIONS` (default 4).
//! 2. Resume time (start of the run to the first new output) with 100 k and 1 M keys of
//!    state in the store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::outputs::{DynamicSink, StatelessSinkPartition};
use weir::testing::TestingSource;
use weir::{BoxError, Dataflow, RunConfig, StepId};

const HOT_KEYS: u64 = 10_000;
const PARTITIONS: u64 = 4;

/// `items` `(key, 1)` pairs over `keys` keys, in `PARTITIONS` partitions.
struct Generated {
    items: u64,
    keys: Arc<Vec<String>>,
}

struct GeneratedPart {
    next: u64,
    end: u64,
    keys: Arc<Vec<String>>,
}

impl FixedPartitionedSource for Generated {
    type Item = (String, u64);
    type State = u64;
    type Partition = GeneratedPart;
    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok((0..PARTITIONS).map(|p| p.to_string()).collect())
    }
    fn build_part(&self, _: &StepId, part: &str, resume: Option<u64>) -> Result<GeneratedPart, BoxError> {
        let p: u64 = part.parse()?;
        let per = self.items / PARTITIONS;
        Ok(GeneratedPart {
            next: resume.unwrap_or(p * per),
            end: (p + 1) * per,
            keys: self.keys.clone(),
        })
    }
}

impl StatefulSourcePartition for GeneratedPart {
    type Item = (String, u64);
    type State = u64;
    fn next_batch(&mut self) -> Result<Batch<(String, u64)>, BoxError> {
        if self.next >= self.end {
            return Ok(Batch::Eof);
        }
        let to = (self.next + 1024).min(self.end);
        let keys = &self.keys;
        let batch = (self.next..to)
            .map(|i| (keys[(i % keys.len() as u64) as usize].clone(), 1))
            .collect();
        self.next = to;
        Ok(Batch::Items(batch))
    }
    fn snapshot(&self) -> u64 {
        self.next
    }
}

/// Counts what arrives; remembers when the first item did.
#[derive(Clone)]
struct Arrivals {
    count: Arc<AtomicU64>,
    first: Arc<Mutex<Option<Instant>>>,
}

impl Arrivals {
    fn new() -> Self {
        Arrivals {
            count: Arc::default(),
            first: Arc::default(),
        }
    }
}

impl DynamicSink for Arrivals {
    type Item = (String, u64);
    type Partition = Arrivals;
    fn build(&self, _: &StepId, _: usize, _: usize) -> Result<Arrivals, BoxError> {
        Ok(self.clone())
    }
}

impl StatelessSinkPartition for Arrivals {
    type Item = (String, u64);
    fn write_batch(&mut self, items: Vec<(String, u64)>) -> Result<(), BoxError> {
        self.first.lock().unwrap().get_or_insert_with(Instant::now);
        self.count.fetch_add(items.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

fn counting_flow(
    input: &str,
    source: impl FixedPartitionedSource<Item = (String, u64)>,
    sink: Arrivals,
) -> Dataflow {
    let mut flow = Dataflow::new("hot_keys");
    flow.input(input, source)
        .stateful_map("count", |n: Option<u64>, v: u64| {
            let n = n.unwrap_or(0) + v;
            (Some(n), n)
        })
        .output("out", sink);
    flow
}

fn config(workers: usize, epoch: Duration, store: Option<&std::path::Path>) -> RunConfig {
    let config = RunConfig {
        epoch_interval: epoch,
        ..RunConfig::threads(workers)
    };
    match store {
        Some(store) => config.with_recovery(store),
        None => config,
    }
}

fn throughput(items: u64, recovery: bool, epoch: Duration, partitions: usize) -> (f64, Duration) {
    let store = tempfile::tempdir().unwrap();
    if recovery {
        weir::recovery::init(store.path(), partitions).unwrap();
    }
    let keys: Arc<Vec<String>> = Arc::new((0..HOT_KEYS).map(|k| format!("key{k}")).collect());
    let sink = Arrivals::new();
    let flow = counting_flow("in", Generated { items, keys }, sink.clone());
    let start = Instant::now();
    weir::run(flow, config(2, epoch, recovery.then_some(store.path()))).unwrap();
    let took = start.elapsed();
    assert_eq!(sink.count.load(Ordering::Relaxed), items);
    (items as f64 / took.as_secs_f64() / 1e6, took)
}

fn resume_time(keys: u64) -> (Duration, Duration) {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 4).unwrap();
    let names: Arc<Vec<String>> = Arc::new((0..keys).map(|k| format!("key{k}")).collect());
    let fill = counting_flow(
        "in",
        Generated {
            items: keys,
            keys: names,
        },
        Arrivals::new(),
    );
    let start = Instant::now();
    weir::run(fill, config(2, Duration::from_millis(500), Some(store.path()))).unwrap();
    let filled = start.elapsed();
    let sink = Arrivals::new();
    // A new input step: the state of "count" is what gets resumed.
    let resume = counting_flow(
        "more",
        TestingSource::new(vec![("key0".to_string(), 1u64)]),
        sink.clone(),
    );
    let start = Instant::now();
    weir::run(resume, config(2, Duration::from_millis(500), Some(store.path()))).unwrap();
    let first = sink.first.lock().unwrap().expect("the new item arrived");
    (first - start, filled)
}

/// Bytes of every file in `dir` (partition files and their write-ahead logs).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

/// Store size after `epochs` epochs in which 1 000 keys change and every key is deleted
/// after 5 updates (a churning key set).
fn churn_store_bytes(epochs: u64) -> (u64, u64) {
    use weir::testing::TestEvent;
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 4).unwrap();
    let mut events = Vec::new();
    for epoch in 0..epochs {
        for k in 0..1000u64 {
            events.push(TestEvent::Item((format!("key{}", (epoch / 5) * 1000 + k), 1u64)));
        }
        events.push(TestEvent::Pause(Duration::from_millis(4)));
    }
    let mut flow = Dataflow::new("churn");
    flow.input("in", TestingSource::from_events(events))
        .stateful_map("count", |n: Option<u64>, v: u64| {
            let n = n.unwrap_or(0) + v;
            (if n < 5 { Some(n) } else { None }, n)
        })
        .output("out", Arrivals::new());
    weir::run(flow, config(2, Duration::from_millis(3), Some(store.path()))).unwrap();
    let rows = weir::recovery::inspect(store.path())
        .unwrap()
        .partitions
        .iter()
        .flat_map(|p| &p.steps)
        .map(|s| s.snapshots)
        .sum();
    (dir_bytes(store.path()), rows)
}

fn main() {
    let items: u64 = std::env::var("ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000_000);
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let epoch = Duration::from_millis(env("EPOCH_MS", 1000));
    let partitions = env("STORE_PARTITIONS", 4) as usize;
    println!(
        "recovery: {items} items over {HOT_KEYS} hot keys, stateful_map, 2 workers, {epoch:?} epochs, \
         {partitions} store partitions"
    );
    let (off, t_off) = throughput(items, false, epoch, partitions);
    let (on, t_on) = throughput(items, true, epoch, partitions);
    println!(
        "recovery off {off:.2} M items/s ({t_off:.2?}), on {on:.2} M items/s ({t_on:.2?}), ratio on/off {:.2}",
        on / off
    );
    for epochs in [250, 1000] {
        let (bytes, rows) = churn_store_bytes(epochs);
        println!(
            "store after ~{epochs} epochs of churning keys ({} k keys created and deleted): {:.1} MiB, {rows} rows",
            epochs / 5,
            bytes as f64 / (1 << 20) as f64
        );
    }
    for keys in [100_000, 1_000_000] {
        let (resume, filled) = resume_time(keys);
        println!(
            "resume with {keys} keys of state: first new output after {resume:.2?} (filling took {filled:.2?})"
        );
    }
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
