//! `run`: start timely workers (threads, or this process of a cluster) and run a dataflow on
//! them.

use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use timely::communication::Hooks;
use timely::communication::WorkerGuards;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::worker::Worker;
use timely::{CommunicationConfig, WorkerConfig};

use crate::Error;
use crate::cli::RESTARTS_ENV;
use crate::dataflow::Dataflow;
use crate::engine::connect::connect_peers;
use crate::engine::failure::{Failure, install_panic_hook};
use crate::engine::worker_loop::run_worker;
use crate::engine::{Execution, RunConfig, StopState};
use crate::metrics::{Metrics, ProgressLine, Server, Serving, Site};

/// What all workers of one process share.
pub(crate) struct Runtime {
    pub config: RunConfig,
    pub failure: Failure,
    /// This process's metrics, with `config.metrics`.
    pub metrics: Option<Arc<Metrics>>,
    /// What this process knows of a graceful stop.
    pub stop: StopState,
    /// The streams this process serves over HTTP.
    pub serving: Arc<Serving>,
    /// Where other processes find this one's HTTP endpoint (`host:port`), if it serves.
    pub metrics_address: Option<String>,
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
    let dataflow_json = flow.to_json();
    let plan = Arc::new(flow.into_plan()?);
    install_panic_hook();
    let counting = config.metrics.is_some() || config.progress;
    let metrics = counting.then(|| Arc::new(Metrics::new(config.recovery.is_some())));
    let (process, workers_per_process, peers) = config.layout();
    let serving = Arc::new(Serving::new(process, workers_per_process, peers));
    // Serves until this function returns.
    let server = match (&config.metrics, &metrics) {
        (Some(serve), Some(metrics)) => {
            metrics.restarts.inc_by(restarts_so_far());
            let site = Site {
                metrics: metrics.clone(),
                serving: serving.clone(),
                dataflow_json,
                stall_timeout: serve.stall_timeout,
            };
            Some(Server::start(serve.addr, site)?)
        }
        _ => None,
    };
    let metrics_address = server.as_ref().map(|s| advertised(s.addr(), &config));
    // Prints until this function returns.
    let _progress = match &metrics {
        Some(metrics) if config.progress => {
            let inputs = (plan.steps.iter())
                .filter(|s| s.kind == "input" || s.kind == "dynamic_input")
                .map(|s| s.id.to_string());
            Some(ProgressLine::start(
                metrics.clone(),
                inputs.collect(),
                config.local_workers(),
            ))
        }
        _ => None,
    };
    let runtime = Arc::new(Runtime {
        config: config.clone(),
        failure: Failure::default(),
        metrics,
        stop: StopState::new(config.stop.clone()),
        serving,
        metrics_address,
    });
    let (results_tx, results) = mpsc::channel();
    let cluster = matches!(config.execution, Execution::Cluster { .. });
    let work = move |worker: &mut Worker| {
        let result =
            catch_unwind(AssertUnwindSafe(|| run_worker(worker, &plan, &runtime))).unwrap_or_else(|_| {
                Err(Error::StepPanicked {
                    step: "<runtime>".to_owned(),
                    worker: worker.index(),
                    message: "the worker panicked outside any step".to_owned(),
                })
            });
        let failed = result.is_err();
        let _ = results_tx.send(result);
        if failed && cluster {
            // A worker thread that ends drops its channels, and timely then tells the peer
            // processes it shut down cleanly: they would wait for it until their watchdog.
            // Parked, it keeps them open until this process exits with the error, and the
            // peers see a lost connection at once (exit 75).
            loop {
                std::thread::park();
            }
        }
    };
    let (guards, local_workers) = match &config.execution {
        Execution::Threads(threads) => {
            let communication = match threads {
                1 => CommunicationConfig::Thread,
                n => CommunicationConfig::Process(*n),
            };
            let config = timely::Config {
                communication,
                worker: WorkerConfig::default(),
            };
            (timely::execute(config, work).map_err(Error::Cluster)?, *threads)
        }
        Execution::Cluster {
            workers_per_process,
            process_id,
            addresses,
        } => {
            let deadline = Instant::now() + config.connect_timeout;
            let sockets = connect_peers(addresses, *process_id, deadline)?;
            let guards = start_cluster(sockets, *process_id, *workers_per_process, work)?;
            (guards, *workers_per_process)
        }
    };
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

/// Starts timely's network threads on the connected `sockets` and this process's workers.
fn start_cluster(
    sockets: Vec<Option<TcpStream>>,
    process_id: usize,
    threads: usize,
    work: impl Fn(&mut Worker) + Send + Sync + 'static,
) -> Result<WorkerGuards<()>, Error> {
    let hooks = Hooks::default();
    let process = ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), hooks.spill.clone());
    let (builders, network) =
        initialize_networking_from_sockets(process, sockets, process_id, threads, hooks)
            .map_err(|e| Error::Cluster(format!("starting the network threads: {e}")))?;
    let builders = builders.into_iter().map(AllocatorBuilder::Tcp).collect();
    timely::execute::execute_from(builders, Box::new(network), WorkerConfig::default(), work)
        .map_err(Error::Cluster)
}

/// How often the local launcher restarted the cluster this process belongs to (it says so
/// in [`RESTARTS_ENV`]).
fn restarts_so_far() -> u64 {
    std::env::var(RESTARTS_ENV)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The address other processes reach `bound` at: itself, unless bound to every interface;
/// then the host of this process's cluster address (or loopback for one process).
fn advertised(bound: std::net::SocketAddr, config: &RunConfig) -> String {
    if !bound.ip().is_unspecified() {
        return bound.to_string();
    }
    let host = match &config.execution {
        Execution::Cluster {
            process_id,
            addresses,
            ..
        } => addresses[*process_id]
            .rsplit_once(':')
            .map_or("127.0.0.1", |(host, _)| host)
            .to_owned(),
        Execution::Threads(_) => "127.0.0.1".to_owned(),
    };
    format!("{host}:{}", bound.port())
}
