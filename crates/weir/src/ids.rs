//! Typed names: step ids, epochs, partition indexes.

use std::fmt;

use crate::Error;

/// An epoch: the timely timestamp every item carries. Sources advance it on a clock.
pub type Epoch = u64;

/// An event time: UTC milliseconds since the Unix epoch. `Timestamp::MAX` is "the end of
/// time" (a watermark that every input has passed).
pub type Timestamp = i64;

/// Position of a partition in its step's canonical partition order (see
/// `Assignment`). Only an assignment hands these out, so a position is never computed
/// from a differently ordered list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct PartIndex(pub usize);

/// A partition of the recovery store: the `N` of `part-N.sqlite3`, which the file also
/// records in its `meta` table. Snapshot rows are routed by it, never by a file's position
/// in a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub(crate) struct StorePartition(pub usize);

impl fmt::Display for StorePartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "part-{}.sqlite3", self.0)
    }
}

/// The id of a step, as the user wrote it. State and partitions belong to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StepId(String);

/// Longest accepted step id, in bytes.
const MAX_STEP_ID_LEN: usize = 128;

impl StepId {
    /// Checks `id` and wraps it: non-empty, at most 128 bytes, only `[A-Za-z0-9_-]`.
    pub fn new(id: &str) -> Result<Self, Error> {
        let reason = if id.is_empty() {
            Some("it is empty")
        } else if id.len() > MAX_STEP_ID_LEN {
            Some("it is longer than 128 bytes")
        } else if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            Some("it contains a character that is not allowed")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(Error::InvalidStepId {
                id: id.to_owned(),
                reason,
            }),
            None => Ok(StepId(id.to_owned())),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids() {
        assert_eq!(StepId::new("split_words-2").unwrap().as_str(), "split_words-2");
    }

    #[test]
    fn refuses_bad_ids_with_a_reason() {
        for bad in ["", "a.b", "has space", "ü", &"x".repeat(129)] {
            let err = StepId::new(bad).unwrap_err().to_string();
            assert!(err.contains("invalid step id"), "{err}");
        }
    }
}
