//! `KafkaSink`: keyed records to a topic, at-least-once.

use std::sync::Mutex;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext};
use weir::outputs::{FixedPartitionedSink, StatefulSinkPartition};
use weir::{BoxError, Epoch, StepId};

use crate::message::KafkaRecord;

/// How long a flush may wait for the broker to acknowledge every record sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(30);

/// Writes records to `topic`: keyed stream items go to the sink partition (a producer) of
/// their key, each record to the Kafka partition of its own key. At-least-once (see the
/// crate docs).
pub struct KafkaSink {
    brokers: String,
    topic: String,
    parts: usize,
}

impl KafkaSink {
    /// Writes to `topic` on `brokers` (`host:port,…`) through 1 producer.
    pub fn new(brokers: &str, topic: &str) -> Self {
        KafkaSink {
            brokers: brokers.to_owned(),
            topic: topic.to_owned(),
            parts: 1,
        }
    }

    /// Writes through `parts` producers, spread over the workers.
    pub fn with_parts(mut self, parts: usize) -> Self {
        self.parts = parts.max(1);
        self
    }
}

/// Remembers the first record the broker did not take.
#[derive(Default)]
pub struct Deliveries {
    failed: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((err, _)) = result {
            let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            failed.get_or_insert_with(|| err.to_string());
        }
    }
}

impl FixedPartitionedSink for KafkaSink {
    type Item = KafkaRecord;
    type State = ();
    type Partition = KafkaSinkPartition;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok((0..self.parts).map(|p| format!("part-{p}")).collect())
    }

    fn part_fn(&self, item_key: &str) -> usize {
        xxhash_rust::xxh3::xxh3_64(item_key.as_bytes()) as usize
    }

    fn build_part(&self, _: &StepId, _: &str, _: Option<()>) -> Result<KafkaSinkPartition, BoxError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create_with_context(Deliveries::default())
            .map_err(|err| format!("Kafka at {}: cannot create a producer: {err}", self.brokers))?;
        Ok(KafkaSinkPartition {
            producer,
            topic: self.topic.clone(),
            brokers: self.brokers.clone(),
        })
    }
}

/// One producer.
pub struct KafkaSinkPartition {
    producer: BaseProducer<Deliveries>,
    topic: String,
    brokers: String,
}

impl KafkaSinkPartition {
    /// Waits until the broker acknowledged every record sent; an error if one failed.
    fn flush(&mut self) -> Result<(), BoxError> {
        let (brokers, topic) = (&self.brokers, &self.topic);
        self.producer
            .flush(FLUSH_TIMEOUT)
            .map_err(|err| format!("Kafka at {brokers}: records to {topic:?} not acknowledged: {err}"))?;
        let failed = self
            .producer
            .context()
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match failed {
            Some(err) => Err(format!("Kafka at {brokers}: a record to {topic:?} failed: {err}").into()),
            None => Ok(()),
        }
    }
}

impl StatefulSinkPartition for KafkaSinkPartition {
    type Item = KafkaRecord;
    type State = ();

    fn write_batch(&mut self, records: Vec<KafkaRecord>) -> Result<(), BoxError> {
        for record in &records {
            loop {
                let mut sent = BaseRecord::to(&self.topic).payload(&record.payload);
                if let Some(key) = &record.key {
                    sent = sent.key(key);
                }
                match self.producer.send(sent) {
                    Ok(()) => break,
                    // The producer's queue is full: let it deliver, then try again.
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        self.producer.poll(Duration::from_millis(100));
                    }
                    Err((err, _)) => {
                        return Err(
                            format!("Kafka at {}: sending to {:?}: {err}", self.brokers, self.topic).into(),
                        );
                    }
                }
            }
        }
        self.producer.poll(Duration::ZERO);
        Ok(())
    }

    /// Every record of the epoch is acknowledged before its snapshot is committed.
    fn snapshot(&mut self) -> Result<(), BoxError> {
        self.flush()
    }

    fn on_final(&mut self, _: Epoch) -> Result<(), BoxError> {
        self.flush()
    }

    fn close(&mut self) -> Result<(), BoxError> {
        self.flush()
    }
}
