//! A view's boundary collection on one worker: per key, the consolidated contents that
//! entered the view from weir. It is what the boundary step snapshots, and what it hands
//! back on resume to recompute the view from.

use std::time::SystemTime;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::operators::{ChangedKeys, Clocks, KeyTable, KeyedState, TimedEmit};
use crate::recovery::encode;
use crate::{BoxError, Key};

/// One key's contents, and how an item changes them.
pub(crate) trait Contents<V>: Serialize + DeserializeOwned + Default + 'static {
    /// What the boundary step receives for a key.
    type Item;

    /// Applies `item`; emits the changes it makes to the view, `(value, diff)`.
    fn apply(&mut self, item: Self::Item, emit: impl FnMut((V, isize)));

    /// Whether nothing is left (the key is forgotten, and deleted from the store).
    fn is_empty(&self) -> bool;

    /// The contents as changes from nothing.
    fn changes(&self) -> Vec<(V, isize)>;
}

/// A table's key: its one live value; an item upserts (`Some`) or deletes (`None`) it.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Row<V>(Option<V>);

impl<V> Default for Row<V> {
    fn default() -> Self {
        Row(None)
    }
}

impl<V: Clone + Serialize + DeserializeOwned + 'static> Contents<V> for Row<V> {
    type Item = Option<V>;

    fn apply(&mut self, item: Option<V>, mut emit: impl FnMut((V, isize))) {
        if let Some(old) = self.0.take() {
            emit((old, -1));
        }
        if let Some(new) = item {
            emit((new.clone(), 1));
            self.0 = Some(new);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    fn changes(&self) -> Vec<(V, isize)> {
        self.0.iter().map(|value| (value.clone(), 1)).collect()
    }
}

/// A collection's key: its values with their multiplicities (sorted by value, none zero);
/// an item is a `(value, diff)` change.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Bag<V>(Vec<(V, isize)>);

impl<V> Default for Bag<V> {
    fn default() -> Self {
        Bag(Vec::new())
    }
}

impl<V: Ord + Clone + Serialize + DeserializeOwned + 'static> Contents<V> for Bag<V> {
    type Item = (V, isize);

    fn apply(&mut self, (value, diff): (V, isize), mut emit: impl FnMut((V, isize))) {
        if diff == 0 {
            return;
        }
        match self.0.binary_search_by(|(held, _)| held.cmp(&value)) {
            Ok(at) => {
                self.0[at].1 += diff;
                if self.0[at].1 == 0 {
                    self.0.remove(at);
                }
            }
            Err(at) => self.0.insert(at, (value.clone(), diff)),
        }
        emit((value, diff));
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn changes(&self) -> Vec<(V, isize)> {
        self.0.clone()
    }
}

/// One key's contents, and whether they changed since its last snapshot (so a key
/// updated many times in an epoch is recorded as changed once).
#[derive(Default)]
struct Held<C> {
    contents: C,
    dirty: bool,
}

/// The boundary collection's keys on one worker, as the stateful core drives them; each
/// received `In` is made a contents item by `item` (an insertion becomes a `+1` change).
pub(crate) struct ViewInput<K, V, C: Contents<V>, In> {
    keys: KeyTable<K, Held<C>>,
    changed: ChangedKeys<K>,
    restored: Vec<(K, (V, isize))>,
    item: fn(In) -> C::Item,
}

impl<K: Key, V, C: Contents<V>, In> ViewInput<K, V, C, In> {
    pub(crate) fn new(snapshotting: bool, item: fn(In) -> C::Item) -> Self {
        ViewInput {
            keys: KeyTable::new(),
            changed: ChangedKeys::new(snapshotting),
            restored: Vec::new(),
            item,
        }
    }
}

impl<K: Key, V: 'static, C: Contents<V>, In: 'static> KeyedState<K, In> for ViewInput<K, V, C, In> {
    type Out = (V, isize);
    type State = C;

    fn restore(&mut self, key: K, contents: C) {
        let changes = contents.changes().into_iter();
        self.restored.extend(changes.map(|change| (key.clone(), change)));
        let dirty = false;
        self.keys.insert(key, Held { contents, dirty });
    }

    fn on_batch(&mut self, batch: Vec<(K, In)>, _: Clocks, emit: &mut impl FnMut((K, (V, isize)))) {
        for (key, received) in batch {
            let item = (self.item)(received);
            let held = self.keys.get_or_insert_with(&key, Held::default);
            held.contents.apply(item, |change| emit((key.clone(), change)));
            let recorded = std::mem::replace(&mut held.dirty, true);
            if held.contents.is_empty() {
                self.keys.remove(&key);
            }
            if !recorded && let Some(changed) = self.changed.record() {
                changed.push(key);
            }
        }
    }

    fn timer_due(&self, _: Clocks) -> bool {
        false
    }

    fn fire_timers(&mut self, _: Clocks, _: &mut usize, _: &mut TimedEmit<'_, K, (V, isize)>) {}

    fn next_processing_timer(&self) -> Option<SystemTime> {
        None
    }

    fn finish(&mut self, _: Clocks, _: &mut usize, _: &mut TimedEmit<'_, K, (V, isize)>) -> bool {
        true
    }

    fn take_restored(&mut self) -> Vec<(K, (V, isize))> {
        std::mem::take(&mut self.restored)
    }

    fn changed(&mut self) -> &mut ChangedKeys<K> {
        &mut self.changed
    }

    fn key_snapshot(&mut self, key: &K) -> Result<Option<Vec<u8>>, BoxError> {
        let Some(held) = self.keys.get_mut(key) else {
            return Ok(None);
        };
        held.dirty = false;
        encode(&held.contents).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied<V, C: Contents<V>>(contents: &mut C, item: C::Item) -> Vec<(V, isize)> {
        let mut changes = Vec::new();
        contents.apply(item, |change| changes.push(change));
        changes
    }

    #[test]
    fn a_row_retracts_its_old_value_on_upsert_and_delete() {
        let mut row = Row::default();
        assert_eq!(applied(&mut row, Some(1)), [(1, 1)]);
        assert_eq!(applied(&mut row, Some(2)), [(1, -1), (2, 1)]);
        assert_eq!(row.changes(), [(2, 1)]);
        assert_eq!(applied(&mut row, None), [(2, -1)]);
        assert!(row.is_empty());
        assert_eq!(applied(&mut row, None), [], "deleting nothing changes nothing");
    }

    #[test]
    fn a_bag_keeps_multiplicities_and_drops_values_at_zero() {
        let mut bag = Bag::default();
        assert_eq!(applied(&mut bag, (2u8, 2)), [(2, 2)]);
        assert_eq!(applied(&mut bag, (1, 1)), [(1, 1)]);
        assert_eq!(applied(&mut bag, (2, -2)), [(2, -2)]);
        assert_eq!(applied(&mut bag, (1, 0)), []);
        assert_eq!(bag.changes(), [(1, 1)]);
        assert_eq!(applied(&mut bag, (1, -1)), [(1, -1)]);
        assert!(bag.is_empty());
    }
}
