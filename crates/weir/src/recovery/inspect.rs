//! `weir recovery inspect`: what a recovery store holds, for people and for scripts.

use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::recovery::resume::resume_point;
use crate::recovery::store::{PartitionStore, list_partitions};
use crate::{Epoch, Error};

/// One execution as a partition recorded it.
#[derive(Debug, Clone, Serialize)]
pub struct ExecutionReport {
    /// The execution number (0 for the first run).
    pub execution: u64,
    /// Workers in the cluster of that execution.
    pub worker_count: u64,
    /// The epoch it resumed from (0: from nothing).
    pub resume_epoch: Epoch,
}

/// The committed frontier of one worker in one execution.
#[derive(Debug, Clone, Serialize)]
pub struct FrontReport {
    /// The execution number.
    pub execution: u64,
    /// The worker that owned the partition.
    pub worker: usize,
    /// Every snapshot of epochs up to this one was durable.
    pub epoch: Epoch,
    /// The execution's input ended and every snapshot routed here was durable.
    pub finished: bool,
}

/// The snapshots of one step in one partition.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// The step id.
    pub step: String,
    /// Key snapshots stored (a key has one or more per epoch it changed in, until garbage
    /// collection), including deletion markers.
    pub snapshots: u64,
    /// Deletion markers (keys removed).
    pub tombstones: u64,
}

/// One partition file.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionReport {
    /// The partition index.
    pub index: usize,
    /// Superseded snapshots up to this epoch have been collected.
    pub gc_epoch: Epoch,
    /// Executions, oldest first.
    pub executions: Vec<ExecutionReport>,
    /// Committed frontiers per worker.
    pub fronts: Vec<FrontReport>,
    /// Snapshot counts per step.
    pub steps: Vec<StepReport>,
}

/// Every partition of a store.
#[derive(Debug, Clone, Serialize)]
pub struct StoreReport {
    /// The recovery directory.
    pub directory: String,
    /// The epoch the next execution resumes from: what every epoch up to it holds is
    /// committed everywhere.
    pub resume_epoch: Epoch,
    /// Its partitions in index order.
    pub partitions: Vec<PartitionReport>,
}

/// Reads the report of the store in `dir` (fails while an execution holds it).
pub fn inspect(dir: &Path) -> Result<StoreReport, Error> {
    let partitions = list_partitions(dir)?;
    if partitions.is_empty() {
        return Err(Error::Recovery(format!(
            "{} is not a recovery store (no part-N.sqlite3 files); create one with `weir recovery init`",
            dir.display()
        )));
    }
    let mut infos = Vec::new();
    let partitions = partitions
        .into_iter()
        .map(|partition| {
            let store = PartitionStore::open(dir, partition, true)?;
            let info = store.info()?;
            let report = PartitionReport {
                index: info.partition.0,
                gc_epoch: info.gc_epoch,
                executions: info
                    .executions
                    .iter()
                    .map(|e| ExecutionReport {
                        execution: e.execution,
                        worker_count: e.worker_count,
                        resume_epoch: e.resume_epoch,
                    })
                    .collect(),
                fronts: store
                    .worker_fronts()?
                    .into_iter()
                    .map(|(execution, worker, epoch, finished)| FrontReport {
                        execution,
                        worker,
                        epoch,
                        finished,
                    })
                    .collect(),
                steps: store
                    .snapshot_counts()?
                    .into_iter()
                    .map(|(step, snapshots, tombstones)| StepReport {
                        step,
                        snapshots,
                        tombstones,
                    })
                    .collect(),
            };
            infos.push(info);
            Ok(report)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(StoreReport {
        directory: dir.display().to_string(),
        resume_epoch: resume_point(&infos)?.epoch,
        partitions,
    })
}

/// The states a resume of the store in `dir` would restore for `step`: each live key's
/// latest snapshot at or before the resume epoch, from every partition, sorted by key
/// (fails while an execution holds the store). A state is as the step encoded it
/// (bincode 1.3 of its state type); a source's key is its partition.
pub fn latest_states(dir: &Path, step: &str) -> Result<Vec<(String, Vec<u8>)>, Error> {
    let stores = list_partitions(dir)?
        .into_iter()
        .map(|partition| PartitionStore::open(dir, partition, true))
        .collect::<Result<Vec<_>, Error>>()?;
    let infos = stores
        .iter()
        .map(PartitionStore::info)
        .collect::<Result<Vec<_>, _>>()?;
    let epoch = resume_point(&infos)?.epoch;
    let mut states = Vec::new();
    for store in &stores {
        store.for_each_latest(epoch, Some(step), |_, key, state| states.push((key, state)))?;
    }
    states.sort_unstable();
    Ok(states)
}

/// The epoch the next execution of the store in `dir` resumes from (fails while an
/// execution holds it). The local launcher reads it after each failure.
pub(crate) fn next_resume_epoch(dir: &Path) -> Result<Epoch, Error> {
    let infos = list_partitions(dir)?
        .into_iter()
        .map(|partition| PartitionStore::open(dir, partition, true)?.info())
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(resume_point(&infos)?.epoch)
}

impl fmt::Display for StoreReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "recovery store {} ({} partitions); the next execution resumes from epoch {}",
            self.directory,
            self.partitions.len(),
            self.resume_epoch
        )?;
        for p in &self.partitions {
            writeln!(
                f,
                "partition {} (garbage collected up to epoch {})",
                p.index, p.gc_epoch
            )?;
            for e in &p.executions {
                write!(
                    f,
                    "  execution {}: {} workers, resumed from epoch {}, committed:",
                    e.execution, e.worker_count, e.resume_epoch
                )?;
                for front in p.fronts.iter().filter(|fr| fr.execution == e.execution) {
                    write!(f, " worker {} up to epoch {}", front.worker, front.epoch)?;
                    if front.finished {
                        write!(f, " (finished)")?;
                    }
                }
                writeln!(f)?;
            }
            for s in &p.steps {
                writeln!(
                    f,
                    "  step {}: {} snapshots ({} deletions)",
                    s.step, s.snapshots, s.tombstones
                )?;
            }
        }
        Ok(())
    }
}
