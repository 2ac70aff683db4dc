//! What leaves a view: net changes, upserts, and rows with an op column.

use serde::{Deserialize, Serialize};

/// One net change of a view in one epoch: `value` entered the view under `key` `diff`
/// times (a negative `diff`: left it). Within an epoch, changes that cancel out are not
/// reported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Change<K, V> {
    /// The record's key.
    pub key: K,
    /// The record's value.
    pub value: V,
    /// How many times it entered (positive) or left (negative) the view.
    pub diff: isize,
}

/// A key's net change in one epoch, for a system that keeps one value per key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Upsert<K, V> {
    /// The key now holds `value` (inserted, or replacing its old value).
    Put(K, V),
    /// The key no longer holds a value.
    Delete(K),
}

impl<K, V> Upsert<K, V> {
    /// The key this change is about.
    pub fn key(&self) -> &K {
        match self {
            Upsert::Put(key, _) | Upsert::Delete(key) => key,
        }
    }
}

/// Whether a [`ChangeRow`] inserts or deletes its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Op {
    /// The record entered the view.
    Insert,
    /// The record left the view.
    Delete,
}

impl Op {
    /// `insert` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Insert => "insert",
            Op::Delete => "delete",
        }
    }
}

/// The append-only form of a change: one row per unit of a [`Change`]'s `diff`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ChangeRow<K, V> {
    /// Insert or delete.
    pub op: Op,
    /// The record's key.
    pub key: K,
    /// The record's value.
    pub value: V,
}
