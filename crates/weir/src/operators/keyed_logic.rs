//! The keys of one worker of a stateful step: each key's logic, its timers, and which keys
//! changed in the open epoch (what the stateful core snapshots at the epoch's end).

use std::sync::Arc;
use std::time::SystemTime;

use rustc_hash::FxHashMap;

use crate::operators::key_timers::{Armed, KeyTimers};
use crate::operators::keyed_process::{Ctx, KeyedProcess};
use crate::operators::stateful::Retention;
use crate::recovery::{SnapshotRow, encode};
use crate::{BoxError, Epoch, Key, Timestamp};

/// The snapshots of an epoch that just completed, if any.
pub(crate) type SnapshotsDone = Result<Option<(Epoch, Vec<SnapshotRow>)>, BoxError>;

/// What a call sees of time: the epoch, the watermark and processing time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clocks {
    pub epoch: Epoch,
    pub watermark: Timestamp,
    pub now: SystemTime,
}

/// One key's logic, its armed timers, and whether it changed in the open epoch.
struct Entry<L> {
    logic: L,
    armed: Armed,
    dirty: bool,
}

impl<L> Entry<L> {
    fn new(logic: L) -> Self {
        Entry {
            logic,
            armed: Armed::default(),
            dirty: false,
        }
    }
}

/// All keys of one worker of a stateful step.
pub(crate) struct KeyedLogic<K, L: KeyedProcess, B> {
    builder: Arc<B>,
    entries: FxHashMap<K, Entry<L>>,
    timers: KeyTimers<K>,
    out: Vec<L::Out>,
    /// Keys changed (or deleted) in `dirty_epoch`, when snapshotting.
    dirty_keys: Vec<K>,
    dirty_epoch: Option<Epoch>,
    snapshotting: bool,
    /// Keys still to be told the input ended, in reverse key order, once it did.
    ending: Option<Vec<K>>,
}

/// After a call of `key`'s logic: marks the key changed, re-arms its timers, and says
/// whether it is to be forgotten.
fn settle<K: Key, L: KeyedProcess>(
    key: &K,
    entry: &mut Entry<L>,
    retention: Retention,
    timers: &mut KeyTimers<K>,
    dirty_keys: Option<&mut Vec<K>>,
) -> bool {
    if let Some(dirty_keys) = dirty_keys
        && !std::mem::replace(&mut entry.dirty, true)
    {
        dirty_keys.push(key.clone());
    }
    let wanted = match retention {
        Retention::Keep => Armed {
            event: entry.logic.event_timer(),
            processing: entry.logic.processing_timer(),
        },
        Retention::Discard => Armed::default(),
    };
    timers.set(key, &mut entry.armed, wanted);
    retention == Retention::Discard
}

impl<K, L, B> KeyedLogic<K, L, B>
where
    K: Key,
    L: KeyedProcess,
    B: Fn(Option<L::State>) -> L,
{
    pub(crate) fn new(builder: Arc<B>, snapshotting: bool) -> Self {
        KeyedLogic {
            builder,
            entries: FxHashMap::default(),
            timers: KeyTimers::new(),
            out: Vec::new(),
            dirty_keys: Vec::new(),
            dirty_epoch: None,
            snapshotting,
            ending: None,
        }
    }

    /// Rebuilds a key from its snapshot, timers included.
    pub(crate) fn restore(&mut self, key: K, state: L::State) {
        let mut entry = Entry::new((self.builder)(Some(state)));
        settle(&key, &mut entry, Retention::Keep, &mut self.timers, None);
        self.entries.insert(key, entry);
    }

    /// Applies one value: one look-up of the key (two for a new key).
    pub(crate) fn on_item(
        &mut self,
        key: K,
        value: L::In,
        clocks: Clocks,
        emit: &mut impl FnMut((K, L::Out)),
    ) {
        let entry = match self.entries.get_mut(&key) {
            Some(entry) => entry,
            None => self
                .entries
                .entry(key.clone())
                .or_insert_with(|| Entry::new((self.builder)(None))),
        };
        let retention = entry.logic.on_item(&mut context(&mut self.out, clocks), value);
        for value in self.out.drain(..) {
            emit((key.clone(), value));
        }
        let dirty = self.snapshotting.then_some(&mut self.dirty_keys);
        if settle(&key, entry, retention, &mut self.timers, dirty) {
            self.entries.remove(&key);
        }
        self.compact_timers();
    }

    /// Drops stale deadlines once they outnumber the live keys (amortised: a rebuild costs
    /// what the pushes since the last one did).
    fn compact_timers(&mut self) {
        if self.timers.len() > 2 * self.entries.len() + 1024 {
            self.timers
                .rebuild(self.entries.iter().map(|(key, entry)| (key, &entry.armed)));
        }
    }

    /// Calls `logic` (a timer or end-of-input call) on `key` if it is live, then settles it.
    fn call(
        &mut self,
        key: K,
        clocks: Clocks,
        emit: &mut impl FnMut((K, L::Out)),
        logic: impl FnOnce(&mut L, &mut Ctx<'_, L::Out>) -> Retention,
    ) {
        let Some(entry) = self.entries.get_mut(&key) else {
            return;
        };
        let retention = logic(&mut entry.logic, &mut context(&mut self.out, clocks));
        for value in self.out.drain(..) {
            emit((key.clone(), value));
        }
        let dirty = self.snapshotting.then_some(&mut self.dirty_keys);
        if settle(&key, entry, retention, &mut self.timers, dirty) {
            self.entries.remove(&key);
        }
        self.compact_timers();
    }

    /// Calls `on_timer` once for each key whose event timer the watermark reached or whose
    /// processing timer `now` reached, at most `fuel` keys (one unit each). The due keys are
    /// taken before any is called, so a key that re-arms a timer that is already due fires
    /// again on the next call, not in this one.
    pub(crate) fn fire_timers(
        &mut self,
        clocks: Clocks,
        fuel: &mut usize,
        emit: &mut impl FnMut((K, L::Out)),
    ) {
        let mut due = self.timers.take_due(clocks.watermark, clocks.now, fuel);
        // Keep the deadlines the keys still hold (the others are stale), and disarm them.
        due.retain(|(key, fired)| {
            let Some(entry) = self.entries.get_mut(key) else {
                return false;
            };
            let event = fired.event.is_some() && entry.armed.event == fired.event;
            let processing = fired.processing.is_some() && entry.armed.processing == fired.processing;
            if event {
                entry.armed.event = None;
            }
            if processing {
                entry.armed.processing = None;
            }
            event || processing
        });
        due.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        due.dedup_by(|a, b| a.0 == b.0);
        for (key, _) in due {
            self.call(key, clocks, emit, |logic, ctx| logic.on_timer(ctx));
        }
    }

    /// At the end of the input, for every key in key order: fires its event timer if it has
    /// one (the watermark is at its end), then calls `on_eof`; at most `fuel` keys per
    /// call. `true` once every key was called.
    pub(crate) fn finish(
        &mut self,
        clocks: Clocks,
        fuel: &mut usize,
        emit: &mut impl FnMut((K, L::Out)),
    ) -> bool {
        let entries = &self.entries;
        let ending = self.ending.get_or_insert_with(|| {
            let mut keys: Vec<K> = entries.keys().cloned().collect();
            keys.sort_unstable_by(|a, b| b.cmp(a));
            keys
        });
        let mut batch = Vec::new();
        while *fuel > 0
            && let Some(key) = ending.pop()
        {
            batch.push(key);
            *fuel -= 1;
        }
        let done = ending.is_empty();
        for key in batch {
            // (Its deadline stays in the heap, stale: the key no longer holds it.)
            let armed_event = self.entries.get_mut(&key).and_then(|e| e.armed.event.take());
            if armed_event.is_some() {
                self.call(key.clone(), clocks, emit, |logic, ctx| logic.on_timer(ctx));
            }
            self.call(key, clocks, emit, |logic, ctx| logic.on_eof(ctx));
        }
        done
    }

    /// Whether a timer is due under `clocks`.
    pub(crate) fn timer_due(&self, clocks: Clocks) -> bool {
        self.timers.any_due(clocks.watermark, clocks.now)
    }

    /// The earliest processing-time timer.
    pub(crate) fn next_processing_timer(&self) -> Option<SystemTime> {
        self.timers.next_processing()
    }

    /// Starts changing state in `epoch`; first returns the snapshots of an earlier epoch
    /// that is complete (its keys' state must be captured before later items apply).
    pub(crate) fn enter_epoch(&mut self, epoch: Epoch, step: &str) -> SnapshotsDone {
        let done = match self.dirty_epoch {
            Some(open) if open < epoch => Some((open, self.snapshot_dirty(step)?)),
            _ => None,
        };
        if self.snapshotting {
            self.dirty_epoch = Some(epoch);
        }
        Ok(done)
    }

    /// The snapshots of the open epoch if the frontier has passed it.
    pub(crate) fn close_epoch_before(&mut self, frontier: Option<Epoch>, step: &str) -> SnapshotsDone {
        match self.dirty_epoch {
            Some(open) if frontier.is_none_or(|f| f > open) => Ok(Some((open, self.snapshot_dirty(step)?))),
            _ => Ok(None),
        }
    }

    /// One row per key changed in the open epoch: its state, or `None` if it was deleted.
    fn snapshot_dirty(&mut self, step: &str) -> Result<Vec<SnapshotRow>, BoxError> {
        self.dirty_epoch = None;
        let mut keys = std::mem::take(&mut self.dirty_keys);
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .map(|key| {
                let value = match self.entries.get_mut(&key) {
                    Some(entry) => {
                        entry.dirty = false;
                        Some(encode(&entry.logic.snapshot())?)
                    }
                    None => None,
                };
                Ok((step.to_owned(), key.text(), value))
            })
            .collect()
    }
}

fn context<O>(out: &mut Vec<O>, clocks: Clocks) -> Ctx<'_, O> {
    Ctx {
        out,
        epoch: clocks.epoch,
        watermark: clocks.watermark,
        now: clocks.now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operators::StatefulLogic;

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
        keyed: &mut KeyedLogic<String, PastDeadline, impl Fn(Option<u32>) -> PastDeadline>,
        fuel: &mut usize,
    ) -> Vec<(String, u32)> {
        let mut fired = Vec::new();
        keyed.fire_timers(clocks(), fuel, &mut |item| fired.push(item));
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
        assert_eq!(keyed.entries["k"].armed.event, Some(100_000));
        let at = |watermark| Clocks {
            watermark,
            ..clocks()
        };
        let mut fuel = usize::MAX;
        keyed.fire_timers(at(99_999), &mut fuel, &mut |_| {});
        assert_eq!(
            keyed.entries["k"].armed.event,
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
}
