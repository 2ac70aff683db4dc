//! The timers of a stateful step's keys: per key at most one event-time and one
//! processing-time deadline, bucketed by deadline.
//!
//! Keys share deadlines (every key's window of one event-time range closes at its end), so
//! a deadline holds the keys armed at it: arming one costs an append, and the watermark
//! passing a deadline takes all its keys at once. Re-arming is the hot path (a window step
//! re-arms a key whenever its earliest window changes), so a deadline that is replaced is
//! not removed: it stays, stale, and is dropped when it comes up if its key's entry no
//! longer holds it.

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::{Key, Timestamp};

/// The deadlines of one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Armed {
    pub event: Option<Timestamp>,
    pub processing: Option<SystemTime>,
}

/// Deadlines of one kind of time, each with the keys armed at it (and stale ones).
struct Deadlines<T, K> {
    keys: BTreeMap<T, Vec<K>>,
    len: usize,
}

impl<T: Ord + Copy, K: Key> Deadlines<T, K> {
    fn new() -> Self {
        Deadlines {
            keys: BTreeMap::new(),
            len: 0,
        }
    }

    fn push(&mut self, at: T, key: &K) {
        self.keys.entry(at).or_default().push(key.clone());
        self.len += 1;
    }

    fn first(&self) -> Option<T> {
        self.keys.first_key_value().map(|(at, _)| *at)
    }

    /// Takes up to `fuel` keys armed at deadlines up to `until`, with their deadline,
    /// earliest deadline first (a deadline the fuel splits gives its least keys first).
    fn take_due(&mut self, until: T, fuel: &mut usize, mut take: impl FnMut(K, T)) {
        while *fuel > 0
            && let Some(mut bucket) = self.keys.first_entry()
            && *bucket.key() <= until
        {
            let at = *bucket.key();
            let keys = bucket.get_mut();
            let n = keys.len().min(*fuel);
            if n < keys.len() {
                // Part of the deadline's keys: the least ones, as a heap ordered by
                // (deadline, key) would give them (from the back; sorted runs sort in O(n)).
                keys.sort_unstable_by(|a, b| b.cmp(a));
            }
            for key in keys.drain(keys.len() - n..) {
                take(key, at);
            }
            if keys.is_empty() {
                bucket.remove();
            }
            (*fuel, self.len) = (*fuel - n, self.len - n);
        }
    }

    fn clear(&mut self) {
        self.keys.clear();
        self.len = 0;
    }
}

/// Every key's armed deadlines (and stale ones), earliest first.
pub(crate) struct KeyTimers<K> {
    event: Deadlines<Timestamp, K>,
    processing: Deadlines<SystemTime, K>,
}

impl<K: Key> KeyTimers<K> {
    pub(crate) fn new() -> Self {
        KeyTimers {
            event: Deadlines::new(),
            processing: Deadlines::new(),
        }
    }

    /// Arms the deadlines `key` wants that it does not hold already (nothing to do when
    /// nothing changed: the common case). The ones it held stay, stale.
    pub(crate) fn arm(&mut self, key: &K, held: Armed, wanted: Armed) {
        if wanted.event != held.event
            && let Some(at) = wanted.event
        {
            self.event.push(at, key);
        }
        if wanted.processing != held.processing
            && let Some(at) = wanted.processing
        {
            self.processing.push(at, key);
        }
    }

    /// Takes up to `fuel` due deadlines (one unit each, stale ones included), event ones
    /// first: each key with the deadline that came up. The caller checks each against the
    /// key's armed deadlines: one it no longer holds is stale.
    pub(crate) fn take_due(
        &mut self,
        watermark: Timestamp,
        now: SystemTime,
        fuel: &mut usize,
    ) -> Vec<(K, Armed)> {
        let mut due: Vec<(K, Armed)> = Vec::new();
        self.event.take_due(watermark, fuel, |key, at| {
            let event = Some(at);
            due.push((
                key,
                Armed {
                    event,
                    processing: None,
                },
            ));
        });
        self.processing.take_due(now, fuel, |key, at| {
            let processing = Some(at);
            due.push((
                key,
                Armed {
                    event: None,
                    processing,
                },
            ));
        });
        due
    }

    /// Deadlines held, stale ones included.
    pub(crate) fn len(&self) -> usize {
        self.event.len + self.processing.len
    }

    /// Rebuilds the deadlines from the ones the keys hold, dropping the stale ones (a key
    /// that moves its deadline later on every item would otherwise leave one per item).
    pub(crate) fn rebuild<'a>(&mut self, armed: impl Iterator<Item = (&'a K, Armed)>)
    where
        K: 'a,
    {
        self.event.clear();
        self.processing.clear();
        for (key, armed) in armed {
            if let Some(at) = armed.event {
                self.event.push(at, key);
            }
            if let Some(at) = armed.processing {
                self.processing.push(at, key);
            }
        }
    }

    /// Whether a deadline (perhaps a stale one, which taking drops) is due.
    pub(crate) fn any_due(&self, watermark: Timestamp, now: SystemTime) -> bool {
        self.event.first().is_some_and(|at| at <= watermark)
            || self.processing.first().is_some_and(|at| at <= now)
    }

    /// The earliest processing-time deadline (perhaps a stale one: an early wake-up).
    pub(crate) fn next_processing(&self) -> Option<SystemTime> {
        self.processing.first()
    }
}
