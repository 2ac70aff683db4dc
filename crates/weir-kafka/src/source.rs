//! `KafkaSource`: one resumable partition per topic-partition.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::{BoxError, StepId};

use crate::message::KafkaMessage;

/// How long a metadata request to the brokers may take.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a partition may see only errors (librdkafka reconnecting with its backoff)
/// before the source gives up, by default.
const UNREACHABLE_AFTER: Duration = Duration::from_secs(30);

/// Where a partition without resume state starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOffset {
    /// At its first message still stored.
    Earliest,
    /// After its last message now.
    Latest,
    /// At the offsets given per partition (`topic/N` → offset); a partition not named
    /// starts at its earliest.
    At(BTreeMap<String, i64>),
}

/// A partition's resume state: the next offset to read, and the end of a bounded run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaPartState {
    /// The offset of the next message to read.
    pub next: i64,
    /// With `until_end`, the partition's end offset when first read: it ends there.
    pub end: Option<i64>,
}

/// Reads every partition of `topics`: a weir partition per topic-partition, named
/// `topic/N`.
pub struct KafkaSource {
    brokers: String,
    topics: Vec<String>,
    start: StartOffset,
    until_end: bool,
    batch_size: usize,
    group: Option<String>,
    unreachable_after: Duration,
}

impl KafkaSource {
    /// Reads `topics` from `brokers` (`host:port,…`), from the earliest offset, forever.
    pub fn new(brokers: &str, topics: impl IntoIterator<Item = impl Into<String>>) -> Self {
        KafkaSource {
            brokers: brokers.to_owned(),
            topics: topics.into_iter().map(Into::into).collect(),
            start: StartOffset::Earliest,
            until_end: false,
            batch_size: 1024,
            group: None,
            unreachable_after: UNREACHABLE_AFTER,
        }
    }

    /// Gives up, with an error naming the brokers, after a partition saw only errors this
    /// long (default 30 s; librdkafka retries the connection meanwhile, with backoff).
    pub fn unreachable_after(mut self, wait: Duration) -> Self {
        self.unreachable_after = wait;
        self
    }

    /// Commits each partition's next offset to the consumer group `group` once its epoch
    /// is durable, so standard lag tools see progress (weir resumes from its own store,
    /// never from these offsets). The last offset of a partition that ended (`until_end`)
    /// is not committed: it becomes durable after the partition closed.
    pub fn committing_to_group(mut self, group: &str) -> Self {
        self.group = Some(group.to_owned());
        self
    }

    /// Where partitions without resume state start.
    pub fn starting_at(mut self, start: StartOffset) -> Self {
        self.start = start;
        self
    }

    /// Ends each partition at the end offset it had when first read (kept across resumes
    /// in the partition's state): a bounded run. The end offset is what the broker reports
    /// (its high watermark); tansu 0.6 reports one that is right only for single-record
    /// batches.
    pub fn until_end(mut self) -> Self {
        self.until_end = true;
        self
    }

    fn consumer(&self) -> Result<BaseConsumer, BoxError> {
        let consumer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .set("group.id", self.group.as_deref().unwrap_or("weir"))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .create()
            .map_err(|err| format!("Kafka at {}: cannot create a consumer: {err}", self.brokers))?;
        Ok(consumer)
    }
}

/// `topic/N` into its topic and partition.
fn topic_partition(part: &str) -> Result<(&str, i32), BoxError> {
    let (topic, partition) = part
        .rsplit_once('/')
        .ok_or("a Kafka partition is named topic/N")?;
    Ok((topic, partition.parse()?))
}

impl FixedPartitionedSource for KafkaSource {
    type Item = KafkaMessage;
    type State = KafkaPartState;
    type Partition = KafkaPartition;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        let consumer = self.consumer()?;
        let mut parts = Vec::new();
        for topic in &self.topics {
            let metadata = consumer
                .fetch_metadata(Some(topic), METADATA_TIMEOUT)
                .map_err(|err| format!("Kafka at {}: the partitions of {topic:?}: {err}", self.brokers))?;
            let found = metadata.topics().iter().find(|t| t.name() == topic);
            let partitions = found.map_or(0, |t| t.partitions().len());
            if partitions == 0 {
                return Err(format!(
                    "Kafka at {}: topic {topic:?} has no partitions (does it exist?)",
                    self.brokers
                )
                .into());
            }
            parts.extend((0..partitions).map(|p| format!("{topic}/{p}")));
        }
        Ok(parts)
    }

    fn build_part(
        &self,
        _: &StepId,
        part: &str,
        resume: Option<KafkaPartState>,
    ) -> Result<KafkaPartition, BoxError> {
        let (topic, partition) = topic_partition(part)?;
        let consumer = self.consumer()?;
        let watermarks = || {
            consumer
                .fetch_watermarks(topic, partition, METADATA_TIMEOUT)
                .map_err(|err| format!("Kafka at {}: the offsets of {part}: {err}", self.brokers))
        };
        let state = match resume {
            Some(state) => state,
            None => {
                let (low, high) = watermarks()?;
                let next = match &self.start {
                    StartOffset::Earliest => low,
                    StartOffset::Latest => high,
                    StartOffset::At(offsets) => offsets.get(part).copied().unwrap_or(low),
                };
                let end = self.until_end.then_some(high);
                KafkaPartState { next, end }
            }
        };
        let mut assignment = TopicPartitionList::new();
        assignment.add_partition_offset(topic, partition, Offset::Offset(state.next))?;
        consumer.assign(&assignment)?;
        Ok(KafkaPartition {
            consumer,
            state,
            batch_size: self.batch_size,
            name: format!("{part} at {}", self.brokers),
            commits: self.group.is_some(),
            assignment,
            unreachable_after: self.unreachable_after,
            failing_since: None,
            last_error: String::new(),
            part: part.to_owned(),
        })
    }
}

/// One topic-partition being read.
pub struct KafkaPartition {
    consumer: BaseConsumer,
    state: KafkaPartState,
    batch_size: usize,
    name: String,
    /// Whether to commit offsets to the consumer group.
    commits: bool,
    /// This partition alone, to name it in commits.
    assignment: TopicPartitionList,
    unreachable_after: Duration,
    /// Since when the partition has seen only errors, and the last one.
    failing_since: Option<Instant>,
    last_error: String,
    /// Its name, `topic/N`.
    part: String,
}

impl StatefulSourcePartition for KafkaPartition {
    type Item = KafkaMessage;
    type State = KafkaPartState;

    /// The messages ready now (at most a batch), without waiting. After errors only for
    /// `unreachable_after`, asks the broker for the partition's offsets: an answer means it
    /// is back (an idle partition has no message to prove it), none is an error.
    fn next_batch(&mut self) -> Result<Batch<KafkaMessage>, BoxError> {
        if let Some(since) = self.failing_since
            && since.elapsed() >= self.unreachable_after
        {
            let (topic, partition) = topic_partition(&self.part)?;
            match self.consumer.fetch_watermarks(topic, partition, METADATA_TIMEOUT) {
                Ok(_) => self.failing_since = None,
                Err(err) => {
                    let (name, waited, last) = (&self.name, self.unreachable_after, &self.last_error);
                    let message = format!("Kafka {name}: unreachable for {waited:?} ({last}; then {err})");
                    return Err(message.into());
                }
            }
        }
        let mut messages = Vec::new();
        while messages.len() < self.batch_size {
            if self.state.end.is_some_and(|end| self.state.next >= end) {
                break;
            }
            let Some(polled) = self.consumer.poll(Duration::ZERO) else {
                break;
            };
            let message = match polled {
                Ok(message) => message,
                Err(err) => {
                    self.failing_since.get_or_insert_with(Instant::now);
                    self.last_error = err.to_string();
                    break;
                }
            };
            self.failing_since = None;
            self.state.next = message.offset() + 1;
            messages.push(KafkaMessage {
                topic: message.topic().to_owned(),
                partition: message.partition(),
                offset: message.offset(),
                key: message.key().map(<[u8]>::to_vec),
                payload: message.payload().map(<[u8]>::to_vec),
                timestamp: message.timestamp().to_millis(),
            });
        }
        let ended = self.state.end.is_some_and(|end| self.state.next >= end);
        Ok(match (messages.is_empty(), ended) {
            (false, _) => Batch::Items(messages),
            (true, true) => Batch::Eof,
            (true, false) => Batch::Pending,
        })
    }

    fn snapshot(&self) -> KafkaPartState {
        self.state
    }

    /// The high watermark the consumer last saw in a fetch response (librdkafka's cached
    /// `rd_kafka_get_watermark_offsets`, no request made) minus the next offset: the
    /// messages waiting, as `weir_source_backlog` reports them.
    fn backlog(&self) -> Option<u64> {
        let (topic, partition) = topic_partition(&self.part).ok()?;
        let topic = std::ffi::CString::new(topic).ok()?;
        let (mut low, mut high) = (-1i64, -1i64);
        // SAFETY: the client pointer lives as long as `self.consumer`; the topic is a valid
        // C string for the call; low and high are valid places for the offsets.
        let err = unsafe {
            rdkafka::bindings::rd_kafka_get_watermark_offsets(
                self.consumer.client().native_ptr(),
                topic.as_ptr(),
                partition,
                &mut low,
                &mut high,
            )
        };
        let known = err == rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0;
        known.then(|| (high - self.state.next).max(0) as u64)
    }

    /// Commits the durable offset to the consumer group, if asked to (and waits for the
    /// broker's answer: one round trip per partition and durable epoch).
    fn on_durable(&mut self, state: KafkaPartState) -> Result<(), BoxError> {
        if !self.commits {
            return Ok(());
        }
        let mut offsets = self.assignment.clone();
        offsets.set_all_offsets(Offset::Offset(state.next))?;
        self.consumer
            .commit(&offsets, CommitMode::Sync)
            .map_err(|err| format!("Kafka {}: committing offset {}: {err}", self.name, state.next).into())
    }
}
