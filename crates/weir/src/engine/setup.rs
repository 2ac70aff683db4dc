//! Start-up exchange: every worker lists the partitions it can reach (of partitioned
//! sources and sinks, and of the recovery store), all workers see all listings, and each
//! computes the same assignment (a pure function, see `assign.rs`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use timely::worker::Worker;

use crate::dataflow::Plan;
use crate::engine::execute::Runtime;
use crate::engine::{Assignment, all_gather};
use crate::ids::StorePartition;
use crate::recovery::list_partitions;
use crate::{BoxError, Error, StepId};

/// Lists the partitions one worker can reach.
type Lister<'a> = Box<dyn Fn() -> Result<Vec<String>, BoxError> + 'a>;

/// Who owns what: the partitions of each partitioned step, and of the recovery store.
pub(crate) struct Assignments {
    pub steps: HashMap<StepId, Arc<Assignment>>,
    pub recovery: Option<Arc<Assignment<StorePartition>>>,
}

/// What one worker lists: each partitioned step's partitions, and the store's.
type Listing = (
    Vec<Result<Vec<String>, String>>,
    Option<Result<Vec<StorePartition>, String>>,
);

/// Lists partitions on every worker and assigns each partitioned step's partitions, and
/// the recovery store's partitions when `recovery_dir` is given.
pub(crate) fn assign_partitions(
    worker: &mut Worker,
    plan: &Plan,
    recovery_dir: Option<&Path>,
    runtime: &Runtime,
) -> Result<Assignments, Error> {
    let listers: Vec<(&StepId, Lister<'_>)> = plan
        .steps
        .iter()
        .filter_map(|s| {
            s.list_parts
                .as_ref()
                .map(|list| (&s.id, Box::new(move || list()) as Box<_>))
        })
        .collect();
    let mine: Listing = (
        listers
            .iter()
            .map(|(_, list)| list().map_err(|e| e.to_string()))
            .collect(),
        recovery_dir.map(|dir| list_partitions(dir).map_err(Error::into_recovery_message)),
    );
    let all = all_gather(worker, mine, runtime)?;
    let mut steps = HashMap::new();
    for (index, (step, _)) in listers.iter().enumerate() {
        let mut listings = Vec::with_capacity(all.len());
        for (from, (listed, _)) in all.iter().enumerate() {
            match &listed[index] {
                Ok(parts) => listings.push(parts.clone()),
                Err(message) => return Err(Error::step(step.as_str(), from, message.clone().into())),
            }
        }
        let assignment = Assignment::of_names(&listings);
        if assignment.is_empty() {
            return Err(Error::NoPartitions {
                step: step.to_string(),
            });
        }
        steps.insert((*step).clone(), Arc::new(assignment));
    }
    let recovery = match recovery_dir {
        Some(dir) => Some(Arc::new(assign_store(
            dir,
            all.into_iter().map(|(_, store)| store),
        )?)),
        None => None,
    };
    Ok(Assignments { steps, recovery })
}

/// Assigns the recovery store's partitions from every worker's listing of them.
fn assign_store(
    dir: &Path,
    listed: impl Iterator<Item = Option<Result<Vec<StorePartition>, String>>>,
) -> Result<Assignment<StorePartition>, Error> {
    let listings = listed
        .map(|l| l.expect("every worker lists the store when one is given"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Error::Recovery)?;
    let assignment = Assignment::compute(&listings);
    if assignment.is_empty() {
        return Err(Error::Recovery(format!(
            "{} is not initialised (no part-N.sqlite3 files); create it with \
             `weir recovery init {} --partitions N`",
            dir.display(),
            dir.display(),
        )));
    }
    Ok(assignment)
}
