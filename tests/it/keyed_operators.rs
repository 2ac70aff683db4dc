//! Keyed operators against an independent oracle, on 1 and 3 workers with short epochs.

use std::collections::BTreeMap;
use std::time::Duration;

use weir::testing::{TestEvent, TestingSink, TestingSource};
use weir::{Dataflow, RunConfig};

use crate::support::Rng;

fn configs() -> Vec<RunConfig> {
    [1, 3]
        .into_iter()
        .map(|workers| RunConfig {
            epoch_interval: Duration::from_millis(5),
            ..RunConfig::threads(workers)
        })
        .collect()
}

type Pair = (String, i64);

/// `(key, value)` pairs with pauses in between, so items span many epochs.
fn events(seed: u64, items: usize) -> (Vec<Pair>, Vec<TestEvent<Pair>>) {
    let mut rng = Rng(seed);
    let mut pairs = Vec::new();
    let mut events = Vec::new();
    for i in 0..items {
        let pair = (format!("k{}", rng.next() % 37), (rng.next() % 1000) as i64 - 500);
        pairs.push(pair.clone());
        events.push(TestEvent::Item(pair));
        if i % 500 == 499 {
            events.push(TestEvent::Pause(Duration::from_millis(7)));
        }
    }
    (pairs, events)
}

#[test]
fn final_aggregations_match_the_oracle() {
    let (pairs, events) = events(11, 5000);
    let mut sums: BTreeMap<String, i64> = BTreeMap::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut maxes: BTreeMap<String, i64> = BTreeMap::new();
    let mut mins: BTreeMap<String, i64> = BTreeMap::new();
    for (k, v) in &pairs {
        *sums.entry(k.clone()).or_default() += v;
        *counts.entry(k.clone()).or_default() += 1;
        maxes
            .entry(k.clone())
            .and_modify(|m| *m = (*m).max(*v))
            .or_insert(*v);
        mins.entry(k.clone())
            .and_modify(|m| *m = (*m).min(*v))
            .or_insert(*v);
    }
    for config in configs() {
        let mut flow = Dataflow::new("aggregations");
        let input = flow.input(
            "in",
            TestingSource::from_events(events.clone()).with_batch_size(64),
        );
        let (sum, count, max, min, fold) = (
            TestingSink::new(),
            TestingSink::new(),
            TestingSink::new(),
            TestingSink::new(),
            TestingSink::new(),
        );
        input
            .reduce_final("sum", |a, b| a + b)
            .output("sum_out", sum.clone());
        input.count_final("count").output("count_out", count.clone());
        input.max_final("max").output("max_out", max.clone());
        input.min_final("min").output("min_out", min.clone());
        input
            .fold_final("fold", || 0i64, |acc, v| acc + v)
            .output("fold_out", fold.clone());
        weir::run(flow, config.clone()).unwrap();
        let as_vec = |m: &BTreeMap<String, i64>| m.clone().into_iter().collect::<Vec<_>>();
        assert_eq!(sum.sorted(), as_vec(&sums), "{:?}", config.execution);
        assert_eq!(fold.sorted(), as_vec(&sums), "{:?}", config.execution);
        assert_eq!(count.sorted(), counts.clone().into_iter().collect::<Vec<_>>());
        assert_eq!(max.sorted(), as_vec(&maxes));
        assert_eq!(min.sorted(), as_vec(&mins));
    }
}

#[test]
fn stateful_map_sees_each_key_in_input_order() {
    let (pairs, events) = events(12, 4000);
    // Running sums per key, in input order: the source is one partition, so order per key
    // is the input order across epochs.
    let mut running: BTreeMap<String, i64> = BTreeMap::new();
    let mut expected: Vec<(String, i64)> = pairs
        .iter()
        .map(|(k, v)| {
            let s = running.entry(k.clone()).or_default();
            *s += v;
            (k.clone(), *s)
        })
        .collect();
    expected.sort();
    for config in configs() {
        let mut flow = Dataflow::new("running");
        let out = TestingSink::new();
        flow.input(
            "in",
            TestingSource::from_events(events.clone()).with_batch_size(50),
        )
        .stateful_map("sum", |sum: Option<i64>, v: i64| {
            let sum = sum.unwrap_or(0) + v;
            (Some(sum), sum)
        })
        .output("out", out.clone());
        weir::run(flow, config.clone()).unwrap();
        let items = out.items();
        // Per key, outputs arrive in order.
        let mut per_key: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        items
            .iter()
            .for_each(|(k, s)| per_key.entry(k.clone()).or_default().push(*s));
        let mut oracle: BTreeMap<String, Vec<i64>> = BTreeMap::new();
        let mut sums: BTreeMap<String, i64> = BTreeMap::new();
        for (k, v) in &pairs {
            let s = sums.entry(k.clone()).or_default();
            *s += v;
            oracle.entry(k.clone()).or_default().push(*s);
        }
        assert_eq!(per_key, oracle, "{:?}", config.execution);
        assert_eq!(out.sorted(), expected);
    }
}

#[test]
fn collect_emits_on_size_and_on_timeout_and_at_the_end() {
    let ev = |k: &str, v: u32| TestEvent::Item((k.to_string(), v));
    let events = vec![
        ev("a", 1),
        ev("a", 2),
        ev("a", 3),
        ev("b", 10),
        // Far longer than the timeout: "b" must be emitted by its timer, not at the end.
        TestEvent::Pause(Duration::from_millis(1000)),
        ev("b", 11),
    ];
    for config in configs() {
        let mut flow = Dataflow::new("collect");
        let out = TestingSink::new();
        flow.input("in", TestingSource::from_events(events.clone()))
            .collect("batches", Duration::from_millis(50), 2)
            .output("out", out.clone());
        weir::run(flow, config).unwrap();
        let s = |k: &str, v: Vec<u32>| (k.to_string(), v);
        assert_eq!(
            out.sorted(),
            vec![
                s("a", vec![1, 2]),
                s("a", vec![3]),
                s("b", vec![10]),
                s("b", vec![11])
            ]
        );
    }
}

#[test]
fn branch_merge_and_redistribute_keep_every_item_once() {
    for config in configs() {
        let mut flow = Dataflow::new("shapes");
        let out = TestingSink::new();
        let numbers = flow.input("in", TestingSource::new(0..1000u32).with_batch_size(7));
        let branch = numbers.branch("split", |x| x % 3 == 0);
        let tripled = branch.trues.map("times3", |x| x * 3);
        branch
            .falses
            .merge("merge", &[&tripled])
            .redistribute("spread")
            .output("out", out.clone());
        weir::run(flow, config).unwrap();
        let mut expected: Vec<u32> = (0..1000).map(|x| if x % 3 == 0 { x * 3 } else { x }).collect();
        expected.sort();
        assert_eq!(out.sorted(), expected);
    }
}

#[test]
fn describe_lists_steps_and_edges() {
    let mut flow = Dataflow::new("described");
    let out = TestingSink::<u8>::new();
    let a = flow.input("a", TestingSource::new(vec![1u8]));
    let b = a.map("b", |x| x + 1);
    a.merge("m", &[&b]).output("out", out);
    let description = flow.describe();
    assert_eq!(
        description.edges(),
        vec![
            ("a".to_string(), "b".to_string()),
            ("a".to_string(), "m".to_string()),
            ("b".to_string(), "m".to_string()),
            ("m".to_string(), "out".to_string()),
        ]
    );
    assert!(
        description.to_string().contains("m (merge) <- a, b"),
        "{description}"
    );
}
