//! `KeyedState`: the keys of one worker of a stateful step, as the stateful core drives
//! them. The core owns epochs, watermarks, the work bound and snapshots; the state owns
//! how keys are held and when they fire.

use std::time::SystemTime;

use serde::de::DeserializeOwned;

use crate::operators::changed_keys::{ChangedKeys, SnapshotsDone, snapshot_rows};
use crate::operators::keyed_logic::Clocks;
use crate::{BoxError, Epoch, Key, Timestamp};

/// Where a state sends what its timers emit: each item with the event time it happens at
/// (`None`: the time of the call), sent at that watermark.
pub(crate) type TimedEmit<'a, K, O> = dyn FnMut(Option<Timestamp>, (K, O)) + 'a;

/// The keys of one worker of a stateful step.
pub(crate) trait KeyedState<K: Key, V>: 'static {
    /// What the step emits, with a key.
    type Out;
    /// One key's snapshot.
    type State: DeserializeOwned;

    /// Rebuilds a key from its snapshot.
    fn restore(&mut self, key: K, state: Self::State);

    /// Applies a batch of values, in order.
    fn on_batch(&mut self, batch: Vec<(K, V)>, clocks: Clocks, emit: &mut impl FnMut((K, Self::Out)));

    /// Whether a timer is due under `clocks`.
    fn timer_due(&self, clocks: Clocks) -> bool;

    /// Fires the timers due under `clocks`, one unit of `fuel` each, as far as it goes.
    fn fire_timers(&mut self, clocks: Clocks, fuel: &mut usize, emit: &mut TimedEmit<'_, K, Self::Out>);

    /// The earliest processing-time timer.
    fn next_processing_timer(&self) -> Option<SystemTime>;

    /// At the end of the input, closes out every key, one unit of `fuel` each, as far as it
    /// goes: `true` once every key was.
    fn finish(&mut self, clocks: Clocks, fuel: &mut usize, emit: &mut TimedEmit<'_, K, Self::Out>) -> bool;

    /// The least event time at which a timer may still emit (see [`TimedEmit`]): the core
    /// holds its output's watermark there, so what it emits then is not behind it.
    fn output_hold(&self) -> Option<Timestamp> {
        None
    }

    /// What the keys restored so far stand for, for steps downstream that recompute from
    /// them (a view's boundary hands back its contents): the core emits it at the resume
    /// epoch, before anything else. Empty for every other state.
    fn take_restored(&mut self) -> Vec<(K, Self::Out)> {
        Vec::new()
    }

    /// The keys changed in the open epoch.
    fn changed(&mut self) -> &mut ChangedKeys<K>;

    /// A changed key's snapshot, its encoded state (`None`: it has none, delete it); the key
    /// no longer counts as changed.
    fn key_snapshot(&mut self, key: &K) -> Result<Option<Vec<u8>>, BoxError>;

    /// Starts changing state in `epoch`; first returns the snapshots of an earlier epoch
    /// that is complete (its keys' state must be captured before later items apply).
    fn enter_epoch(&mut self, epoch: Epoch, step: &str) -> SnapshotsDone {
        let done = self.changed().enter(epoch);
        snapshot_rows(step, done, |key| self.key_snapshot(key))
    }

    /// The snapshots of the open epoch if the frontier has passed it.
    fn close_epoch_before(&mut self, frontier: Option<Epoch>, step: &str) -> SnapshotsDone {
        let done = self.changed().close_before(frontier);
        snapshot_rows(step, done, |key| self.key_snapshot(key))
    }
}
