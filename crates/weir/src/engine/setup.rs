//! Start-up exchange: every worker lists the partitions it can reach (of partitioned
//! sources and sinks, and of the recovery store), all workers see all listings, and each
//! computes the same assignment (a pure function, see `assign.rs`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::vec::Input;
use timely::dataflow::operators::{Exchange, Inspect, Probe};
use timely::worker::Worker;

use crate::dataflow::Plan;
use crate::engine::Assignment;
use crate::recovery::list_partition_files;
use crate::{BoxError, Epoch, Error, StepId};

/// `(to_worker, lister_index, from_worker, listing or error text)`.
type Listing = (usize, usize, usize, Result<Vec<String>, String>);

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
        listers.push((None, Box::new(move || Ok(list_partition_files(dir)?))));
    }
    let (me, peers) = (worker.index(), worker.peers());
    let received = Rc::new(RefCell::new(Vec::<Listing>::new()));
    let mut input = InputHandleVec::<Epoch, Listing>::new();
    let sink = received.clone();
    let probe = worker.dataflow::<Epoch, _, _>(|scope| {
        scope
            .input_from(&mut input)
            .exchange(|listing: &Listing| listing.0 as u64)
            .inspect(move |listing| sink.borrow_mut().push(listing.clone()))
            .probe()
            .0
    });
    for (index, (_, list)) in listers.iter().enumerate() {
        let listing = list().map_err(|e| e.to_string());
        for to in 0..peers {
            input.send((to, index, me, listing.clone()));
        }
    }
    drop(input);
    while !probe.done() {
        worker.step_or_park(Some(Duration::from_millis(10)));
    }
    let received = received.take();
    let mut assignments = Assignments {
        steps: HashMap::new(),
        recovery: None,
    };
    for (index, (step, _)) in listers.iter().enumerate() {
        let mut listings = vec![Vec::new(); peers];
        let mut from = received.iter().filter(|l| l.1 == index).collect::<Vec<_>>();
        from.sort_by_key(|l| l.2);
        for (_, _, from, listing) in from {
            match (listing, step) {
                (Ok(parts), _) => listings[*from] = parts.clone(),
                (Err(message), Some(step)) => {
                    return Err(Error::step(step.as_str(), *from, message.clone().into()));
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
