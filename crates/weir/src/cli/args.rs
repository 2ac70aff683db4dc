//! The runtime flags, bytewax's names, each also read from a `WEIR_*` environment variable.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::cli::LogFormat;
use crate::cli::launcher::Launch;
use crate::{Error, Execution, MetricsConfig, RecoveryConfig, RunConfig};

/// Runtime flags shared by every weir program. Flatten into your own `clap` parser with
/// `#[command(flatten)]`.
#[derive(Debug, Clone, Args)]
pub struct RuntimeArgs {
    /// Worker threads in each process.
    #[arg(short = 'w', long, env = "WEIR_WORKERS_PER_PROCESS", default_value_t = 1)]
    pub workers_per_process: usize,

    /// Index of this process in a cluster started by hand (needs --addresses).
    #[arg(short = 'i', long, env = "WEIR_PROCESS_ID")]
    pub process_id: Option<usize>,

    /// "host:port;host:port;…" of every process of a cluster, in process order.
    #[arg(short = 'a', long, env = "WEIR_ADDRESSES")]
    pub addresses: Option<String>,

    /// Start a local cluster of this many processes on localhost ports it binds.
    #[arg(short = 'p', long, env = "WEIR_PROCESSES")]
    pub processes: Option<usize>,

    /// Recovery store (made by `weir recovery init`): snapshot every epoch, resume on start.
    #[arg(short = 'r', long, env = "WEIR_RECOVERY_DIRECTORY")]
    pub recovery_directory: Option<PathBuf>,

    /// Seconds superseded snapshots are kept before garbage collection (backups of the
    /// store younger than this stay resumable).
    #[arg(short = 'b', long, env = "WEIR_BACKUP_INTERVAL", default_value_t = 0.0)]
    pub backup_interval: f64,

    /// With -p (also -p 1) and -r: when the local cluster fails, restart all of it from the
    /// recovery store, at most N times within --restart-window. A failure that repeats
    /// with the same error at the same resume epoch is reported, not restarted.
    #[arg(long, env = "WEIR_RESTART", default_value_t = 0)]
    pub restart: u32,

    /// Seconds of the sliding window in which --restart counts restarts; the wait before a
    /// restart (0.1 s, doubling up to 6.4 s) also grows only with restarts in the window.
    #[arg(long, env = "WEIR_RESTART_WINDOW", default_value_t = 300.0)]
    pub restart_window: f64,

    /// Epoch length in seconds (fractions allowed): how often sources close an epoch and
    /// state is snapshotted.
    #[arg(short = 's', long, env = "WEIR_SNAPSHOT_INTERVAL", default_value_t = 10.0)]
    pub snapshot_interval: f64,

    /// Sources stop reading while this many epochs are incomplete downstream.
    #[arg(long, env = "WEIR_MAX_EPOCHS_IN_FLIGHT", default_value_t = 2)]
    pub max_epochs_in_flight: u64,

    /// Stop if no epoch completes for this many seconds (a hung peer or step).
    #[arg(long, env = "WEIR_WATCHDOG_TIMEOUT", default_value_t = 60.0)]
    pub watchdog_timeout: f64,

    /// Seconds processes of a cluster wait for each other at start-up.
    #[arg(long, env = "WEIR_CONNECT_TIMEOUT", default_value_t = 60.0)]
    pub connect_timeout: f64,

    /// Serve Prometheus metrics on /metrics, /health and the graph on /dataflow at this
    /// host:port (port 0: any free port, logged). With -p, process i uses port + i.
    #[arg(long, env = "WEIR_METRICS_ADDR")]
    pub metrics_addr: Option<String>,

    /// Seconds without a completed (with -r: committed) epoch after which /health answers
    /// 503.
    #[arg(long, env = "WEIR_HEALTH_STALL_TIMEOUT", default_value_t = 60.0)]
    pub health_stall_timeout: f64,

    /// Seconds a graceful stop (SIGTERM, Ctrl-C) may take before the process exits at once.
    #[arg(long, env = "WEIR_STOP_TIMEOUT", default_value_t = 30.0)]
    pub stop_timeout: f64,

    /// Print the dataflow's graph in this format and exit without running it.
    #[arg(long, value_enum)]
    pub graph: Option<GraphFormat>,

    /// Log filter: a level (error, warn, info, debug, trace) or directives such as
    /// "weir=debug,warn"; without it, RUST_LOG, else info. Logs go to stderr.
    #[arg(long, env = "WEIR_LOG_LEVEL")]
    pub log_level: Option<String>,

    /// Log lines as text or as JSON objects.
    #[arg(long, env = "WEIR_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// A rendering of the dataflow's graph (`--graph`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// A Mermaid flowchart ([`Dataflow::to_mermaid`](crate::Dataflow::to_mermaid)).
    Mermaid,
    /// Graphviz DOT ([`Dataflow::to_dot`](crate::Dataflow::to_dot)).
    Dot,
    /// JSON ([`Dataflow::to_json`](crate::Dataflow::to_json)).
    Json,
}

impl RuntimeArgs {
    /// Workers in the whole cluster: `-w` times the processes (`-p`, or the `-a` list).
    pub fn total_workers(&self) -> usize {
        let listed = self.addresses.as_ref().map(|a| a.split(';').count());
        self.workers_per_process * self.processes.or(listed).unwrap_or(1)
    }

    fn recovery_config(&self) -> Result<Option<RecoveryConfig>, Error> {
        let Some(directory) = &self.recovery_directory else {
            return Ok(None);
        };
        let backup_interval = Duration::try_from_secs_f64(self.backup_interval).map_err(|_| {
            Error::Config(format!(
                "--backup-interval must be zero or more seconds, not {}",
                self.backup_interval
            ))
        })?;
        Ok(Some(RecoveryConfig {
            directory: directory.clone(),
            backup_interval,
        }))
    }
}

impl RuntimeArgs {
    /// `--stop-timeout`, checked.
    pub(crate) fn stop_timeout(&self) -> Result<Duration, Error> {
        seconds("stop-timeout", self.stop_timeout)
    }

    fn metrics_config(&self) -> Result<Option<MetricsConfig>, Error> {
        let Some(addr) = &self.metrics_addr else {
            return Ok(None);
        };
        let bad = |why: String| {
            Error::Config(format!(
                "--metrics-addr {addr:?} is not a usable host:port ({why})"
            ))
        };
        let addr = addr
            .to_socket_addrs()
            .map_err(|e| bad(e.to_string()))?
            .next()
            .ok_or_else(|| bad("the host resolves to no address".into()))?;
        Ok(Some(MetricsConfig {
            addr,
            stall_timeout: seconds("health-stall-timeout", self.health_stall_timeout)?,
        }))
    }
}

fn seconds(flag: &str, value: f64) -> Result<Duration, Error> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Error::Config(format!(
                "--{flag} must be a positive number of seconds, not {value}"
            ))
        })
}

impl RuntimeArgs {
    /// The run configuration the flags describe (for `-p`, that of each child process).
    pub fn to_config(&self) -> Result<RunConfig, Error> {
        let execution = match (self.processes, self.process_id, &self.addresses) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
                return Err(Error::Config(
                    "-p/--processes starts a local cluster itself; do not combine it with -i or -a".into(),
                ));
            }
            (Some(0), _, _) => return Err(Error::Config("-p/--processes must be at least 1".into())),
            (None, Some(process_id), Some(addresses)) => Execution::Cluster {
                workers_per_process: self.workers_per_process,
                process_id,
                addresses: addresses
                    .split(';')
                    .map(str::trim)
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect(),
            },
            (None, Some(_), None) => {
                return Err(Error::Config(
                    "-i/--process-id needs -a/--addresses with every process's address".into(),
                ));
            }
            (None, None, Some(_)) => {
                return Err(Error::Config(
                    "-a/--addresses needs -i/--process-id to say which one this process is".into(),
                ));
            }
            (_, None, None) => Execution::Threads(self.workers_per_process),
        };
        let config = RunConfig {
            execution,
            epoch_interval: seconds("snapshot-interval", self.snapshot_interval)?,
            max_epochs_in_flight: self.max_epochs_in_flight,
            watchdog_timeout: seconds("watchdog-timeout", self.watchdog_timeout)?,
            connect_timeout: seconds("connect-timeout", self.connect_timeout)?,
            recovery: self.recovery_config()?,
            processing_clock: None,
            metrics: self.metrics_config()?,
            stop: crate::StopSignal::new(),
            progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        };
        self.stop_timeout()?;
        self.check_restart(&config)?;
        config.validate()?;
        Ok(config)
    }

    /// What the local launcher must do, if these flags ask for one (`-p N` with `N > 1`, or
    /// `--restart`); `None` runs the flow in this process. Call after [`Self::to_config`].
    pub(crate) fn launch(&self) -> Result<Option<Launch>, Error> {
        let processes = self.processes.unwrap_or(1);
        if processes == 1 && self.restart == 0 {
            return Ok(None);
        }
        Ok(Some(Launch {
            processes,
            restarts: self.restart,
            restart_window: seconds("restart-window", self.restart_window)?,
            recovery_directory: self.recovery_directory.clone(),
            metrics_addr: self.metrics_config()?.map(|m| m.addr),
        }))
    }

    fn check_restart(&self, config: &RunConfig) -> Result<(), Error> {
        seconds("restart-window", self.restart_window)?;
        if self.restart == 0 {
            return Ok(());
        }
        if self.processes.is_none() {
            return Err(Error::Config(
                "--restart needs -p/--processes (-p 1 for a single process): the local launcher \
                 is what restarts the processes it started; a process started by hand (or with \
                 -i/-a) is restarted by whatever started it"
                    .into(),
            ));
        }
        if config.recovery.is_none() {
            return Err(Error::Config(
                "--restart needs -r/--recovery-directory: without a recovery store a restart would \
                 start over and duplicate output"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        runtime: RuntimeArgs,
    }

    fn config(args: &[&str]) -> Result<RunConfig, Error> {
        Cli::try_parse_from(std::iter::once("prog").chain(args.iter().copied()))
            .expect("flags parse")
            .runtime
            .to_config()
    }

    #[test]
    fn threads_and_cluster() {
        assert_eq!(config(&["-w", "3"]).unwrap().execution, Execution::Threads(3));
        let cluster = config(&["-w", "2", "-i", "1", "-a", "h:1;h:2"]).unwrap();
        assert_eq!(
            cluster.execution,
            Execution::Cluster {
                workers_per_process: 2,
                process_id: 1,
                addresses: vec!["h:1".into(), "h:2".into()]
            }
        );
        assert_eq!(
            config(&["-s", "0.25"]).unwrap().epoch_interval,
            Duration::from_millis(250)
        );
    }

    fn launch(args: &[&str]) -> Option<Launch> {
        let runtime = Cli::try_parse_from(std::iter::once("prog").chain(args.iter().copied()))
            .expect("flags parse")
            .runtime;
        runtime.to_config().expect("consistent flags");
        runtime.launch().expect("a valid launch")
    }

    #[test]
    fn the_launcher_runs_a_cluster_or_restarts_even_one_process() {
        assert!(launch(&["-w", "2"]).is_none());
        assert!(launch(&["-p", "1"]).is_none());
        let cluster = launch(&["-p", "3"]).expect("a cluster is launched");
        assert_eq!((cluster.processes, cluster.restarts), (3, 0));
        let single = launch(&["-p", "1", "--restart", "2", "-r", "x", "--restart-window", "60"])
            .expect("restarts need the launcher");
        assert_eq!(
            (single.processes, single.restarts, single.restart_window),
            (1, 2, Duration::from_secs(60))
        );
        assert_eq!(single.recovery_directory, Some(PathBuf::from("x")));
        let default = launch(&["-p", "2", "--restart", "1", "-r", "x"]).unwrap();
        assert_eq!(default.restart_window, Duration::from_secs(300));
    }

    #[test]
    fn inconsistent_flags_are_refused_with_the_reason() {
        let cases: &[(&[&str], &str)] = &[
            (&["-i", "2", "-a", "h:1;h:2"], "not below the number of addresses"),
            (&["-i", "0"], "needs -a"),
            (&["-a", "h:1"], "needs -i"),
            (&["-p", "2", "-i", "0"], "do not combine"),
            (&["-s", "0"], "positive number"),
            (&["-s=-1"], "positive number"),
            (&["-w", "0"], "at least one worker"),
            (&["-s", "100"], "watchdog timeout"),
            (&["-p", "2", "--restart", "3"], "--restart needs -r"),
            (&["-p", "1", "--restart", "3"], "--restart needs -r"),
            (&["--restart", "3", "-r", "x"], "--restart needs -p"),
            (
                &["-i", "0", "-a", "h:1", "--restart", "3", "-r", "x"],
                "--restart needs -p",
            ),
            (
                &["-p", "2", "--restart-window", "0"],
                "--restart-window must be a positive",
            ),
            (&["-r", "x", "-b=-1"], "--backup-interval"),
            (
                &["--metrics-addr", "9100"],
                "--metrics-addr \"9100\" is not a usable host:port",
            ),
            (
                &["--metrics-addr", "127.0.0.1:0", "--health-stall-timeout", "0"],
                "--health-stall-timeout must be a positive",
            ),
        ];
        for (args, expected) in cases {
            let err = config(args).unwrap_err().to_string();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
    }
}
