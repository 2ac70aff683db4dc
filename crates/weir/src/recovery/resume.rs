//! Pure decisions of recovery, tested without a database.

use crate::ids::StorePartition;
use crate::{Epoch, Error};

/// One execution as a partition recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ExecutionRecord {
    pub execution: u64,
    pub worker_count: u64,
    pub resume_epoch: Epoch,
}

/// What one partition file says about the past (read at start-up).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct PartitionInfo {
    pub partition: StorePartition,
    pub partition_count: usize,
    /// Garbage collection has compacted the snapshots at or before this epoch into the
    /// state as of it: no earlier epoch can be resumed from.
    pub gc_epoch: Epoch,
    pub executions: Vec<ExecutionRecord>,
    /// How far each execution got in this partition.
    pub fronts: Vec<Front>,
}

/// How far one execution got in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Front {
    pub execution: u64,
    /// Every snapshot of epochs `<= epoch` routed to the partition is durable.
    pub epoch: Epoch,
    /// The execution's input ended and every snapshot routed here is durable, whatever
    /// its epoch (a writer whose input ended before it saw the last epoch cannot name it).
    pub finished: bool,
}

/// Where a new execution starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResumePoint {
    /// The number of the new execution.
    pub execution: u64,
    /// State is restored as of the end of this epoch; the new execution starts at the next.
    pub epoch: Epoch,
}

/// The store-wide resume point, or why the partitions cannot be resumed together.
///
/// The resume epoch is the last epoch durable in every partition for the latest execution.
/// A partition without a record of that execution (its owner died before starting it)
/// counts with that execution's own resume epoch, but never more than it holds itself, so
/// a partition restored from an older backup pulls the resume epoch back; if another
/// partition has already garbage-collected what that older epoch needs, it is refused.
pub(crate) fn resume_point(infos: &[PartitionInfo]) -> Result<ResumePoint, Error> {
    let count = infos
        .first()
        .map(|i| i.partition_count)
        .ok_or_else(|| Error::Recovery("the recovery directory holds no partition files".into()))?;
    let mut seen = vec![false; count];
    for info in infos {
        if info.partition_count != count {
            return Err(Error::Recovery(format!(
                "partition {} was created for {} partitions but partition {} for {count}: the files come \
                 from different stores",
                info.partition.0, info.partition_count, infos[0].partition.0
            )));
        }
        let Some(seen) = seen.get_mut(info.partition.0) else {
            return Err(Error::Recovery(format!(
                "{} records partition index {} but the store has {count} partitions: the files come \
                 from different stores",
                info.partition, info.partition.0
            )));
        };
        if std::mem::replace(seen, true) {
            return Err(Error::Recovery(format!(
                "partition {} is present twice",
                info.partition.0
            )));
        }
    }
    if let Some(missing) = seen.iter().position(|s| !s) {
        return Err(Error::Recovery(format!(
            "partition {missing} of {count} is missing: no process lists part-{missing}.sqlite3"
        )));
    }
    let latest = infos
        .iter()
        .flat_map(|i| i.executions.iter())
        .max_by_key(|e| e.execution)
        .copied();
    let Some(latest) = latest else {
        return Ok(ResumePoint {
            execution: 0,
            epoch: 0,
        });
    };
    let front_of = |info: &PartitionInfo| -> Front {
        let of_latest = info
            .fronts
            .iter()
            .filter(|f| f.execution == latest.execution)
            .max_by_key(|f| f.epoch);
        match of_latest {
            Some(front) => *front,
            None => {
                // Its owner died before starting the latest execution, so nobody committed
                // anything after that execution's resume epoch; the partition holds up to
                // there if it finished its own last execution, else up to its frontier.
                let own = info.fronts.iter().max_by_key(|f| f.execution);
                let epoch = match own {
                    Some(front) if front.finished => latest.resume_epoch,
                    Some(front) => front.epoch.min(latest.resume_epoch),
                    None => 0,
                };
                Front {
                    execution: latest.execution,
                    epoch,
                    finished: false,
                }
            }
        }
    };
    let fronts: Vec<Front> = infos.iter().map(front_of).collect();
    // A finished partition holds every epoch: the others decide. If all finished, every
    // snapshot of the execution is durable: resume after the latest epoch any recorded.
    let epoch = match fronts.iter().filter(|f| !f.finished).map(|f| f.epoch).min() {
        Some(epoch) => epoch,
        None => fronts
            .iter()
            .map(|f| f.epoch)
            .max()
            .expect("at least one partition"),
    };
    if let Some(gc) = infos.iter().find(|i| i.gc_epoch > epoch) {
        return Err(Error::Recovery(format!(
            "partition {} has already garbage-collected snapshots up to epoch {}, but the other partitions \
             can only resume from epoch {epoch}: were partitions restored from backups of different ages? \
             Restore them all from the same backup",
            gc.partition.0, gc.gc_epoch
        )));
    }
    Ok(ResumePoint {
        execution: latest.execution + 1,
        epoch,
    })
}

/// The epoch up to which superseded snapshots may be deleted: everything older than the
/// backup window behind the last durable epoch. Resuming from any epoch at or after it
/// stays possible.
pub(crate) fn gc_epoch(durable: Epoch, backup_epochs: u64) -> Epoch {
    durable.saturating_sub(backup_epochs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(execution: u64, resume_epoch: Epoch) -> ExecutionRecord {
        ExecutionRecord {
            execution,
            worker_count: 2,
            resume_epoch,
        }
    }

    fn part(index: usize, executions: Vec<ExecutionRecord>, fronts: Vec<(u64, Epoch)>) -> PartitionInfo {
        let fronts = fronts
            .into_iter()
            .map(|(execution, epoch)| Front {
                execution,
                epoch,
                finished: false,
            })
            .collect();
        PartitionInfo {
            partition: StorePartition(index),
            partition_count: 2,
            gc_epoch: 0,
            executions,
            fronts,
        }
    }

    fn finish(mut info: PartitionInfo) -> PartitionInfo {
        info.fronts.last_mut().expect("a front to finish").finished = true;
        info
    }

    #[test]
    fn a_finished_partition_never_pulls_the_resume_epoch_back() {
        // Worker 0's writer saw the input end before it saw epoch 3: it records 1, finished.
        let early = finish(part(0, vec![exec(0, 0)], vec![(0, 1)]));
        let late = part(1, vec![exec(0, 0)], vec![(0, 3)]);
        assert_eq!(resume_point(&[early.clone(), late.clone()]).unwrap().epoch, 3);
        // Everyone finished: resume after the latest epoch anyone recorded.
        assert_eq!(
            resume_point(&[early.clone(), finish(late.clone())])
                .unwrap()
                .epoch,
            3
        );
        // Execution 1 resumed from 3; partition 0's owner died before recording it.
        let mut started = finish(late);
        started.executions.push(exec(1, 3));
        started.fronts.push(Front {
            execution: 1,
            epoch: 3,
            finished: false,
        });
        assert_eq!(resume_point(&[early, started]).unwrap().epoch, 3);
    }

    #[test]
    fn a_fresh_store_starts_execution_zero_from_nothing() {
        let infos = [part(0, vec![], vec![]), part(1, vec![], vec![])];
        assert_eq!(
            resume_point(&infos).unwrap(),
            ResumePoint {
                execution: 0,
                epoch: 0
            }
        );
    }

    #[test]
    fn resumes_from_the_epoch_every_partition_committed() {
        let infos = [
            part(0, vec![exec(0, 0)], vec![(0, 9)]),
            part(1, vec![exec(0, 0)], vec![(0, 7)]),
        ];
        assert_eq!(
            resume_point(&infos).unwrap(),
            ResumePoint {
                execution: 1,
                epoch: 7
            }
        );
    }

    #[test]
    fn a_partition_that_never_started_the_latest_execution_pins_its_resume_epoch() {
        // Execution 1 resumed from 7; partition 1's owner died before recording it.
        let infos = [
            part(0, vec![exec(0, 0), exec(1, 7)], vec![(0, 9), (1, 12)]),
            part(1, vec![exec(0, 0)], vec![(0, 8)]),
        ];
        assert_eq!(
            resume_point(&infos).unwrap(),
            ResumePoint {
                execution: 2,
                epoch: 7
            }
        );
    }

    #[test]
    fn a_partition_from_an_older_backup_pulls_the_epoch_back_or_is_refused() {
        let old = part(1, vec![exec(0, 0)], vec![(0, 3)]);
        let fresh = part(0, vec![exec(0, 0), exec(1, 7)], vec![(1, 12)]);
        assert_eq!(resume_point(&[fresh.clone(), old.clone()]).unwrap().epoch, 3);
        let collected = PartitionInfo {
            gc_epoch: 10,
            ..fresh
        };
        let err = resume_point(&[collected, old]).unwrap_err().to_string();
        assert!(err.contains("backups of different ages"), "{err}");
    }

    #[test]
    fn missing_extra_or_mismatched_partitions_are_refused() {
        let err = resume_point(&[part(0, vec![], vec![])]).unwrap_err().to_string();
        assert!(err.contains("partition 1 of 2 is missing"), "{err}");
        let other = PartitionInfo {
            partition_count: 3,
            ..part(1, vec![], vec![])
        };
        let err = resume_point(&[part(0, vec![], vec![]), other])
            .unwrap_err()
            .to_string();
        assert!(err.contains("different stores"), "{err}");
        let err = resume_point(&[part(0, vec![], vec![]), part(0, vec![], vec![])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("present twice"), "{err}");
    }

    #[test]
    fn gc_keeps_the_backup_window() {
        assert_eq!(gc_epoch(100, 30), 70);
        assert_eq!(gc_epoch(10, 30), 0);
    }
}
