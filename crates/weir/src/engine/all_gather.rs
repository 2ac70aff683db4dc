//! All-to-all exchange at start-up: every worker contributes one message and every worker
//! receives all of them, through a small timely dataflow of its own.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::vec::Input;
use timely::dataflow::operators::{Exchange, Inspect, Probe};
use timely::worker::Worker;

use crate::engine::execute::Runtime;
use crate::{Data, Epoch, Error};

/// Sends `mine` to every worker; returns every worker's message, indexed by worker.
/// Fails with [`Error::Stalled`] if the peers do not all answer within the watchdog
/// timeout, and stops at once if another worker of this process failed.
pub(crate) fn all_gather<M: Data>(worker: &mut Worker, mine: M, runtime: &Runtime) -> Result<Vec<M>, Error> {
    let received = Rc::new(RefCell::new(Vec::<(usize, usize, M)>::new()));
    let sink = received.clone();
    let mut input = InputHandleVec::<Epoch, (usize, usize, M)>::new();
    let probe = worker.dataflow::<Epoch, _, _>(|scope| {
        scope
            .input_from(&mut input)
            .exchange(|(to, _, _): &(usize, usize, M)| *to as u64)
            .inspect(move |message| sink.borrow_mut().push(message.clone()))
            .probe()
            .0
    });
    let me = worker.index();
    for to in 0..worker.peers() {
        input.send((to, me, mine.clone()));
    }
    drop(input);
    step_until(worker, || probe.done(), runtime)?;
    let mut all = received.take();
    all.sort_by_key(|(_, from, _)| *from);
    Ok(all.into_iter().map(|(_, _, message)| message).collect())
}

/// Steps `worker` until `done()`. A start-up exchange that takes longer than the watchdog
/// timeout means a peer stopped responding, which fails with [`Error::Stalled`] instead of
/// waiting forever; a failure of another worker of this process stops it at once.
pub(crate) fn step_until(
    worker: &mut Worker,
    done: impl Fn() -> bool,
    runtime: &Runtime,
) -> Result<(), Error> {
    let started = Instant::now();
    let limit = runtime.config.watchdog_timeout;
    while !done() {
        if runtime.failure.is_set() {
            return Err(Error::Cancelled {
                worker: worker.index(),
            });
        }
        if started.elapsed() > limit {
            return Err(Error::Stalled {
                worker: worker.index(),
                seconds: started.elapsed().as_secs_f64(),
            });
        }
        worker.step_or_park(Some(Duration::from_millis(10)));
    }
    Ok(())
}
