//! `run`: start timely workers (threads or a cluster process) and run a dataflow on them.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

use timely::{CommunicationConfig, WorkerConfig};

use crate::Error;
use crate::dataflow::Dataflow;
use crate::engine::failure::{Failure, install_panic_hook};
use crate::engine::worker_loop::run_worker;
use crate::engine::{Execution, RunConfig};

/// What all workers of one process share.
pub(crate) struct Runtime {
    pub config: RunConfig,
    pub failure: Failure,
}

/// Runs `flow` to completion with `config`; returns the first error of any worker.
///
/// In [`Execution::Cluster`] mode this process is one of several; if a peer process dies,
/// this process prints why and exits with status 75 (timely cannot continue without it).
///
/// ```
/// use weir::testing::{TestingSink, TestingSource};
/// use weir::{Dataflow, RunConfig};
///
/// let mut flow = Dataflow::new("threads");
/// let out = TestingSink::new();
/// flow.input("in", TestingSource::new(0..100u64))
///     .filter("even", |x| x % 2 == 0)
///     .output("out", out.clone());
/// weir::run(flow, RunConfig::threads(3)).unwrap();
/// assert_eq!(out.sorted(), (0..100).step_by(2).collect::<Vec<u64>>());
/// ```
pub fn run(flow: Dataflow, config: RunConfig) -> Result<(), Error> {
    config.validate()?;
    let plan = Arc::new(flow.into_plan()?);
    install_panic_hook();
    let (communication, local_workers, cluster) = match &config.execution {
        Execution::Threads(1) => (CommunicationConfig::Thread, 1, false),
        Execution::Threads(n) => (CommunicationConfig::Process(*n), *n, false),
        Execution::Cluster {
            workers_per_process,
            process_id,
            addresses,
        } => (
            CommunicationConfig::Cluster {
                threads: *workers_per_process,
                process: *process_id,
                addresses: addresses.clone(),
                report: false,
                zerocopy: false,
            },
            *workers_per_process,
            true,
        ),
    };
    let runtime = Arc::new(Runtime {
        config: config.clone(),
        failure: Failure::default(),
    });
    let gate = Arc::new(Gate::default());
    let (results_tx, results) = mpsc::channel();
    let worker_gate = gate.clone();
    let start = move || {
        timely::execute(
            timely::Config {
                communication,
                worker: WorkerConfig::default(),
            },
            move |worker| {
                worker_gate.wait();
                let result = catch_unwind(AssertUnwindSafe(|| run_worker(worker, &plan, &runtime)))
                    .unwrap_or_else(|_| {
                        Err(Error::StepPanicked {
                            step: "<runtime>".to_owned(),
                            worker: worker.index(),
                            message: "the worker panicked outside any step".to_owned(),
                        })
                    });
                let _ = results_tx.send(result);
            },
        )
    };
    let guards = if cluster {
        connect_cluster(&config, start)?
    } else {
        start().map_err(Error::Cluster)?
    };
    gate.open();
    let error = results
        .iter()
        .take(local_workers)
        .filter_map(Result::err)
        .min_by_key(|e| matches!(e, Error::Cancelled { .. }));
    match error {
        None => {
            drop(guards);
            Ok(())
        }
        Some(err) => {
            if cluster {
                // Joining the network threads could wait forever on a hung peer; the
                // process is about to exit with this error anyway.
                std::mem::forget(guards);
            } else {
                drop(guards);
            }
            Err(err)
        }
    }
}

/// Connects this process to its peers, with timely's connection chatter sent to stderr
/// (stdout may carry data) and a deadline after which the process gives up.
fn connect_cluster<T>(config: &RunConfig, start: impl FnOnce() -> Result<T, String>) -> Result<T, Error> {
    let (connected_tx, connected) = mpsc::channel::<()>();
    let timeout = config.connect_timeout;
    let addresses = match &config.execution {
        Execution::Cluster { addresses, .. } => addresses.join(";"),
        Execution::Threads(_) => String::new(),
    };
    thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = connected.recv_timeout(timeout) {
            eprintln!(
                "error: {}",
                Error::Cluster(format!(
                    "not every process of {addresses} connected within {timeout:?}; start all \
                     processes with the same -a list and each with its own -i"
                ))
            );
            std::process::exit(1);
        }
    });
    let result = with_stdout_on_stderr(start);
    let _ = connected_tx.send(());
    result.map_err(Error::Cluster)
}

/// Runs `f` with file descriptor 1 pointing at stderr, then restores it.
fn with_stdout_on_stderr<R>(f: impl FnOnce() -> R) -> R {
    let _ = std::io::stdout().flush();
    // SAFETY: dup/dup2/close on the process's own standard descriptors; failures return -1
    // and leave the descriptors as they were, which only means chatter reaches stdout.
    let saved = unsafe { libc::dup(1) };
    if saved >= 0 {
        unsafe { libc::dup2(2, 1) };
    }
    let result = f();
    if saved >= 0 {
        let _ = std::io::stdout().flush();
        unsafe {
            libc::dup2(saved, 1);
            libc::close(saved);
        }
    }
    result
}

/// Holds workers back until stdout is restored after the cluster connected.
#[derive(Default)]
struct Gate {
    open: Mutex<bool>,
    opened: Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.opened.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while !*open {
            open = self.opened.wait(open).unwrap_or_else(|e| e.into_inner());
        }
    }
}
