//! `NexmarkSource`: the `nexmark` crate's generator as a partitioned, resumable source.

use std::time::{Duration, Instant};

use nexmark::EventGenerator;
use nexmark::config::NexmarkConfig;
use nexmark::event::Event;
use weir::inputs::{Batch, EventClock, FixedPartitionedSource, StatefulSourcePartition};
use weir::{BoxError, StepId, Timestamp};

/// The base time of generated events unless set otherwise (2023-11-14T22:13:20Z), so the
/// same configuration generates the same events in every run.
pub const BASE_TIME_MS: u64 = 1_700_000_000_000;

/// Events generated per batch.
const BATCH: usize = 1024;

/// One logical Nexmark event stream (the `nexmark` crate's generator), split into
/// partitions: partition `p` of `P` generates the events at offsets `p`, `p + P`, `p + 2P`, …
/// Its resume state is its next offset, so a resumed partition generates exactly the
/// events it had not. Events come in timestamp order within a partition, which reports the
/// next event's timestamp as its watermark: no generated event is late.
///
/// The same configuration, event count and partition count generate the same events
/// whatever the worker count. Partitions are named `p/P`: a store written with another
/// partition count does not resume silently with the wrong offsets (its partitions are
/// unlisted, an error).
#[derive(Clone)]
pub struct NexmarkSource {
    config: NexmarkConfig,
    events: Option<u64>,
    partitions: usize,
    rate: Option<f64>,
}

impl NexmarkSource {
    /// `events` events in all (`None`: unbounded) in `partitions` partitions (at least 1),
    /// with the generator's default configuration at [`BASE_TIME_MS`].
    pub fn new(events: Option<u64>, partitions: usize) -> Self {
        let config = NexmarkConfig {
            base_time: BASE_TIME_MS,
            ..NexmarkConfig::default()
        };
        NexmarkSource {
            config,
            events,
            partitions: partitions.max(1),
            rate: None,
        }
    }

    /// Generates with `config` (its `base_time` included).
    pub fn with_config(mut self, config: NexmarkConfig) -> Self {
        self.config = config;
        self
    }

    /// Paces generation to about `events_per_sec` events per second in all, from when each
    /// partition opens.
    pub fn with_rate(mut self, events_per_sec: f64) -> Self {
        self.rate = Some(events_per_sec);
        self
    }

    /// The event clock of a Nexmark input: event time is the event's `date_time`, and
    /// nothing waits (partitions report exact watermarks).
    pub fn clock() -> EventClock<Event> {
        EventClock::new(|event: &Event| event.timestamp() as Timestamp, Duration::ZERO)
    }

    /// Every event this source generates, in offset order (for oracles and dumps).
    pub fn events(&self) -> impl Iterator<Item = Event> + use<> {
        let total = self.events.unwrap_or(u64::MAX);
        EventGenerator::new(self.config.clone()).take(total.try_into().unwrap_or(usize::MAX))
    }

    fn part_name(&self, index: usize) -> String {
        format!("{index}/{}", self.partitions)
    }
}

impl FixedPartitionedSource for NexmarkSource {
    type Item = Event;
    type State = u64;
    type Partition = NexmarkPart;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok((0..self.partitions).map(|p| self.part_name(p)).collect())
    }

    /// A partition of a run with another partition count: its offsets mean other events.
    fn unlisted_part(&self, _: &StepId, part: &str, _: u64) -> Result<(), BoxError> {
        Err(format!(
            "the recovery store holds Nexmark partition {part:?}, of a run with another partition \
             count than this run's {}: resume with the same --partitions, or use a fresh store",
            self.partitions
        )
        .into())
    }

    fn build_part(&self, _: &StepId, part: &str, resume: Option<u64>) -> Result<NexmarkPart, BoxError> {
        let index = (0..self.partitions)
            .find(|p| self.part_name(*p) == part)
            .ok_or_else(|| {
                format!(
                    "no Nexmark partition {part:?} among {} partitions",
                    self.partitions
                )
            })?;
        let step = self.partitions as u64;
        let next = resume.unwrap_or(index as u64);
        if next % step != index as u64 {
            return Err(format!("resume offset {next} is not an offset of partition {part}").into());
        }
        let generator = EventGenerator::new(self.config.clone())
            .with_offset(next)
            .with_step(step);
        Ok(NexmarkPart {
            generator,
            end: self.events,
            pace: self.rate.map(|rate| Pace {
                opened: Instant::now(),
                first: next,
                per_sec: rate / step as f64,
                step,
            }),
        })
    }
}

/// Wall-clock pacing of one partition.
struct Pace {
    opened: Instant,
    first: u64,
    per_sec: f64,
    step: u64,
}

impl Pace {
    /// The offset below which events are due now.
    fn due(&self, now: Instant) -> u64 {
        let count = (now.duration_since(self.opened).as_secs_f64() * self.per_sec) as u64;
        self.first + count.saturating_add(1).saturating_mul(self.step)
    }

    /// When the event at `offset` is due.
    fn when(&self, offset: u64) -> Instant {
        let count = (offset - self.first) / self.step;
        self.opened + Duration::from_secs_f64(count as f64 / self.per_sec)
    }
}

/// One open partition of a [`NexmarkSource`].
pub struct NexmarkPart {
    generator: EventGenerator,
    end: Option<u64>,
    pace: Option<Pace>,
}

impl NexmarkPart {
    fn ended(&self) -> bool {
        self.end.is_some_and(|end| self.generator.offset() >= end)
    }
}

impl StatefulSourcePartition for NexmarkPart {
    type Item = Event;
    type State = u64;

    fn next_batch(&mut self) -> Result<Batch<Event>, BoxError> {
        if self.ended() {
            return Ok(Batch::Eof);
        }
        let mut until = self.end.unwrap_or(u64::MAX);
        if let Some(pace) = &self.pace {
            until = until.min(pace.due(Instant::now()));
        }
        let mut events = Vec::with_capacity(BATCH);
        while events.len() < BATCH && self.generator.offset() < until {
            events.extend(self.generator.next());
        }
        Ok(match events.is_empty() {
            true => Batch::Pending,
            false => Batch::Items(events),
        })
    }

    fn next_awake(&self) -> Option<Instant> {
        let pace = self.pace.as_ref()?;
        Some(pace.when(self.generator.offset()))
    }

    /// The next event's timestamp: events come in timestamp order.
    fn watermark(&self) -> Option<Timestamp> {
        (!self.ended()).then(|| self.generator.timestamp() as Timestamp)
    }

    fn snapshot(&self) -> u64 {
        self.generator.offset()
    }
}

#[cfg(test)]
#[path = "source_tests.rs"]
mod tests;
