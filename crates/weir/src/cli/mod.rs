//! The command line: runtime flags (and their environment variables), exit codes, and the
//! local cluster launcher.

mod args;
mod launcher;
mod logging;
mod restart_policy;
mod signals;

use std::process::ExitCode;

pub use args::{GraphFormat, RuntimeArgs};
use clap::Parser;
pub use logging::LogFormat;

use crate::{Dataflow, Error};

/// Exit status of a cluster process whose peer process died or closed its connection.
pub const EXIT_PEER_LOST: u8 = 75;

/// The variable in which the local launcher tells each process how often it restarted the
/// cluster (`weir_restarts_total`).
pub(crate) const RESTARTS_ENV: &str = "WEIR_RESTARTS";

/// Exit status when a second SIGTERM or Ctrl-C, or `--stop-timeout`, stopped a run before
/// its graceful stop completed (a resume goes on from the last committed epoch).
pub const EXIT_STOPPED_AT_ONCE: u8 = 77;

/// Exit status when no epoch completed for longer than the watchdog allows.
pub const EXIT_STALLED: u8 = 76;

/// Parses the runtime flags from the command line and runs `flow`; for a program whose
/// only flags are weir's.
///
/// ```no_run
/// use weir::connectors::StdInSource;
/// use weir::connectors::StdOutSink;
/// use weir::Dataflow;
///
/// fn main() -> std::process::ExitCode {
///     let mut flow = Dataflow::new("upper");
///     flow.dynamic_input("stdin", StdInSource)
///         .map("upper", |line: String| line.to_uppercase())
///         .output("stdout", StdOutSink::new());
///     weir::cli::main(flow)
/// }
/// ```
pub fn main(flow: Dataflow) -> ExitCode {
    #[derive(Parser)]
    #[command(about = "Runs a weir dataflow")]
    struct Cli {
        #[command(flatten)]
        runtime: RuntimeArgs,
    }
    main_with(flow, &Cli::parse().runtime)
}

/// Runs `flow` with already parsed runtime flags (for programs with flags of their own,
/// which `#[command(flatten)]` a [`RuntimeArgs`]). Prints any error and returns the status.
pub fn main_with(flow: Dataflow, runtime: &RuntimeArgs) -> ExitCode {
    if let Err(err) = logging::init(runtime.log_level.as_deref(), runtime.log_format) {
        eprintln!("error: {err}");
        return ExitCode::from(exit_status(&err));
    }
    if let Some(format) = runtime.graph {
        print!(
            "{}",
            match format {
                GraphFormat::Mermaid => flow.to_mermaid(),
                GraphFormat::Dot => flow.to_dot(),
                GraphFormat::Json => flow.to_json() + "\n",
            }
        );
        return ExitCode::SUCCESS;
    }
    #[cfg(feature = "failpoints")]
    let _failpoints = fail::FailScenario::setup();
    match run_with(flow, runtime) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(exit_status(&err))
        }
    }
}

/// Runs `flow` as the flags ask: in this process, or through the local launcher (`-p N`,
/// or `--restart`, which restarts even a single process).
///
/// SIGTERM or Ctrl-C stops the run gracefully (see [`StopSignal`](crate::StopSignal)); a
/// second one, or `--stop-timeout`, exits at once with [`EXIT_STOPPED_AT_ONCE`]. The local
/// launcher forwards them to its processes.
pub fn run_with(flow: Dataflow, runtime: &RuntimeArgs) -> Result<(), Error> {
    let config = runtime.to_config()?;
    if let Some(launch) = runtime.launch()? {
        return launcher::supervise(&launch, std::env::args_os().skip(1).collect());
    }
    let stop = config.stop.clone();
    let timeout = runtime.stop_timeout()?;
    signals::on_stop_signals(
        move || {
            tracing::info!(
                ?timeout,
                "stopping: finishing the current epoch (a second signal stops at once)"
            );
            stop.stop();
            std::thread::spawn(move || {
                std::thread::sleep(timeout);
                stop_at_once(&format!(
                    "the graceful stop took longer than --stop-timeout ({timeout:?})"
                ));
            });
        },
        || stop_at_once("a second signal"),
    )?;
    let stopping = config.stop.clone();
    crate::run(flow, config)?;
    if stopping.is_stopping() {
        tracing::info!("stopped gracefully: run again with the same recovery store to resume");
    }
    Ok(())
}

/// Exits at once with [`EXIT_STOPPED_AT_ONCE`], saying `why`.
fn stop_at_once(why: &str) -> ! {
    eprintln!("error: stopped at once by {why}; a resume goes on from the last committed epoch");
    std::process::exit(EXIT_STOPPED_AT_ONCE.into())
}

/// The exit status for an error.
fn exit_status(err: &Error) -> u8 {
    match err {
        Error::Stalled { .. } => EXIT_STALLED,
        _ => 1,
    }
}
