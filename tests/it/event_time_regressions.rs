//! Regressions found by an audit of event time: windows a resume would reopen, the idle
//! opt-in ending event time, items stamped at the end of time, and state an as-of join kept.

use std::time::Duration;

use weir::inputs::EventClock;
use weir::testing::{TestEvent, TestingSink, TestingSource};
use weir::windows::Window;
use weir::{Dataflow, RunConfig, Timestamp};

use crate::support::count_windows;

fn clock() -> EventClock<i64> {
    EventClock::new(|x: &i64| *x, Duration::ZERO)
}

fn config() -> RunConfig {
    RunConfig::threads(2).with_epoch_interval(Duration::from_millis(5))
}

#[test]
fn input_read_after_a_partition_ended_is_late_not_a_reopened_window() {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 2).unwrap();
    let script: Vec<TestEvent<i64>> = [1_000, 5_000, 12_000, 21_000, 25_000]
        .into_iter()
        .map(TestEvent::Item)
        .chain([TestEvent::Eof, TestEvent::Item(26_000)])
        .collect();
    let w = |start| Window {
        start,
        end: start + 10_000,
    };
    let first = count_windows(
        &script,
        clock(),
        Duration::from_secs(10),
        config().with_recovery(store.path()),
    );
    assert_eq!(first, (vec![(w(0), 2), (w(10_000), 1), (w(20_000), 2)], vec![]));
    // The partition ended, and with it its event time: the next execution's item is late
    // (decided at the source), and [20 s, 30 s) is not emitted a second time.
    let second = count_windows(
        &script,
        clock(),
        Duration::from_secs(10),
        config().with_recovery(store.path()),
    );
    assert_eq!(second, (vec![], vec![26_000]));
}

#[test]
fn a_quiet_partition_under_idle_after_rises_with_processing_time_not_to_the_end_of_time() {
    let script = vec![
        TestEvent::Item(0),
        TestEvent::Item(50),
        TestEvent::Pause(Duration::from_millis(400)),
        TestEvent::Item(3_600_000),
    ];
    let idle = clock().idle_after(Duration::from_millis(100));
    let (out, late) = count_windows(&script, idle, Duration::from_millis(100), config());
    // An hour ahead is far beyond what ~300 ms of quiet raised the watermark to: on time.
    let hour = Window {
        start: 3_600_000,
        end: 3_600_100,
    };
    assert!(out.contains(&(hour, 1)), "{out:?}");
    assert!(late.is_empty());
}

#[test]
fn items_stamped_at_the_end_of_time_are_emitted() {
    let items = vec![1, Timestamp::MAX];
    let mut flow = Dataflow::new("sorted");
    let (sorted, joined) = (TestingSink::new(), TestingSink::new());
    let clock = || EventClock::new(|x: &i64| *x, Duration::ZERO);
    let left = flow
        .input_with_clock("in", TestingSource::new(items.clone()), clock())
        .on_time
        .key_on("all", |_| ());
    let right = flow
        .input_with_clock("right", TestingSource::new(vec![0i64]), clock())
        .on_time
        .key_on("all_too", |_| ());
    left.sort_by_time("sort", |x: &i64| *x)
        .key_rm("unkey")
        .output("sorted", sorted.clone());
    left.join_as_of("as_of", &right, |x: &i64| *x, |x: &i64| *x, None)
        .map("left", |(_, j)| j.left)
        .output("joined", joined.clone());
    weir::run(flow, config()).unwrap();
    assert_eq!(sorted.items(), items);
    assert_eq!(joined.sorted(), items);
}

#[test]
fn an_as_of_join_keeps_only_the_right_values_a_left_item_can_need() {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 1).unwrap();
    let mut flow = Dataflow::new("prices");
    let clock = || EventClock::new(|x: &i64| *x, Duration::ZERO);
    // A price feed for a symbol nobody queries.
    let prices = flow
        .input_with_clock(
            "prices",
            TestingSource::new((0..5_000).collect::<Vec<i64>>()).with_batch_size(100),
            clock(),
        )
        .on_time
        .key_on("symbol", |_| ());
    let queries = flow
        .input_with_clock("queries", TestingSource::new(Vec::<i64>::new()), clock())
        .on_time
        .key_on("query_symbol", |_| ());
    queries
        .join_as_of("price_at", &prices, |x: &i64| *x, |x: &i64| *x, None)
        .output("out", TestingSink::new());
    weir::run(flow, config().with_recovery(store.path())).unwrap();
    let states = weir::recovery::latest_states(store.path(), "price_at").unwrap();
    let biggest = states.iter().map(|(_, state)| state.len()).max().unwrap_or(0);
    // Each price is 16 bytes: all 5000 would be 80 kB. Kept are those the watermark has not
    // passed yet (about a batch of 100), and the latest one it has.
    assert!(biggest > 0, "the key had state");
    assert!(
        biggest < 20_000,
        "the key keeps the prices a query may need, not all: {biggest} bytes"
    );
}
