//! Start-up of an execution with recovery: open this worker's partitions, agree on the
//! resume point with every worker, and deliver each stored state to the worker that
//! will own its key or partition. One pass over each partition file.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::InputHandleVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::vec::Input;
use timely::dataflow::operators::{Operator, Probe};
use timely::worker::Worker;

use crate::dataflow::{Plan, UnlistedPartFn};
use crate::engine::Runtime;
use crate::engine::{Assignment, StepStates, all_gather, step_until, worker_of};
use crate::ids::StorePartition;
use crate::inputs::UNREACHABLE_PART;
use crate::key::KeyRoute;
use crate::recovery::resume::{ResumePoint, resume_point};
use crate::recovery::writer::WriterPlan;
use crate::recovery::{PartitionStore, StoreRouting};
use crate::{Epoch, Error, StepId};

/// Rows sent between two steps of the worker while loading (bounds buffered rows).
const ROWS_PER_STEP: usize = 10_000;

/// What an execution with recovery starts from on this worker.
pub(crate) struct Loaded {
    pub point: ResumePoint,
    pub states: HashMap<StepId, StepStates>,
    pub writer: WriterPlan,
}

/// Opens the partitions `recovery` assigns to this worker, computes the resume point from
/// every worker's partitions, starts the new execution in them, and loads the states.
pub(crate) fn load(
    worker: &mut Worker,
    plan: &Plan,
    runtime: &Runtime,
    dir: &Path,
    recovery: &Arc<Assignment<StorePartition>>,
    assignments: &HashMap<StepId, Arc<Assignment>>,
) -> Result<Loaded, Error> {
    let me = worker.index();
    let opened: Result<Vec<PartitionStore>, Error> = recovery
        .parts_of(me)
        .map(|(_, partition)| PartitionStore::open(dir, *partition, false))
        .collect();
    let (mut stores, infos) = match opened.and_then(|stores| {
        let infos = stores.iter().map(|s| s.info()).collect::<Result<Vec<_>, _>>()?;
        Ok((stores, infos))
    }) {
        Ok((stores, infos)) => (stores, Ok(infos)),
        Err(err) => (Vec::new(), Err(err.into_recovery_message())),
    };
    let mut all = Vec::new();
    let config = &runtime.config;
    for infos in all_gather(worker, infos, runtime)? {
        all.extend(infos.map_err(Error::Recovery)?);
    }
    let point = resume_point(&all)?;
    for store in &mut stores {
        store.begin_execution(point, worker.peers(), me)?;
    }
    let states = load_states(worker, plan, &stores, point.epoch, assignments, runtime)?;
    let writer = WriterPlan {
        stores,
        routing: StoreRouting::new(recovery.clone()),
        execution: point.execution,
        resume_epoch: point.epoch,
        backup_epochs: config.backup_epochs(),
    };
    Ok(Loaded {
        point,
        states,
        writer,
    })
}

/// A stored state on its way to the worker that owns it (`step` indexes the plan's
/// steps), or an error every worker sees.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
enum Delivery {
    State {
        to: usize,
        step: usize,
        key: String,
        value: Vec<u8>,
    },
    Failed {
        to: usize,
        message: String,
    },
}

/// How the state of one step finds its worker in this execution.
enum Route<'a> {
    /// Keyed state: by the hash of the key, like the stateful operator's exchange.
    Keyed(KeyRoute),
    /// Partition state: to the worker assigned the partition named by the key; for a
    /// partition nobody lists, the source decides (sinks have no say: an error).
    Partition(&'a Assignment, Option<&'a UnlistedPartFn>),
}

/// What becomes of the stored state of partition `part` of `step`, which no worker lists:
/// `Ok` if the step's source accepts that, else the error that stops the run.
fn unlisted(step: &StepId, part: &str, state: &[u8], judge: Option<&UnlistedPartFn>) -> Result<(), String> {
    let verdict = match judge {
        Some(judge) => judge(step, part, state).map_err(|e| e.to_string()),
        None => Err(UNREACHABLE_PART.to_owned()),
    };
    verdict.map_err(|why| {
        format!(
            "the store holds resume state for partition {part:?} of step {:?}, but no worker \
             lists that partition now; {why}",
            step.as_str()
        )
    })
}

fn load_states(
    worker: &mut Worker,
    plan: &Plan,
    stores: &[PartitionStore],
    epoch: Epoch,
    assignments: &HashMap<StepId, Arc<Assignment>>,
    runtime: &Runtime,
) -> Result<HashMap<StepId, StepStates>, Error> {
    let peers = worker.peers();
    let received = Rc::new(RefCell::new(HashMap::<StepId, StepStates>::new()));
    let failures = Rc::new(RefCell::new(Vec::<String>::new()));
    let (sink, failed) = (received.clone(), failures.clone());
    let mut input = InputHandleVec::<Epoch, Delivery>::new();
    let step_ids: Vec<StepId> = plan.steps.iter().map(|s| s.id.clone()).collect();
    let probe = worker.dataflow::<Epoch, _, _>(|scope| {
        let pact = Exchange::new(|d: &Delivery| match d {
            Delivery::State { to, .. } | Delivery::Failed { to, .. } => *to as u64,
        });
        scope
            .input_from(&mut input)
            .unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(pact, "resume_states", move |_, _| {
                move |input, _output| {
                    input.for_each(|_, deliveries| {
                        for delivery in deliveries.drain(..) {
                            match delivery {
                                Delivery::State { step, key, value, .. } => {
                                    let step = step_ids[step].clone();
                                    sink.borrow_mut().entry(step).or_default().insert(key, value);
                                }
                                Delivery::Failed { message, .. } => failed.borrow_mut().push(message),
                            }
                        }
                    });
                }
            })
            .probe()
            .0
    });
    let routes: HashMap<&str, (usize, Route<'_>)> = plan
        .steps
        .iter()
        .enumerate()
        .filter_map(|(index, node)| {
            let route = match (node.keyed_state, assignments.get(&node.id)) {
                (Some(route), _) => Route::Keyed(route),
                (None, Some(assignment)) => Route::Partition(assignment, node.unlisted_part.as_deref()),
                (None, None) => return None,
            };
            Some((node.id.as_str(), (index, route)))
        })
        .collect();
    let mut warned = HashSet::new();
    let mut sent = 0;
    let fail = |input: &mut InputHandleVec<Epoch, Delivery>, message: String| {
        for to in 0..peers {
            input.send(Delivery::Failed {
                to,
                message: message.clone(),
            });
        }
    };
    for store in stores {
        let mut routing_error = None;
        let read = store.for_each_latest(epoch, None, |step, key, value| {
            let to = match routes.get(step.as_str()) {
                Some((index, Route::Keyed(route))) => Some((*index, worker_of(route(&key), peers))),
                Some((index, Route::Partition(assignment, judge))) => match assignment.owner_of(key.as_str())
                {
                    Some(owner) => Some((*index, owner)),
                    None => {
                        let step = &plan.steps[*index].id;
                        if let Err(message) = unlisted(step, &key, &value, *judge) {
                            routing_error.get_or_insert(message);
                        }
                        None
                    }
                },
                None => {
                    if warned.insert(step.clone()) {
                        tracing::warn!(
                            step = %step,
                            "the recovery store holds state of step {step:?}, which is not in this \
                             dataflow; the state is kept"
                        );
                    }
                    None
                }
            };
            if let Some((step, to)) = to {
                input.send(Delivery::State { to, step, key, value });
                sent += 1;
                if sent % ROWS_PER_STEP == 0 {
                    worker.step();
                }
            }
        });
        if let Err(err) = read {
            fail(&mut input, err.to_string());
        }
        if let Some(message) = routing_error {
            fail(&mut input, message);
        }
    }
    drop(input);
    step_until(worker, || probe.done(), runtime)?;
    if let Some(message) = failures.take().into_iter().next() {
        return Err(Error::Recovery(message));
    }
    Ok(received.take())
}
