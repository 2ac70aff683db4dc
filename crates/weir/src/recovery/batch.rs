//! A snapshot batch: the snapshots of many keys of one step at one epoch, stored as one
//! row (`snap_batches.entries`). One SQLite row per key cost the committer about 2 µs
//! (a B-tree insert each, and the tree rewritten as keys of every epoch interleave); a
//! batch is a few hundred kilobytes appended at the end of its step's rows.
//!
//! Entries, in the order they were snapshotted (a later entry of a key wins): the key's
//! length (u32, little-endian) and text, then `0` for a deletion or `1`, the state's
//! length (u32) and the state.

use crate::Error;

/// Bytes of entries a batch holds at most (an entry larger than that is a batch alone).
pub(crate) const BATCH_BYTES: usize = 256 * 1024;

/// The largest entry a batch takes: SQLite refuses blobs over 10⁹ bytes.
const MAX_ENTRY: usize = 999_000_000;

/// The bytes `push_entry` appends for this key and state.
pub(crate) fn entry_size(key: &str, state: Option<&[u8]>) -> usize {
    4 + key.len() + 1 + state.map_or(0, |s| 4 + s.len())
}

/// Appends one entry to `entries`; an error (naming `step` and `key`) for an entry SQLite
/// could not store.
pub(crate) fn push_entry(
    entries: &mut Vec<u8>,
    step: &str,
    key: &str,
    state: Option<&[u8]>,
) -> Result<(), Error> {
    let size = entry_size(key, state);
    if size > MAX_ENTRY {
        return Err(Error::Recovery(format!(
            "step {step:?}, key {:?}: its snapshot is {size} bytes, over the {MAX_ENTRY} a \
             recovery store holds per key; split the state over more keys",
            key.chars().take(64).collect::<String>()
        )));
    }
    let len = |bytes: &[u8]| (bytes.len() as u32).to_le_bytes();
    entries.extend_from_slice(&len(key.as_bytes()));
    entries.extend_from_slice(key.as_bytes());
    match state {
        None => entries.push(0),
        Some(state) => {
            entries.push(1);
            entries.extend_from_slice(&len(state));
            entries.extend_from_slice(state);
        }
    }
    Ok(())
}

/// Calls `each(key, state)` for every entry of a batch, in order; an error naming `what`
/// (the batch) if the bytes are not a batch.
pub(crate) fn for_each_entry(
    mut entries: &[u8],
    what: &dyn Fn() -> String,
    mut each: impl FnMut(&str, Option<&[u8]>),
) -> Result<(), Error> {
    let corrupt = |why: &str| {
        Error::Recovery(format!(
            "{} is corrupt ({why}): restore the store from a backup",
            what()
        ))
    };
    while !entries.is_empty() {
        let key = take(&mut entries).ok_or_else(|| corrupt("a key runs past the end"))?;
        let key = std::str::from_utf8(key).map_err(|_| corrupt("a key is not UTF-8"))?;
        let (&tag, rest) = entries
            .split_first()
            .ok_or_else(|| corrupt("an entry ends after its key"))?;
        entries = rest;
        match tag {
            0 => each(key, None),
            1 => {
                let state = take(&mut entries).ok_or_else(|| corrupt("a state runs past the end"))?;
                each(key, Some(state));
            }
            _ => return Err(corrupt("an entry is neither a state nor a deletion")),
        }
    }
    Ok(())
}

/// Takes a length-prefixed run of bytes off the front of `entries`.
fn take<'a>(entries: &mut &'a [u8]) -> Option<&'a [u8]> {
    let (len, rest) = entries.split_first_chunk::<4>()?;
    let len = u32::from_le_bytes(*len) as usize;
    let taken = rest.get(..len)?;
    *entries = &rest[len..];
    Some(taken)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys and states (`None`: deleted), in order.
    type Entries = Vec<(String, Option<Vec<u8>>)>;

    fn entries_of(bytes: &[u8]) -> Result<Entries, Error> {
        let mut got = Vec::new();
        let what = || "batch 0".to_owned();
        for_each_entry(bytes, &what, |k, s| {
            got.push((k.to_owned(), s.map(<[u8]>::to_vec)))
        })?;
        Ok(got)
    }

    #[test]
    fn entries_come_back_in_order() {
        let mut bytes = Vec::new();
        push_entry(&mut bytes, "s", "a", Some(b"one")).unwrap();
        push_entry(&mut bytes, "s", "", Some(b"")).unwrap();
        push_entry(&mut bytes, "s", "b", None).unwrap();
        push_entry(&mut bytes, "s", "a", Some(b"two")).unwrap();
        let expected = [
            ("a".to_owned(), Some(b"one".to_vec())),
            (String::new(), Some(Vec::new())),
            ("b".to_owned(), None),
            ("a".to_owned(), Some(b"two".to_vec())),
        ];
        assert_eq!(entries_of(&bytes).unwrap(), expected);
    }

    #[test]
    fn every_truncation_of_a_batch_is_an_error_not_a_panic() {
        let mut bytes = Vec::new();
        push_entry(&mut bytes, "s", "key", Some(b"state")).unwrap();
        push_entry(&mut bytes, "s", "gone", None).unwrap();
        for cut in 1..bytes.len() {
            if cut == 4 + 3 + 1 + 4 + 5 {
                continue; // between the two entries: a valid batch of one
            }
            let err = entries_of(&bytes[..cut]).unwrap_err().to_string();
            assert!(err.contains("batch 0 is corrupt"), "cut at {cut}: {err}");
        }
        let mut bad_tag = bytes.clone();
        bad_tag[4 + 3] = 7;
        assert!(entries_of(&bad_tag).is_err());
        let mut bad_utf8 = bytes;
        bad_utf8[4] = 0xff;
        assert!(
            entries_of(&bad_utf8)
                .unwrap_err()
                .to_string()
                .contains("not UTF-8")
        );
    }
}
