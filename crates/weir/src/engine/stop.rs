//! Graceful stop. A stop asked of any process (SIGTERM, Ctrl-C, [`StopSignal::stop`])
//! reaches every worker of the cluster through a small broadcast dataflow. Inputs stop
//! reading at once and hold their epoch; once every worker has heard of the stop, they
//! snapshot what they read, close their partitions and end. The dataflow then completes as
//! at the end of the input, except that stateful steps keep their state instead of
//! flushing it, and the recovery store records the run as not finished: a resume goes on
//! where the stop left off.
//!
//! Why every worker must hear of it before any input ends: a step decides between "end of
//! input" and "stop" when its input frontier empties, which needs every input of the
//! cluster ended; a worker sends its message only after its process marked the stop, so
//! by then every process has.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use timely::dataflow::InputHandleVec;
use timely::dataflow::operators::Inspect;
use timely::dataflow::operators::vec::{Broadcast, Input};
use timely::worker::Worker;

/// Asks a run to stop gracefully: finish the current epoch (commit it, with recovery),
/// close the partitions, and return `Ok`. Give it to [`RunConfig::with_stop_signal`] and
/// call [`stop`](StopSignal::stop) from any thread; `weir::cli::main` calls it on SIGTERM
/// and Ctrl-C.
///
/// [`RunConfig::with_stop_signal`]: crate::RunConfig::with_stop_signal
#[derive(Clone, Debug, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// A signal nobody has given yet.
    pub fn new() -> Self {
        StopSignal::default()
    }

    /// Asks the run to stop (again: no effect).
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked, here or (once heard) by another process of the cluster.
    pub fn is_stopping(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// What this process knows of a stop.
#[derive(Default)]
pub(crate) struct StopState {
    pub signal: StopSignal,
    /// Every worker of the cluster has heard of the stop.
    everyone: AtomicBool,
}

impl StopState {
    pub(crate) fn new(signal: StopSignal) -> Self {
        StopState {
            signal,
            everyone: AtomicBool::new(false),
        }
    }

    pub(crate) fn requested(&self) -> bool {
        self.signal.is_stopping()
    }

    pub(crate) fn everyone_knows(&self) -> bool {
        self.everyone.load(Ordering::Relaxed)
    }
}

/// One worker's part of the stop broadcast: it sends one message when its process hears of
/// a stop, and counts the messages of all workers.
pub(crate) struct StopBroadcast {
    input: Option<InputHandleVec<u64, ()>>,
    heard: Rc<Cell<usize>>,
    peers: usize,
}

impl StopBroadcast {
    pub(crate) fn new(worker: &mut Worker) -> Self {
        let mut input = InputHandleVec::new();
        let heard = Rc::new(Cell::new(0));
        let counted = heard.clone();
        worker.dataflow::<u64, _, _>(|scope| {
            scope
                .input_from(&mut input)
                .broadcast()
                .inspect(move |_| counted.set(counted.get() + 1));
        });
        StopBroadcast {
            input: Some(input),
            heard,
            peers: worker.peers(),
        }
    }

    /// Sends this worker's message once its process heard of a stop; marks the process as
    /// stopping when another worker's message arrives, and every worker as knowing when all
    /// messages did.
    pub(crate) fn poll(&mut self, stop: &StopState) {
        if self.heard.get() > 0 {
            stop.signal.stop();
        }
        if stop.requested()
            && let Some(mut input) = self.input.take()
        {
            input.send(());
            // Dropping the handle flushes the message and closes this worker's input.
        }
        if self.heard.get() >= self.peers {
            stop.everyone.store(true, Ordering::SeqCst);
        }
    }

    /// Closes this worker's input without a message: its dataflow is done.
    pub(crate) fn close(&mut self) {
        self.input = None;
    }
}
