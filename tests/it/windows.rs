//! Event-time window steps against the oracle of `windows_oracle`, in process on 1 and 3
//! worker threads with 10 ms epochs: partitioned, skewed, out-of-order input whose late
//! items are decided per partition; every window step's result must be the oracle's, the
//! input's late stream the oracle's late items, and no window step may find a window closed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use weir::inputs::{Batch, EventClock, FixedPartitionedSource, StatefulSourcePartition};
use weir::testing::{TestEvent, TestingSink, TestingSource};
use weir::windows::{Late, Window, WindowMeta, Windower};
use weir::{BoxError, Dataflow, RunConfig, StepId};

use crate::support::Rng;
use crate::windows_oracle::{self as oracle, Item, Spec, assert_same};

/// Partitions `p0`, `p1`, … read in order, in batches of a seeded random size (1–64), with
/// a 1 ms pause after about every fourth batch so that reading spans several epochs.
/// Optionally one partition reads nothing until another has read to its end.
#[derive(Clone)]
struct Parts {
    parts: Arc<Vec<Vec<Item>>>,
    seed: u64,
    /// `(p, q)`: partition `p` waits until partition `q` ended (at most 30 s).
    hold: Option<(usize, usize)>,
    ended: Arc<Vec<AtomicBool>>,
    /// Set if a held partition stopped waiting at the deadline.
    gave_up: Arc<AtomicBool>,
}

impl Parts {
    fn new(parts: &[Vec<Item>], seed: u64) -> Self {
        Parts {
            parts: Arc::new(parts.to_vec()),
            seed,
            hold: None,
            ended: Arc::new(parts.iter().map(|_| AtomicBool::new(false)).collect()),
            gave_up: Arc::default(),
        }
    }
}

struct Part {
    source: Parts,
    index: usize,
    next: usize,
    awake: Option<Instant>,
    held_until: Option<Instant>,
}

impl FixedPartitionedSource for Parts {
    type Item = Item;
    type State = usize;
    type Partition = Part;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok((0..self.parts.len()).map(|p| format!("p{p}")).collect())
    }

    fn build_part(&self, _: &StepId, part: &str, resume: Option<usize>) -> Result<Part, BoxError> {
        let index: usize = part[1..].parse()?;
        let held = self.hold.is_some_and(|(p, _)| p == index);
        Ok(Part {
            source: self.clone(),
            index,
            next: resume.unwrap_or(0),
            awake: None,
            held_until: held.then(|| Instant::now() + Duration::from_secs(30)),
        })
    }
}

impl StatefulSourcePartition for Part {
    type Item = Item;
    type State = usize;

    fn next_batch(&mut self) -> Result<Batch<Item>, BoxError> {
        let now = Instant::now();
        if self.awake.is_some_and(|awake| now < awake) {
            return Ok(Batch::Pending);
        }
        if let Some(deadline) = self.held_until {
            let (_, after) = self.source.hold.expect("held");
            if !self.source.ended[after].load(Ordering::SeqCst) {
                if now < deadline {
                    self.awake = Some(now + Duration::from_millis(2));
                    return Ok(Batch::Pending);
                }
                self.source.gave_up.store(true, Ordering::SeqCst);
            }
            self.held_until = None;
        }
        let items = &self.source.parts[self.index];
        if self.next >= items.len() {
            self.source.ended[self.index].store(true, Ordering::SeqCst);
            return Ok(Batch::Eof);
        }
        let mut rng = Rng(self.source.seed ^ ((self.index as u64) << 40) ^ self.next as u64);
        let end = items.len().min(self.next + 1 + (rng.next() % 64) as usize);
        let batch = items[self.next..end].to_vec();
        self.next = end;
        self.awake = rng
            .next()
            .is_multiple_of(4)
            .then(|| now + Duration::from_millis(1));
        Ok(Batch::Items(batch))
    }

    fn next_awake(&self) -> Option<Instant> {
        self.awake
    }

    fn snapshot(&self) -> usize {
        self.next
    }
}

fn windower(spec: Spec) -> Windower {
    let ms = |x: i64| Duration::from_millis(x as u64);
    match spec {
        Spec::Tumbling { len, align } => Windower::tumbling(ms(len)).align_to(align),
        Spec::Sliding { len, slide, align } => Windower::sliding(ms(len), ms(slide)).align_to(align),
        Spec::Session { gap } => Windower::session(ms(gap)),
    }
}

/// `(key, start, end, result as Debug text)`, sorted.
type Rows = Vec<(String, i64, i64, String)>;

/// What the window steps produced: each step's results by step name, the input's late
/// items (sorted), what any window step reported late, and the `count` step's metadata.
struct Got {
    results: Vec<(&'static str, Rows)>,
    source_late: Vec<Item>,
    window_late: Vec<(String, Late<Item>)>,
    meta: Vec<(String, WindowMeta)>,
}

impl Got {
    fn rows(&self, step: &str) -> &Rows {
        &self.results.iter().find(|(s, _)| *s == step).expect("a step").1
    }
}

fn rows<A: weir::Data>(sink: &TestingSink<(String, (Window, A))>, show: impl Fn(A) -> String) -> Rows {
    let mut out: Rows = sink
        .items()
        .into_iter()
        .map(|(key, (w, a))| (key, w.start, w.end, show(a)))
        .collect();
    out.sort();
    out
}

fn debug(a: impl std::fmt::Debug) -> String {
    format!("{a:?}")
}

/// Runs one clocked input through the window steps `count`, `sum` (a fold), `collect`
/// (sorted), `reduce` (latest ts, key, sum), `max` and `min`.
fn run_windows(
    source: impl FixedPartitionedSource<Item = Item>,
    wait: i64,
    spec: Spec,
    workers: usize,
) -> Got {
    let mut flow = Dataflow::new("windows");
    let clock = EventClock::new(|x: &Item| x.0, Duration::from_millis(wait as u64));
    let input = flow.input_with_clock("in", source, clock);
    let (source_late, window_late, meta) = (TestingSink::new(), TestingSink::new(), TestingSink::new());
    input.late.output("late_in", source_late.clone());
    let keyed = input.on_time.key_on("key", |x: &Item| x.1.clone());
    let (ts, w) = (|x: &Item| x.0, windower(spec));
    let count = keyed.count_window("count", ts, w);
    let sum = keyed.fold_window("sum", ts, w, || 0i64, |acc, x| acc + x.2, |a, b| a + b);
    let (counts, sums) = (TestingSink::new(), TestingSink::new());
    count.down.output("count_out", counts.clone());
    sum.down.output("sum_out", sums.clone());
    count.meta.output("meta_out", meta.clone());
    let collect = keyed.collect_window("collect", ts, w);
    let reduce = keyed.reduce_window("reduce", ts, w, |a, b| (a.0.max(b.0), a.1, a.2 + b.2));
    let (max, min) = (keyed.max_window("max", ts, w), keyed.min_window("min", ts, w));
    let (collected, reduced, maxes, mins) = (
        TestingSink::new(),
        TestingSink::new(),
        TestingSink::new(),
        TestingSink::new(),
    );
    collect.down.output("collect_out", collected.clone());
    reduce.down.output("reduce_out", reduced.clone());
    max.down.output("max_out", maxes.clone());
    min.down.output("min_out", mins.clone());
    let lates = [&sum.late, &collect.late, &reduce.late, &max.late, &min.late];
    count
        .late
        .merge("all_late", &lates)
        .output("late_out", window_late.clone());
    let config = RunConfig {
        epoch_interval: Duration::from_millis(10),
        ..RunConfig::threads(workers)
    };
    weir::run(flow, config).expect("the window dataflow runs");
    let sorted = |mut v: Vec<Item>| {
        v.sort();
        debug(v)
    };
    Got {
        results: vec![
            ("count", rows(&counts, debug)),
            ("sum", rows(&sums, debug)),
            ("collect", rows(&collected, sorted)),
            ("reduce", rows(&reduced, debug)),
            ("max", rows(&maxes, debug)),
            ("min", rows(&mins, debug)),
        ],
        source_late: source_late.sorted(),
        window_late: window_late.items(),
        meta: meta.items(),
    }
}

/// What the oracle says step `step` of `run_windows` yields.
fn expected(step: &str, w: &oracle::Windows) -> Rows {
    let f = |items: &[Item]| match step {
        "count" => debug(oracle::count(items)),
        "sum" => debug(oracle::sum(items)),
        "collect" => debug(items),
        "reduce" => debug((
            items.iter().map(|x| x.0).max().unwrap(),
            &items[0].1,
            oracle::sum(items),
        )),
        "max" => debug(items.iter().max().unwrap()),
        "min" => debug(items.iter().min().unwrap()),
        _ => unreachable!("{step}"),
    };
    oracle::results(w, f)
}

/// Checks every output of `run_windows` against the oracle for `parts`.
fn check(what: &str, got: &Got, parts: &[Vec<Item>], wait: i64, spec: Spec) {
    let split = oracle::split_late(parts, wait);
    let w = oracle::windows(spec, &split.on_time);
    let mut late = split.late.clone();
    late.sort();
    assert_same(&format!("{what}: input late items"), &got.source_late, &late);
    assert!(
        got.window_late.is_empty(),
        "{what}: {} on-time items found their window closed, e.g. {:?}",
        got.window_late.len(),
        got.window_late.first()
    );
    for (step, rows) in &got.results {
        assert_same(&format!("{what}: {step}"), rows, &expected(step, &w));
    }
    // Metadata: each result's window closed exactly once; a fixed window opened once.
    let windows: Vec<_> = got
        .rows("count")
        .iter()
        .map(|(k, s, e, _)| (k.clone(), *s, *e))
        .collect();
    // Metadata, in each key's order: a window opens once, only open windows merge or
    // close, each result's window closes once, and no window stays open.
    let (mut open, mut closed) = (std::collections::BTreeSet::new(), Vec::new());
    for (k, meta) in &got.meta {
        let ok = match meta {
            WindowMeta::Opened(w) => open.insert((k, *w)),
            WindowMeta::Merged { from, into } => {
                from.iter().all(|w| open.remove(&(k, *w))) && open.insert((k, *into))
            }
            WindowMeta::Closed(w) => {
                closed.push((k.clone(), w.start, w.end));
                open.remove(&(k, *w))
            }
        };
        assert!(
            ok,
            "{what}: key {k}: {meta:?} does not follow its earlier metadata"
        );
    }
    assert!(open.is_empty(), "{what}: never closed: {:?}", open.first());
    closed.sort();
    assert_same(&format!("{what}: closed windows (meta)"), &closed, &windows);
}

#[test]
fn out_of_order_partitions_give_the_oracle_s_windows_and_late_items() {
    let specs = [
        Spec::tumbling(500),
        Spec::Tumbling { len: 700, align: 123 },
        Spec::sliding(600, 200),
        Spec::sliding(200, 450),
        Spec::Session { gap: 150 },
    ];
    // `WEIR_WINDOW_SEEDS=N` soaks N seeds. Odd seeds wait 50 ms, even ones 400 ms (much
    // longer than a session's gap: sessions often merge when a delayed item arrives).
    let seeds = std::env::var("WEIR_WINDOW_SEEDS").map_or(2, |n| n.parse().expect("a number"));
    for seed in 1..=seeds {
        let wait = if seed % 2 == 1 { 50 } else { 400 };
        let parts = oracle::out_of_order(seed, 4, 2500, 12, wait);
        assert!(
            oracle::split_late(&parts, wait).late.len() > 50,
            "seed {seed}: too few late items"
        );
        for spec in specs {
            for workers in [1, 3] {
                let what = format!("seed {seed}, wait {wait}, {spec:?}, {workers} workers");
                let got = run_windows(Parts::new(&parts, seed), wait, spec, workers);
                check(&what, &got, &parts, wait, spec);
            }
        }
    }
}

#[test]
fn a_partition_hours_ahead_makes_no_item_of_another_late() {
    let parts = oracle::skewed_in_order(5, 3000, 8);
    for spec in [
        Spec::tumbling(1000),
        Spec::sliding(1000, 300),
        Spec::Session { gap: 200 },
    ] {
        for workers in [1, 3] {
            let what = format!("skewed, {spec:?}, {workers} workers");
            // p0 (at 0) reads nothing until p1 (three hours ahead) has read everything.
            let mut source = Parts::new(&parts, 5);
            source.hold = Some((0, 1));
            let gave_up = source.gave_up.clone();
            let got = run_windows(source, 0, spec, workers);
            assert!(
                !gave_up.load(Ordering::SeqCst),
                "{what}: the partition ahead could not read to its end while the other was idle"
            );
            assert!(got.source_late.is_empty(), "{what}: in-order items were late");
            check(&what, &got, &parts, 0, spec);
        }
    }
}

/// Runs a script of one partition on one worker, one item per batch (`ts:key:value`
/// items; `|` pauses 100 ms, time for the watermark to reach the window steps), checked
/// against the oracle.
fn scripted(script: &str, wait: i64, spec: Spec) -> Got {
    let mut events = Vec::new();
    let mut items = Vec::new();
    for event in script.split_whitespace() {
        let Some((ts, rest)) = event.split_once(':') else {
            events.push(TestEvent::Pause(Duration::from_millis(100)));
            continue;
        };
        let (key, value) = rest.split_once(':').expect("ts:key:value");
        items.push((ts.parse().unwrap(), key.to_owned(), value.parse().unwrap()));
        events.push(TestEvent::Item(items.last().unwrap().clone()));
    }
    let source = TestingSource::from_events(events).with_batch_size(1);
    let got = run_windows(source, wait, spec, 1);
    check(script, &got, &[items], wait, spec);
    got
}

fn res(rows: &[(&str, i64, i64, i64)]) -> Rows {
    rows.iter()
        .map(|&(k, s, e, a)| (k.into(), s, e, a.to_string()))
        .collect()
}

#[test]
fn an_item_exactly_gap_after_a_session_joins_it_although_the_watermark_reached_it() {
    // wait 0, gap 10: "x"@10 moves the watermark to 10; "k"@10 is on time (10 >= 10) and
    // 10 - 0 <= gap, so it belongs to k's session [0, 10), which must still be open.
    let got = scripted("0:k:1 10:x:5 | 10:k:2 | -5:k:9", 0, Spec::Session { gap: 10 });
    assert_eq!(got.source_late, [(-5, "k".to_owned(), 9)]);
    assert_eq!(got.rows("sum"), &res(&[("k", 0, 20, 3), ("x", 10, 20, 5)]));
}

#[test]
fn an_item_bridging_two_open_sessions_merges_them() {
    let got = scripted("0:k:1 | 20:k:2 | 10:k:4 45:k:8", 100, Spec::Session { gap: 10 });
    assert_eq!(got.rows("count"), &res(&[("k", 0, 30, 3), ("k", 45, 55, 1)]));
    let w = |start, end| Window { start, end };
    let bridged = WindowMeta::Merged {
        from: vec![w(0, 10), w(20, 30)],
        into: w(0, 30),
    };
    assert!(
        got.meta.iter().any(|(_, m)| *m == bridged),
        "the sessions were open separately before the bridge came 100 ms later: {:?}",
        got.meta
    );
}

#[test]
fn tumbling_windows_close_at_their_end_and_later_items_start_the_next() {
    // wait 0, len 10: 10 closes [0, 10); 9 after it is late at the source; 10 is on time.
    let got = scripted("3:k:1 10:k:2 | 9:k:4 10:k:8 -1:j:3", 0, Spec::tumbling(10));
    assert_eq!(got.source_late, [(-1, "j".to_owned(), 3), (9, "k".to_owned(), 4)]);
    assert_eq!(got.rows("sum"), &res(&[("k", 0, 10, 1), ("k", 10, 20, 10)]));
}

#[test]
fn window_results_windowed_again_are_on_time_whatever_the_worker_count() {
    // Per key, a count per tumbling 100 ms window; then, per window, the greatest count. A
    // result happens at its window's last millisecond and is sent at that watermark, so
    // the second window step finds none late.
    let wait = 50;
    let parts = oracle::out_of_order(41, 3, 600, 12, wait);
    let on_time = oracle::split_late(&parts, wait).on_time;
    let mut counts: std::collections::BTreeMap<(i64, &str), u64> = Default::default();
    for (ts, key, _) in &on_time {
        *counts.entry((ts.div_euclid(100) * 100 + 100, key)).or_default() += 1;
    }
    let mut greatest: std::collections::BTreeMap<i64, u64> = Default::default();
    for ((end, _), n) in counts {
        let top = greatest.entry(end).or_default();
        *top = (*top).max(n);
    }
    let expected: Vec<(i64, u64)> = greatest.into_iter().collect();
    for workers in [1, 3] {
        let mut flow = Dataflow::new("windows_of_windows");
        let clock = EventClock::new(|x: &Item| x.0, Duration::from_millis(wait as u64));
        let input = flow.input_with_clock("in", Parts::new(&parts, 41), clock);
        let tumbling = Windower::tumbling(Duration::from_millis(100));
        let counts = input.on_time.key_on("key", |x: &Item| x.1.clone()).count_window(
            "count",
            |x: &Item| x.0,
            tumbling,
        );
        let per_window = counts
            .down
            .key_on("all", |_: &(String, (Window, u64))| ())
            .fold_window(
                "greatest",
                |(_, (window, _)): &(String, (Window, u64))| window.end - 1,
                tumbling,
                || 0u64,
                |top, (_, (_, n))| top.max(n),
                u64::max,
            );
        let (out, late) = (TestingSink::new(), TestingSink::new());
        per_window
            .down
            .map("row", |((), (window, top))| (window.end, top))
            .output("out", out.clone());
        per_window.late.output("late", late.clone());
        let config = RunConfig::threads(workers).with_epoch_interval(Duration::from_millis(3));
        weir::run(flow, config).unwrap();
        assert_eq!(
            late.items().len(),
            0,
            "{workers} workers: no result is late downstream"
        );
        assert_eq!(out.sorted(), expected, "{workers} workers");
    }
}
