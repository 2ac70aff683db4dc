//! The source operator's view of one open partition, stateful or not.

use std::collections::VecDeque;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::inputs::{Batch, StatefulSourcePartition, StatelessSourcePartition};
use crate::recovery::encode;
use crate::{BoxError, Epoch, Timestamp};

/// How the source operator polls one open partition.
pub(crate) trait Part<T> {
    fn next_batch(&mut self) -> Result<Batch<T>, BoxError>;
    fn next_awake(&self) -> Option<Instant>;
    fn set_waker(&mut self, waker: Waker);
    fn watermark(&self) -> Option<Timestamp>;
    /// A test clock advance the partition reached (see `TestClock`).
    fn take_clock_advance(&mut self) -> Option<(u64, Duration)>;
    /// The encoded resume state at the end of `epoch`, with the partition's watermark for
    /// a clocked input; `None` for partitions without state.
    fn snapshot(&mut self, epoch: Epoch, watermark: Option<Timestamp>) -> Option<Result<Vec<u8>, BoxError>>;
    /// Every snapshot of epochs `<= through` is durable on every worker.
    fn durable(&mut self, through: Epoch) -> Result<(), BoxError>;
    /// Items known to wait upstream, if the partition knows.
    fn backlog(&self) -> Option<u64>;
    fn close(&mut self) -> Result<(), BoxError>;
}

/// A partition with its name (the key of its resume state) and its resumed watermark.
pub(crate) struct NamedPart<T> {
    pub name: String,
    pub part: Box<dyn Part<T>>,
    pub watermark: Timestamp,
}

/// A stateful partition, and its snapshots not yet durable.
pub(crate) struct Stateful<P: StatefulSourcePartition>(pub P, pub VecDeque<(Epoch, P::State)>);

impl<P: StatefulSourcePartition> Part<P::Item> for Stateful<P>
where
    P::State: serde::Serialize,
{
    fn next_batch(&mut self) -> Result<Batch<P::Item>, BoxError> {
        self.0.next_batch()
    }
    fn next_awake(&self) -> Option<Instant> {
        self.0.next_awake()
    }
    fn set_waker(&mut self, waker: Waker) {
        self.0.set_waker(waker)
    }
    fn watermark(&self) -> Option<Timestamp> {
        self.0.watermark()
    }
    fn take_clock_advance(&mut self) -> Option<(u64, Duration)> {
        self.0.take_clock_advance()
    }
    fn snapshot(&mut self, epoch: Epoch, watermark: Option<Timestamp>) -> Option<Result<Vec<u8>, BoxError>> {
        let state = self.0.snapshot();
        let encoded = match watermark {
            Some(watermark) => encode(&(&state, watermark)),
            None => encode(&state),
        };
        self.1.push_back((epoch, state));
        Some(encoded)
    }
    fn durable(&mut self, through: Epoch) -> Result<(), BoxError> {
        while self.1.front().is_some_and(|(epoch, _)| *epoch <= through) {
            let (_, state) = self.1.pop_front().expect("checked above");
            self.0.on_durable(state)?;
        }
        Ok(())
    }
    fn backlog(&self) -> Option<u64> {
        self.0.backlog()
    }
    fn close(&mut self) -> Result<(), BoxError> {
        self.0.close()
    }
}

pub(crate) struct Stateless<P>(pub P);

impl<P: StatelessSourcePartition> Part<P::Item> for Stateless<P> {
    fn next_batch(&mut self) -> Result<Batch<P::Item>, BoxError> {
        self.0.next_batch()
    }
    fn next_awake(&self) -> Option<Instant> {
        self.0.next_awake()
    }
    fn set_waker(&mut self, waker: Waker) {
        self.0.set_waker(waker)
    }
    fn watermark(&self) -> Option<Timestamp> {
        self.0.watermark()
    }
    fn take_clock_advance(&mut self) -> Option<(u64, Duration)> {
        None
    }
    fn snapshot(&mut self, _: Epoch, _: Option<Timestamp>) -> Option<Result<Vec<u8>, BoxError>> {
        None
    }
    fn durable(&mut self, _: Epoch) -> Result<(), BoxError> {
        Ok(())
    }
    fn backlog(&self) -> Option<u64> {
        None
    }
    fn close(&mut self) -> Result<(), BoxError> {
        self.0.close()
    }
}
