//! Start-up exchange: every worker lists the partitions it can reach (of partitioned
//! sources and sinks, and of the recovery store), all workers see all listings, and each
//! computes the same assignment (a pure function, see `assign.rs`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use timely::worker::Worker;

use crate::dataflow::Plan;
use crate::engine::{Assignment, all_gather};
use crate::recovery::list_partition_files;
use crate::{BoxError, Error, StepId};

/// Lists the partitions one worker can reach.
type Lister<'a> = Box<dyn Fn() -> Result<Vec<String>, BoxError> + 'a>;

/// Who owns what: the partitions of each partitioned step, and of the recovery store.
pub(crate) struct Assignments {
    pub steps: HashMap<StepId, Arc<Assignment>>,
    pub recovery: Option<Assignment>,
}

/// Lists partitions on every worker and assigns each partitioned step's partitions, and
/// the recovery store's partition files when `recovery_dir` is given.
pub(crate) fn assign_partitions(
    worker: &mut Worker,
    plan: &Plan,
    recovery_dir: Option<&Path>,
    limit: Duration,
) -> Result<Assignments, Error> {
    let mut listers: Vec<(Option<&StepId>, Lister<'_>)> = plan
        .steps
        .iter()
        .filter_map(|s| {
            s.list_parts
                .as_ref()
                .map(|list| (Some(&s.id), Box::new(move || list()) as Box<_>))
        })
        .collect();
    if let Some(dir) = recovery_dir {
        listers.push((
            None,
            Box::new(move || list_partition_files(dir).map_err(|e| e.into_recovery_message().into())),
        ));
    }
    let mine: Vec<Result<Vec<String>, String>> = listers
        .iter()
        .map(|(_, list)| list().map_err(|e| e.to_string()))
        .collect();
    let all = all_gather(worker, mine, limit)?;
    let mut assignments = Assignments {
        steps: HashMap::new(),
        recovery: None,
    };
    for (index, (step, _)) in listers.iter().enumerate() {
        let mut listings = Vec::with_capacity(all.len());
        for (from, listed) in all.iter().enumerate() {
            match (&listed[index], step) {
                (Ok(parts), _) => listings.push(parts.clone()),
                (Err(message), Some(step)) => {
                    return Err(Error::step(step.as_str(), from, message.clone().into()));
                }
                (Err(message), None) => return Err(Error::Recovery(message.clone())),
            }
        }
        let assignment = Assignment::compute(&listings);
        match step {
            Some(_) | None if !assignment.parts.is_empty() => {}
            Some(step) => {
                return Err(Error::NoPartitions {
                    step: step.to_string(),
                });
            }
            None => {
                return Err(Error::Recovery(format!(
                    "{} is not initialised (no part-N.sqlite3 files); create it with \
                     `weir recovery init {} --partitions N`",
                    recovery_dir.expect("the recovery lister exists").display(),
                    recovery_dir.expect("the recovery lister exists").display(),
                )));
            }
        }
        match step {
            Some(step) => {
                assignments.steps.insert((*step).clone(), Arc::new(assignment));
            }
            None => assignments.recovery = Some(assignment),
        }
    }
    Ok(assignments)
}
