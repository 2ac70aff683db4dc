//! Custom window logic and sorting by event time, against oracles, on 1 and 3 workers.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use weir::inputs::EventClock;
use weir::testing::{TestingSink, TestingSource};
use weir::windows::{Window, WindowLogic, Windower};
use weir::{Dataflow, KeyedStream, RunConfig, Timestamp};

use crate::support::{Rng, count_windows};

/// (timestamp, key, value); timestamps are distinct.
type Event = (Timestamp, u8, i64);

/// The items of one partition that are on time under a clock that waits `wait`.
fn on_time(events: &[Event], wait: i64) -> Vec<Event> {
    let mut watermark = Timestamp::MIN;
    let mut on_time = Vec::new();
    for e in events {
        if e.0 >= watermark {
            watermark = watermark.max(e.0 - wait);
            on_time.push(*e);
        }
    }
    on_time
}

/// Mostly in order, some items swapped with one shortly after them (a few end up late).
fn events(seed: u64, n: usize, wait: i64) -> Vec<Event> {
    let mut rng = Rng(seed);
    let mut events: Vec<Event> = (0..n as i64)
        .map(|i| (i * 10 + 5, (rng.next() % 4) as u8, (rng.next() % 1000) as i64))
        .collect();
    for i in 0..n {
        let j = i + (rng.next() % 4) as usize;
        if j < n && (events[j].0 - events[i].0) < wait {
            events.swap(i, j);
        }
    }
    events
}

/// `input` read with a clock that waits 40 ms, 11 items at a time, keyed by key.
fn keyed_events(flow: &mut Dataflow, input: &[Event]) -> KeyedStream<Event, u8> {
    let clock = EventClock::new(|e: &Event| e.0, Duration::from_millis(40));
    flow.input_with_clock(
        "in",
        TestingSource::new(input.to_vec()).with_batch_size(11),
        clock,
    )
    .on_time
    .key_on("key", |e: &Event| e.1)
}

fn config(workers: usize) -> RunConfig {
    RunConfig::threads(workers).with_epoch_interval(Duration::from_millis(3))
}

/// A window's first and last value.
type FirstAndLast = (i64, i64);

/// The first and the last value of a window, by timestamp.
#[derive(Clone, Serialize, Deserialize)]
struct FirstLast(Option<(Timestamp, i64)>, Option<(Timestamp, i64)>);

impl WindowLogic for FirstLast {
    type In = Event;
    type Out = (i64, i64);
    fn on_value(&mut self, value: Event, ts: Timestamp) {
        if self.0.is_none_or(|(t, _)| ts < t) {
            self.0 = Some((ts, value.2));
        }
        if self.1.is_none_or(|(t, _)| ts > t) {
            self.1 = Some((ts, value.2));
        }
    }
    fn merge(&mut self, other: Self) {
        for (ts, v) in [other.0, other.1].into_iter().flatten() {
            self.on_value((ts, 0, v), ts);
        }
    }
    fn close(self, _: &Window) -> (i64, i64) {
        (self.0.unwrap().1, self.1.unwrap().1)
    }
}

#[test]
fn custom_window_logic_sees_every_value_of_its_window() {
    let input = events(7, 3000, 40);
    let mut expected: BTreeMap<(u8, Window), Vec<Event>> = BTreeMap::new();
    for e in &on_time(&input, 40) {
        let start = e.0 - e.0.rem_euclid(100);
        expected
            .entry((
                e.1,
                Window {
                    start,
                    end: start + 100,
                },
            ))
            .or_default()
            .push(*e);
    }
    let mut expected: Vec<(u8, (Window, FirstAndLast))> = expected
        .into_iter()
        .map(|((k, w), mut es)| {
            es.sort();
            (k, (w, (es[0].2, es.last().unwrap().2)))
        })
        .collect();
    expected.sort();
    for workers in [1, 3] {
        let mut flow = Dataflow::new("custom");
        let out = TestingSink::new();
        keyed_events(&mut flow, &input)
            .window(
                "first_last",
                |e: &Event| e.0,
                Windower::tumbling(Duration::from_millis(100)),
                || FirstLast(None, None),
            )
            .down
            .output("out", out.clone());
        weir::run(flow, config(workers)).unwrap();
        assert_eq!(out.sorted(), expected, "{workers} workers");
    }
}

#[test]
fn sort_by_time_emits_each_keys_values_in_timestamp_order() {
    let input = events(8, 3000, 40);
    let mut expected: BTreeMap<u8, Vec<Timestamp>> = BTreeMap::new();
    for e in &on_time(&input, 40) {
        expected.entry(e.1).or_default().push(e.0);
    }
    expected.values_mut().for_each(|ts| ts.sort());
    for workers in [1, 3] {
        let mut flow = Dataflow::new("sort");
        let out = TestingSink::new();
        keyed_events(&mut flow, &input)
            .sort_by_time("sorted", |e: &Event| e.0)
            .output("out", out.clone());
        weir::run(flow, config(workers)).unwrap();
        let mut got: BTreeMap<u8, Vec<Timestamp>> = BTreeMap::new();
        for (k, e) in out.items() {
            got.entry(k).or_default().push(e.0);
        }
        assert_eq!(got, expected, "{workers} workers: per key, in timestamp order");
    }
}

/// Keys of `step` whose latest snapshot in the store holds state (not a deletion).
fn live_keys(store: &std::path::Path, step: &str) -> usize {
    weir::recovery::latest_states(store, step).unwrap().len()
}

#[test]
fn closed_windows_leave_no_state_in_the_store() {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 3).unwrap();
    let input = events(9, 2000, 40);
    let mut flow = Dataflow::new("freed");
    let out = TestingSink::new();
    let clock = EventClock::new(|e: &Event| e.0, Duration::from_millis(40));
    let keyed = flow
        .input_with_clock("in", TestingSource::new(input.clone()).with_batch_size(50), clock)
        .on_time
        .key_on("key", |e: &Event| e.1);
    keyed
        .count_window(
            "tumbling",
            |e: &Event| e.0,
            Windower::tumbling(Duration::from_millis(100)),
        )
        .down
        .output("out", out.clone());
    keyed
        .count_window(
            "sessions",
            |e: &Event| e.0,
            Windower::session(Duration::from_millis(5)),
        )
        .down
        .output("out_sessions", TestingSink::new());
    weir::run(flow, config(2).with_recovery(store.path())).unwrap();
    assert!(!out.items().is_empty());
    // Every window closed at the end of the input, so every key was forgotten: its last
    // row is a deletion marker (or was collected).
    assert_eq!(live_keys(store.path(), "tumbling"), 0);
    assert_eq!(live_keys(store.path(), "sessions"), 0);
    // The query does see live state where there is some: the source's positions.
    assert!(
        live_keys(store.path(), "in") > 0,
        "the source's position is state"
    );
}

#[test]
fn system_clock_inputs_window_by_processing_time() {
    let mut flow = Dataflow::new("processing_time_windows");
    let out = TestingSink::new();
    let input = flow.input_with_system_clock("in", TestingSource::new(0..500u32).with_batch_size(7));
    input.late.output("late", TestingSink::new());
    input
        .on_time
        .key_on("all", |_| ())
        .count_window(
            "per_hour",
            |x: &(Timestamp, u32)| x.0,
            Windower::tumbling(Duration::from_secs(3600)),
        )
        .down
        .output("out", out.clone());
    weir::run(flow, config(2)).unwrap();
    let counts: u64 = out.items().iter().map(|(_, (_, n))| n).sum();
    assert_eq!(
        counts,
        500,
        "every item in a processing-time window: {:?}",
        out.items()
    );
    assert!(
        out.items().len() <= 2,
        "read within an hour: one window, or two across an hour's turn"
    );
}

#[test]
fn a_watermark_that_advances_with_processing_time_closes_windows_without_new_items() {
    use weir::testing::TestEvent;
    let script = vec![
        TestEvent::Item(0i64),
        TestEvent::Pause(Duration::from_millis(300)),
        TestEvent::Item(1),
    ];
    let run = |clock| count_windows(&script, clock, Duration::from_millis(100), config(1));
    let w = Window { start: 0, end: 100 };
    // Deterministic by default: 1 is on time however long the source paused.
    let plain = EventClock::new(|x: &i64| *x, Duration::ZERO);
    assert_eq!(run(plain), (vec![(w, 2)], vec![]));
    // Opted in: the watermark moved on during the pause, so the window closed with 0 alone
    // and 1 came late.
    let advancing = EventClock::new(|x: &i64| *x, Duration::ZERO).advance_with_processing_time();
    assert_eq!(run(advancing), (vec![(w, 1)], vec![1]));
}

#[test]
fn an_idle_partition_stops_holding_the_watermark_back_when_opted_in() {
    use std::sync::{Arc, Mutex};
    use std::time::Instant;
    use weir::testing::TestEvent;
    // The quiet input read one item, or none at all (an empty partition).
    let run = |idle: Option<Duration>, quiet: Vec<TestEvent<i64>>| -> Duration {
        let start = Instant::now();
        let first_result: Arc<Mutex<Option<Duration>>> = Arc::default();
        let seen = first_result.clone();
        let mut flow = Dataflow::new("idle");
        let busy = (0..200).map(|i| (i * 10) as i64).collect::<Vec<_>>();
        let clock = || EventClock::new(|x: &i64| *x, Duration::ZERO);
        let quiet_clock = match idle {
            Some(idle) => clock().idle_after(idle),
            None => clock(),
        };
        let a = flow
            .input_with_clock("busy", TestingSource::new(busy).with_batch_size(5), clock())
            .on_time;
        let b = flow
            .input_with_clock("quiet", TestingSource::from_events(quiet), quiet_clock)
            .on_time;
        a.merge("both", &[&b])
            .key_on("all", |_| ())
            .count_window(
                "count",
                |x: &i64| *x,
                Windower::tumbling(Duration::from_millis(100)),
            )
            .down
            .inspect("first", move |_| {
                seen.lock().unwrap().get_or_insert(start.elapsed());
            })
            .output("out", TestingSink::new());
        weir::run(flow, config(1)).unwrap();
        first_result.lock().unwrap().take().expect("windows closed")
    };
    let pause = TestEvent::Pause(Duration::from_secs(4));
    let one_item = vec![TestEvent::Item(0i64), pause.clone()];
    let idle = Some(Duration::from_millis(50));
    // Held back by the quiet input until it ends (4 s)...
    assert!(run(None, one_item.clone()) >= Duration::from_secs(4));
    // ...or not, once it is idle for 50 ms, whether it read an item or never did.
    assert!(run(idle, one_item) < Duration::from_secs(3));
    assert!(run(idle, vec![pause]) < Duration::from_secs(3));
}
