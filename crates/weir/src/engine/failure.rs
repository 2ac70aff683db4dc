//! Stopping every worker when one fails: the shared failure slot, and panics named by step.

use std::cell::RefCell;
use std::panic;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

use crate::Error;

/// The first error of this process's workers; every worker polls it and stops.
#[derive(Default)]
pub(crate) struct Failure {
    failed: AtomicBool,
    first: Mutex<Option<Error>>,
}

impl Failure {
    /// Records `err` unless an earlier error was recorded.
    pub(crate) fn record(&self, err: Error) {
        let mut first = self.first.lock().unwrap_or_else(|e| e.into_inner());
        if first.is_none() {
            *first = Some(err);
        }
        self.failed.store(true, Ordering::SeqCst);
    }

    pub(crate) fn is_set(&self) -> bool {
        self.failed.load(Ordering::Relaxed)
    }

    /// Takes the recorded error; later callers get `None`.
    pub(crate) fn take(&self) -> Option<Error> {
        self.first.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

thread_local! {
    static CURRENT_STEP: RefCell<Option<Rc<str>>> = const { RefCell::new(None) };
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// A step as its operators name it: for panics, and as the `tracing` span (fields `step`
/// and, for sources, `epoch`) that their log events are in.
#[derive(Clone)]
pub(crate) struct StepName {
    pub name: Rc<str>,
    pub span: tracing::Span,
}

impl StepName {
    pub(crate) fn new(name: &str) -> StepName {
        StepName {
            name: Rc::from(name),
            span: tracing::info_span!("step", step = name, epoch = tracing::field::Empty),
        }
    }
}

/// Marks this thread as running `step` until the guard drops, so a panic names the step
/// and log events are in its span.
pub(crate) fn enter_step(step: &StepName) -> StepScope {
    let previous = CURRENT_STEP.with(|c| c.replace(Some(step.name.clone())));
    StepScope {
        previous,
        _span: step.span.clone().entered(),
    }
}

/// Runs `f` marked as `step`, for panic attribution only (no log span): cheap enough per
/// item, for user closures that run inside operators weir did not write (views).
pub(crate) fn in_step<R>(step: &StepName, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT_STEP.with(|c| c.replace(Some(step.name.clone())));
    let result = f();
    CURRENT_STEP.with(|c| *c.borrow_mut() = previous);
    result
}

/// Restores the previous step on drop.
pub(crate) struct StepScope {
    previous: Option<Rc<str>>,
    _span: tracing::span::EnteredSpan,
}

impl Drop for StepScope {
    fn drop(&mut self) {
        CURRENT_STEP.with(|c| *c.borrow_mut() = self.previous.take());
    }
}

/// The step and message of the last panic caught on this thread inside a step.
pub(crate) fn take_last_panic() -> Option<(String, String)> {
    LAST_PANIC.with(|p| p.borrow_mut().take())
}

/// Installs (once per process) a panic hook that
/// - turns timely's "peer connection lost" panics into a clear message and exit 75, and
/// - records panics of user code inside a step, to be reported as an error naming the step
///   (instead of a panic trace), leaving all other panics to the previous hook.
pub(crate) fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let message = info
                .payload_as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| "non-text panic payload".to_owned());
            if message.starts_with("timely communication error") || message.contains("MergeQueue poisoned") {
                eprintln!(
                    "weir: lost the connection to a peer process (it exited or was killed): \
                     {message}; stopping this process"
                );
                std::process::exit(i32::from(crate::cli::EXIT_PEER_LOST));
            }
            let step = CURRENT_STEP.with(|c| c.borrow().clone());
            match step {
                Some(step) => LAST_PANIC.with(|p| *p.borrow_mut() = Some((step.to_string(), message))),
                None => previous(info),
            }
        }));
    });
}
