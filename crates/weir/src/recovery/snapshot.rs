//! What stateful steps, source partitions and sink partitions emit at each epoch's end.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{BoxError, Error};

/// `(step id, state key, encoded state or None for a deleted key)`, stamped with its epoch.
pub(crate) type SnapshotRow = (String, String, Option<Vec<u8>>);

/// Encodes a state for the store (bincode 1.3).
pub(crate) fn encode<S: Serialize>(state: &S) -> Result<Vec<u8>, BoxError> {
    Ok(bincode::serialize(state)?)
}

/// Decodes a stored state, naming the step and key when it no longer fits the type.
pub(crate) fn decode<S: DeserializeOwned>(step: &str, key: &str, bytes: &[u8]) -> Result<S, Error> {
    bincode::deserialize(bytes).map_err(|e| {
        Error::Recovery(format!(
            "the snapshot of step {step:?}, key {key:?} no longer deserialises into the step's state type \
             ({}): {e}; was the state type changed? Resume with the old code, or start from a fresh store",
            std::any::type_name::<S>()
        ))
    })
}
