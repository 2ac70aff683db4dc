//! Start-up exchange: every worker lists the partitions it can reach, all workers see all
//! listings, and each computes the same assignment (a pure function, see `assign.rs`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::vec::Input;
use timely::dataflow::operators::{Exchange, Inspect, Probe};
use timely::worker::Worker;

use crate::dataflow::Plan;
use crate::engine::Assignment;
use crate::{Epoch, Error, StepId};

/// `(to_worker, step_index, from_worker, listing or error text)`.
type Listing = (usize, usize, usize, Result<Vec<String>, String>);

/// Lists partitions on every worker and assigns each partitioned step's partitions.
pub(crate) fn assign_partitions(
    worker: &mut Worker,
    plan: &Plan,
) -> Result<HashMap<StepId, Arc<Assignment>>, Error> {
    let listers: Vec<usize> = (0..plan.steps.len())
        .filter(|&i| plan.steps[i].list_parts.is_some())
        .collect();
    if listers.is_empty() {
        return Ok(HashMap::new());
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
    for &index in &listers {
        let list_parts = plan.steps[index].list_parts.as_ref().expect("filtered above");
        let listing = list_parts().map_err(|e| e.to_string());
        for to in 0..peers {
            input.send((to, index, me, listing.clone()));
        }
    }
    drop(input);
    while !probe.done() {
        worker.step_or_park(Some(Duration::from_millis(10)));
    }
    let received = received.take();
    listers
        .into_iter()
        .map(|index| {
            let step = &plan.steps[index].id;
            let mut listings = vec![Vec::new(); peers];
            for (_, _, from, listing) in received.iter().filter(|l| l.1 == index) {
                match listing {
                    Ok(parts) => listings[*from] = parts.clone(),
                    Err(message) => {
                        return Err(Error::step(step.as_str(), *from, message.clone().into()));
                    }
                }
            }
            let assignment = Assignment::compute(&listings);
            if assignment.parts.is_empty() {
                return Err(Error::NoPartitions {
                    step: step.to_string(),
                });
            }
            Ok((step.clone(), Arc::new(assignment)))
        })
        .collect()
}
