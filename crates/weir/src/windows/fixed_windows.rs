//! Tumbling and sliding windows of every key of one worker, held per window: each open
//! window maps its keys to their accumulators.
//!
//! Fixed windows close for all keys at once, when the watermark reaches their end. Held
//! per window, an item costs one look-up in its window's map (which, holding only that
//! window's keys, stays small enough for the cache), and a window closes by draining its
//! map in memory order, with no timer per key. Sessions, whose bounds are per key, run per
//! key ([`KeyWindows`](crate::windows::key_windows::KeyWindows)). Both snapshot a key's
//! open windows in one form, [`OpenWindows`].

use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::time::SystemTime;

use rustc_hash::FxHashMap;

use crate::operators::{ChangedKeys, Clocks, KeyedState, TimedEmit};
use crate::recovery::encode;
use crate::windows::key_windows::{OpenWindows, WindowEvent, WindowWorker};
use crate::windows::{Late, Window, WindowMeta};
use crate::{BoxError, Data, Key, Timestamp};

/// An open window: its keys' accumulators, each with whether it changed in the open epoch,
/// and the most keys it held when it started closing.
struct Open<K, A> {
    window: Window,
    keys: FxHashMap<K, (A, bool)>,
    held: usize,
}

/// The order windows close in: by end (then start; windows restored from a run with
/// another length need not end in the order they start).
fn closing_order(window: &Window) -> (Timestamp, Timestamp) {
    (window.end, window.start)
}

/// The fixed windows of one worker of a window step.
pub(crate) struct FixedWindows<K, V, A, R> {
    worker: Arc<WindowWorker<V, A, R>>,
    /// In their closing order.
    open: Vec<Open<K, A>>,
    /// The map of the last window to close, empty, kept for the next to open (sized for
    /// the keys it held: one burst of keys does not make every later window large).
    spare: Option<FxHashMap<K, (A, bool)>>,
    changed: ChangedKeys<K>,
}

impl<K: Key, V: Data, A: Data, R: Data> FixedWindows<K, V, A, R> {
    pub(crate) fn new(worker: Arc<WindowWorker<V, A, R>>, snapshotting: bool) -> Self {
        FixedWindows {
            worker,
            open: Vec::new(),
            spare: None,
            changed: ChangedKeys::new(snapshotting),
        }
    }

    /// The open `window`, opened if it is not.
    fn window(&mut self, window: Window) -> &mut Open<K, A> {
        // In-order data mostly hits the latest window: look there first.
        let at = match self.open.last() {
            Some(last) if last.window == window => self.open.len() - 1,
            _ => self
                .open
                .partition_point(|open| closing_order(&open.window) < closing_order(&window)),
        };
        if self.open.get(at).is_none_or(|open| open.window != window) {
            let keys = self.spare.take().unwrap_or_default();
            self.open.insert(
                at,
                Open {
                    window,
                    keys,
                    held: 0,
                },
            );
        }
        &mut self.open[at]
    }

    /// Folds `value` into `key`'s accumulator of `window`.
    fn fold(
        &mut self,
        key: K,
        window: Window,
        value: V,
        ts: Timestamp,
        emit: &mut impl FnMut((K, WindowEvent<R, V>)),
    ) {
        let worker = self.worker.clone();
        let snapshotting = self.changed.record().is_some();
        let mut first_change = None;
        match self.window(window).keys.entry(key) {
            Entry::Occupied(mut entry) => {
                let (acc, changed) = entry.get_mut();
                (worker.spec.fold)(acc, value, ts);
                if snapshotting && !std::mem::replace(changed, true) {
                    first_change = Some(entry.key().clone());
                }
            }
            Entry::Vacant(entry) => {
                if worker.meta {
                    emit((entry.key().clone(), WindowEvent::Meta(WindowMeta::Opened(window))));
                }
                if snapshotting {
                    first_change = Some(entry.key().clone());
                }
                let mut acc = (worker.spec.init)();
                (worker.spec.fold)(&mut acc, value, ts);
                entry.insert((acc, snapshotting));
            }
        }
        if let (Some(key), Some(record)) = (first_change, self.changed.record()) {
            record.push(key);
        }
    }

    /// Folds `value` into each of its windows still open (the last one takes it by value);
    /// reports the ones already closed.
    fn on_item(
        &mut self,
        key: K,
        value: V,
        watermark: Timestamp,
        emit: &mut impl FnMut((K, WindowEvent<R, V>)),
    ) {
        let ts = (self.worker.spec.timestamp)(&value);
        let mut missed = Vec::new();
        let mut pending: Option<Window> = None;
        for window in self.worker.spec.windower.fixed_windows(ts) {
            if window.end <= watermark {
                missed.push(window);
            } else if let Some(previous) = pending.replace(window) {
                self.fold(key.clone(), previous, value.clone(), ts, emit);
            }
        }
        if !missed.is_empty() {
            let late = Late {
                value: value.clone(),
                timestamp: ts,
                missed,
            };
            emit((key.clone(), WindowEvent::Late(late)));
        }
        if let Some(last) = pending {
            self.fold(key, last, value, ts, emit);
        }
    }

    /// Closes the windows whose end is at most `until`, in order, one unit of `fuel` per
    /// key's window. A window's results happen at its last millisecond, `end - 1`.
    fn close(&mut self, until: Timestamp, fuel: &mut usize, emit: &mut TimedEmit<'_, K, WindowEvent<R, V>>) {
        let worker = self.worker.clone();
        while *fuel > 0
            && let Some(first) = self.open.first_mut()
            && first.window.end <= until
        {
            let window = first.window;
            let at = Some(window.end - 1);
            first.held = first.held.max(first.keys.len());
            let mut record = self.changed.record();
            // (An `ExtractIf` dropped early keeps the rest.)
            for (key, (acc, _)) in first.keys.extract_if(|_, _| true).take(*fuel) {
                *fuel -= 1;
                if let Some(record) = record.as_mut() {
                    record.push(key.clone());
                }
                let result = (worker.spec.finish)(acc, &window);
                if worker.meta {
                    emit(at, (key.clone(), WindowEvent::Result(window, result)));
                    emit(at, (key, WindowEvent::Meta(WindowMeta::Closed(window))));
                } else {
                    emit(at, (key, WindowEvent::Result(window, result)));
                }
            }
            if first.keys.is_empty() {
                let Open { mut keys, held, .. } = self.open.remove(0);
                keys.shrink_to(held);
                self.spare = Some(keys);
            }
        }
    }

    /// `key`'s open windows, which no longer count as changed.
    fn open_windows(&mut self, key: &K) -> OpenWindows<A> {
        let windows = self.open.iter_mut().filter_map(|open| {
            let (acc, changed) = open.keys.get_mut(key)?;
            *changed = false;
            Some((open.window, acc.clone()))
        });
        OpenWindows::from_windows(windows)
    }
}

impl<K: Key, V: Data, A: Data, R: Data> KeyedState<K, V> for FixedWindows<K, V, A, R> {
    type Out = WindowEvent<R, V>;
    type State = OpenWindows<A>;

    fn restore(&mut self, key: K, state: OpenWindows<A>) {
        for (window, acc) in state.into_windows() {
            self.window(window).keys.insert(key.clone(), (acc, false));
        }
    }

    fn on_batch(&mut self, batch: Vec<(K, V)>, clocks: Clocks, emit: &mut impl FnMut((K, Self::Out))) {
        for (key, value) in batch {
            self.on_item(key, value, clocks.watermark, emit);
        }
    }

    fn timer_due(&self, clocks: Clocks) -> bool {
        self.open
            .first()
            .is_some_and(|open| open.window.end <= clocks.watermark)
    }

    fn fire_timers(&mut self, clocks: Clocks, fuel: &mut usize, emit: &mut TimedEmit<'_, K, Self::Out>) {
        self.close(clocks.watermark, fuel, emit);
    }

    /// The first open window's last millisecond: its results happen then.
    fn output_hold(&self) -> Option<Timestamp> {
        self.open.first().map(|open| open.window.end - 1)
    }

    fn next_processing_timer(&self) -> Option<SystemTime> {
        None
    }

    /// The input ended, and with it event time: every window closes.
    fn finish(&mut self, _: Clocks, fuel: &mut usize, emit: &mut TimedEmit<'_, K, Self::Out>) -> bool {
        self.close(Timestamp::MAX, fuel, emit);
        self.open.is_empty()
    }

    fn changed(&mut self) -> &mut ChangedKeys<K> {
        &mut self.changed
    }

    fn key_snapshot(&mut self, key: &K) -> Result<Option<Vec<u8>>, BoxError> {
        let windows = self.open_windows(key);
        match windows.is_empty() {
            true => Ok(None),
            false => Ok(Some(encode(&windows)?)),
        }
    }
}

#[cfg(test)]
#[path = "fixed_windows_tests.rs"]
mod tests;
