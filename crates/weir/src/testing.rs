//! The test kit: a scripted source, a collecting sink, and one-call runs.
//!
//! Users and weir's own tests write the same short code with it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use crate::outputs::{DynamicSink, StatelessSinkPartition};
use crate::{BoxError, Data, Dataflow, Error, RunConfig, StepId};

mod clock;

pub use clock::TestClock;

/// One scripted event of a [`TestingSource`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestEvent<T> {
    /// Emit this item.
    Item(T),
    /// End the input here (as if the source ran dry); a resumed run continues after it.
    Eof,
    /// Fail the dataflow here, as a crashing source would. Each marker fires once per
    /// source (clones share this), so a resumed run with a clone passes it.
    Abort,
    /// Emit nothing for this long.
    Pause(Duration),
    /// End the epoch and advance the run's [`TestClock`] by this much (ignored without one).
    Advance(Duration),
}

/// A one-partition source that plays a script of items and markers.
///
/// Its resume state is the index of the next event, so a resumed run continues after
/// the last snapshotted item.
#[derive(Clone)]
pub struct TestingSource<T> {
    events: Arc<Vec<TestEvent<T>>>,
    batch_size: usize,
    /// Indexes of the `Abort` markers that already fired.
    fired: Arc<Mutex<HashSet<usize>>>,
}

impl<T: Data> TestingSource<T> {
    /// Plays `items`, then ends.
    pub fn new(items: impl IntoIterator<Item = T>) -> Self {
        Self::from_events(items.into_iter().map(TestEvent::Item))
    }

    /// Plays `events` (items and markers), then ends.
    pub fn from_events(events: impl IntoIterator<Item = TestEvent<T>>) -> Self {
        TestingSource {
            events: Arc::new(events.into_iter().collect()),
            batch_size: 1000,
            fired: Arc::default(),
        }
    }

    /// Emits at most `batch_size` items per poll (default 1000).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }
}

impl<T: Data> FixedPartitionedSource for TestingSource<T> {
    type Item = T;
    type State = usize;
    type Partition = TestingPartition<T>;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok(vec!["iterable".to_owned()])
    }

    fn build_part(
        &self,
        _: &StepId,
        _: &str,
        resume_state: Option<usize>,
    ) -> Result<TestingPartition<T>, BoxError> {
        Ok(TestingPartition {
            events: self.events.clone(),
            next: resume_state.unwrap_or(0),
            batch_size: self.batch_size,
            awake: None,
            fired: self.fired.clone(),
            advance: None,
        })
    }
}

/// The partition of a [`TestingSource`].
pub struct TestingPartition<T> {
    events: Arc<Vec<TestEvent<T>>>,
    next: usize,
    batch_size: usize,
    awake: Option<Instant>,
    fired: Arc<Mutex<HashSet<usize>>>,
    /// An `Advance` marker just reached (its index and advance), for the source operator.
    advance: Option<(u64, Duration)>,
}

impl<T: Data> StatefulSourcePartition for TestingPartition<T> {
    type Item = T;
    type State = usize;

    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        let mut items = Vec::new();
        while items.len() < self.batch_size {
            match self.events.get(self.next) {
                Some(TestEvent::Item(item)) => items.push(item.clone()),
                _ if !items.is_empty() => break,
                None => return Ok(Batch::Eof),
                Some(TestEvent::Eof) => {
                    self.next += 1;
                    return Ok(Batch::Eof);
                }
                Some(TestEvent::Abort) => {
                    let first_time = self
                        .fired
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(self.next);
                    self.next += 1;
                    if first_time {
                        return Err(format!("aborted by the ABORT marker at event {}", self.next - 1).into());
                    }
                    continue;
                }
                Some(TestEvent::Pause(pause)) => {
                    self.next += 1;
                    self.awake = Some(Instant::now() + *pause);
                    return Ok(Batch::Pending);
                }
                Some(TestEvent::Advance(by)) => {
                    self.advance = Some((self.next as u64, *by));
                    self.next += 1;
                    return Ok(Batch::Pending);
                }
            }
            self.next += 1;
        }
        self.awake = None;
        Ok(Batch::Items(items))
    }

    fn next_awake(&self) -> Option<Instant> {
        self.awake
    }

    fn take_clock_advance(&mut self) -> Option<(u64, Duration)> {
        self.advance.take()
    }

    fn snapshot(&self) -> usize {
        self.next
    }
}

/// A sink that collects every item into a vector shared by all workers of the process.
pub struct TestingSink<T> {
    items: Arc<Mutex<Vec<T>>>,
}

impl<T> Clone for TestingSink<T> {
    fn clone(&self) -> Self {
        TestingSink {
            items: self.items.clone(),
        }
    }
}

impl<T: Data> Default for TestingSink<T> {
    fn default() -> Self {
        TestingSink {
            items: Arc::new(Mutex::new(Vec::new())),
        }
    }
}

impl<T: Data> TestingSink<T> {
    /// An empty sink; keep a clone to read what the dataflow wrote.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<T>> {
        self.items.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The items in the order they were written (order across workers is arbitrary).
    pub fn items(&self) -> Vec<T> {
        self.lock().clone()
    }

    /// The items, sorted.
    pub fn sorted(&self) -> Vec<T>
    where
        T: Ord,
    {
        let mut items = self.items();
        items.sort();
        items
    }
}

impl<T: Data> DynamicSink for TestingSink<T> {
    type Item = T;
    type Partition = TestingSink<T>;

    fn build(&self, _: &StepId, _: usize, _: usize) -> Result<TestingSink<T>, BoxError> {
        Ok(self.clone())
    }
}

impl<T: Data> StatelessSinkPartition for TestingSink<T> {
    type Item = T;

    fn write_batch(&mut self, mut items: Vec<T>) -> Result<(), BoxError> {
        self.lock().append(&mut items);
        Ok(())
    }
}

/// Runs `flow` on one worker in this thread's process, to completion.
pub fn run_main(flow: Dataflow) -> Result<(), Error> {
    crate::run(flow, RunConfig::threads(1))
}
