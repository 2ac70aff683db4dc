//! Tests of `KeyedLogic`: timers, their fuel, and snapshots of changed keys.

use super::*;
use crate::operators::StatefulLogic;
use crate::operators::changed_keys::SnapshotsDone;

fn clocks() -> Clocks {
    Clocks {
        epoch: 0,
        watermark: Timestamp::MIN,
        now: SystemTime::now(),
    }
}

/// Re-arms a deadline in the past after every call; emits how often it fired.
struct PastDeadline(u32);

impl StatefulLogic for PastDeadline {
    type In = ();
    type Out = u32;
    type State = u32;
    fn on_item(&mut self, _: (), _: &mut Vec<u32>) -> Retention {
        Retention::Keep
    }
    fn on_notify(&mut self, out: &mut Vec<u32>) -> Retention {
        self.0 += 1;
        out.push(self.0);
        Retention::Keep
    }
    fn notify_at(&self) -> Option<SystemTime> {
        Some(SystemTime::UNIX_EPOCH)
    }
    fn snapshot(&self) -> u32 {
        self.0
    }
}

fn fire(
    keyed: &mut KeyedLogic<String, PastDeadline, impl Fn(Option<u32>) -> PastDeadline + 'static>,
    fuel: &mut usize,
) -> Vec<(String, u32)> {
    let mut fired = Vec::new();
    keyed.fire_timers(clocks(), fuel, &mut |_, item| fired.push(item));
    fired
}

fn snapshotted_keys(rows: SnapshotsDone) -> Vec<String> {
    let (_, rows) = rows.unwrap().expect("an epoch closed");
    rows.into_iter().map(|(_, key, _)| key).collect()
}

/// Moves its event deadline later with every item (a session that grows).
struct Receding(i64);

impl KeyedProcess for Receding {
    type In = ();
    type Out = ();
    type State = i64;
    fn on_item(&mut self, _: &mut Ctx<'_, ()>, _: ()) -> Retention {
        self.0 += 1;
        Retention::Keep
    }
    fn event_timer(&self) -> Option<Timestamp> {
        Some(self.0)
    }
    fn snapshot(&self) -> i64 {
        self.0
    }
}

#[test]
fn stale_deadlines_do_not_pile_up() {
    let mut keyed = KeyedLogic::new(Arc::new(|s: Option<i64>| Receding(s.unwrap_or(0))), false);
    for _ in 0..100_000 {
        keyed.on_item("k".to_string(), (), clocks(), &mut |_| {});
    }
    assert!(
        keyed.timers.len() <= 2 + 1024,
        "{} deadlines for one key",
        keyed.timers.len()
    );
    // The one live deadline survived the compactions.
    assert_eq!(
        keyed
            .entries
            .get_mut(&"k".to_string())
            .unwrap()
            .logic
            .event_timer(),
        Some(100_000)
    );
    let at = |watermark| Clocks {
        watermark,
        ..clocks()
    };
    let mut fuel = usize::MAX;
    keyed.fire_timers(at(99_999), &mut fuel, &mut |_, _| {});
    assert_eq!(
        keyed
            .entries
            .get_mut(&"k".to_string())
            .unwrap()
            .logic
            .event_timer(),
        Some(100_000),
        "stale ones did not fire it"
    );
    assert!(keyed.timer_due(at(100_000)));
}

#[test]
fn due_timers_fire_once_per_call_within_the_fuel_and_mark_keys_dirty() {
    let mut keyed = KeyedLogic::new(Arc::new(|s: Option<u32>| PastDeadline(s.unwrap_or(0))), true);
    keyed.enter_epoch(0, "s").unwrap();
    for key in ["a", "b", "c"] {
        keyed.on_item(key.into(), (), clocks(), &mut |_| {});
    }
    assert_eq!(
        snapshotted_keys(keyed.close_epoch_before(Some(1), "s")),
        ["a", "b", "c"]
    );
    keyed.enter_epoch(1, "s").unwrap();
    let mut fuel = 2;
    assert_eq!(fire(&mut keyed, &mut fuel), [("a".into(), 1), ("b".into(), 1)]);
    assert_eq!(fuel, 0);
    assert_eq!(
        snapshotted_keys(keyed.close_epoch_before(Some(2), "s")),
        ["a", "b"]
    );
    let mut fuel = 10;
    let fired = fire(&mut keyed, &mut fuel);
    assert_eq!(fired, [("a".into(), 2), ("b".into(), 2), ("c".into(), 1)]);
    assert_eq!(
        fuel, 7,
        "each due key fired once, though all re-armed a past deadline"
    );
    assert_eq!(keyed.next_processing_timer(), Some(SystemTime::UNIX_EPOCH));
}

/// Keeps the largest value seen; says `Unchanged` when a value does not beat it. A value of
/// 0 asks for an event timer at 0 (a change of its timers only).
struct Largest {
    max: u32,
    timer: bool,
}

impl KeyedProcess for Largest {
    type In = u32;
    type Out = ();
    type State = u32;
    fn on_item(&mut self, _: &mut Ctx<'_, ()>, value: u32) -> Retention {
        if value == 0 {
            self.timer = true;
            return Retention::Unchanged;
        }
        if value <= self.max {
            return Retention::Unchanged;
        }
        self.max = value;
        Retention::Keep
    }
    fn event_timer(&self) -> Option<Timestamp> {
        self.timer.then_some(0)
    }
    fn snapshot(&self) -> u32 {
        self.max
    }
}

#[test]
fn keys_left_unchanged_are_not_snapshotted_unless_their_timers_changed() {
    let builder = |s: Option<u32>| Largest {
        max: s.unwrap_or(0),
        timer: false,
    };
    let mut keyed = KeyedLogic::new(Arc::new(builder), true);
    keyed.enter_epoch(0, "s").unwrap();
    for (key, value) in [("a", 5), ("b", 7)] {
        keyed.on_item(key.to_string(), value, clocks(), &mut |_| {});
    }
    assert_eq!(
        snapshotted_keys(keyed.close_epoch_before(Some(1), "s")),
        ["a", "b"]
    );
    keyed.enter_epoch(1, "s").unwrap();
    for (key, value) in [("a", 3), ("b", 9), ("c", 1), ("a", 5)] {
        keyed.on_item(key.to_string(), value, clocks(), &mut |_| {});
    }
    assert_eq!(
        snapshotted_keys(keyed.close_epoch_before(Some(2), "s")),
        ["b", "c"],
        "a's values did not beat its maximum"
    );
    keyed.enter_epoch(2, "s").unwrap();
    keyed.on_item("a".to_string(), 0, clocks(), &mut |_| {});
    keyed.on_item("b".to_string(), 1, clocks(), &mut |_| {});
    assert_eq!(
        snapshotted_keys(keyed.close_epoch_before(Some(3), "s")),
        ["a"],
        "a's timer changed"
    );
}
