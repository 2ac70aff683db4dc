//! The timers of a stateful step's keys: per key at most one event-time and one
//! processing-time deadline, and both sets ordered by deadline.

use std::collections::BTreeSet;
use std::time::SystemTime;

use crate::{Key, Timestamp};

/// The deadlines one key has armed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Armed {
    pub event: Option<Timestamp>,
    pub processing: Option<SystemTime>,
}

/// Every key's armed deadlines, by deadline.
pub(crate) struct KeyTimers<K> {
    event: BTreeSet<(Timestamp, K)>,
    processing: BTreeSet<(SystemTime, K)>,
}

impl<K: Key> KeyTimers<K> {
    pub(crate) fn new() -> Self {
        KeyTimers {
            event: BTreeSet::new(),
            processing: BTreeSet::new(),
        }
    }

    /// Re-arms `key` from `armed` to `wanted` (cheap when nothing changed: the common case).
    pub(crate) fn set(&mut self, key: &K, armed: &mut Armed, wanted: Armed) {
        if wanted.event != armed.event {
            if let Some(old) = armed.event {
                self.event.remove(&(old, key.clone()));
            }
            if let Some(at) = wanted.event {
                self.event.insert((at, key.clone()));
            }
        }
        if wanted.processing != armed.processing {
            if let Some(old) = armed.processing {
                self.processing.remove(&(old, key.clone()));
            }
            if let Some(at) = wanted.processing {
                self.processing.insert((at, key.clone()));
            }
        }
        *armed = wanted;
    }

    /// Takes up to `fuel` due deadlines (one unit each), event ones first: the keys, in
    /// the order taken, each with which of its deadlines was due.
    pub(crate) fn take_due(
        &mut self,
        watermark: Timestamp,
        now: SystemTime,
        fuel: &mut usize,
    ) -> Vec<(K, Armed)> {
        let mut due: Vec<(K, Armed)> = Vec::new();
        while *fuel > 0
            && let Some((at, _)) = self.event.first()
            && *at <= watermark
        {
            let (at, key) = self.event.pop_first().expect("checked above");
            due.push((
                key,
                Armed {
                    event: Some(at),
                    processing: None,
                },
            ));
            *fuel -= 1;
        }
        while *fuel > 0
            && let Some((at, _)) = self.processing.first()
            && *at <= now
        {
            let (at, key) = self.processing.pop_first().expect("checked above");
            due.push((
                key,
                Armed {
                    event: None,
                    processing: Some(at),
                },
            ));
            *fuel -= 1;
        }
        due
    }

    /// Forgets `key`'s event deadline `at` (it is being fired by hand).
    pub(crate) fn remove_event(&mut self, key: &K, at: Timestamp) {
        self.event.remove(&(at, key.clone()));
    }

    /// Whether a deadline is due.
    pub(crate) fn any_due(&self, watermark: Timestamp, now: SystemTime) -> bool {
        self.event.first().is_some_and(|(at, _)| *at <= watermark)
            || self.processing.first().is_some_and(|(at, _)| *at <= now)
    }

    /// The earliest processing-time deadline.
    pub(crate) fn next_processing(&self) -> Option<SystemTime> {
        self.processing.first().map(|(at, _)| *at)
    }
}
