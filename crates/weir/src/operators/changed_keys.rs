//! Which keys of a stateful step changed in the open epoch: the ones it snapshots once the
//! epoch is complete.

use crate::recovery::SnapshotRow;
use crate::{BoxError, Epoch, Key};

/// The snapshots of an epoch that just completed, if any.
pub(crate) type SnapshotsDone = Result<Option<(Epoch, Vec<SnapshotRow>)>, BoxError>;

/// The keys changed (or deleted) in the open epoch, when the step snapshots.
pub(crate) struct ChangedKeys<K> {
    keys: Vec<K>,
    epoch: Option<Epoch>,
    snapshotting: bool,
}

impl<K: Key> ChangedKeys<K> {
    pub(crate) fn new(snapshotting: bool) -> Self {
        ChangedKeys {
            keys: Vec::new(),
            epoch: None,
            snapshotting,
        }
    }

    /// Where to record a changed key (a key may be recorded more than once): `None` when
    /// the step does not snapshot.
    pub(crate) fn record(&mut self) -> Option<&mut Vec<K>> {
        self.snapshotting.then_some(&mut self.keys)
    }

    /// Starts changing state in `epoch`; first returns an earlier epoch that is complete
    /// and its changed keys (their state must be captured before later items apply).
    pub(crate) fn enter(&mut self, epoch: Epoch) -> Option<(Epoch, Vec<K>)> {
        let done = self.epoch.filter(|open| *open < epoch).map(|_| self.take());
        if self.snapshotting {
            self.epoch = Some(epoch);
        }
        done
    }

    /// The open epoch and its changed keys if the frontier has passed it.
    pub(crate) fn close_before(&mut self, frontier: Option<Epoch>) -> Option<(Epoch, Vec<K>)> {
        let passed = self.epoch.is_some_and(|open| frontier.is_none_or(|f| f > open));
        passed.then(|| self.take())
    }

    /// The open epoch and its changed keys, sorted and each once.
    fn take(&mut self) -> (Epoch, Vec<K>) {
        let epoch = self.epoch.take().expect("an epoch is open");
        let mut keys = std::mem::take(&mut self.keys);
        keys.sort_unstable();
        keys.dedup();
        (epoch, keys)
    }
}

/// The snapshot rows of `keys` changed in `epoch`, each with its `state` (`None`: deleted).
pub(crate) fn snapshot_rows<K: Key>(
    step: &str,
    done: Option<(Epoch, Vec<K>)>,
    mut state: impl FnMut(&K) -> Result<Option<Vec<u8>>, BoxError>,
) -> SnapshotsDone {
    let Some((epoch, keys)) = done else {
        return Ok(None);
    };
    let rows = keys
        .iter()
        .map(|key| Ok((step.to_owned(), key.text(), state(key)?)));
    Ok(Some((epoch, rows.collect::<Result<_, BoxError>>()?)))
}
