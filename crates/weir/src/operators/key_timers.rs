//! The timers of a stateful step's keys: per key at most one event-time and one
//! processing-time deadline, in two heaps ordered by deadline.
//!
//! Re-arming is the hot path (a window step re-arms a key whenever its earliest window
//! changes), so a deadline that is replaced is not removed from its heap: it stays there,
//! stale, and is dropped when it comes up if its key's entry no longer holds it.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::SystemTime;

use crate::{Key, Timestamp};

/// The deadlines one key has armed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Armed {
    pub event: Option<Timestamp>,
    pub processing: Option<SystemTime>,
}

/// Every key's armed deadlines (and stale ones), earliest first.
pub(crate) struct KeyTimers<K> {
    event: BinaryHeap<Reverse<(Timestamp, K)>>,
    processing: BinaryHeap<Reverse<(SystemTime, K)>>,
}

impl<K: Key> KeyTimers<K> {
    pub(crate) fn new() -> Self {
        KeyTimers {
            event: BinaryHeap::new(),
            processing: BinaryHeap::new(),
        }
    }

    /// Re-arms `key` from `armed` to `wanted` (nothing to do when nothing changed: the
    /// common case).
    pub(crate) fn set(&mut self, key: &K, armed: &mut Armed, wanted: Armed) {
        if wanted.event != armed.event
            && let Some(at) = wanted.event
        {
            self.event.push(Reverse((at, key.clone())));
        }
        if wanted.processing != armed.processing
            && let Some(at) = wanted.processing
        {
            self.processing.push(Reverse((at, key.clone())));
        }
        *armed = wanted;
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
        while *fuel > 0
            && let Some(Reverse((at, _))) = self.event.peek()
            && *at <= watermark
        {
            let Reverse((at, key)) = self.event.pop().expect("checked above");
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
            && let Some(Reverse((at, _))) = self.processing.peek()
            && *at <= now
        {
            let Reverse((at, key)) = self.processing.pop().expect("checked above");
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

    /// Entries in the heaps, stale ones included.
    pub(crate) fn len(&self) -> usize {
        self.event.len() + self.processing.len()
    }

    /// Rebuilds the heaps from the deadlines the keys hold, dropping the stale ones (a key
    /// that moves its deadline later on every item would otherwise leave one per item).
    pub(crate) fn rebuild<'a>(&mut self, armed: impl Iterator<Item = (&'a K, &'a Armed)>)
    where
        K: 'a,
    {
        self.event.clear();
        self.processing.clear();
        for (key, armed) in armed {
            if let Some(at) = armed.event {
                self.event.push(Reverse((at, key.clone())));
            }
            if let Some(at) = armed.processing {
                self.processing.push(Reverse((at, key.clone())));
            }
        }
    }

    /// Whether a deadline (perhaps a stale one, which taking drops) is due.
    pub(crate) fn any_due(&self, watermark: Timestamp, now: SystemTime) -> bool {
        self.event.peek().is_some_and(|Reverse((at, _))| *at <= watermark)
            || self.processing.peek().is_some_and(|Reverse((at, _))| *at <= now)
    }

    /// The earliest processing-time deadline (perhaps a stale one: an early wake-up).
    pub(crate) fn next_processing(&self) -> Option<SystemTime> {
        self.processing.peek().map(|Reverse((at, _))| *at)
    }
}
