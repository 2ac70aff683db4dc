//! Kafka source -> map -> Kafka sink messages/s against a tansu broker started here:
//! `cargo bench --bench kafka` (release; tansu is fetched as the tests do). MESSAGES
//! messages (default 200 k, ~40 bytes) in a 4-partition topic, read to their end
//! (`until_end`), upper-cased, and written to a fresh 4-partition topic, at 1 and 2
//! workers, without and with recovery (1 s epochs). Beside them, librdkafka alone in the
//! same run: one consumer reading the topic and one producer writing it back, no weir.

#[allow(dead_code)]
#[path = "../tests/it/kafka_broker.rs"]
mod kafka_broker;

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use weir::{Dataflow, RunConfig};
use weir_kafka::{KafkaMessage, KafkaRecord, KafkaSink, KafkaSource};

const PARTITIONS: i32 = 4;

/// Seconds for weir to copy `messages` from `lines` to the topic `out`.
fn weir_copy(broker: &kafka_broker::Broker, out: &str, workers: usize, recovery: bool) -> Duration {
    let mut flow = Dataflow::new("kafka_bench");
    flow.input("read", KafkaSource::new(&broker.address, ["lines"]).until_end())
        .map("upper", |m: KafkaMessage| {
            let text = m.text().unwrap_or_default().to_uppercase();
            let key = m.offset.to_string();
            (key.clone(), KafkaRecord::text(&key, &text))
        })
        .output(
            "write",
            KafkaSink::new(&broker.address, out).with_parts(PARTITIONS as usize),
        );
    let store = tempfile::tempdir().unwrap();
    let mut config = RunConfig::threads(workers).with_epoch_interval(Duration::from_secs(1));
    if recovery {
        weir::recovery::init(store.path(), 4).unwrap();
        config = config.with_recovery(store.path());
    }
    let start = Instant::now();
    weir::run(flow, config).expect("the copy runs");
    start.elapsed()
}

/// Seconds for one librdkafka consumer and producer to do the same, without weir.
fn librdkafka_copy(broker: &kafka_broker::Broker, out: &str, messages: u64) -> Duration {
    let start = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.address)
        .set("group.id", "bench")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        assignment
            .add_partition_offset("lines", p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.address)
        .create()
        .unwrap();
    let mut copied = 0;
    while copied < messages {
        let Some(message) = consumer.poll(Duration::from_secs(10)) else {
            panic!("the topic ran dry")
        };
        let message = message.unwrap();
        let text = std::str::from_utf8(message.payload().unwrap_or_default())
            .unwrap()
            .to_uppercase();
        let key = message.offset().to_string();
        while producer
            .send(BaseRecord::to(out).key(&key).payload(&text))
            .is_err()
        {
            producer.poll(Duration::from_millis(10));
        }
        copied += 1;
    }
    producer.flush(Duration::from_secs(60)).unwrap();
    start.elapsed()
}

fn main() {
    let messages: u64 = std::env::var("MESSAGES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(200_000);
    let broker = kafka_broker::Broker::start();
    broker.create_topic("lines", PARTITIONS);
    let lines: Vec<String> = (0..messages)
        .map(|i| format!("message number {i} of the benchmark"))
        .collect();
    broker.produce("lines", &lines);
    let mut topics = 0;
    let mut fresh = || {
        topics += 1;
        let topic = format!("out{topics}");
        broker.create_topic(&topic, PARTITIONS);
        topic
    };
    let rate = |took: Duration| messages as f64 / took.as_secs_f64();
    let baseline = rate(librdkafka_copy(&broker, &fresh(), messages));
    println!("kafka: {messages} messages, {PARTITIONS} partitions, tansu 0.6 on loopback");
    println!("librdkafka alone (one consumer, one producer): {baseline:.0} messages/s");
    for workers in [1, 2] {
        for recovery in [false, true] {
            let weir = rate(weir_copy(&broker, &fresh(), workers, recovery));
            let mode = if recovery {
                "recovery on (1 s epochs)"
            } else {
                "recovery off"
            };
            println!(
                "weir, {workers} worker(s), {mode}: {weir:.0} messages/s ({:.2} of librdkafka alone)",
                weir / baseline
            );
        }
    }
}

// The allocator of weir's examples and benchmarks (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
