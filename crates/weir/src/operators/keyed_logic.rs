//! The keys of one worker of a stateful step: each key's logic, its timers, and which keys
//! changed in the open epoch (what the stateful core snapshots at the epoch's end).

use std::sync::Arc;
use std::time::SystemTime;

use smallvec::{SmallVec, smallvec};

use crate::operators::changed_keys::ChangedKeys;
use crate::operators::key_table::KeyTable;
use crate::operators::key_timers::{Armed, KeyTimers};
use crate::operators::keyed_process::{Ctx, KeyedProcess};
use crate::operators::keyed_state::{KeyedState, TimedEmit};
use crate::operators::stateful::Retention;
use crate::recovery::encode;
use crate::{BoxError, Epoch, Key, Timestamp};

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
    changed: ChangedKeys<K>,
    /// Keys still to be told the input ended, in reverse key order, once it did.
    ending: Option<Vec<K>>,
}

/// After a call of `key`'s logic: marks the key changed (unless the call left its state and
/// deadlines as they were), arms the deadlines it asks for that it did not hold `before`
/// the call, and says whether it is to be forgotten.
fn settle<K: Key, L: KeyedProcess>(
    key: &K,
    entry: &mut Entry<L>,
    before: Armed,
    retention: Retention,
    timers: &mut KeyTimers<K>,
    dirty_keys: Option<&mut Vec<K>>,
) -> bool {
    let after = wanted(&entry.logic);
    let changed = retention != Retention::Unchanged || after != before;
    if changed
        && let Some(dirty_keys) = dirty_keys
        && !std::mem::replace(&mut entry.dirty, true)
    {
        dirty_keys.push(key.clone());
    }
    if retention != Retention::Discard {
        timers.arm(key, before, after);
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
            changed: ChangedKeys::new(snapshotting),
            ending: None,
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
        self.call(key, clocks, emit, true, |logic, held, ctx| {
            Some((held, logic.on_item(ctx, value)))
        });
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

    /// Calls `logic` on `key` with the deadlines the key holds, if the key is live (or,
    /// with `create`, made live: a new key holds no deadline, whatever its logic asks for);
    /// unless it declined (`None`), emits what it said and settles the key with the
    /// deadlines it held before, as `logic` returned them.
    fn call(
        &mut self,
        key: K,
        clocks: Clocks,
        emit: &mut impl FnMut((K, L::Out)),
        create: bool,
        logic: impl FnOnce(&mut L, Armed, &mut Ctx<'_, L::Out>) -> Option<(Armed, Retention)>,
    ) {
        let (builder, mut new) = (&self.builder, false);
        let entry = match create {
            true => self.entries.get_or_insert_with(&key, || {
                new = true;
                Entry::new(builder(None))
            }),
            false => match self.entries.get_mut(&key) {
                Some(entry) => entry,
                None => return,
            },
        };
        let held = if new {
            Armed::default()
        } else {
            wanted(&entry.logic)
        };
        let ctx = &mut context(&mut self.out, clocks);
        let Some((before, retention)) = logic(&mut entry.logic, held, ctx) else {
            return;
        };
        for value in self.out.drain(..) {
            emit((key.clone(), value));
        }
        if settle(
            &key,
            entry,
            before,
            retention,
            &mut self.timers,
            self.changed.record(),
        ) {
            self.entries.remove(&key);
        }
        self.compact_timers();
    }
}

impl<K, L, B> KeyedState<K, L::In> for KeyedLogic<K, L, B>
where
    K: Key,
    L: KeyedProcess,
    B: Fn(Option<L::State>) -> L + 'static,
{
    type Out = L::Out;
    type State = L::State;

    /// Rebuilds a key from its snapshot, timers included.
    fn restore(&mut self, key: K, state: L::State) {
        let mut entry = Entry::new((self.builder)(Some(state)));
        let nothing = Armed::default();
        settle(&key, &mut entry, nothing, Retention::Keep, &mut self.timers, None);
        self.entries.insert(key, entry);
    }

    /// Applies a batch of values in order, their keys warmed first: with more keys than the
    /// cache holds, cache misses are what items cost.
    fn on_batch(&mut self, batch: Vec<(K, L::In)>, clocks: Clocks, emit: &mut impl FnMut((K, L::Out))) {
        self.warm(batch.iter().map(|(key, _)| key));
        for (key, value) in batch {
            self.on_item(key, value, clocks, emit);
        }
    }

    /// Calls `on_timer` once for each key whose event timer the watermark reached or whose
    /// processing timer `now` reached, at most `fuel` keys (one unit each), in key order.
    /// The due keys are taken before any is called, so a key that re-arms a timer that is
    /// already due fires again on the next call, not in this one.
    fn fire_timers(&mut self, clocks: Clocks, fuel: &mut usize, emit: &mut TimedEmit<'_, K, L::Out>) {
        let emit = &mut |item| emit(None, item);
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
            self.call(key, clocks, emit, false, |logic, held, ctx| {
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
    fn finish(&mut self, clocks: Clocks, fuel: &mut usize, emit: &mut TimedEmit<'_, K, L::Out>) -> bool {
        let emit = &mut |item| emit(None, item);
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
            self.call(key.clone(), clocks, emit, false, |logic, held, ctx| {
                let before = Armed { event: None, ..held };
                held.event.map(|_| (before, logic.on_timer(ctx)))
            });
            self.call(key, clocks, emit, false, |logic, held, ctx| {
                Some((held, logic.on_eof(ctx)))
            });
        }
        done
    }

    /// Whether a timer is due under `clocks`.
    fn timer_due(&self, clocks: Clocks) -> bool {
        self.timers.any_due(clocks.watermark, clocks.now)
    }

    /// The earliest processing-time timer.
    fn next_processing_timer(&self) -> Option<SystemTime> {
        self.timers.next_processing()
    }

    fn changed(&mut self) -> &mut ChangedKeys<K> {
        &mut self.changed
    }

    fn key_snapshot(&mut self, key: &K) -> Result<Option<Vec<u8>>, BoxError> {
        match self.entries.get_mut(key) {
            Some(entry) => {
                entry.dirty = false;
                Ok(Some(encode(&entry.logic.snapshot())?))
            }
            None => Ok(None),
        }
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
#[path = "keyed_logic_tests.rs"]
mod tests;
