//! The source operator's view of one open partition, stateful or not.

use std::time::{Duration, Instant};

use crate::inputs::{Batch, StatefulSourcePartition, StatelessSourcePartition};
use crate::recovery::encode;
use crate::{BoxError, Timestamp};

/// How the source operator polls one open partition.
pub(crate) trait Part<T> {
    fn next_batch(&mut self) -> Result<Batch<T>, BoxError>;
    fn next_awake(&self) -> Option<Instant>;
    fn watermark(&self) -> Option<Timestamp>;
    /// A test clock advance the partition reached (see `TestClock`).
    fn take_clock_advance(&mut self) -> Option<(u64, Duration)>;
    /// The encoded resume state, with the partition's watermark for a clocked input;
    /// `None` for partitions without state.
    fn snapshot(&self, watermark: Option<Timestamp>) -> Option<Result<Vec<u8>, BoxError>>;
    fn close(&mut self) -> Result<(), BoxError>;
}

/// A partition with its name (the key of its resume state) and its resumed watermark.
pub(crate) struct NamedPart<T> {
    pub name: String,
    pub part: Box<dyn Part<T>>,
    pub watermark: Timestamp,
}

pub(crate) struct Stateful<P>(pub P);

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
    fn watermark(&self) -> Option<Timestamp> {
        self.0.watermark()
    }
    fn take_clock_advance(&mut self) -> Option<(u64, Duration)> {
        self.0.take_clock_advance()
    }
    fn snapshot(&self, watermark: Option<Timestamp>) -> Option<Result<Vec<u8>, BoxError>> {
        let state = self.0.snapshot();
        Some(match watermark {
            Some(watermark) => encode(&(state, watermark)),
            None => encode(&state),
        })
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
    fn watermark(&self) -> Option<Timestamp> {
        self.0.watermark()
    }
    fn take_clock_advance(&mut self) -> Option<(u64, Duration)> {
        None
    }
    fn snapshot(&self, _: Option<Timestamp>) -> Option<Result<Vec<u8>, BoxError>> {
        None
    }
    fn close(&mut self) -> Result<(), BoxError> {
        self.0.close()
    }
}
