//! The keys of one worker of a stateful step: each key's logic, its timer, and which keys
//! changed in the open epoch (what the stateful core snapshots at the epoch's end).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use crate::operators::stateful::{Retention, StatefulLogic};
use crate::recovery::{SnapshotRow, encode};
use crate::{BoxError, Epoch};

/// The snapshots of an epoch that just completed, if any.
pub(crate) type SnapshotsDone = Result<Option<(Epoch, Vec<SnapshotRow>)>, BoxError>;

/// One key's logic, its pending timer, and whether it changed in the open epoch.
struct Entry<L> {
    logic: L,
    timer: Option<SystemTime>,
    dirty: bool,
}

/// All keys of one worker of a stateful step.
pub(crate) struct KeyedLogic<L: StatefulLogic, B> {
    builder: Arc<B>,
    entries: HashMap<String, Entry<L>>,
    timers: BTreeSet<(SystemTime, String)>,
    out: Vec<L::Out>,
    /// Keys changed (or deleted) in `dirty_epoch`, when snapshotting.
    dirty_keys: Vec<String>,
    dirty_epoch: Option<Epoch>,
    snapshotting: bool,
}

impl<L, B> KeyedLogic<L, B>
where
    L: StatefulLogic,
    B: Fn(Option<L::State>) -> L,
{
    pub(crate) fn new(builder: Arc<B>, snapshotting: bool) -> Self {
        KeyedLogic {
            builder,
            entries: HashMap::new(),
            timers: BTreeSet::new(),
            out: Vec::new(),
            dirty_keys: Vec::new(),
            dirty_epoch: None,
            snapshotting,
        }
    }

    /// Rebuilds a key from its snapshot, timer included.
    pub(crate) fn restore(&mut self, key: String, state: L::State) {
        let logic = (self.builder)(Some(state));
        let timer = logic.notify_at();
        if let Some(at) = timer {
            self.timers.insert((at, key.clone()));
        }
        self.entries.insert(
            key,
            Entry {
                logic,
                timer,
                dirty: false,
            },
        );
    }

    pub(crate) fn on_item(&mut self, key: String, value: L::In, emit: &mut impl FnMut((String, L::Out))) {
        let entry = match self.entries.get_mut(&key) {
            Some(entry) => entry,
            None => self.entries.entry(key.clone()).or_insert_with(|| Entry {
                logic: (self.builder)(None),
                timer: None,
                dirty: false,
            }),
        };
        let retention = entry.logic.on_item(value, &mut self.out);
        self.after_call(key, retention, emit);
    }

    /// Calls `on_notify` once for each key whose timer is at or before `now`, at most
    /// `fuel` keys (one unit each). The due keys are taken before any is called, so a key
    /// that re-arms a deadline in the past fires again on the next call, not in this one.
    pub(crate) fn fire_timers(
        &mut self,
        now: SystemTime,
        fuel: &mut usize,
        emit: &mut impl FnMut((String, L::Out)),
    ) {
        let mut due = Vec::new();
        while *fuel > 0
            && let Some((at, _)) = self.timers.first()
            && *at <= now
        {
            let (_, key) = self.timers.pop_first().expect("checked above");
            let entry = self.entries.get_mut(&key).expect("a timer belongs to a live key");
            entry.timer = None;
            due.push(key);
            *fuel -= 1;
        }
        for key in due {
            let entry = self
                .entries
                .get_mut(&key)
                .expect("a due key is live until it is called");
            let retention = entry.logic.on_notify(&mut self.out);
            self.after_call(key, retention, emit);
        }
    }

    /// Calls `on_eof` for every key, in key order.
    pub(crate) fn finish(&mut self, emit: &mut impl FnMut((String, L::Out))) {
        let mut keys: Vec<String> = self.entries.keys().cloned().collect();
        keys.sort();
        for key in keys {
            let entry = self.entries.get_mut(&key).expect("listed above");
            let retention = entry.logic.on_eof(&mut self.out);
            self.after_call(key, retention, emit);
        }
    }

    fn after_call(&mut self, key: String, retention: Retention, emit: &mut impl FnMut((String, L::Out))) {
        for value in self.out.drain(..) {
            emit((key.clone(), value));
        }
        let entry = self.entries.get_mut(&key).expect("the key was just used");
        if self.snapshotting && !std::mem::replace(&mut entry.dirty, true) {
            self.dirty_keys.push(key.clone());
        }
        let wanted = match retention {
            Retention::Keep => entry.logic.notify_at(),
            Retention::Discard => None,
        };
        if wanted != entry.timer {
            if let Some(old) = entry.timer.take() {
                self.timers.remove(&(old, key.clone()));
            }
            if let Some(at) = wanted {
                self.timers.insert((at, key.clone()));
            }
            entry.timer = wanted;
        }
        if retention == Retention::Discard {
            self.entries.remove(&key);
        }
    }

    pub(crate) fn next_timer(&self) -> Option<SystemTime> {
        self.timers.first().map(|(at, _)| *at)
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
                Ok((step.to_owned(), key, value))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        keyed: &mut KeyedLogic<PastDeadline, impl Fn(Option<u32>) -> PastDeadline>,
        fuel: &mut usize,
    ) -> Vec<(String, u32)> {
        let mut fired = Vec::new();
        keyed.fire_timers(SystemTime::now(), fuel, &mut |item| fired.push(item));
        fired
    }

    fn snapshotted_keys(rows: SnapshotsDone) -> Vec<String> {
        let (_, rows) = rows.unwrap().expect("an epoch closed");
        rows.into_iter().map(|(_, key, _)| key).collect()
    }

    #[test]
    fn due_timers_fire_once_per_call_within_the_fuel_and_mark_keys_dirty() {
        let mut keyed = KeyedLogic::new(Arc::new(|s: Option<u32>| PastDeadline(s.unwrap_or(0))), true);
        keyed.enter_epoch(0, "s").unwrap();
        for key in ["a", "b", "c"] {
            keyed.on_item(key.into(), (), &mut |_| {});
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
        assert_eq!(keyed.next_timer(), Some(SystemTime::UNIX_EPOCH));
    }
}
