//! `EventClock`: how a source's items carry event time, and how each partition's watermark
//! advances.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{BoxError, Timestamp};

/// Reads an item's event time.
type TimestampFn<T> = dyn Fn(&T) -> Result<Timestamp, BoxError> + Send + Sync;

/// The event time of a source's items and the bounded out-of-orderness of its partitions.
///
/// Each source partition keeps its own watermark: the latest timestamp it has read minus
/// `wait`. An item whose timestamp is below its partition's watermark when it is read is
/// **late**: it goes to the input's `late` stream, decided there and only there, so the
/// same input gives the same late items whatever the worker count, the timing or a crash
/// (the watermark is part of the partition's snapshot). The watermark a step sees is the
/// minimum over every partition of every clocked source upstream of it; it never overtakes
/// an item read before it, so an item that is not late never finds its window closed.
///
/// ```
/// use std::time::Duration;
/// use weir::inputs::EventClock;
///
/// // Items are `(timestamp_ms, value)`, at most 5 s out of order.
/// let clock = EventClock::new(|item: &(i64, u32)| item.0, Duration::from_secs(5));
/// # let _ = clock;
/// ```
pub struct EventClock<T> {
    pub(crate) timestamp: Arc<TimestampFn<T>>,
    pub(crate) wait: Timestamp,
    pub(crate) idle_after: Option<Duration>,
    pub(crate) advance_with_processing_time: bool,
}

impl<T> Clone for EventClock<T> {
    fn clone(&self) -> Self {
        EventClock {
            timestamp: self.timestamp.clone(),
            wait: self.wait,
            idle_after: self.idle_after,
            advance_with_processing_time: self.advance_with_processing_time,
        }
    }
}

impl<T> EventClock<T> {
    /// Items are stamped by `timestamp` (UTC milliseconds) and arrive at most `wait` out of
    /// order within a partition.
    pub fn new(timestamp: impl Fn(&T) -> Timestamp + Send + Sync + 'static, wait: Duration) -> Self {
        Self::try_new(move |item| Ok(timestamp(item)), wait)
    }

    /// Like [`new`](Self::new), for timestamps that may not parse: an error stops the run
    /// with a message naming the step and the partition (nothing of the batch is emitted).
    pub fn try_new(
        timestamp: impl Fn(&T) -> Result<Timestamp, BoxError> + Send + Sync + 'static,
        wait: Duration,
    ) -> Self {
        EventClock {
            timestamp: Arc::new(timestamp),
            wait: Timestamp::try_from(wait.as_millis()).unwrap_or(Timestamp::MAX),
            idle_after: None,
            advance_with_processing_time: false,
        }
    }

    /// Opt-in, **not deterministic**: once a partition has read nothing for `idle`, its
    /// watermark advances with processing time (from where its last item left it), so a
    /// quiet partition stops holding windows back (one that never read anything stops
    /// holding them back at all). Which of its later items are late then depends on how
    /// long it was quiet. A partition held back by backpressure is not quiet.
    pub fn idle_after(mut self, idle: Duration) -> Self {
        self.idle_after = Some(idle);
        self
    }

    /// Opt-in, **not deterministic**: while a partition reads nothing, its watermark advances
    /// with processing time (bytewax's behaviour), so windows close without new items.
    /// Which items are late then depends on when they arrive. (With
    /// [`idle_after`](Self::idle_after) too, the advance starts at once.)
    pub fn advance_with_processing_time(mut self) -> Self {
        self.advance_with_processing_time = true;
        self
    }
}

/// One partition's watermark and what advances it.
#[derive(Debug, Clone)]
pub(crate) struct PartitionClock {
    /// No later item below this is on time. Only grows.
    watermark: Timestamp,
    /// When the partition last read an item, and its watermark then.
    last_read: Instant,
    read_watermark: Timestamp,
    /// Whether its watermark means anything yet: it read an item or reported a watermark,
    /// or it resumed with one.
    anchored: bool,
}

impl PartitionClock {
    /// A partition resuming with `watermark` (`Timestamp::MIN` for a fresh one).
    pub(crate) fn new(watermark: Timestamp, now: Instant) -> Self {
        PartitionClock {
            watermark,
            last_read: now,
            read_watermark: watermark,
            anchored: watermark > Timestamp::MIN,
        }
    }

    pub(crate) fn watermark(&self) -> Timestamp {
        self.watermark
    }

    /// Moves the late items of a batch, in order, from `items` to `late`, and advances the
    /// watermark past the on-time ones. `reported` is the partition's own watermark, if it
    /// knows one.
    pub(crate) fn split_late<T>(
        &mut self,
        clock: &EventClock<T>,
        items: &mut Vec<T>,
        late: &mut Vec<T>,
        reported: Option<Timestamp>,
        now: Instant,
    ) -> Result<(), BoxError> {
        if !items.is_empty() {
            self.last_read = now;
        }
        // In place: on-time items (nearly all) stay where they are.
        let mut failed = None;
        let watermark = &mut self.watermark;
        late.extend(items.extract_if(.., |item| match (clock.timestamp)(item) {
            Ok(ts) if ts < *watermark => true,
            Ok(ts) => {
                *watermark = (*watermark).max(ts.saturating_sub(clock.wait));
                false
            }
            Err(err) => {
                failed.get_or_insert(err);
                false
            }
        }));
        if let Some(err) = failed {
            return Err(err);
        }
        if let Some(reported) = reported {
            self.report(reported);
        }
        if !items.is_empty() || !late.is_empty() {
            self.read_watermark = self.watermark;
            self.anchored = true;
        }
        Ok(())
    }

    /// The partition ended: its watermark is the end of time, and stays so in its last
    /// snapshot. The windows downstream closed when every partition ended, so items a later
    /// execution reads from it (a file that grew) are late, not reopened windows.
    pub(crate) fn end(&mut self) {
        self.watermark = Timestamp::MAX;
    }

    /// Takes the partition's own watermark into account.
    pub(crate) fn report(&mut self, reported: Timestamp) {
        self.watermark = self.watermark.max(reported);
        self.read_watermark = self.watermark;
        self.anchored = true;
    }

    /// The partition read nothing because the source was held back (backpressure): it is
    /// busy, not quiet.
    pub(crate) fn held_back(&mut self, now: Instant) {
        self.last_read = now;
    }

    /// Whether the partition holds the source's watermark back at `now`. Under `idle_after`,
    /// one that never read anything (an empty queue partition, a worker's idle dynamic
    /// partition) stops holding it once quiet that long: it has no watermark to rise from.
    pub(crate) fn holds<T>(&self, clock: &EventClock<T>, now: Instant) -> bool {
        let quiet = now.saturating_duration_since(self.last_read);
        self.anchored || clock.idle_after.is_none_or(|idle| quiet < idle)
    }

    /// Applies the processing-time opt-ins at `now`: while the partition reads nothing, its
    /// watermark rises with the time it has been quiet (past `idle_after`, if set). Returns
    /// whether it rose (the new watermark belongs in the next snapshot).
    pub(crate) fn advance<T>(&mut self, clock: &EventClock<T>, now: Instant) -> bool {
        let quiet = now.saturating_duration_since(self.last_read);
        let rising = match (clock.advance_with_processing_time, clock.idle_after) {
            (true, _) => quiet,
            (false, Some(idle)) => quiet.saturating_sub(idle),
            (false, None) => return false,
        };
        let rise = Timestamp::try_from(rising.as_millis()).unwrap_or(Timestamp::MAX);
        let risen = self.read_watermark.saturating_add(rise);
        let rose = risen > self.watermark;
        self.watermark = self.watermark.max(risen);
        rose
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_iff_below_the_watermark_when_read() {
        let clock = EventClock::new(|x: &i64| *x, Duration::from_millis(10));
        let now = Instant::now();
        let mut part = PartitionClock::new(Timestamp::MIN, now);
        let (mut items, mut late) = (vec![100, 95, 89, 90, 120, 109, 110], Vec::new());
        part.split_late(&clock, &mut items, &mut late, None, now).unwrap();
        assert_eq!(items, [100, 95, 90, 120, 110]);
        assert_eq!(late, [89, 109]);
        assert_eq!(part.watermark(), 110);
        part.split_late(&clock, &mut vec![], &mut late, Some(500), now)
            .unwrap();
        assert_eq!(part.watermark(), 500, "a reported watermark counts");
        assert!(
            !part.advance(&clock, now + Duration::from_secs(60)),
            "no opt-in, no rise"
        );
        assert_eq!(part.watermark(), 500);
    }

    #[test]
    fn quiet_partitions_rise_with_processing_time_when_opted_in() {
        let start = Instant::now();
        let idle = EventClock::new(|x: &i64| *x, Duration::ZERO).idle_after(Duration::from_secs(1));
        let mut part = PartitionClock::new(7, start);
        assert!(!part.advance(&idle, start + Duration::from_millis(500)));
        assert!(part.advance(&idle, start + Duration::from_millis(1_250)));
        assert_eq!(part.watermark(), 7 + 250, "risen by the quiet time past 1 s");
        let advancing = EventClock::new(|x: &i64| *x, Duration::ZERO).advance_with_processing_time();
        let mut part = PartitionClock::new(7, start);
        assert!(part.advance(&advancing, start + Duration::from_millis(40)));
        assert_eq!(part.watermark(), 47);
        assert!(
            !part.advance(&advancing, start + Duration::from_millis(30)),
            "never back"
        );
    }
}
