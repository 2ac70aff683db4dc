//! `TestClock`: processing time that a test script advances, by epoch.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use crate::Epoch;

/// Processing time under a test's control: operators read it instead of the system clock
/// when [`RunConfig::processing_clock`](crate::RunConfig::processing_clock) is set, and it
/// only moves at [`TestEvent::Advance`](crate::testing::TestEvent::Advance) markers of a
/// [`TestingSource`](crate::testing::TestingSource).
///
/// Time is a function of the epoch: a marker ends the epoch its preceding items are in, and
/// every later epoch is that much later. So items before a marker are applied at the old
/// time and items after it at the new one, processing timers fire when the epoch whose time
/// reaches them begins, and a test of processing time needs no sleep and gives the same
/// result on every run and worker count. For runs in one process (threads).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use weir::testing::{TestClock, TestEvent, TestingSink, TestingSource};
/// use weir::{Dataflow, RunConfig};
///
/// let clock = TestClock::new(SystemTime::UNIX_EPOCH);
/// let mut flow = Dataflow::new("delay");
/// let out = TestingSink::new();
/// let script = vec![
///     TestEvent::Item(1),
///     TestEvent::Advance(Duration::from_secs(5)),
///     TestEvent::Item(2),
///     TestEvent::Advance(Duration::from_secs(5)),
///     TestEvent::Item(3),
/// ];
/// flow.input("in", TestingSource::from_events(script))
///     .key_on("all", |_: &u32| ())
///     .timed_window("per_10s", Duration::from_secs(10))
///     .key_rm("unkey")
///     .output("out", out.clone());
/// let config = RunConfig { processing_clock: Some(clock), ..RunConfig::threads(2) };
/// weir::run(flow, config).unwrap();
/// // 10 s after the first item its list closes; 3 comes later, and goes out at the end.
/// assert_eq!(out.items(), vec![vec![1, 2], vec![3]]);
/// ```
#[derive(Debug, Clone)]
pub struct TestClock {
    steps: Arc<Mutex<Steps>>,
}

#[derive(Debug)]
struct Steps {
    start: SystemTime,
    /// Each marker's advance and the epoch it applies from. A marker a resumed run plays
    /// again replaces its first registration, so a crash never counts it twice.
    advances: BTreeMap<String, (Epoch, Duration)>,
}

impl TestClock {
    /// A clock that reads `start` until a script advances it.
    pub fn new(start: SystemTime) -> Self {
        TestClock {
            steps: Arc::new(Mutex::new(Steps {
                start,
                advances: BTreeMap::new(),
            })),
        }
    }

    fn steps(&self) -> std::sync::MutexGuard<'_, Steps> {
        self.steps.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Processing time during `epoch`.
    pub fn time_at(&self, epoch: Epoch) -> SystemTime {
        let steps = self.steps();
        let offset = steps
            .advances
            .values()
            .filter(|(from, _)| *from <= epoch)
            .fold(Duration::ZERO, |sum, (_, by)| sum.saturating_add(*by));
        // Absurd advances saturate at a far future instead of overflowing.
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(1 << 40);
        steps.start.checked_add(offset).unwrap_or(far)
    }

    /// Makes `epoch` and every later epoch `by` later, for the advance `marker` (named by
    /// its step, partition and place in the script).
    pub(crate) fn advance_from(&self, marker: String, epoch: Epoch, by: Duration) {
        self.steps().advances.insert(marker, (epoch, by));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances_apply_from_their_epoch_on() {
        let clock = TestClock::new(SystemTime::UNIX_EPOCH);
        let secs = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        clock.advance_from("a".into(), 3, Duration::from_secs(10));
        clock.advance_from("b".into(), 7, Duration::from_secs(1));
        clock.advance_from("c".into(), 2, Duration::from_secs(100));
        // A resumed run plays marker c again, later: it moves, it does not add up.
        clock.advance_from("c".into(), 5, Duration::from_secs(100));
        assert_eq!(clock.time_at(0), secs(0));
        assert_eq!(clock.time_at(3), secs(10));
        assert_eq!(clock.time_at(6), secs(110));
        assert_eq!(clock.time_at(7), secs(111));
        assert_eq!(clock.time_at(1000), secs(111));
    }
}
