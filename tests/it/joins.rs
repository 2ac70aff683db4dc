//! Joins against an independent oracle: the final modes on 1 and 3 workers, the
//! order-dependent modes on one worker reading one item per poll, and the as-of join, whose
//! result does not depend on the worker count or the epochs.

use std::collections::BTreeMap;
use std::time::Duration;

use weir::inputs::EventClock;
use weir::joins::{AsOf, JoinEmit, JoinInsert, JoinSpec};
use weir::testing::{TestingSink, TestingSource};
use weir::{Dataflow, KeyedStream, RunConfig, Timestamp};

use crate::support::Rng;

/// A tagged input item: (key, is_left, value).
type Tagged = (u32, bool, i64);
type Joined = (u32, (Option<i64>, Option<i64>));

fn tagged(seed: u64, items: usize) -> Vec<Tagged> {
    let mut rng = Rng(seed);
    (0..items)
        .map(|_| {
            (
                (rng.next() % 13) as u32,
                rng.next().is_multiple_of(2),
                (rng.next() % 100) as i64,
            )
        })
        .collect()
}

fn run_join(items: &[Tagged], spec: JoinSpec, config: RunConfig, batch: usize) -> Vec<Joined> {
    let mut flow = Dataflow::new("join");
    let out = TestingSink::new();
    let sides = flow
        .input("in", TestingSource::new(items.to_vec()).with_batch_size(batch))
        .key_on("key", |t: &Tagged| t.0)
        .branch("side", |(_, t): &(u32, Tagged)| t.1);
    let left = sides.trues.map_value("left", |t: Tagged| t.2);
    let right = sides.falses.map_value("right", |t: Tagged| t.2);
    left.join("join", &right, spec).output("out", out.clone());
    weir::run(flow, config).unwrap();
    out.sorted()
}

/// The oracle: per key, in input order, with the held values and emissions of `spec`.
fn oracle(items: &[Tagged], insert: JoinInsert, emit: JoinEmit, kind: &str) -> Vec<Joined> {
    let mut held: BTreeMap<u32, (Vec<i64>, Vec<i64>)> = BTreeMap::new();
    let mut out = Vec::new();
    let ready = |l: &Vec<i64>, r: &Vec<i64>| match kind {
        "inner" => !l.is_empty() && !r.is_empty(),
        "left" => !l.is_empty(),
        _ => !l.is_empty() || !r.is_empty(),
    };
    let combos = |key: u32, l: &Vec<i64>, r: &Vec<i64>, out: &mut Vec<Joined>| {
        let opt = |v: &Vec<i64>| -> Vec<Option<i64>> {
            if v.is_empty() {
                vec![None]
            } else {
                v.iter().map(|x| Some(*x)).collect()
            }
        };
        for a in opt(l) {
            for b in opt(r) {
                out.push((key, (a, b)));
            }
        }
    };
    for &(key, is_left, value) in items {
        let (l, r) = held.entry(key).or_default();
        let side = if is_left { l } else { r };
        let kept = match insert {
            JoinInsert::First if !side.is_empty() => false,
            JoinInsert::Last => {
                *side = vec![value];
                true
            }
            _ => {
                side.push(value);
                true
            }
        };
        let (l, r) = held.get_mut(&key).unwrap();
        match emit {
            JoinEmit::Complete if ready(l, r) => {
                combos(key, l, r, &mut out);
                l.clear();
                r.clear();
            }
            JoinEmit::Running if ready(l, r) => combos(key, l, r, &mut out),
            // The new value with the other side's values.
            JoinEmit::New if kept && ready(l, r) => match is_left {
                true => combos(key, &vec![value], r, &mut out),
                false => combos(key, l, &vec![value], &mut out),
            },
            _ => {}
        }
    }
    if emit == JoinEmit::Final {
        for (key, (l, r)) in &held {
            if ready(l, r) {
                combos(*key, l, r, &mut out);
            }
        }
    }
    out.sort();
    out
}

fn specs() -> Vec<(JoinSpec, &'static str)> {
    vec![
        (JoinSpec::inner(), "inner"),
        (JoinSpec::left(), "left"),
        (JoinSpec::full_outer(), "full"),
    ]
}

const INSERTS: [JoinInsert; 3] = [JoinInsert::First, JoinInsert::Last, JoinInsert::Product];

#[test]
fn final_joins_match_the_oracle_on_any_worker_count() {
    let items = tagged(3, 400);
    for (spec, kind) in specs() {
        for insert in INSERTS {
            let expected = oracle(&items, insert, JoinEmit::Final, kind);
            assert!(!expected.is_empty());
            for workers in [1, 3] {
                let config = RunConfig::threads(workers).with_epoch_interval(Duration::from_millis(2));
                let spec = spec.insert(insert).emit(JoinEmit::Final);
                assert_eq!(
                    run_join(&items, spec, config, 7),
                    expected,
                    "{kind} {insert:?} on {workers}"
                );
            }
        }
    }
}

#[test]
fn complete_running_and_new_joins_match_the_oracle_in_arrival_order() {
    let items = tagged(5, 150);
    for (spec, kind) in specs() {
        for insert in INSERTS {
            for emit in [JoinEmit::Complete, JoinEmit::Running, JoinEmit::New] {
                let expected = oracle(&items, insert, emit, kind);
                let got = run_join(&items, spec.insert(insert).emit(emit), RunConfig::threads(1), 1);
                assert_eq!(got, expected, "{kind} {insert:?} {emit:?}");
            }
        }
    }
}

#[test]
fn a_streaming_inner_join_emits_each_pair_once_on_any_worker_count() {
    // Each pair when its later value arrives: which one that is depends on timing, the
    // pairs do not.
    let items = tagged(4, 300);
    let expected = oracle(&items, JoinInsert::Product, JoinEmit::Final, "inner");
    let spec = JoinSpec::inner().insert(JoinInsert::Product).emit(JoinEmit::New);
    for workers in [1, 3] {
        let config = RunConfig::threads(workers).with_epoch_interval(Duration::from_millis(2));
        assert_eq!(run_join(&items, spec, config, 7), expected, "{workers} workers");
    }
}

#[test]
fn a_one_to_many_join_keeps_the_many_side_only_until_joined() {
    // The first left value of a key with every right value of it, whatever the order.
    let items = tagged(4, 300);
    let mut firsts: BTreeMap<u32, i64> = BTreeMap::new();
    for &(key, is_left, value) in &items {
        if is_left {
            firsts.entry(key).or_insert(value);
        }
    }
    let mut expected: Vec<Joined> = items
        .iter()
        .filter(|(key, is_left, _)| !is_left && firsts.contains_key(key))
        .map(|&(key, _, value)| (key, (Some(firsts[&key]), Some(value))))
        .collect();
    expected.sort();
    assert!(!expected.is_empty());
    let spec = JoinSpec::inner()
        .insert(JoinInsert::First)
        .insert_right(JoinInsert::UntilJoined)
        .emit(JoinEmit::New);
    for workers in [1, 3] {
        let config = RunConfig::threads(workers).with_epoch_interval(Duration::from_millis(2));
        // In input order, a key's first left value is its first on any worker count: one
        // source partition, and a key's values stay in order.
        assert_eq!(run_join(&items, spec, config, 7), expected, "{workers} workers");
    }
}

/// (timestamp, key, value), in timestamp order per source.
type Stamped = (Timestamp, u32, i64);
/// A clocked input of in-order `items`, read `batch` at a time, keyed by their key.
fn stamped_input(
    flow: &mut Dataflow,
    name: &str,
    items: &[Stamped],
    batch: usize,
) -> KeyedStream<Stamped, u32> {
    let clock = EventClock::new(|s: &Stamped| s.0, Duration::ZERO);
    flow.input_with_clock(
        name,
        TestingSource::new(items.to_vec()).with_batch_size(batch),
        clock,
    )
    .on_time
    .key_on(&format!("{name}_key"), |s: &Stamped| s.1)
}

/// (key, (left timestamp, left value, right value)).
type AsOfRow = (u32, (Timestamp, i64, Option<i64>));

#[test]
fn as_of_joins_take_the_latest_right_value_at_or_before_each_left_item() {
    let mut rng = Rng(9);
    let mut series = |step: u64| -> Vec<Stamped> {
        let mut ts = 0;
        (0..2000)
            .map(|_| {
                ts += 1 + (rng.next() % step) as Timestamp;
                (
                    ts * 2 + (step % 2) as Timestamp,
                    (rng.next() % 5) as u32,
                    (rng.next() % 1000) as i64,
                )
            })
            .collect()
    };
    // Left and right timestamps have different parities: no ties.
    let (lefts, rights) = (series(7), series(20));
    let mut expected: Vec<AsOfRow> = lefts
        .iter()
        .map(|&(ts, key, value)| {
            let right = rights
                .iter()
                .filter(|r| r.1 == key && r.0 <= ts)
                .max_by_key(|r| r.0);
            (key, (ts, value, right.map(|r| r.2)))
        })
        .collect();
    expected.sort();
    for workers in [1, 3] {
        let mut flow = Dataflow::new("as_of");
        let out = TestingSink::new();
        let left = stamped_input(&mut flow, "left", &lefts, 13);
        let right = stamped_input(&mut flow, "right", &rights, 5);
        left.join_as_of("as_of", &right, |s: &Stamped| s.0, |s: &Stamped| s.0, None)
            .map("flat", |(key, j): (u32, AsOf<Stamped, Stamped>)| {
                (key, (j.timestamp, j.left.2, j.right.map(|r| r.2)))
            })
            .output("out", out.clone());
        let config = RunConfig::threads(workers).with_epoch_interval(Duration::from_millis(3));
        weir::run(flow, config).unwrap();
        assert_eq!(out.sorted(), expected, "{workers} workers");
    }
}

#[test]
fn window_joins_pair_each_windows_values_whatever_the_worker_count() {
    use weir::joins::JoinKind;
    use weir::windows::{Joined, Window, Windower};
    let mut rng = Rng(21);
    let mut series = |n: usize| -> Vec<Stamped> {
        let mut ts = 0;
        (0..n)
            .map(|_| {
                ts += (rng.next() % 30) as Timestamp;
                (ts, (rng.next() % 4) as u32, (rng.next() % 100) as i64)
            })
            .collect()
    };
    let (lefts, rights) = (series(300), series(200));
    let window = |ts: Timestamp| Window {
        start: ts - ts % 100,
        end: ts - ts % 100 + 100,
    };
    type Cell = (Vec<i64>, Vec<i64>);
    let mut cells: BTreeMap<(u32, Window), Cell> = BTreeMap::new();
    for &(ts, k, v) in &lefts {
        cells.entry((k, window(ts))).or_default().0.push(v);
    }
    for &(ts, k, v) in &rights {
        cells.entry((k, window(ts))).or_default().1.push(v);
    }
    let mut expected: Vec<(u32, Window, i64, i64)> = Vec::new();
    for ((k, w), (ls, rs)) in &cells {
        for l in ls {
            for r in rs {
                expected.push((*k, *w, *l, *r));
            }
        }
    }
    expected.sort();
    for workers in [1, 3] {
        let mut flow = Dataflow::new("join_window");
        let out = TestingSink::new();
        let left = stamped_input(&mut flow, "left", &lefts, 9);
        let right = stamped_input(&mut flow, "right", &rights, 4);
        let joined = left.join_window(
            "join",
            &right,
            |s: &Stamped| s.0,
            |s: &Stamped| s.0,
            Windower::tumbling(Duration::from_millis(100)),
            JoinKind::Inner,
        );
        joined
            .down
            .flat_map(
                "pairs",
                |(k, (w, pairs)): (u32, (Window, Vec<Joined<Stamped, Stamped>>))| {
                    pairs
                        .into_iter()
                        .map(move |(l, r)| (k, w, l.unwrap().2, r.unwrap().2))
                        .collect::<Vec<_>>()
                },
            )
            .output("out", out.clone());
        let config = RunConfig::threads(workers).with_epoch_interval(Duration::from_millis(3));
        weir::run(flow, config).unwrap();
        assert_eq!(out.sorted(), expected, "{workers} workers");
    }
}

#[test]
fn joins_of_three_streams_emit_every_combination_the_kind_asks_for() {
    let streams: Vec<Vec<(u32, i64)>> = (0..3u64)
        .map(|s| {
            let mut rng = Rng(40 + s);
            (0..60)
                .map(|_| {
                    (
                        (rng.next() % 7) as u32,
                        (rng.next() % 100) as i64 + 1000 * s as i64,
                    )
                })
                .collect()
        })
        .collect();
    for (spec, kind) in specs() {
        let mut held: BTreeMap<u32, Vec<Vec<i64>>> = BTreeMap::new();
        for (s, items) in streams.iter().enumerate() {
            for (k, v) in items {
                held.entry(*k).or_insert_with(|| vec![Vec::new(); 3])[s].push(*v);
            }
        }
        let mut expected: Vec<(u32, Vec<Option<i64>>)> = Vec::new();
        for (k, sides) in &held {
            let ready = match kind {
                "inner" => sides.iter().all(|s| !s.is_empty()),
                "left" => !sides[0].is_empty(),
                _ => true,
            };
            if !ready {
                continue;
            }
            let opts = |s: &Vec<i64>| -> Vec<Option<i64>> {
                if s.is_empty() {
                    vec![None]
                } else {
                    s.iter().map(|v| Some(*v)).collect()
                }
            };
            for a in opts(&sides[0]) {
                for b in opts(&sides[1]) {
                    for c in opts(&sides[2]) {
                        expected.push((*k, vec![a, b, c]));
                    }
                }
            }
        }
        expected.sort();
        for workers in [1, 3] {
            let mut flow = Dataflow::new("join_all");
            let out = TestingSink::new();
            let keyed: Vec<_> = streams
                .iter()
                .enumerate()
                .map(|(s, items)| {
                    flow.input(
                        &format!("in{s}"),
                        TestingSource::new(items.clone()).with_batch_size(5),
                    )
                    .key_on(&format!("key{s}"), |p: &(u32, i64)| p.0)
                    .map_value(&format!("value{s}"), |p: (u32, i64)| p.1)
                })
                .collect();
            let spec = spec.insert(JoinInsert::Product).emit(JoinEmit::Final);
            keyed[0]
                .join_all("join", &[&keyed[1], &keyed[2]], spec)
                .output("out", out.clone());
            let config = RunConfig::threads(workers).with_epoch_interval(Duration::from_millis(2));
            weir::run(flow, config).unwrap();
            assert_eq!(out.sorted(), expected, "{kind} on {workers} workers");
        }
    }
}
