//! Event-time windows, `cargo bench --bench windows` (release):
//! 1. Throughput: EVENTS events (default 2 M) of 10 k keys in 8 in-memory partitions, 1 ms of
//!    event time per event per partition, 5 % up to 4 s out of order (on time: the clock waits
//!    5 s), counted and summed per key in tumbling 10 s windows by weir (`input_with_clock` →
//!    `key_on` → `fold_window`) and by a hand-written timely program, 1 and 2 workers, best of
//!    RUNS runs (default 3) each, the two taking turns (so a noisy moment hits both). Both
//!    must give the same windows, counts and sums.
//! 2. Window-close latency: ~10 k events/s stamped with the wall clock, 1 s tumbling windows,
//!    wait 0, 10 s epochs: per window, from the source reading the first item at or past its
//!    end (the watermark passing it) to its last result reaching the sink, for LATENCY_SECS
//!    (default 20, at least 2).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::InputHandleVec;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Operator;
use timely::dataflow::operators::vec::Input;
use weir::inputs::{Batch, EventClock, FixedPartitionedSource, StatefulSourcePartition};
use weir::outputs::{DynamicSink, StatelessSinkPartition};
use weir::windows::{Window, Windower};
use weir::{BoxError, Data, Dataflow, RunConfig, StepId};

/// `(timestamp_ms, key, value)`.
type Event = (i64, u64, i64);
/// A window's result: events counted, and the sum of their values.
type Acc = (u64, i64);
/// Windows, events counted, and the sum of their values.
type Totals = (u64, u64, i64);

const KEYS: u64 = 10_000;
const PARTITIONS: usize = 8;
const BATCH: usize = 1024;
const WINDOW_MS: i64 = 10_000;
const WAIT_MS: i64 = 5_000;
const MAX_DISORDER_MS: u64 = 4_000;

const RATE_PER_SEC: u64 = 10_000;
const LATENCY_PARTS: u64 = 2;
const LATENCY_KEYS: u64 = 1_000;
const LATENCY_WINDOW_MS: i64 = 1_000;

/// splitmix64, a deterministic PRNG.
fn splitmix(mut state: u64) -> impl FnMut() -> u64 {
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(state)
    }
}

/// splitmix64's mixer, also the timely program's routing hash.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `PARTITIONS` partitions of `events / PARTITIONS` events; the i-th is stamped i ms, or,
/// for 5 % of them, up to `MAX_DISORDER_MS` earlier.
fn generate(events: usize) -> Arc<Vec<Vec<Event>>> {
    let per = events.div_ceil(PARTITIONS) as i64;
    let parts = (0..PARTITIONS as u64).map(|p| {
        let mut rng = splitmix(p);
        let mut event = |i: i64| {
            let (key, value, disorder) = (rng() % KEYS, rng() % 100, rng());
            let early = (disorder % 100 < 5).then(|| 1 + ((disorder >> 8) % MAX_DISORDER_MS) as i64);
            ((i - early.unwrap_or(0)).max(0), key, value as i64)
        };
        (0..per).map(&mut event).collect()
    });
    Arc::new(parts.collect())
}

/// `LATENCY_PARTS` partitions of interleaved events, `RATE_PER_SEC` in all, for `secs`.
fn paced_events(secs: u64) -> Arc<Vec<Vec<Event>>> {
    let per = RATE_PER_SEC * secs / LATENCY_PARTS;
    let parts = (0..LATENCY_PARTS).map(|p| {
        let mut rng = splitmix(p);
        let ts = |n: u64| ((n * LATENCY_PARTS + p) * 1000 / RATE_PER_SEC) as i64;
        (0..per).map(|n| (ts(n), rng() % LATENCY_KEYS, 1)).collect()
    });
    Arc::new(parts.collect())
}

/// Window end -> an instant, the latest one recorded for it.
type Marks = Arc<Mutex<HashMap<i64, Instant>>>;

fn mark_latest(marks: &Marks, end: i64, now: Instant) {
    let mut marks = marks.lock().unwrap();
    let at = marks.entry(end).or_insert(now);
    *at = (*at).max(now);
}

/// In-memory partitions, read up to `BATCH` events at a time. Paced (`Some((origin,
/// passed))`): an event is read once its timestamp (ms since `origin`) is due, and `passed`
/// records, per window end, when the last partition read an event at or past it, that is,
/// when the watermark (wait 0) passed it.
#[derive(Clone)]
struct MemorySource(Arc<Vec<Vec<Event>>>, Option<(Instant, Marks)>);

struct MemoryPart {
    source: MemorySource,
    part: usize,
    next: usize,
}

impl FixedPartitionedSource for MemorySource {
    type Item = Event;
    type State = usize;
    type Partition = MemoryPart;
    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok((0..self.0.len()).map(|p| p.to_string()).collect())
    }
    fn build_part(&self, _: &StepId, part: &str, resume: Option<usize>) -> Result<MemoryPart, BoxError> {
        let (source, part, next) = (self.clone(), part.parse()?, resume.unwrap_or(0));
        Ok(MemoryPart { source, part, next })
    }
}

impl StatefulSourcePartition for MemoryPart {
    type Item = Event;
    type State = usize;
    fn next_batch(&mut self) -> Result<Batch<Event>, BoxError> {
        let events = &self.source.0[self.part];
        if self.next >= events.len() {
            return Ok(Batch::Eof);
        }
        let mut batch = &events[self.next..(self.next + BATCH).min(events.len())];
        if let Some((origin, passed)) = &self.source.1 {
            let now = Instant::now();
            let due = now.duration_since(*origin).as_millis() as i64;
            batch = &batch[..batch.partition_point(|e| e.0 <= due)];
            // Window ends in (the last timestamp read before, the last one read now].
            let before = self.next.checked_sub(1).map_or(0, |i| events[i].0);
            let last = batch.last().map_or(before, |e| e.0);
            for k in before / LATENCY_WINDOW_MS + 1..=last / LATENCY_WINDOW_MS {
                mark_latest(passed, k * LATENCY_WINDOW_MS, now);
            }
        }
        self.next += batch.len();
        Ok(Batch::Items(batch.to_vec()))
    }
    fn next_awake(&self) -> Option<Instant> {
        let poll = Instant::now() + Duration::from_millis(1);
        self.source.1.as_ref().map(|_| poll)
    }
    fn snapshot(&self) -> usize {
        self.next
    }
}

/// A sink that hands every batch to a closure.
#[derive(Clone)]
struct FnSink<T>(Arc<dyn Fn(Vec<T>) + Send + Sync>);

impl<T: Data> DynamicSink for FnSink<T> {
    type Item = T;
    type Partition = FnSink<T>;
    fn build(&self, _: &StepId, _: usize, _: usize) -> Result<FnSink<T>, BoxError> {
        Ok(self.clone())
    }
}

impl<T: 'static> StatelessSinkPartition for FnSink<T> {
    type Item = T;
    fn write_batch(&mut self, items: Vec<T>) -> Result<(), BoxError> {
        (self.0)(items);
        Ok(())
    }
}

/// Adds window results `(count, sum)` to `totals`.
fn add(totals: &Mutex<Totals>, results: impl Iterator<Item = Acc>) {
    let mut t = totals.lock().unwrap();
    for (count, sum) in results {
        *t = (t.0 + 1, t.1 + count, t.2 + sum);
    }
}

fn weir_windows(events: &Arc<Vec<Vec<Event>>>, workers: usize) -> (Duration, Totals) {
    let totals = Arc::new(Mutex::new((0u64, 0u64, 0i64)));
    let sink = totals.clone();
    let sum = FnSink(Arc::new(move |results: Vec<(u64, (Window, Acc))>| {
        add(&sink, results.into_iter().map(|(_, (_, acc))| acc));
    }));
    let mut flow = Dataflow::new("windows");
    let clock = EventClock::new(|e: &Event| e.0, Duration::from_millis(WAIT_MS as u64));
    let tumbling = Windower::tumbling(Duration::from_millis(WINDOW_MS as u64));
    let source = MemorySource(events.clone(), None);
    let input = flow.input_with_clock("read", source, clock);
    let keyed = input.on_time.key_on("key", |e: &Event| e.1);
    let (init, fold) = (|| (0u64, 0i64), |a: Acc, e: Event| (a.0 + 1, a.1 + e.2));
    let merge = |a: Acc, b: Acc| (a.0 + b.0, a.1 + b.1);
    let windows = keyed.fold_window("sum", |e| e.0, tumbling, init, fold, merge);
    windows.down.output("total", sum);
    let start = Instant::now();
    weir::run(flow, RunConfig::threads(workers)).expect("weir run");
    (start.elapsed(), *totals.lock().unwrap())
}

/// The same aggregation as a timely user would write it: each worker reads its partitions
/// round-robin, `BATCH` events per partition per round, at its input's time = its watermark
/// (the least of its partitions' latest timestamp minus the wait). Events are exchanged by
/// key; each worker keeps a HashMap of the open windows per key and closes windows once the
/// frontier reaches their end.
fn timely_windows(events: &Arc<Vec<Vec<Event>>>, workers: usize) -> (Duration, Totals) {
    let totals = Arc::new(Mutex::new((0u64, 0u64, 0i64)));
    let (events, sink) = (events.clone(), totals.clone());
    let config = match workers {
        1 => timely::Config::thread(),
        n => timely::Config::process(n),
    };
    let start = Instant::now();
    timely::execute(config, move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        let mut input = InputHandleVec::<u64, Event>::new();
        let sink = sink.clone();
        worker.dataflow::<u64, _, _>(|scope| {
            type Out = CapacityContainerBuilder<Vec<(u64, i64, u64, i64)>>;
            let exchange = Exchange::new(|e: &Event| mix(e.1));
            let events = scope.input_from(&mut input);
            let windows = events.unary_frontier::<Out, _, _, _>(exchange, "windows", |cap, _| {
                let mut cap = Some(cap);
                // key -> its open windows (end, count, sum); the ends of all open windows.
                let mut open: HashMap<u64, Vec<(i64, u64, i64)>> = HashMap::new();
                let mut ends = BTreeSet::new();
                move |(input, frontier), output| {
                    input.for_each(|_, data| {
                        for (ts, key, value) in data.drain(..) {
                            let end = ts - ts.rem_euclid(WINDOW_MS) + WINDOW_MS;
                            let windows = open.entry(key).or_default();
                            match windows.iter_mut().find(|w| w.0 == end) {
                                Some(w) => (w.1, w.2) = (w.1 + 1, w.2 + value),
                                None => {
                                    windows.push((end, 1, value));
                                    ends.insert(end);
                                }
                            }
                        }
                    });
                    let Some(c) = cap.as_mut() else { return };
                    let done = frontier.frontier().first().map_or(i64::MAX, |t| *t as i64);
                    if ends.first().is_some_and(|end| *end <= done) {
                        ends.retain(|end| *end > done);
                        let mut session = output.session(c);
                        open.retain(|key, windows| {
                            windows.retain(|&(end, n, s)| {
                                if end <= done {
                                    session.give((*key, end, n, s));
                                }
                                end > done
                            });
                            !windows.is_empty()
                        });
                    }
                    match frontier.frontier().first() {
                        Some(t) => c.downgrade(t),
                        None => cap = None,
                    }
                }
            });
            windows.sink(Pipeline, "total", move |(input, _)| {
                input.for_each(|_, results| add(&sink, results.drain(..).map(|(_, _, n, s)| (n, s))));
            });
        });
        let mine: Vec<&Vec<Event>> = events.iter().skip(index).step_by(peers).collect();
        let (mut next, mut marks) = (vec![0; mine.len()], vec![i64::MIN; mine.len()]);
        while next.iter().zip(&mine).any(|(n, part)| *n < part.len()) {
            for (p, part) in mine.iter().enumerate() {
                let to = (next[p] + BATCH).min(part.len());
                for &event in &part[next[p]..to] {
                    assert!(event.0 >= marks[p], "the generator makes no late events");
                    marks[p] = marks[p].max(event.0 - WAIT_MS);
                    input.send(event);
                }
                next[p] = to;
            }
            let watermark = marks.iter().copied().min().unwrap_or(0).max(0) as u64;
            if watermark > *input.time() {
                input.advance_to(watermark);
            }
            worker.step();
        }
    })
    .expect("timely run");
    (start.elapsed(), *totals.lock().unwrap())
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage(2) fills the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The best of several runs of one program: wall time, CPU time, and the result (the same
/// in every run).
#[derive(Default)]
struct Best {
    wall: Option<Duration>,
    cpu: Option<Duration>,
    result: Option<Totals>,
}

impl Best {
    fn run(&mut self, run: impl FnOnce() -> (Duration, Totals)) {
        let before = cpu_time();
        let (elapsed, totals) = run();
        let cpu = cpu_time() - before;
        self.wall = Some(self.wall.map_or(elapsed, |w| w.min(elapsed)));
        self.cpu = Some(self.cpu.map_or(cpu, |c| c.min(cpu)));
        assert!(
            self.result.replace(totals).is_none_or(|p| p == totals),
            "runs differ"
        );
    }
}

/// Each window's close latency, for the windows the watermark passed (not those closed by
/// the end of the input).
fn window_latencies(events: &Arc<Vec<Vec<Event>>>, workers: usize) -> Vec<Duration> {
    let (passed, arrived) = (Marks::default(), Marks::default());
    let source = MemorySource(events.clone(), Some((Instant::now(), passed.clone())));
    let sink_arrived = arrived.clone();
    let sink = FnSink(Arc::new(move |results: Vec<(u64, (Window, u64))>| {
        let now = Instant::now();
        results
            .iter()
            .for_each(|(_, (w, _))| mark_latest(&sink_arrived, w.end, now));
    }));
    let mut flow = Dataflow::new("window_latency");
    let clock = EventClock::new(|e: &Event| e.0, Duration::ZERO);
    let tumbling = Windower::tumbling(Duration::from_millis(LATENCY_WINDOW_MS as u64));
    let input = flow.input_with_clock("paced", source, clock);
    let keyed = input.on_time.key_on("key", |e: &Event| e.1);
    let windows = keyed.count_window("count", |e| e.0, tumbling);
    windows.down.output("sink", sink);
    let mut config = RunConfig::threads(workers);
    config.epoch_interval = Duration::from_secs(10);
    weir::run(flow, config).expect("weir run");
    let (passed, arrived) = (passed.lock().unwrap(), arrived.lock().unwrap());
    let latency = |(end, passed): (&i64, &Instant)| {
        let arrived = arrived.get(end).expect("every passed window has results");
        assert!(
            passed <= arrived,
            "no window closes before the watermark passes it"
        );
        *arrived - *passed
    };
    passed.iter().map(latency).collect()
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    let value = std::env::var(name).ok().and_then(|v| v.parse().ok());
    value.unwrap_or(default)
}

fn main() {
    let events = generate(env_or("EVENTS", 2_000_000));
    let total: usize = events.iter().map(Vec::len).sum();
    let runs = env_or("RUNS", 3).max(1);
    println!(
        "windows: {total} events, {KEYS} keys, {PARTITIONS} partitions, tumbling {WINDOW_MS} ms \
         windows, 5 % up to {MAX_DISORDER_MS} ms out of order (wait {WAIT_MS} ms), best of {runs}"
    );
    for workers in [1, 2] {
        let (mut timely, mut weir) = (Best::default(), Best::default());
        for _ in 0..runs {
            timely.run(|| timely_windows(&events, workers));
            weir.run(|| weir_windows(&events, workers));
        }
        let [(t_timely, c_timely, r_timely), (t_weir, c_weir, r_weir)] =
            [timely, weir].map(|b| (b.wall.unwrap(), b.cpu.unwrap(), b.result.unwrap()));
        assert_eq!(r_timely.1, total as u64, "timely counts every event");
        assert_eq!(r_weir, r_timely, "weir's windows, counts and sums");
        let rate = |t: Duration| total as f64 / t.as_secs_f64() / 1e6;
        println!(
            "workers={workers}: timely {:.2} M events/s ({t_timely:.2?} wall, {c_timely:.2?} CPU), \
             weir {:.2} M events/s ({t_weir:.2?} wall, {c_weir:.2?} CPU), {} windows; \
             ratio weir/timely {:.2} by wall time, {:.2} by CPU time",
            rate(t_timely),
            rate(t_weir),
            r_weir.0,
            rate(t_weir) / rate(t_timely),
            c_timely.as_secs_f64() / c_weir.as_secs_f64()
        );
    }
    let secs = env_or("LATENCY_SECS", 20);
    println!(
        "window-close latency: {RATE_PER_SEC} events/s, {LATENCY_KEYS} keys, {LATENCY_PARTS} \
         partitions, {LATENCY_WINDOW_MS} ms tumbling windows, wait 0, 10 s epochs, {secs} s"
    );
    let events = paced_events(secs);
    for workers in [1, 2] {
        let mut latencies = window_latencies(&events, workers);
        assert!(!latencies.is_empty(), "LATENCY_SECS must be 2 or more");
        latencies.sort_unstable();
        // Nearest rank: the least latency that a fraction `p` of the windows do not exceed.
        let pct = |p: f64| latencies[((latencies.len() as f64 * p).ceil() as usize).max(1) - 1];
        let ([p50, p99, max], n) = ([0.5, 0.99, 1.0].map(pct), latencies.len());
        println!("workers={workers}: {n} windows, p50 {p50:.2?}, p99 {p99:.2?}, max {max:.2?}");
    }
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
