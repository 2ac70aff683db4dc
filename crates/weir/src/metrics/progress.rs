//! A progress line on stderr, rewritten every second while a run lasts (the CLI shows it
//! when stderr is a terminal): the newest epoch, the last complete (with recovery:
//! committed) one, and the items read per second.

use std::io::Write;
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::metrics::{Metrics, StepWorker, WorkerLabel};

const EVERY: Duration = Duration::from_secs(1);

/// The printing thread; stops and clears its line when dropped.
pub(crate) struct ProgressLine {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl ProgressLine {
    /// Prints the progress of this process's `workers` reading through the `inputs` steps.
    pub(crate) fn start(metrics: Arc<Metrics>, inputs: Vec<String>, workers: Vec<usize>) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("weir-progress".into())
            .spawn(move || {
                let read = || {
                    let labels = inputs.iter().flat_map(|step| {
                        workers.iter().map(|w| StepWorker {
                            step: step.clone(),
                            worker: *w as u64,
                        })
                    });
                    labels
                        .filter_map(|l| Some(metrics.items.get(&l)?.get()))
                        .sum::<u64>()
                };
                let (mut last, mut at) = (read(), Instant::now());
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                    let (now_read, now) = (read(), Instant::now());
                    let rate = (now_read - last) as f64 / (now - at).as_secs_f64();
                    (last, at) = (now_read, now);
                    let epoch = workers
                        .iter()
                        .filter_map(|w| Some(metrics.epoch.get(&WorkerLabel { worker: *w as u64 })?.get()))
                        .max()
                        .unwrap_or(0);
                    let done = metrics.frontier().saturating_sub(1);
                    let what = if metrics.recovery() {
                        "committed"
                    } else {
                        "complete"
                    };
                    let line = format!("epoch {epoch} · {what} {done} · {} items/s read", human(rate));
                    let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
                }
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            })
            .ok();
        ProgressLine {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.stop = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `1234567.0` as `1.23 M`.
fn human(rate: f64) -> String {
    match rate {
        r if r >= 1e6 => format!("{:.2} M", r / 1e6),
        r if r >= 1e3 => format!("{:.1} k", r / 1e3),
        r => format!("{r:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn rates_are_short() {
        assert_eq!(human(12.4), "12");
        assert_eq!(human(12_345.0), "12.3 k");
        assert_eq!(human(2_345_678.0), "2.35 M");
    }
}
