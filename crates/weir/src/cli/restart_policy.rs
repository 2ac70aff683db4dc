//! When the local launcher restarts a failed cluster: at most N restarts within a sliding
//! window (Flink's failure-rate strategy), a backoff that doubles with the restarts still
//! in the window, and no restart at all for a failure that repeats identically at the same
//! input position (a poison item or a bug in a step).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::{Epoch, Error};

/// The wait before a restart when no other restart is in the window.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The backoff doubles at most this many times (to 6.4 s).
const MAX_DOUBLINGS: u32 = 6;

/// What the launcher saw of one failed run of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FailedAttempt {
    /// How the cluster failed, as the launcher reports it (which process, exit status).
    pub failure: String,
    /// The message of the last `error: ` line the cluster printed; `None` when it printed
    /// none (a process killed by a signal, or by a lost peer).
    pub message: Option<String>,
    /// The epoch the next run resumes from, read from the recovery store after the failure;
    /// `None` if the store could not be read.
    pub resume_epoch: Option<Epoch>,
}

impl FailedAttempt {
    /// The same non-empty error at the same resume epoch: the run after `previous` failed
    /// where `previous` did, without committing an epoch, in the same way.
    fn repeats(&self, previous: &FailedAttempt) -> bool {
        self.message.as_deref().is_some_and(|m| !m.trim().is_empty())
            && self.message == previous.message
            && self.resume_epoch.is_some()
            && self.resume_epoch == previous.resume_epoch
    }
}

/// What to do after a failure.
#[derive(Debug)]
pub(crate) enum Decision {
    /// Start the cluster again after this wait.
    Restart {
        /// The backoff.
        after: Duration,
    },
    /// Stop and fail with this error.
    GiveUp(Error),
}

/// The restart decisions of one launcher, from `--restart` and `--restart-window`.
#[derive(Debug)]
pub(crate) struct RestartPolicy {
    max_restarts: u32,
    window: Duration,
    /// When the restarts still inside the window happened, oldest first.
    recent: VecDeque<Instant>,
    previous: Option<FailedAttempt>,
}

impl RestartPolicy {
    /// At most `max_restarts` restarts within any `window`.
    pub(crate) fn new(max_restarts: u32, window: Duration) -> Self {
        RestartPolicy {
            max_restarts,
            window,
            recent: VecDeque::new(),
            previous: None,
        }
    }

    /// Decides what follows `failed`, which happened at `now`.
    pub(crate) fn decide(&mut self, now: Instant, failed: FailedAttempt) -> Decision {
        let previous = self.previous.replace(failed.clone());
        if let Some(previous) = previous
            && failed.repeats(&previous)
        {
            return Decision::GiveUp(Error::DeterministicFailure {
                resume_epoch: failed.resume_epoch.expect("a repeat has a resume epoch"),
                message: failed.message.expect("a repeat has a message"),
            });
        }
        while let Some(&oldest) = self.recent.front()
            && now.saturating_duration_since(oldest) >= self.window
        {
            self.recent.pop_front();
        }
        let in_window = self.recent.len();
        if in_window >= self.max_restarts as usize {
            let last = match &failed.message {
                Some(message) => format!("{} ({message})", failed.failure),
                None => failed.failure,
            };
            return Decision::GiveUp(Error::RestartsExhausted {
                failures: in_window + 1,
                restarts: self.max_restarts,
                window_secs: self.window.as_secs_f64(),
                last,
            });
        }
        self.recent.push_back(now);
        let doublings = (in_window as u32).min(MAX_DOUBLINGS);
        Decision::Restart {
            after: FIRST_BACKOFF * 2u32.pow(doublings),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(300);

    fn failed(message: Option<&str>, resume_epoch: Option<Epoch>) -> FailedAttempt {
        FailedAttempt {
            failure: "process 0 of the local cluster failed: exit status: 1".into(),
            message: message.map(str::to_owned),
            resume_epoch,
        }
    }

    /// A failure without a message (a killed process) at a new resume epoch each time.
    fn killed(epoch: Epoch) -> FailedAttempt {
        failed(None, Some(epoch))
    }

    fn backoff(decision: Decision) -> Duration {
        match decision {
            Decision::Restart { after } => after,
            Decision::GiveUp(err) => panic!("gave up: {err}"),
        }
    }

    fn gave_up(decision: Decision) -> Error {
        match decision {
            Decision::GiveUp(err) => err,
            Decision::Restart { after } => panic!("restarts after {after:?}"),
        }
    }

    #[test]
    fn allows_n_restarts_per_window_with_a_doubling_backoff() {
        let start = Instant::now();
        let mut policy = RestartPolicy::new(3, WINDOW);
        let at = |secs| start + Duration::from_secs(secs);
        assert_eq!(
            backoff(policy.decide(at(0), killed(1))),
            Duration::from_millis(100)
        );
        assert_eq!(
            backoff(policy.decide(at(10), killed(2))),
            Duration::from_millis(200)
        );
        assert_eq!(
            backoff(policy.decide(at(20), killed(3))),
            Duration::from_millis(400)
        );
        let err = gave_up(policy.decide(at(30), killed(4))).to_string();
        assert!(err.contains("failed 4 times within 300 s"), "{err}");
        assert!(err.contains("--restart allows 3 restarts"), "{err}");
        assert!(err.contains("exit status: 1"), "{err}");
    }

    #[test]
    fn a_long_lived_job_is_not_capped_and_its_backoff_resets() {
        let start = Instant::now();
        let mut policy = RestartPolicy::new(2, WINDOW);
        for i in 0..20u64 {
            // Failures 200 s apart: never more than one other restart in the window.
            let after = backoff(policy.decide(start + Duration::from_secs(200 * i), killed(i)));
            let expected = if i == 0 { 100 } else { 200 };
            assert_eq!(after, Duration::from_millis(expected), "failure {i}");
        }
        // After a quiet window, the backoff starts over.
        let later = start + Duration::from_secs(200 * 19 + 300);
        assert_eq!(
            backoff(policy.decide(later, killed(99))),
            Duration::from_millis(100)
        );
    }

    #[test]
    fn the_backoff_stops_doubling() {
        let start = Instant::now();
        let mut policy = RestartPolicy::new(100, WINDOW);
        let last = (0..10)
            .map(|i| backoff(policy.decide(start, killed(i))))
            .last()
            .unwrap();
        assert_eq!(last, Duration::from_millis(6400));
    }

    #[test]
    fn the_same_error_at_the_same_resume_epoch_is_deterministic() {
        let start = Instant::now();
        let mut policy = RestartPolicy::new(10, WINDOW);
        let poison = "step \"parse\" failed on worker 0: bad item";
        backoff(policy.decide(start, failed(Some(poison), Some(4))));
        // Progress was committed in between: it failed later in the input; restart.
        backoff(policy.decide(start, failed(Some(poison), Some(7))));
        match gave_up(policy.decide(start, failed(Some(poison), Some(7)))) {
            Error::DeterministicFailure {
                resume_epoch,
                message,
            } => assert_eq!((resume_epoch, message.as_str()), (7, poison)),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn only_an_identical_known_failure_is_deterministic() {
        let start = Instant::now();
        let cases = [
            // Killed twice before any commit: no message, not a poison item.
            [failed(None, Some(3)), failed(None, Some(3))],
            [failed(Some(""), Some(3)), failed(Some(""), Some(3))],
            // Another error at the same position.
            [failed(Some("a"), Some(3)), failed(Some("b"), Some(3))],
            // The store could not be read: the position is unknown.
            [failed(Some("a"), None), failed(Some("a"), None)],
        ];
        for [first, second] in cases {
            let mut policy = RestartPolicy::new(10, WINDOW);
            backoff(policy.decide(start, first.clone()));
            backoff(policy.decide(start, second.clone()));
        }
        // Only consecutive failures count: a different failure in between resets it.
        let mut policy = RestartPolicy::new(10, WINDOW);
        backoff(policy.decide(start, failed(Some("a"), Some(3))));
        backoff(policy.decide(start, failed(None, Some(3))));
        backoff(policy.decide(start, failed(Some("a"), Some(3))));
    }
}
