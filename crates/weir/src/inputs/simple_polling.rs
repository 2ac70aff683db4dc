//! `SimplePollingSource`: call a function on an interval, on one worker.

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use crate::{BoxError, Data, StepId};

/// Why a poll produced no item.
#[derive(Debug)]
pub enum PollError {
    /// Nothing now; poll again after this long instead of the usual interval.
    Retry(Duration),
    /// The poll failed; the dataflow stops with this error.
    Failed(BoxError),
}

/// Calls `poll` every `interval` and emits the item it returns, if any.
///
/// One partition, so exactly one worker polls. Nothing is resumable: meant for
/// low-rate polling (seconds to hours) of an API or a file.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use weir::inputs::{PollError, SimplePollingSource};
/// use weir::testing::{run_main, TestingSink};
/// use weir::Dataflow;
///
/// let calls = AtomicU32::new(0);
/// let source = SimplePollingSource::new(Duration::from_millis(1), move || {
///     match calls.fetch_add(1, Ordering::SeqCst) {
///         0 => Err(PollError::Retry(Duration::from_millis(1))),
///         n @ 1..=3 => Ok(Some(n)),
///         _ => Err(PollError::Failed("done polling".into())),
///     }
/// })
/// .with_limit(3);
/// let mut flow = Dataflow::new("poll");
/// let out = TestingSink::new();
/// flow.input("poll", source).output("out", out.clone());
/// run_main(flow).unwrap();
/// assert_eq!(out.sorted(), vec![1, 2, 3]);
/// ```
pub struct SimplePollingSource<T, F> {
    interval: Duration,
    align_to: Option<SystemTime>,
    limit: Option<u64>,
    poll: Arc<F>,
    _items: PhantomData<fn() -> T>,
}

impl<T, F> SimplePollingSource<T, F>
where
    T: Data,
    F: Fn() -> Result<Option<T>, PollError> + Send + Sync + 'static,
{
    /// Polls `poll` every `interval`, starting at once.
    pub fn new(interval: Duration, poll: F) -> Self {
        SimplePollingSource {
            interval,
            align_to: None,
            limit: None,
            poll: Arc::new(poll),
            _items: PhantomData,
        }
    }

    /// Polls at `align_to + k * interval` instead of starting at once.
    pub fn aligned_to(mut self, align_to: SystemTime) -> Self {
        self.align_to = Some(align_to);
        self
    }

    /// Ends the input after `items` items (otherwise it never ends).
    pub fn with_limit(mut self, items: u64) -> Self {
        self.limit = Some(items);
        self
    }

    fn first_awake(&self) -> Instant {
        let now = Instant::now();
        let Some(align_to) = self.align_to else {
            return now;
        };
        let interval = self.interval.as_nanos().max(1);
        let since = SystemTime::now()
            .duration_since(align_to)
            .map(|d| d.as_nanos() % interval)
            .unwrap_or(0);
        let wait = (interval - since) % interval;
        now + Duration::from_nanos(wait as u64)
    }
}

impl<T, F> FixedPartitionedSource for SimplePollingSource<T, F>
where
    T: Data,
    F: Fn() -> Result<Option<T>, PollError> + Send + Sync + 'static,
{
    type Item = T;
    type State = ();
    type Partition = PollingPartition<T, F>;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok(vec!["singleton".to_owned()])
    }

    fn build_part(&self, _: &StepId, _: &str, _: Option<()>) -> Result<Self::Partition, BoxError> {
        Ok(PollingPartition {
            interval: self.interval,
            awake: self.first_awake(),
            remaining: self.limit,
            poll: self.poll.clone(),
            _items: PhantomData,
        })
    }
}

/// The one partition of a [`SimplePollingSource`].
pub struct PollingPartition<T, F> {
    interval: Duration,
    awake: Instant,
    remaining: Option<u64>,
    poll: Arc<F>,
    _items: PhantomData<fn() -> T>,
}

impl<T, F> StatefulSourcePartition for PollingPartition<T, F>
where
    T: Data,
    F: Fn() -> Result<Option<T>, PollError> + Send + Sync + 'static,
{
    type Item = T;
    type State = ();

    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        if self.remaining == Some(0) {
            return Ok(Batch::Eof);
        }
        let now = Instant::now();
        if now < self.awake {
            return Ok(Batch::Pending);
        }
        match (self.poll)() {
            Ok(item) => {
                while self.awake <= now {
                    self.awake += self.interval;
                }
                match item {
                    Some(item) => {
                        self.remaining = self.remaining.map(|r| r - 1);
                        Ok(Batch::Items(vec![item]))
                    }
                    None => Ok(Batch::Pending),
                }
            }
            Err(PollError::Retry(after)) => {
                self.awake = now + after;
                Ok(Batch::Pending)
            }
            Err(PollError::Failed(err)) => Err(err),
        }
    }

    fn next_awake(&self) -> Option<Instant> {
        Some(self.awake)
    }

    fn snapshot(&self) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(interval_ms: u64) -> SimplePollingSource<u8, impl Fn() -> Result<Option<u8>, PollError>> {
        SimplePollingSource::new(Duration::from_millis(interval_ms), || Ok(Some(1)))
    }

    #[test]
    fn unaligned_sources_poll_at_once_and_aligned_ones_on_the_grid() {
        let now = Instant::now();
        assert!(source(1000).first_awake() <= Instant::now());
        // Aligned to 250 ms ago with a 1 s interval: the next slot is ~750 ms away.
        let aligned = source(1000).aligned_to(SystemTime::now() - Duration::from_millis(250));
        let wait = aligned.first_awake() - now;
        assert!(
            wait > Duration::from_millis(600) && wait <= Duration::from_millis(760),
            "{wait:?}"
        );
    }

    #[test]
    fn retry_polls_sooner_and_items_keep_the_interval() {
        let calls = std::sync::atomic::AtomicU32::new(0);
        let source = SimplePollingSource::new(Duration::from_secs(3600), move || {
            match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0 => Err(PollError::Retry(Duration::from_millis(5))),
                _ => Ok(Some(7u8)),
            }
        });
        let step = StepId::new("poll").unwrap();
        let mut part = source.build_part(&step, "singleton", None).unwrap();
        assert_eq!(part.next_batch().unwrap(), Batch::Pending);
        let retry_at = part.next_awake().unwrap();
        assert!(retry_at <= Instant::now() + Duration::from_millis(5));
        std::thread::sleep(retry_at.saturating_duration_since(Instant::now()));
        assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![7]));
        assert!(part.next_awake().unwrap() > Instant::now() + Duration::from_secs(3500));
        assert_eq!(
            part.next_batch().unwrap(),
            Batch::Pending,
            "not again before the interval"
        );
    }
}
