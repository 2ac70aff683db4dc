//! Tests of `FixedWindows`: closing under the work bound, late items, snapshots and
//! restore.

use std::time::Duration;

use super::*;
use crate::recovery::decode;
use crate::windows::Windower;
use crate::windows::key_windows::WindowSpec;

/// Counts items per key in tumbling 10 ms windows.
type Counts = FixedWindows<String, Timestamp, u64, u64>;

fn counting(snapshotting: bool) -> Counts {
    let spec = WindowSpec {
        windower: Windower::tumbling(Duration::from_millis(10)),
        timestamp: Box::new(|ts: &Timestamp| *ts),
        init: Box::new(|| 0),
        fold: Box::new(|n: &mut u64, _, _| *n += 1),
        merge: Box::new(|a, b| a + b),
        finish: Box::new(|n, _| n),
    };
    let worker = WindowWorker {
        spec: Arc::new(spec),
        meta: false,
    };
    FixedWindows::new(Arc::new(worker), snapshotting)
}

fn at(watermark: Timestamp) -> Clocks {
    Clocks {
        epoch: 0,
        watermark,
        now: SystemTime::UNIX_EPOCH,
    }
}

fn items(pairs: &[(&str, Timestamp)]) -> Vec<(String, Timestamp)> {
    pairs.iter().map(|(k, ts)| (k.to_string(), *ts)).collect()
}

/// The results among `events`, as (key, window start, count), sorted.
fn results(events: Vec<(String, WindowEvent<u64, Timestamp>)>) -> Vec<(String, Timestamp, u64)> {
    let mut results: Vec<_> = events
        .into_iter()
        .filter_map(|(key, event)| match event {
            WindowEvent::Result(window, n) => Some((key, window.start, n)),
            _ => None,
        })
        .collect();
    results.sort();
    results
}

fn fire(windows: &mut Counts, watermark: Timestamp, fuel: &mut usize) -> Vec<(String, Timestamp, u64)> {
    let mut events = Vec::new();
    windows.fire_timers(at(watermark), fuel, &mut |at, (key, event)| {
        if let WindowEvent::Result(window, _) = &event {
            assert_eq!(
                at,
                Some(window.end - 1),
                "a result happens at its window's end - 1"
            );
        }
        events.push((key, event));
    });
    results(events)
}

#[test]
fn a_window_closes_for_all_its_keys_when_the_watermark_reaches_its_end_within_the_fuel() {
    let mut windows = counting(false);
    let batch = items(&[
        ("a", 1),
        ("b", 2),
        ("c", 3),
        ("d", 4),
        ("e", 9),
        ("a", 5),
        ("a", 12),
    ]);
    windows.on_batch(batch, at(0), &mut |_| panic!("nothing closes or is late"));
    assert!(!windows.timer_due(at(9)));
    assert!(windows.timer_due(at(10)));
    let mut fuel = 2;
    let first = fire(&mut windows, 10, &mut fuel);
    assert_eq!(
        (first.len(), fuel),
        (2, 0),
        "two keys' windows within a fuel of 2"
    );
    let mut fuel = 10;
    let rest = fire(&mut windows, 10, &mut fuel);
    assert_eq!(fuel, 7);
    let mut all: Vec<_> = first.into_iter().chain(rest).collect();
    all.sort();
    let expected = [("a", 2), ("b", 1), ("c", 1), ("d", 1), ("e", 1)];
    let expected: Vec<_> = expected.iter().map(|(k, n)| (k.to_string(), 0, *n)).collect();
    assert_eq!(all, expected);
    assert!(!windows.timer_due(at(10)), "the next window is still open");
    let mut fuel = usize::MAX;
    let ended = {
        let mut events = Vec::new();
        assert!(windows.finish(at(Timestamp::MAX), &mut fuel, &mut |_, e| events.push(e)));
        results(events)
    };
    assert_eq!(
        ended,
        [("a".to_string(), 10, 1)],
        "the end of input closes every window"
    );
}

#[test]
fn an_item_whose_windows_closed_is_late_and_names_them() {
    let mut windows = counting(false);
    windows.on_batch(items(&[("a", 1)]), at(0), &mut |_| {});
    fire(&mut windows, 10, &mut { usize::MAX });
    let mut events = Vec::new();
    windows.on_batch(items(&[("a", 5), ("a", 10)]), at(10), &mut |e| events.push(e));
    let [(key, WindowEvent::Late(late))] = events.as_slice() else {
        panic!("one late item, not {} events", events.len());
    };
    assert_eq!((key.as_str(), late.timestamp), ("a", 5));
    assert_eq!(late.missed, [Window { start: 0, end: 10 }]);
}

#[test]
fn snapshots_hold_a_key_s_open_windows_delete_a_key_without_and_restore() {
    let mut windows = counting(true);
    assert!(windows.enter_epoch(0, "s").unwrap().is_none());
    windows.on_batch(items(&[("a", 1), ("a", 12), ("b", 3)]), at(0), &mut |_| {});
    let (epoch, rows) = windows
        .close_epoch_before(Some(1), "s")
        .unwrap()
        .expect("epoch 0 closed");
    assert_eq!(epoch, 0);
    let keys: Vec<_> = rows
        .iter()
        .map(|(_, key, state)| (key.as_str(), state.is_some()))
        .collect();
    assert_eq!(keys, [("a", true), ("b", true)]);
    let a_state: OpenWindows<u64> = decode("s", "a", rows[0].2.as_ref().unwrap()).unwrap();
    let a_windows: Vec<_> = a_state.into_windows().collect();
    assert_eq!(
        a_windows,
        [
            (Window { start: 0, end: 10 }, 1),
            (Window { start: 10, end: 20 }, 1)
        ]
    );

    assert!(windows.enter_epoch(1, "s").unwrap().is_none());
    assert_eq!(fire(&mut windows, 10, &mut { usize::MAX }).len(), 2);
    let (_, rows) = windows
        .close_epoch_before(Some(2), "s")
        .unwrap()
        .expect("epoch 1 closed");
    let keys: Vec<_> = rows
        .iter()
        .map(|(_, key, state)| (key.as_str(), state.is_some()))
        .collect();
    assert_eq!(keys, [("a", true), ("b", false)], "b has no window left: deleted");

    let mut resumed = counting(true);
    let state: OpenWindows<u64> = decode("s", "a", rows[0].2.as_ref().unwrap()).unwrap();
    resumed.restore("a".to_string(), state);
    assert_eq!(
        fire(&mut resumed, 20, &mut { usize::MAX }),
        [("a".to_string(), 10, 1)]
    );
}

#[test]
fn a_restored_window_of_another_length_does_not_hold_back_shorter_ones() {
    let mut windows = counting(false);
    let long = OpenWindows::from_windows([(Window { start: 0, end: 100 }, 3)].into_iter());
    windows.restore("old".to_string(), long);
    windows.on_batch(items(&[("a", 15)]), at(0), &mut |_| {});
    assert!(windows.timer_due(at(20)));
    let fired = fire(&mut windows, 20, &mut { usize::MAX });
    assert_eq!(fired, [("a".to_string(), 10, 1)]);
    assert!(!windows.timer_due(at(99)));
    assert_eq!(
        fire(&mut windows, 100, &mut { usize::MAX }),
        [("old".to_string(), 0, 3)]
    );
}
