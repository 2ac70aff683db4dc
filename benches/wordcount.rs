//! Word count throughput: weir vs two hand-written timely programs, same input, same run.
//!
//! `cargo bench --bench wordcount` (release). Prints words/s and ratios for 1 and 2
//! workers. Input: WORDS words (default 5 M) from 10 k distinct, generated in memory. The
//! naive timely program sends every word through the exchange; the combining one counts
//! each worker's words first (allocating a word only the first time it sees it) and
//! exchanges the counts. weir also runs with metrics on (`--metrics-addr`), taking turns
//! with the run without, to measure their cost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Operator;
use timely::dataflow::operators::vec::{Input, Map};
use timely::dataflow::{InputHandleVec, StreamVec};
use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::outputs::{DynamicSink, StatelessSinkPartition};
use weir::{BoxError, Dataflow, RunConfig, StepId};

const DISTINCT: u64 = 10_000;
const WORDS_PER_LINE: usize = 10;
const PARTITIONS: usize = 8;

fn lines(words: usize) -> Arc<Vec<String>> {
    let mut state = 42u64;
    let mut next = move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let lines = (0..words / WORDS_PER_LINE)
        .map(|_| {
            (0..WORDS_PER_LINE)
                .map(|_| format!("word{}", next() % DISTINCT))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    Arc::new(lines)
}

/// The lines split into `PARTITIONS` in-memory partitions.
struct MemorySource(Arc<Vec<String>>);

struct MemoryPart {
    lines: Arc<Vec<String>>,
    next: usize,
    end: usize,
}

impl FixedPartitionedSource for MemorySource {
    type Item = String;
    type State = usize;
    type Partition = MemoryPart;
    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok((0..PARTITIONS).map(|p| p.to_string()).collect())
    }
    fn build_part(&self, _: &StepId, part: &str, _: Option<usize>) -> Result<MemoryPart, BoxError> {
        let p: usize = part.parse()?;
        let per = self.0.len().div_ceil(PARTITIONS);
        Ok(MemoryPart {
            lines: self.0.clone(),
            next: p * per,
            end: ((p + 1) * per).min(self.0.len()),
        })
    }
}

impl StatefulSourcePartition for MemoryPart {
    type Item = String;
    type State = usize;
    fn next_batch(&mut self) -> Result<Batch<String>, BoxError> {
        if self.next >= self.end {
            return Ok(Batch::Eof);
        }
        let to = (self.next + 1024).min(self.end);
        let batch = self.lines[self.next..to].to_vec();
        self.next = to;
        Ok(Batch::Items(batch))
    }
    fn snapshot(&self) -> usize {
        self.next
    }
}

/// Sums the counts it receives (to check both programs agree).
#[derive(Clone, Default)]
struct Total(Arc<Mutex<(u64, u64)>>);

impl DynamicSink for Total {
    type Item = (String, u64);
    type Partition = Total;
    fn build(&self, _: &StepId, _: usize, _: usize) -> Result<Total, BoxError> {
        Ok(self.clone())
    }
}

impl StatelessSinkPartition for Total {
    type Item = (String, u64);
    fn write_batch(&mut self, items: Vec<(String, u64)>) -> Result<(), BoxError> {
        let mut total = self.0.lock().unwrap();
        total.0 += items.len() as u64;
        total.1 += items.iter().map(|(_, n)| n).sum::<u64>();
        Ok(())
    }
}

/// weir's word count, as the README writes it.
/// With `metrics`, the run serves metrics on a free port and counts every step's items.
fn weir_wordcount(lines: &Arc<Vec<String>>, workers: usize, metrics: bool) -> (Duration, (u64, u64)) {
    let total = Total::default();
    let mut flow = Dataflow::new("wordcount");
    let words = flow
        .input("read", MemorySource(lines.clone()))
        .flat_map("split", |line: String| {
            line.split_whitespace().map(str::to_owned).collect::<Vec<_>>()
        })
        .as_keys("key")
        .count_final("count");
    words.output("total", total.clone());
    let start = Instant::now();
    let mut config = RunConfig::threads(workers);
    if metrics {
        config = config.with_metrics("127.0.0.1:0".parse().expect("an address"));
    }
    weir::run(flow, config).expect("weir run");
    let elapsed = start.elapsed();
    let result = *total.0.lock().unwrap();
    (elapsed, result)
}

/// Counted words, as timely operators build them.
type Counted = timely::container::CapacityContainerBuilder<Vec<(String, u64)>>;

/// The hand-written timely word count. Naive: every word crosses the exchange. With
/// `combine`: each worker counts its lines' words first (allocating a word only the first
/// time it sees it), then the counts cross the exchange.
fn timely_wordcount(lines: &Arc<Vec<String>>, workers: usize, combine: bool) -> (Duration, (u64, u64)) {
    let total = Arc::new(Mutex::new((0u64, 0u64)));
    let (lines, sink) = (lines.clone(), total.clone());
    let start = Instant::now();
    let config = if workers == 1 {
        timely::Config::thread()
    } else {
        timely::Config::process(workers)
    };
    timely::execute(config, move |worker| {
        let (index, peers) = (worker.index(), worker.peers());
        // Lines when combining, else words.
        let mut input = InputHandleVec::<u64, String>::new();
        let sink = sink.clone();
        worker.dataflow::<u64, _, _>(|scope| {
            let texts: StreamVec<'_, u64, String> = scope.input_from(&mut input);
            let counted = match combine {
                true => combined(texts),
                false => texts.map(|word| (word, 1u64)),
            };
            counted.unary_frontier::<Counted, _, _, _>(
                Exchange::new(|(w, _): &(String, u64)| xxhash_rust::xxh3::xxh3_64(w.as_bytes())),
                "count",
                |_, _| {
                    let mut counts: HashMap<String, u64> = HashMap::new();
                    move |(input, frontier), _output| {
                        input.for_each(|_, data| {
                            for (word, n) in data.drain(..) {
                                *counts.entry(word).or_default() += n;
                            }
                        });
                        if frontier.is_empty() && !counts.is_empty() {
                            let mut t = sink.lock().unwrap();
                            t.0 += counts.len() as u64;
                            t.1 += counts.values().sum::<u64>();
                            counts.clear();
                        }
                    }
                },
            );
        });
        for line in lines.iter().skip(index).step_by(peers) {
            match combine {
                true => input.send(line.clone()),
                false => line
                    .split_whitespace()
                    .for_each(|word| input.send(word.to_owned())),
            }
        }
        drop(input);
    })
    .expect("timely run");
    let elapsed = start.elapsed();
    let result = *total.lock().unwrap();
    (elapsed, result)
}

/// Each worker's word counts of `lines`, sent once its input ended.
fn combined<'s>(lines: StreamVec<'s, u64, String>) -> StreamVec<'s, u64, (String, u64)> {
    lines.unary_frontier::<Counted, _, _, _>(Pipeline, "combine", |_, _| {
        let mut counts: HashMap<String, u64> = HashMap::new();
        let mut cap = None;
        move |(input, frontier), output| {
            input.for_each(|time, data| {
                if cap.is_none() {
                    cap = time.retain_least(0);
                }
                for line in data.drain(..) {
                    for word in line.split_whitespace() {
                        match counts.get_mut(word) {
                            Some(n) => *n += 1,
                            None => {
                                counts.insert(word.to_owned(), 1);
                            }
                        }
                    }
                }
            });
            if frontier.is_empty()
                && let Some(cap) = cap.take()
            {
                output.session(&cap).give_iterator(counts.drain());
            }
        }
    })
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

/// The best of `RUNS` (env, default 3) runs: wall time, CPU time, and the (checked) result.
/// `untimed` runs before each run, outside the measurement (another program taking turns).
fn best(
    mut untimed: impl FnMut(),
    mut run: impl FnMut() -> (Duration, (u64, u64)),
) -> (Duration, Duration, (u64, u64)) {
    let count = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let runs: Vec<_> = (0..count)
        .map(|_| {
            untimed();
            let cpu = cpu_time();
            let (wall, result) = run();
            (wall, cpu_time() - cpu, result)
        })
        .collect();
    let wall = runs.iter().map(|r| r.0).min().expect("at least one run");
    let cpu = runs.iter().map(|r| r.1).min().expect("at least one run");
    (wall, cpu, runs[0].2)
}

fn main() {
    let words: usize = std::env::var("WORDS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(5_000_000);
    let lines = lines(words);
    let words = (lines.len() * WORDS_PER_LINE) as f64;
    println!("wordcount: {words} words, {DISTINCT} distinct");
    for workers in [1, 2] {
        let (t_timely, c_timely, r_timely) = best(|| {}, || timely_wordcount(&lines, workers, false));
        let rate = |t: Duration| words / t.as_secs_f64() / 1e6;
        println!(
            "workers={workers}: hand-written timely {:.2} M words/s ({t_timely:.2?} wall, {c_timely:.2?} CPU)",
            rate(t_timely)
        );
        let (t_combined, c_combined, r_combined) = best(|| {}, || timely_wordcount(&lines, workers, true));
        assert_eq!(
            r_combined, r_timely,
            "both timely programs must count the same words"
        );
        println!(
            "workers={workers}: hand-written timely with a combiner {:.2} M words/s \
             ({t_combined:.2?} wall, {c_combined:.2?} CPU)",
            rate(t_combined)
        );
        // Metrics off and on take turns, so drifts in machine speed hit both alike.
        let (mut off, mut on) = (Vec::new(), Vec::new());
        let (t_weir, c_weir, r_weir) = best(
            || on.push(weir_wordcount(&lines, workers, true).0),
            || {
                let run = weir_wordcount(&lines, workers, false);
                off.push(run.0);
                run
            },
        );
        assert_eq!(r_weir, r_timely, "both programs must count the same words");
        assert_eq!(r_weir.1 as f64, words);
        println!(
            "workers={workers}: weir (README program) {:.2} M words/s ({t_weir:.2?} wall, {c_weir:.2?} CPU); \
             ratio to timely {:.2} by wall time, {:.2} by CPU time; to timely with a \
             combiner {:.2} by wall time, {:.2} by CPU time",
            rate(t_weir),
            rate(t_weir) / rate(t_timely),
            c_timely.as_secs_f64() / c_weir.as_secs_f64(),
            rate(t_weir) / rate(t_combined),
            c_combined.as_secs_f64() / c_weir.as_secs_f64()
        );
        let (off, on) = (off.iter().min().unwrap(), on.iter().min().unwrap());
        println!(
            "workers={workers}: weir with metrics on {:.2} M words/s, off {:.2}: metrics cost {:.1} %",
            rate(*on),
            rate(*off),
            (on.as_secs_f64() / off.as_secs_f64() - 1.0) * 100.0
        );
    }
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
