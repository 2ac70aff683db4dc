//! Routing keys to workers: a well-mixed, stable hash of the key.

/// Hash of a state key used to route it to a worker.
///
/// Timely routes on the low bits of the hash (`hash % peers`), so the hash must be well
/// mixed; xxh3 is, and it is stable across processes, builds and versions.
pub(crate) fn route_key(key: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_similar_keys_over_two_and_three_workers() {
        for peers in [2u64, 3] {
            let mut counts = vec![0usize; peers as usize];
            for i in 0..3000 {
                counts[(route_key(&format!("key{}", i * 10)) % peers) as usize] += 1;
            }
            let expected = 3000 / peers as usize;
            for c in counts {
                assert!(c.abs_diff(expected) < expected / 5, "uneven: {c} vs {expected}");
            }
        }
    }
}
