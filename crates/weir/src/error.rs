//! The one error type of the weir crate.

/// A boxed error returned by user code: sources, sinks and their partitions.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong while building or running a dataflow.
///
/// Messages say what was wrong, where (step id, worker, path), and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A step id is empty, too long or contains characters other than `[A-Za-z0-9_-]`.
    #[error("invalid step id {id:?}: {reason}; use letters, digits, '_' or '-'")]
    InvalidStepId {
        /// The id as written.
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// Two steps of one dataflow share an id.
    #[error("duplicate step id {0:?}: every step of a dataflow needs its own id")]
    DuplicateStepId(String),
    /// The dataflow has no output step, so nothing it computes could be seen.
    #[error("dataflow {0:?} has no output step: add one with `.output(..)`")]
    NoOutputs(String),
    /// A step that acts on the watermark has no input with an event clock upstream.
    #[error(
        "step {step:?} acts on event time, but one of its inputs has no source with an event \
         clock upstream: read that input with `input_with_clock` (or `dynamic_input_with_clock`)"
    )]
    NoEventClock {
        /// The step id.
        step: String,
    },
    /// A partitioned source or sink listed no partition on any worker.
    #[error("step {step:?} has no partitions: list_parts() returned nothing on every worker")]
    NoPartitions {
        /// The step id.
        step: String,
    },
    /// User code (a source, a sink, a partition) returned an error.
    #[error("step {step:?} failed on worker {worker}: {source}")]
    StepFailed {
        /// The step id the user wrote.
        step: String,
        /// The worker the step ran on.
        worker: usize,
        /// What went wrong.
        source: BoxError,
    },
    /// User code (for example a `map` closure) panicked.
    #[error("step {step:?} panicked on worker {worker}: {message}")]
    StepPanicked {
        /// The step id the user wrote, or `"<runtime>"` when no step was running.
        step: String,
        /// The worker the step ran on.
        worker: usize,
        /// The panic message.
        message: String,
    },
    /// Another worker of this process failed first; this worker stopped because of it.
    #[error("worker {worker} stopped because another worker failed")]
    Cancelled {
        /// The worker that stopped.
        worker: usize,
    },
    /// The run configuration or the command-line flags are inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The cluster could not be started (addresses, ports, connections).
    #[error("could not start the cluster: {0}")]
    Cluster(String),
    /// No epoch completed for longer than the watchdog allows.
    #[error(
        "no progress for {seconds:.1} s seen by worker {worker}: a worker of the cluster \
         stopped responding (a hung or stopped process, or a step that runs far too long); \
         raise --watchdog-timeout if steps legitimately take this long"
    )]
    Stalled {
        /// The worker that noticed.
        worker: usize,
        /// How long nothing progressed.
        seconds: f64,
    },
    /// A child process of the local launcher failed.
    #[error("process {process} of the local cluster failed: {status}")]
    ProcessFailed {
        /// The process id (`-i`) of the child.
        process: usize,
        /// Its exit status, as the OS reported it.
        status: String,
    },
    /// The local cluster failed more often than `--restart` allows within `--restart-window`.
    #[error(
        "the local cluster failed {failures} times within {window_secs} s, but --restart allows \
         {restarts} restarts per --restart-window ({window_secs} s), so it was not restarted \
         again; the last failure: {last}. See the errors above; raise --restart or \
         --restart-window if failures this frequent are expected"
    )]
    RestartsExhausted {
        /// Failures within the window, this one included.
        failures: usize,
        /// `--restart`.
        restarts: u32,
        /// `--restart-window`, in seconds.
        window_secs: f64,
        /// How the last run failed.
        last: String,
    },
    /// The local cluster failed twice in a row with the same error at the same input
    /// position: restarting it would fail again.
    #[error(
        "the failure is deterministic, so the local cluster was not restarted again: two runs \
         in a row failed with the same error after resume epoch {resume_epoch}, without \
         committing an epoch in between (a poison item in the input, or a bug in a step). Fix \
         the input or the step, then run again: it resumes from epoch {resume_epoch}. The \
         error: {message}"
    )]
    DeterministicFailure {
        /// The epoch both runs resumed from.
        resume_epoch: crate::Epoch,
        /// The error both runs printed.
        message: String,
    },
    /// The recovery store is missing, inconsistent, locked or does not fit the dataflow.
    #[error("recovery: {0}")]
    Recovery(String),
    /// weir broke one of its own invariants; the run stops before it can lose or corrupt
    /// anything.
    #[error("internal error (a bug in weir; please report it with this message): {0}")]
    Internal(String),
    /// An I/O error outside user code, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What weir was doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl Error {
    /// The message of a recovery error without its "recovery: " prefix (to wrap it again
    /// after it crossed workers as text); other errors as they display.
    pub(crate) fn into_recovery_message(self) -> String {
        match self {
            Error::Recovery(message) => message,
            other => other.to_string(),
        }
    }

    /// Wraps an error from user code with the step and worker it happened on.
    pub(crate) fn step(step: &str, worker: usize, source: BoxError) -> Self {
        Error::StepFailed {
            step: step.to_owned(),
            worker,
            source,
        }
    }
}

/// The message of a caught panic's payload (a `&str` or `String`, as `panic!` makes them).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    (payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
