//! Where a snapshot row is committed: its store partition, and the worker that owns it.
//! The writer's exchange and its commit both ask this one type.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::Error;
use crate::engine::Assignment;
use crate::ids::StorePartition;
use crate::recovery::store::StoredRow;

/// The recovery partition of a `(step, key)` snapshot: a stable hash, independent of the
/// number of workers, so state can be resumed on a different cluster size.
pub(crate) fn recovery_partition(step: &str, key: &str, partitions: usize) -> StorePartition {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    hasher.update(step.as_bytes());
    hasher.update(&[0]);
    hasher.update(key.as_bytes());
    StorePartition((hasher.digest() % partitions as u64) as usize)
}

/// Routes snapshot rows to the owners of their store partitions.
#[derive(Clone)]
pub(crate) struct StoreRouting {
    owners: Arc<Assignment<StorePartition>>,
}

impl StoreRouting {
    /// Routing over `owners`, which must hold every partition `0..N` of the store (the
    /// resume point refuses a store with a partition missing).
    pub(crate) fn new(owners: Arc<Assignment<StorePartition>>) -> Self {
        debug_assert!(
            (0..owners.len()).all(|p| owners.index_of(&StorePartition(p)).is_some()),
            "the store's partitions are exactly 0..N"
        );
        StoreRouting { owners }
    }

    /// The store partition of a `(step, key)` row.
    pub(crate) fn partition_of(&self, step: &str, key: &str) -> StorePartition {
        recovery_partition(step, key, self.owners.len())
    }

    /// The worker that commits a `(step, key)` row.
    pub(crate) fn owner_of(&self, step: &str, key: &str) -> usize {
        let partition = self.partition_of(step, key);
        self.owners
            .owner_of(&partition)
            .expect("every partition 0..N of the store has an owner")
    }

    /// Groups rows by their partition, all of which `mine` (this worker's partitions) must
    /// hold: a row for any other partition reached the wrong worker, which is a bug that
    /// must stop the run rather than lose the row.
    pub(crate) fn group(
        &self,
        mine: &[StorePartition],
        rows: impl IntoIterator<Item = StoredRow>,
        worker: usize,
    ) -> Result<BTreeMap<StorePartition, Vec<StoredRow>>, Error> {
        let mut grouped: BTreeMap<StorePartition, Vec<StoredRow>> =
            mine.iter().map(|p| (*p, Vec::new())).collect();
        for row in rows {
            let partition = self.partition_of(&row.1, &row.2);
            let Some(rows) = grouped.get_mut(&partition) else {
                return Err(Error::Internal(format!(
                    "worker {worker} received the snapshot of step {:?}, key {:?} (epoch {}) for {partition}, \
                     which worker {} owns; nothing was committed",
                    row.1,
                    row.2,
                    row.0,
                    self.owner_of(&row.1, &row.2),
                )));
            };
            rows.push(row);
        }
        Ok(grouped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routing(listings: &[Vec<StorePartition>]) -> StoreRouting {
        StoreRouting::new(Arc::new(Assignment::compute(listings)))
    }

    fn all(count: usize) -> Vec<StorePartition> {
        (0..count).map(StorePartition).collect()
    }

    /// Every row, routed by the writer's exchange, reaches a worker that holds its
    /// partition, whatever the store's partition count and the cluster's shape.
    fn assert_rows_reach_their_owners(listings: &[Vec<StorePartition>]) {
        let routing = routing(listings);
        let mut by_worker: Vec<Vec<StoredRow>> = vec![Vec::new(); listings.len()];
        for i in 0..500 {
            let (step, key) = (format!("step{}", i % 3), format!("key{i}"));
            by_worker[routing.owner_of(&step, &key)].push((1, step, key, None));
        }
        for (worker, rows) in by_worker.into_iter().enumerate() {
            let mine: Vec<StorePartition> = routing.owners.parts_of(worker).map(|(_, p)| *p).collect();
            let count = rows.len();
            let grouped = routing.group(&mine, rows, worker).unwrap_or_else(|e| {
                panic!(
                    "{} partitions, {} workers: {e}",
                    listings[0].len(),
                    listings.len()
                )
            });
            assert_eq!(grouped.values().map(Vec::len).sum::<usize>(), count);
        }
    }

    #[test]
    fn every_row_is_committed_by_the_owner_of_its_partition() {
        for partitions in 1..=40 {
            for workers in 1..=8 {
                // One host: every worker lists every partition file.
                assert_rows_reach_their_owners(&vec![all(partitions); workers]);
            }
            // Two processes on two hosts, each seeing half of the files.
            for workers_per_process in 1..=4 {
                let half = |parity: usize| -> Vec<StorePartition> {
                    all(partitions)
                        .into_iter()
                        .filter(|p| p.0 % 2 == parity)
                        .collect()
                };
                let mut listings = vec![half(0); workers_per_process];
                listings.extend(vec![half(1); workers_per_process]);
                if partitions > 1 {
                    assert_rows_reach_their_owners(&listings);
                }
            }
        }
    }

    #[test]
    fn a_row_at_the_wrong_worker_is_an_error_not_a_drop() {
        let routing = routing(&vec![all(11); 2]);
        let (step, key) = ("count", "word");
        let owner = routing.owner_of(step, key);
        let other = 1 - owner;
        let theirs: Vec<StorePartition> = routing.owners.parts_of(other).map(|(_, p)| *p).collect();
        let err = routing
            .group(&theirs, [(3, step.to_owned(), key.to_owned(), None)], other)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("which worker {owner} owns")), "{err}");
    }

    #[test]
    fn recovery_partitions_are_stable_and_spread() {
        assert_eq!(
            recovery_partition("count", "word", 4),
            recovery_partition("count", "word", 4)
        );
        assert_ne!(
            recovery_partition("ab", "c", 1 << 20),
            recovery_partition("a", "bc", 1 << 20)
        );
        let mut counts = [0; 4];
        (0..4000).for_each(|i| counts[recovery_partition("s", &i.to_string(), 4).0] += 1);
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    }
}
