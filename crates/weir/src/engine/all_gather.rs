//! All-to-all exchange at start-up: every worker contributes one message and every worker
//! receives all of them, through a small timely dataflow of its own.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::vec::Input;
use timely::dataflow::operators::{Exchange, Inspect, Probe};
use timely::worker::Worker;

use crate::{Data, Epoch};

/// Sends `mine` to every worker; returns every worker's message, indexed by worker.
pub(crate) fn all_gather<M: Data>(worker: &mut Worker, mine: M) -> Vec<M> {
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
    while !probe.done() {
        worker.step_or_park(Some(Duration::from_millis(10)));
    }
    let mut all = received.take();
    all.sort_by_key(|(_, from, _)| *from);
    all.into_iter().map(|(_, _, message)| message).collect()
}
