//! The keys of one worker of a stateful step: each key's logic, its timers, and which keys
//! changed in the open epoch (what the stateful core snapshots at the epoch's end).

use std::sync::Arc;
use std::time::SystemTime;

use smallvec::{SmallVec, smallvec};

use crate::operators::key_table::KeyTable;
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

/// One key's logic and whether it changed in the open epoch. Its timers are the ones its
/// logic asks for: the core compares them before and after each call, and arms a deadline
/// when it changes (the entry holds no copy of them: keys are read at random, and a smaller
/// entry costs fewer cache misses).
#[repr(C)]
struct Entry<L> {
    dirty: bool,
    logic: L,
}

impl<L> Entry<L> {
    fn new(logic: L) -> Self {
        Entry { dirty: false, logic }
    }
}

/// The deadlines `logic` asks for.
fn wanted<L: KeyedProcess>(logic: &L) -> Armed {
    Armed {
        event: logic.event_timer(),
        processing: logic.processing_timer(),
    }
}

/// All keys of one worker of a stateful step.
pub(crate) struct KeyedLogic<K, L: KeyedProcess, B> {
    builder: Arc<B>,
    entries: KeyTable<K, Entry<L>>,
    timers: KeyTimers<K>,
    out: Vec<L::Out>,
    /// Keys changed (or deleted) in `dirty_epoch`, when snapshotting.
    dirty_keys: Vec<K>,
    dirty_epoch: Option<Epoch>,
    snapshotting: bool,
    /// Keys still to be told the input ended, in reverse key order, once it did.
    ending: Option<Vec<K>>,
}

/// After a call of `key`'s logic: marks the key changed, arms the deadlines it asks for
/// that it did not hold `before` the call, and says whether it is to be forgotten.
fn settle<K: Key, L: KeyedProcess>(
    key: &K,
    entry: &mut Entry<L>,
    before: Armed,
    retention: Retention,
    timers: &mut KeyTimers<K>,
    dirty_keys: Option<&mut Vec<K>>,
) -> bool {
    if let Some(dirty_keys) = dirty_keys
        && !std::mem::replace(&mut entry.dirty, true)
    {
        dirty_keys.push(key.clone());
    }
    if retention == Retention::Keep {
        timers.arm(key, before, wanted(&entry.logic));
    }
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
            entries: KeyTable::new(),
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
        let nothing = Armed::default();
        settle(&key, &mut entry, nothing, Retention::Keep, &mut self.timers, None);
        self.entries.insert(key, entry);
    }

    /// Applies a batch of values in order, their keys warmed first: with more keys than the
    /// cache holds, cache misses are what items cost.
    pub(crate) fn on_batch(
        &mut self,
        batch: Vec<(K, L::In)>,
        clocks: Clocks,
        emit: &mut impl FnMut((K, L::Out)),
    ) {
        self.warm(batch.iter().map(|(key, _)| key));
        for (key, value) in batch {
            self.on_item(key, value, clocks, emit);
        }
    }

    /// Looks `keys` up, and the timers of their logic, so that calls on them find them in
    /// the cache: a tight loop lets their cache misses overlap.
    fn warm<'a>(&self, keys: impl Iterator<Item = &'a K>)
    where
        K: 'a,
    {
        for key in keys {
            std::hint::black_box(self.entries.get(key).map(|entry| entry.logic.event_timer()));
        }
    }

    /// Applies one value: one look-up of the key.
    pub(crate) fn on_item(
        &mut self,
        key: K,
        value: L::In,
        clocks: Clocks,
        emit: &mut impl FnMut((K, L::Out)),
    ) {
        let (builder, mut new) = (&self.builder, false);
        let entry = self.entries.get_or_insert_with(&key, || {
            new = true;
            Entry::new(builder(None))
        });
        // A new key holds no deadline yet, whatever its logic asks for.
        let before = if new {
            Armed::default()
        } else {
            wanted(&entry.logic)
        };
        let retention = entry.logic.on_item(&mut context(&mut self.out, clocks), value);
        for value in self.out.drain(..) {
            emit((key.clone(), value));
        }
        let dirty = self.snapshotting.then_some(&mut self.dirty_keys);
        if settle(&key, entry, before, retention, &mut self.timers, dirty) {
            self.entries.remove(&key);
        }
        self.compact_timers();
    }

    /// Drops stale deadlines once they outnumber the live keys (amortised: a rebuild costs
    /// what the pushes since the last one did).
    fn compact_timers(&mut self) {
        if self.timers.len() > 2 * self.entries.len() + 1024 {
            self.timers.rebuild(
                self.entries
                    .iter()
                    .map(|(key, entry)| (key, wanted(&entry.logic))),
            );
        }
    }

    /// Calls `logic` (a timer or end-of-input call) on `key` if it is live, with the
    /// deadlines the key holds; unless it declined (`None`), emits what it said and settles
    /// the key with the deadlines it held before, as `logic` returned them.
    fn call(
        &mut self,
        key: K,
        clocks: Clocks,
        emit: &mut impl FnMut((K, L::Out)),
        logic: impl FnOnce(&mut L, Armed, &mut Ctx<'_, L::Out>) -> Option<(Armed, Retention)>,
    ) {
        let Some(entry) = self.entries.get_mut(&key) else {
            return;
        };
        let held = wanted(&entry.logic);
        let ctx = &mut context(&mut self.out, clocks);
        let Some((before, retention)) = logic(&mut entry.logic, held, ctx) else {
            return;
        };
        for value in self.out.drain(..) {
            emit((key.clone(), value));
        }
        let dirty = self.snapshotting.then_some(&mut self.dirty_keys);
        if settle(&key, entry, before, retention, &mut self.timers, dirty) {
            self.entries.remove(&key);
        }
        self.compact_timers();
    }

    /// Calls `on_timer` once for each key whose event timer the watermark reached or whose
    /// processing timer `now` reached, at most `fuel` keys (one unit each), in key order.
    /// The due keys are taken before any is called, so a key that re-arms a timer that is
    /// already due fires again on the next call, not in this one.
    pub(crate) fn fire_timers(
        &mut self,
        clocks: Clocks,
        fuel: &mut usize,
        emit: &mut impl FnMut((K, L::Out)),
    ) {
        let mut due = self.timers.take_due(clocks.watermark, clocks.now, fuel);
        due.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.warm(due.iter().map(|(key, _)| key));
        let mut due = due.into_iter().peekable();
        while let Some((key, first)) = due.next() {
            // A key may come up more than once (both timers, or stale deadlines).
            let mut fired: SmallVec<[Armed; 2]> = smallvec![first];
            while let Some((_, more)) = due.next_if(|(next, _)| *next == key) {
                fired.push(more);
            }
            self.call(key, clocks, emit, |logic, held, ctx| {
                // Fire the deadlines the key still holds (the others are stale): they are
                // used up, so the call holds only the others.
                let event = held.event.filter(|at| fired.iter().any(|f| f.event == Some(*at)));
                let processing = held
                    .processing
                    .filter(|at| fired.iter().any(|f| f.processing == Some(*at)));
                let before = Armed {
                    event: held.event.filter(|_| event.is_none()),
                    processing: held.processing.filter(|_| processing.is_none()),
                };
                (event.is_some() || processing.is_some()).then(|| (before, logic.on_timer(ctx)))
            });
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
            let mut keys: Vec<K> = entries.iter().map(|(key, _)| key.clone()).collect();
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
            // Its event deadline is used up (it stays in the timers, stale).
            self.call(key.clone(), clocks, emit, |logic, held, ctx| {
                let before = Armed { event: None, ..held };
                held.event.map(|_| (before, logic.on_timer(ctx)))
            });
            self.call(key, clocks, emit, |logic, held, ctx| {
                Some((held, logic.on_eof(ctx)))
            });
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
        keyed.fire_timers(at(99_999), &mut fuel, &mut |_| {});
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
}
