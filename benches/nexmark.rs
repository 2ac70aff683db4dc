//! Nexmark, `cargo bench --bench nexmark [-- --json PATH]` (release): each query of
//! `weir_nexmark` over EVENTS generated events (default 2 M: about a second per run at 1 worker, so
//! start-up and the end-of-input flush weigh little) in 4 partitions, results
//! counted and dropped, at 1 and 2 workers; and the cost of recovery (1 s epochs) at 1 and
//! 2 workers over RECOVERY_EVENTS (default 8 M: several epochs, so the figure is the steady
//! cost of snapshots, not only the end-of-input flush). The two runs compared (1 and 2
//! workers; without and with recovery) take turns. Beside them, in the same run, the
//! generator alone (one thread generating the same events, no weir): as an iterator,
//! dropping each event, and as the source's partitions, in the batches the source hands
//! weir. The runtime's overhead is the ratio to the second (which includes what a source
//! must do anyway: hold a batch of events before handing it on).
//! Each speed is the best of RUNS runs (default 2), the speed-up of 2 workers and the cost
//! of recovery the median of their runs' ratios; QUERIES=q0,q4 runs only those. Prints
//! a table; `--json PATH` also writes the figures for comparing commits.

use std::time::{Duration, Instant};

use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::{Dataflow, RunConfig, StepId};
use weir_nexmark::{NexmarkSource, NullSink, Query};

#[path = "support/median.rs"]
mod median;
use median::median;

const PARTITIONS: usize = 4;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    let value = std::env::var(name).ok().and_then(|v| v.parse().ok());
    value.unwrap_or(default)
}

/// Seconds to generate `events` events in one thread, without weir.
fn generator_only(events: u64) -> Duration {
    let source = NexmarkSource::new(Some(events), PARTITIONS);
    let start = Instant::now();
    let mut generated = 0;
    for event in source.events() {
        std::hint::black_box(event);
        generated += 1;
    }
    assert_eq!(generated, events);
    start.elapsed()
}

/// Seconds to generate `events` events as the source's partitions do, in batches (read
/// round-robin, then dropped), without weir.
fn source_only(events: u64) -> Duration {
    let source = NexmarkSource::new(Some(events), PARTITIONS);
    let step = StepId::new("events").unwrap();
    let start = Instant::now();
    let names = source.list_parts().unwrap();
    let mut parts: Vec<_> = names
        .iter()
        .map(|p| source.build_part(&step, p, None).unwrap())
        .collect();
    let mut generated = 0;
    while !parts.is_empty() {
        parts.retain_mut(|part| match part.next_batch().unwrap() {
            Batch::Items(batch) => {
                generated += batch.len() as u64;
                std::hint::black_box(batch);
                true
            }
            Batch::Pending => true,
            Batch::Eof => false,
        });
    }
    assert_eq!(generated, events);
    start.elapsed()
}

/// One run of `query`: its wall time and result count.
fn run(query: Query, events: u64, workers: usize, recovery: bool) -> (Duration, u64) {
    let store = tempfile::tempdir().unwrap();
    let mut config = RunConfig::threads(workers).with_epoch_interval(Duration::from_secs(1));
    if recovery {
        weir::recovery::init(store.path(), PARTITIONS).unwrap();
        config = config.with_recovery(store.path());
    }
    let mut flow = Dataflow::new(&format!("nexmark_{}", query.name()));
    let source = NexmarkSource::new(Some(events), PARTITIONS);
    let input = flow.input_with_clock("events", source, NexmarkSource::clock());
    let sink = NullSink::new();
    query.build(&input.on_time).output("count", sink.clone());
    let start = Instant::now();
    weir::run(flow, config).expect("the query runs");
    (start.elapsed(), sink.count())
}

/// Events per second of the best of `runs` runs of `measure`.
fn best(runs: usize, events: u64, mut measure: impl FnMut() -> Duration) -> f64 {
    let fastest = (0..runs).map(|_| measure()).min().expect("at least one run");
    events as f64 / fastest.as_secs_f64()
}

struct Row {
    query: &'static str,
    results: u64,
    /// 1 worker against 2.
    workers: Paired,
    /// Over RECOVERY_EVENTS, without recovery against with it: at 1 worker, at 2.
    recovery: [Paired; 2],
}

/// Two setups `(workers, recovery)` of a query compared: the best events per second of
/// each, the median of the second's speed over the first's in runs taken in turn, and the
/// query's result count.
struct Paired {
    first: f64,
    second: f64,
    ratio: f64,
    results: u64,
}

/// Runs `query` over `events` in setups `a` and `b`, `runs` times each, taking turns so a
/// noisy moment (this machine's speed drifts by up to 2x) hits both. The ratio is the
/// median of each turn's: a best-of per setup lets one lucky run decide it.
fn paired(query: Query, events: u64, runs: usize, a: (usize, bool), b: (usize, bool)) -> Paired {
    let (mut first, mut second, mut results) = (Duration::MAX, Duration::MAX, 0);
    let mut ratios = Vec::new();
    for _ in 0..runs {
        let (took_a, count) = run(query, events, a.0, a.1);
        let took_b = run(query, events, b.0, b.1).0;
        (first, second) = (first.min(took_a), second.min(took_b));
        ratios.push(took_a.as_secs_f64() / took_b.as_secs_f64());
        results = count;
    }
    let rate = |took: Duration| events as f64 / took.as_secs_f64();
    Paired {
        first: rate(first),
        second: rate(second),
        ratio: median(ratios),
        results,
    }
}

fn main() {
    let events: u64 = env_or("EVENTS", 2_000_000);
    let recovery_events: u64 = env_or("RECOVERY_EVENTS", 4 * events);
    let runs: usize = env_or("RUNS", 2).max(1);
    let args: Vec<String> = std::env::args().collect();
    let json = args
        .iter()
        .position(|a| a == "--json")
        .and_then(|i| args.get(i + 1));
    let iterator = best(runs, events, || generator_only(events));
    let generator = best(runs, events, || source_only(events));
    println!(
        "nexmark: {events} events, {PARTITIONS} partitions, best of {runs}; generator alone, one \
         thread: {:.2} M events/s as an iterator, {:.2} M events/s in the source's batches \
         (\"vs gen\" below)",
        iterator / 1e6,
        generator / 1e6
    );
    println!(
        "recovery: {recovery_events} events, 1 s epochs, with and without, at 1 and 2 workers; \
         2w/1w: median of paired runs over {events} events, and best of each over {recovery_events} (long)"
    );
    println!(
        "{:<5} {:>9} {:>14} {:>7} {:>14} {:>10} {:>7} {:>7} {:>12} {:>12}",
        "query",
        "results",
        "1 worker ev/s",
        "vs gen",
        "2 workers ev/s",
        "per worker",
        "2w/1w",
        "long",
        "recovery 1w",
        "recovery 2w"
    );
    let mut rows = Vec::new();
    let chosen: Vec<Query> = match std::env::var("QUERIES") {
        Ok(names) => names.split(',').map(|q| q.parse().unwrap()).collect(),
        Err(_) => Query::ALL.to_vec(),
    };
    for query in chosen {
        let workers = paired(query, events, runs, (1, false), (2, false));
        let recovery = [1, 2].map(|w| paired(query, recovery_events, runs, (w, false), (w, true)));
        let cost = |p: &Paired| format!("{:.1} %", (1.0 - p.ratio) * 100.0);
        println!(
            "{:<5} {:>9} {:>14.0} {:>7.2} {:>14.0} {:>10.0} {:>7.2} {:>7.2} {:>12} {:>12}",
            query.name(),
            workers.results,
            workers.first,
            workers.first / generator,
            workers.second,
            workers.second / 2.0,
            workers.ratio,
            recovery[1].first / recovery[0].first,
            cost(&recovery[0]),
            cost(&recovery[1]),
        );
        rows.push(Row {
            query: query.name(),
            results: workers.results,
            workers,
            recovery,
        });
    }
    if let Some(path) = json {
        let queries: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                let [one, two] = &r.recovery;
                serde_json::json!({
                    "query": r.query,
                    "results": r.results,
                    "events_per_sec_1_worker": r.workers.first,
                    "events_per_sec_2_workers": r.workers.second,
                    "speedup_2_workers_median": r.workers.ratio,
                    "recovery_events": recovery_events,
                    "events_per_sec_1_worker_long": one.first,
                    "events_per_sec_1_worker_recovery": one.second,
                    "recovery_speed_ratio_1_worker_median": one.ratio,
                    "events_per_sec_2_workers_long": two.first,
                    "events_per_sec_2_workers_recovery": two.second,
                    "recovery_speed_ratio_2_workers_median": two.ratio,
                })
            })
            .collect();
        let figures = serde_json::json!({
            "events": events,
            "partitions": PARTITIONS,
            "generator_events_per_sec": iterator,
            "source_batches_events_per_sec": generator,
            "queries": queries,
        });
        std::fs::write(path, format!("{figures}\n")).expect("write the JSON figures");
    }
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
