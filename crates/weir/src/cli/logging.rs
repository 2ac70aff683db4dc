//! The one `tracing` subscriber of a weir program: to stderr (stdout carries only data),
//! as text or JSON lines, filtered by `--log-level` or `RUST_LOG`.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured when stderr is a terminal).
    Text,
    /// One JSON object per line, span fields included (for log collectors).
    Json,
}

/// Installs the subscriber: `level` (a filter such as `info` or `weir=debug,warn`) if
/// given, else `RUST_LOG`, else `info`. A bad filter is an error naming it.
pub(crate) fn init(level: Option<&str>, format: LogFormat) -> Result<(), crate::Error> {
    let filter = match level {
        Some(level) => EnvFilter::try_new(level).map_err(|e| {
            crate::Error::Config(format!(
                "--log-level {level:?} is not a log filter ({e}); use a level such as \
                 info or debug, or directives such as weir=debug,warn"
            ))
        })?,
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second call in one process (tests, or a program that set its own) keeps the first.
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
    };
    Ok(())
}
