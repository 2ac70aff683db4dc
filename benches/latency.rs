//! Source-to-sink latency at a steady low rate through a keyed stateful step, with 10 s
//! epochs: `cargo bench --bench latency`. Prints p50/p99/max for 1 and 2 workers.
//!
//! Each item carries the time it left the source; the sink records how long ago that was.
//! Items of the open epoch must not wait for it to close, so latency should be
//! milliseconds, not seconds.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::outputs::{DynamicSink, StatelessSinkPartition};
use weir::{BoxError, Dataflow, RunConfig, StepId};

const RATE_PER_SEC: u64 = 1000;
const SECONDS: u64 = 5;

/// Nanoseconds since `origin`, as carried in items.
fn nanos_since(origin: Instant) -> u64 {
    origin.elapsed().as_nanos() as u64
}

/// Emits `(sequence, emitted_at_ns)` at `RATE_PER_SEC`.
struct Paced {
    origin: Instant,
}

struct PacedPart {
    origin: Instant,
    sent: u64,
    start: Instant,
}

impl FixedPartitionedSource for Paced {
    type Item = (u64, u64);
    type State = u64;
    type Partition = PacedPart;
    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok(vec!["paced".into()])
    }
    fn build_part(&self, _: &StepId, _: &str, _: Option<u64>) -> Result<PacedPart, BoxError> {
        Ok(PacedPart {
            origin: self.origin,
            sent: 0,
            start: Instant::now(),
        })
    }
}

impl PacedPart {
    fn due(&self, n: u64) -> Instant {
        self.start + Duration::from_nanos(n * 1_000_000_000 / RATE_PER_SEC)
    }
}

impl StatefulSourcePartition for PacedPart {
    type Item = (u64, u64);
    type State = u64;
    fn next_batch(&mut self) -> Result<Batch<(u64, u64)>, BoxError> {
        if self.sent >= RATE_PER_SEC * SECONDS {
            return Ok(Batch::Eof);
        }
        let now = Instant::now();
        let mut items = Vec::new();
        while self.sent < RATE_PER_SEC * SECONDS && self.due(self.sent) <= now {
            items.push((self.sent, nanos_since(self.origin)));
            self.sent += 1;
        }
        Ok(Batch::Items(items))
    }
    fn next_awake(&self) -> Option<Instant> {
        Some(self.due(self.sent))
    }
    fn snapshot(&self) -> u64 {
        self.sent
    }
}

#[derive(Clone)]
struct Latencies {
    origin: Instant,
    seen: Arc<Mutex<Vec<u64>>>,
}

impl DynamicSink for Latencies {
    type Item = (String, (u64, u64));
    type Partition = Latencies;
    fn build(&self, _: &StepId, _: usize, _: usize) -> Result<Latencies, BoxError> {
        Ok(self.clone())
    }
}

impl StatelessSinkPartition for Latencies {
    type Item = (String, (u64, u64));
    fn write_batch(&mut self, items: Vec<(String, (u64, u64))>) -> Result<(), BoxError> {
        let now = nanos_since(self.origin);
        let mut seen = self.seen.lock().unwrap();
        seen.extend(items.iter().map(|(_, (_, emitted))| now - emitted));
        Ok(())
    }
}

fn main() {
    println!("latency: {RATE_PER_SEC} items/s for {SECONDS} s, keyed stateful step, 10 s epochs");
    for workers in [1, 2] {
        let origin = Instant::now();
        let sink = Latencies {
            origin,
            seen: Arc::new(Mutex::new(Vec::new())),
        };
        let mut flow = Dataflow::new("latency");
        flow.input("paced", Paced { origin })
            .key_on("key", |(n, _): &(u64, u64)| (n % 100).to_string())
            .stateful_map("count", |count: Option<u64>, item: (u64, u64)| {
                (Some(count.unwrap_or(0) + 1), item)
            })
            .output("sink", sink.clone());
        let config = RunConfig {
            epoch_interval: Duration::from_secs(10),
            ..RunConfig::threads(workers)
        };
        weir::run(flow, config).expect("run");
        let mut seen = sink.seen.lock().unwrap().clone();
        assert_eq!(seen.len() as u64, RATE_PER_SEC * SECONDS, "every item arrives");
        seen.sort_unstable();
        let pct = |p: f64| Duration::from_nanos(seen[((seen.len() - 1) as f64 * p) as usize]);
        println!(
            "workers={workers}: p50 {:.3?}, p99 {:.3?}, max {:.3?}",
            pct(0.50),
            pct(0.99),
            pct(1.0)
        );
    }
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
