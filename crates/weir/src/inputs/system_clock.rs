//! `SystemClock`: processing time as event time — a source's items stamped when read.

use std::task::Waker;
use std::time::{Duration, Instant, SystemTime};

use crate::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use crate::{BoxError, StepId, Timestamp};

/// How often an idle partition moves its watermark on with the clock.
const TICK: Duration = Duration::from_millis(50);

/// Wraps a source so that each item is stamped with the processing time it was read at,
/// `(read_ms, item)`, and each partition's watermark follows the system clock (at least
/// every 50 ms while it reads nothing). Read it with
/// [`Dataflow::input_with_system_clock`](crate::Dataflow::input_with_system_clock), and
/// window by `|item| item.0`: processing-time windows on the same machinery as event-time
/// ones. Results depend on when items are read: not deterministic, by nature.
pub struct SystemClock<S>(pub S);

/// A partition of a [`SystemClock`] source.
pub struct SystemClockPartition<P>(P);

fn now_ms() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::try_from(since.as_millis()).unwrap_or(Timestamp::MAX)
}

impl<S: FixedPartitionedSource> FixedPartitionedSource for SystemClock<S> {
    type Item = (Timestamp, S::Item);
    type State = S::State;
    type Partition = SystemClockPartition<S::Partition>;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        self.0.list_parts()
    }

    fn build_part(
        &self,
        step_id: &StepId,
        for_part: &str,
        resume_state: Option<S::State>,
    ) -> Result<Self::Partition, BoxError> {
        Ok(SystemClockPartition(self.0.build_part(
            step_id,
            for_part,
            resume_state,
        )?))
    }

    fn unlisted_part(&self, step_id: &StepId, part: &str, state: S::State) -> Result<(), BoxError> {
        self.0.unlisted_part(step_id, part, state)
    }
}

impl<P: StatefulSourcePartition> StatefulSourcePartition for SystemClockPartition<P> {
    type Item = (Timestamp, P::Item);
    type State = P::State;

    fn next_batch(&mut self) -> Result<Batch<Self::Item>, BoxError> {
        Ok(match self.0.next_batch()? {
            Batch::Items(items) => {
                let now = now_ms();
                Batch::Items(items.into_iter().map(|item| (now, item)).collect())
            }
            Batch::Pending => Batch::Pending,
            Batch::Eof => Batch::Eof,
        })
    }

    fn next_awake(&self) -> Option<Instant> {
        let tick = Instant::now() + TICK;
        Some(self.0.next_awake().map_or(tick, |at| at.min(tick)))
    }

    fn watermark(&self) -> Option<Timestamp> {
        Some(now_ms())
    }

    fn set_waker(&mut self, waker: Waker) {
        self.0.set_waker(waker)
    }

    fn snapshot(&self) -> P::State {
        self.0.snapshot()
    }

    fn backlog(&self) -> Option<u64> {
        self.0.backlog()
    }

    fn on_durable(&mut self, state: P::State) -> Result<(), BoxError> {
        self.0.on_durable(state)
    }

    fn close(&mut self) -> Result<(), BoxError> {
        self.0.close()
    }
}
