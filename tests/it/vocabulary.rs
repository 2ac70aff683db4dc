//! The streamz vocabulary against oracles: count-based windows, running state, unique,
//! slice, flatten, the pairings, and lower bounds for the processing-time operators.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use weir::testing::{TestEvent, TestingSink, TestingSource};
use weir::{Dataflow, KeyedStream, RunConfig};

use crate::support::Rng;

type Pair = (u8, i64);

fn pairs(seed: u64, n: usize) -> Vec<Pair> {
    let mut rng = Rng(seed);
    (0..n)
        .map(|_| ((rng.next() % 5) as u8, (rng.next() % 20) as i64))
        .collect()
}

fn by_key(items: &[Pair]) -> BTreeMap<u8, Vec<i64>> {
    let mut keys: BTreeMap<u8, Vec<i64>> = BTreeMap::new();
    for (k, v) in items {
        keys.entry(*k).or_default().push(*v);
    }
    keys
}

/// Runs `step` over `items` keyed by their first field on 1 and 3 workers; returns the
/// sorted outputs of each run.
fn on_workers<O: weir::Data + Ord>(
    items: &[Pair],
    step: impl Fn(&KeyedStream<i64, u8>) -> KeyedStream<O, u8>,
) -> Vec<Vec<(u8, O)>> {
    [1, 3]
        .into_iter()
        .map(|workers| {
            let mut flow = Dataflow::new("vocabulary");
            let out = TestingSink::new();
            let keyed = flow
                .input("in", TestingSource::new(items.to_vec()).with_batch_size(7))
                .key_on("key", |p: &Pair| p.0)
                .map_value("value", |p: Pair| p.1);
            step(&keyed).output("out", out.clone());
            let config = RunConfig::threads(workers).with_epoch_interval(Duration::from_millis(2));
            weir::run(flow, config).unwrap();
            out.sorted()
        })
        .collect()
}

fn expect_all<O: Ord + Clone + std::fmt::Debug>(runs: Vec<Vec<(u8, O)>>, mut expected: Vec<(u8, O)>) {
    expected.sort();
    for run in runs {
        assert_eq!(run, expected);
    }
}

#[test]
fn running_state_and_count_windows_match_the_oracle() {
    let items = pairs(1, 600);
    let keys = by_key(&items);
    let mut sums = Vec::new();
    let mut slides = Vec::new();
    let mut groups = Vec::new();
    for (k, values) in &keys {
        let mut sum = 0;
        for (i, v) in values.iter().enumerate() {
            sum += v;
            sums.push((*k, sum));
            if i >= 2 {
                slides.push((*k, values[i - 2..=i].to_vec()));
            }
        }
        groups.extend(values.chunks(4).map(|c| (*k, c.to_vec())));
    }
    expect_all(on_workers(&items, |s| s.accumulate("sum", 0, |a, v| a + v)), sums);
    expect_all(
        on_workers(&items, |s| s.sliding_window("slide", 3, false)),
        slides,
    );
    expect_all(on_workers(&items, |s| s.partition("groups", 4)), groups);
}

#[test]
fn unique_and_slice_match_the_oracle() {
    let items = pairs(2, 600);
    let keys = by_key(&items);
    let mut uniques = Vec::new();
    let mut recent_uniques = Vec::new();
    let mut sliced = Vec::new();
    for (k, values) in &keys {
        let mut seen: Vec<i64> = Vec::new();
        let mut recent: std::collections::VecDeque<i64> = Default::default();
        for (i, v) in values.iter().enumerate() {
            if !seen.contains(v) {
                seen.push(*v);
                uniques.push((*k, *v));
            }
            if !recent.contains(v) {
                recent.push_back(*v);
                if recent.len() > 3 {
                    recent.pop_front();
                }
                recent_uniques.push((*k, *v));
            }
            if (2..50).contains(&i) && (i - 2) % 3 == 0 {
                sliced.push((*k, *v));
            }
        }
    }
    expect_all(on_workers(&items, |s| s.unique("unique", None)), uniques);
    expect_all(
        on_workers(&items, |s| s.unique("recent", Some(3))),
        recent_uniques,
    );
    expect_all(on_workers(&items, |s| s.slice("slice", 2, Some(50), 3)), sliced);
}

#[test]
fn flatten_keeps_every_item_in_order() {
    let mut flow = Dataflow::new("flatten");
    let out = TestingSink::new();
    let lists: Vec<Vec<u32>> = (0..50)
        .map(|i| (0..i % 4).map(|j| i * 10 + j).collect())
        .collect();
    let expected: Vec<u32> = lists.iter().flatten().copied().collect();
    flow.input("in", TestingSource::new(lists))
        .flatten("items")
        .output("out", out.clone());
    weir::run(flow, RunConfig::threads(1)).unwrap();
    assert_eq!(out.items(), expected);
}

/// Two keyed inputs: (key, value) pairs, left and right.
fn pairing_run(
    f: impl Fn(&KeyedStream<i64, u8>, &KeyedStream<i64, u8>) -> KeyedStream<(i64, i64), u8>,
) -> Vec<(u8, (i64, i64))> {
    let mut flow = Dataflow::new("pairing");
    let out = TestingSink::new();
    let left = flow
        .input("left", TestingSource::new(pairs(3, 300)).with_batch_size(5))
        .key_on("lk", |p: &Pair| p.0)
        .map_value("lv", |p: Pair| p.1);
    let right = flow
        .input("right", TestingSource::new(pairs(4, 200)).with_batch_size(3))
        .key_on("rk", |p: &Pair| p.0)
        .map_value("rv", |p: Pair| p.1 + 1000);
    f(&left, &right).output("out", out.clone());
    weir::run(flow, RunConfig::threads(3)).unwrap();
    out.items()
}

#[test]
fn zip_pairs_values_by_position_and_zip_latest_drops_no_left_value() {
    let (lefts, rights) = (by_key(&pairs(3, 300)), by_key(&pairs(4, 200)));
    let mut zipped = Vec::new();
    for (k, ls) in &lefts {
        let rs = rights.get(k).cloned().unwrap_or_default();
        zipped.extend(ls.iter().zip(rs.iter()).map(|(l, r)| (*k, (*l, r + 1000))));
    }
    zipped.sort();
    let mut got = pairing_run(|l, r| l.zip("zip", r));
    got.sort();
    assert_eq!(got, zipped);

    let latest = pairing_run(|l, r| l.zip_latest("zip_latest", r));
    for (k, ls) in &lefts {
        let mut emitted: Vec<i64> = latest
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, (l, _))| *l)
            .collect();
        let rs = rights.get(k).cloned().unwrap_or_default();
        if rs.is_empty() {
            assert!(emitted.is_empty(), "no right value for key {k}: lefts wait");
            continue;
        }
        let mut expected = ls.clone();
        emitted.sort();
        expected.sort();
        assert_eq!(emitted, expected, "every left value of key {k} once, in order");
        assert!(
            latest
                .iter()
                .filter(|(key, _)| key == k)
                .all(|(_, (_, r))| rs.contains(&(r - 1000)))
        );
    }
}

#[test]
fn combine_latest_ends_with_the_last_values_of_both_sides() {
    let (lefts, rights) = (by_key(&pairs(3, 300)), by_key(&pairs(4, 200)));
    let combined = pairing_run(|l, r| l.combine_latest("combine", r));
    for (k, ls) in &lefts {
        let Some(rs) = rights.get(k) else { continue };
        let mine: Vec<(i64, i64)> = combined
            .iter()
            .filter(|(key, _)| key == k)
            .map(|(_, p)| *p)
            .collect();
        let last = mine.last().expect("both sides had values");
        assert_eq!(*last, (*ls.last().unwrap(), rs.last().unwrap() + 1000));
        assert!(
            mine.iter()
                .all(|(l, r)| ls.contains(l) && rs.contains(&(r - 1000)))
        );
    }
}

/// Runs a processing-time operator over numbered values, then holds the input open;
/// returns, per value, how long after it entered the step it came out.
fn waits(step: impl Fn(&KeyedStream<u32, u8>) -> KeyedStream<u32, u8>) -> HashMap<u32, Duration> {
    let entered: Arc<Mutex<HashMap<u32, Instant>>> = Arc::default();
    let waited: Arc<Mutex<HashMap<u32, Duration>>> = Arc::default();
    let (e, w) = (entered.clone(), waited.clone());
    let mut events: Vec<TestEvent<u32>> = (0..20).map(TestEvent::Item).collect();
    events.push(TestEvent::Pause(Duration::from_millis(400)));
    let mut flow = Dataflow::new("paced");
    let keyed = flow
        .input("in", TestingSource::from_events(events).with_batch_size(4))
        .inspect("enter", move |v: &u32| {
            e.lock().unwrap().insert(*v, Instant::now());
        })
        .key_on("key", |v: &u32| (*v % 2) as u8);
    step(&keyed)
        .key_rm("unkey")
        .inspect("leave", move |v: &u32| {
            let at = entered.lock().unwrap()[v];
            w.lock().unwrap().insert(*v, at.elapsed());
        })
        .output("out", TestingSink::new());
    weir::run(flow, RunConfig::threads(2)).unwrap();
    let waited = waited.lock().unwrap().clone();
    assert_eq!(waited.len(), 20, "every value came out");
    waited
}

#[test]
fn delay_holds_every_value_at_least_its_interval() {
    for (v, waited) in waits(|s| s.delay("delay", Duration::from_millis(30))) {
        assert!(
            waited >= Duration::from_millis(30),
            "value {v} came out after {waited:?}"
        );
    }
}

#[test]
fn rate_limit_spaces_each_keys_values_by_its_interval() {
    let waited = waits(|s| s.rate_limit("limit", Duration::from_millis(15)));
    for key in 0..2 {
        let mut out: Vec<Duration> = (0..20).filter(|v| v % 2 == key).map(|v| waited[&v]).collect();
        out.sort();
        // Ten values of a key, one per 15 ms: the last waited at least 9 intervals (values
        // entered within a few ms of each other).
        assert!(out[9] >= Duration::from_millis(9 * 15 - 20), "key {key}: {out:?}");
    }
}

#[test]
fn enrich_cached_looks_each_key_up_once_per_worker_within_its_ttl() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let items: Vec<u32> = (0..3000).map(|i| i % 10).collect();
    let mut flow = Dataflow::new("enrich");
    let out = TestingSink::new();
    flow.input("in", TestingSource::new(items.clone()).with_batch_size(50))
        .enrich_cached(
            "square",
            Duration::from_secs(3600),
            |x: &u32| *x,
            move |x: &u32| {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(x * x)
            },
            |x, square: &u32| (x, *square),
        )
        .output("out", out.clone());
    weir::run(flow, RunConfig::threads(1)).unwrap();
    let expected: Vec<(u32, u32)> = items.iter().map(|x| (*x, x * x)).collect();
    assert_eq!(out.items(), expected);
    assert_eq!(calls.load(Ordering::SeqCst), 10, "one look-up per key");
}
