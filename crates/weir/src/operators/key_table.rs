//! The keys of one worker of a stateful step and their entries, one slot each, aligned to
//! a cache line.
//!
//! Keyed state is read at random: with more keys than the cache holds, every item costs a
//! miss on its key's slot. A slot that starts on a cache line spans as few lines as its size
//! allows (a 128-byte slot: two, not three), so the miss is paid once per line, not more.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::FxBuildHasher;

use crate::Key;

/// A key and its value, in this order: the key is compared first, and the start of the
/// value is on its cache line.
#[repr(C, align(64))]
struct Slot<K, V> {
    key: K,
    value: V,
}

/// A map from keys to values, in slots aligned to cache lines.
pub(crate) struct KeyTable<K, V> {
    slots: HashTable<Slot<K, V>>,
}

fn hash<K: Key>(key: &K) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl<K: Key, V> KeyTable<K, V> {
    pub(crate) fn new() -> Self {
        KeyTable {
            slots: HashTable::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        let slot = self.slots.find(hash(key), |slot| slot.key == *key)?;
        Some(&slot.value)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let slot = self.slots.find_mut(hash(key), |slot| slot.key == *key)?;
        Some(&mut slot.value)
    }

    fn entry(&mut self, key: &K) -> Entry<'_, Slot<K, V>> {
        self.slots
            .entry(hash(key), |slot| slot.key == *key, |slot| hash(&slot.key))
    }

    /// `key`'s value, made by `make` if it has none: one look-up either way.
    pub(crate) fn get_or_insert_with(&mut self, key: &K, make: impl FnOnce() -> V) -> &mut V {
        let slot = match self.entry(key) {
            Entry::Occupied(occupied) => occupied.into_mut(),
            Entry::Vacant(vacant) => {
                let key = key.clone();
                vacant.insert(Slot { key, value: make() }).into_mut()
            }
        };
        &mut slot.value
    }

    /// Sets `key`'s value.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        match self.entry(&key) {
            Entry::Occupied(mut occupied) => occupied.get_mut().value = value,
            Entry::Vacant(vacant) => {
                vacant.insert(Slot { key, value });
            }
        }
    }

    pub(crate) fn remove(&mut self, key: &K) {
        if let Ok(slot) = self.slots.find_entry(hash(key), |slot| slot.key == *key) {
            slot.remove();
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.slots.iter().map(|slot| (&slot.key, &slot.value))
    }
}
