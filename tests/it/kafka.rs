//! Kafka against a real broker (tansu): the `kafka_wordcount` example reads every line once
//! across a SIGKILL and a resume at another worker count (the running counts end at each
//! word's total, never past it) and writes every count at least once; durable offsets reach
//! a consumer group.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use crate::kafka_broker::Broker;
use crate::support::{Rng, dir_bytes, example, kill, run_with_limit, spawn, wait_exit, wait_until};

#[test]
fn kafka_word_counts_read_every_line_once_across_a_kill_and_write_every_count() {
    let broker = Broker::start();
    broker.create_topic("lines", 3);
    broker.create_topic("counts", 2);
    let mut rng = Rng(7);
    let lines: Vec<String> = (0..20_000)
        .map(|_| {
            (0..5)
                .map(|_| format!("w{}", rng.next() % 300))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    broker.produce("lines", &lines);
    let mut totals: BTreeMap<String, u64> = BTreeMap::new();
    for word in lines.iter().flat_map(|l| l.split_whitespace()) {
        *totals.entry(word.to_owned()).or_default() += 1;
    }
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 3).unwrap();
    let r = store.path().to_str().unwrap();
    let common = [
        "--brokers",
        &broker.address,
        "--input-topic",
        "lines",
        "--output-topic",
        "counts",
        "--until-end",
        "-r",
        r,
        "-s",
        "0.05",
    ];
    let before = dir_bytes(store.path());
    let mut child = spawn(
        &example("kafka_wordcount"),
        &[&common[..], &["-w", "2"]].concat(),
        Stdio::null(),
    );
    wait_until("a commit", Duration::from_secs(60), || {
        dir_bytes(store.path()) > before
    });
    kill(child.id(), libc::SIGKILL);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(30)).0,
        None,
        "killed mid-run"
    );
    let read_before_resume = counted_through_resume_epoch(store.path(), &broker.read_partitions("lines", 3));
    let args: Vec<&str> = common.iter().copied().chain(["-w", "3"]).collect();
    let done = run_with_limit(&example("kafka_wordcount"), &args, Duration::from_secs(300));
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));

    let mut highest: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen: BTreeMap<(String, u64), u32> = BTreeMap::new();
    for record in broker.read_all("counts", 2) {
        let (word, n) = record.split_once('\t').expect("word<TAB>n");
        let n: u64 = n.parse().unwrap();
        let top = highest.entry(word.to_owned()).or_default();
        *top = (*top).max(n);
        *seen.entry((word.to_owned(), n)).or_default() += 1;
    }
    assert_eq!(
        highest, totals,
        "each word's count ends at its total: no line lost or read twice"
    );
    for (word, total) in &totals {
        for n in 1..=*total {
            assert!(
                seen.contains_key(&(word.clone(), n)),
                "{word} {n} written at least once"
            );
        }
    }
    // At-least-once, with duplicates confined to the epochs the resume replayed: a count
    // reached by the items of epochs up to the resume epoch was written exactly once.
    let mut duplicates = 0;
    for ((word, n), times) in &seen {
        let before = read_before_resume.get(word).copied().unwrap_or(0);
        if *n <= before {
            assert_eq!(
                *times, 1,
                "{word} {n} was counted before the resume epoch: written once"
            );
        }
        duplicates += usize::from(*times > 1);
    }
    eprintln!("{duplicates} counts written twice, all from replayed epochs");
}

/// How often each word occurs in the lines read in the epochs up to the store's resume
/// epoch: the lines before each Kafka partition's next offset at that epoch (its resume
/// state, read from the store).
fn counted_through_resume_epoch(
    store: &std::path::Path,
    partitions: &[Vec<String>],
) -> BTreeMap<String, u64> {
    let mut next: BTreeMap<String, i64> = BTreeMap::new();
    for (part, bytes) in weir::recovery::latest_states(store, "read").unwrap() {
        let state: weir_kafka::KafkaPartState = bincode::deserialize(&bytes).unwrap();
        next.insert(part, state.next);
    }
    let mut counts = BTreeMap::new();
    for (part, next) in next {
        let p: usize = part.strip_prefix("lines/").unwrap().parse().unwrap();
        for line in &partitions[p][..next as usize] {
            for word in line.split_whitespace() {
                *counts.entry(word.to_owned()).or_default() += 1;
            }
        }
    }
    counts
}

#[test]
fn a_message_that_does_not_decode_is_reported_and_skipped() {
    let broker = Broker::start();
    broker.create_topic("lines", 1);
    broker.create_topic("counts", 1);
    broker.produce_bytes("lines", &[b"a b", &[0xff, 0xfe], b"b"]);
    let args = [
        "--brokers",
        &broker.address,
        "--input-topic",
        "lines",
        "--output-topic",
        "counts",
        "--until-end",
    ];
    let out = run_with_limit(&example("kafka_wordcount"), &args, Duration::from_secs(120));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.trim(), "skipped message 1 of lines/0: not UTF-8 text");
    let mut counts = broker.read_all("counts", 1);
    counts.sort();
    assert_eq!(counts, ["a\t1", "b\t1", "b\t2"]);
}

/// Durable offsets reach the consumer group, and each partition's backlog (high watermark
/// minus next offset) is a metric.
#[test]
fn durable_offsets_reach_the_consumer_group() {
    let broker = Broker::start();
    broker.create_topic("lines", 3);
    broker.create_topic("counts", 1);
    let lines: Vec<String> = (0..3_000).map(|i| format!("w{}", i % 30)).collect();
    broker.produce("lines", &lines);
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 2).unwrap();
    let r = store.path().to_str().unwrap();
    let metrics = crate::support::free_addresses(1);
    // Unbounded: it reads everything, then waits for more.
    let args = [
        "--brokers",
        &broker.address,
        "--input-topic",
        "lines",
        "--output-topic",
        "counts",
        "--group",
        "lag-tools",
        "-r",
        r,
        "-s",
        "0.1",
        "--metrics-addr",
        &metrics,
    ];
    let mut child = spawn(&example("kafka_wordcount"), &args, Stdio::null());
    // Every partition's committed offset reaches its end once its last epoch is durable.
    wait_until("the group's offsets at the end", Duration::from_secs(60), || {
        let committed = broker.committed("lag-tools", "lines", 3);
        committed.iter().flatten().sum::<i64>() == 3_000
    });
    // Everything was read: each partition reports a backlog of 0.
    wait_until(
        "a zero backlog on every partition",
        Duration::from_secs(60),
        || {
            let Some((200, scrape)) = crate::support::http_get(&metrics, "/metrics") else {
                return false;
            };
            (0..3).all(|p| {
                let series = format!("weir_source_backlog{{step=\"read\",partition=\"lines/{p}\"}} 0");
                scrape.lines().any(|line| line == series)
            })
        },
    );
    kill(child.id(), libc::SIGKILL);
    wait_exit(&mut child, Duration::from_secs(30));
}

#[test]
fn a_bounded_run_commits_every_partition_s_last_offset() {
    let broker = Broker::start();
    broker.create_topic("lines", 3);
    broker.create_topic("counts", 1);
    let lines: Vec<String> = (0..900).map(|i| format!("w{}", i % 9)).collect();
    broker.produce("lines", &lines);
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 2).unwrap();
    let args = [
        "--brokers",
        &broker.address,
        "--input-topic",
        "lines",
        "--output-topic",
        "counts",
        "--until-end",
        "--group",
        "bounded",
        "-r",
        store.path().to_str().unwrap(),
        "-s",
        "0.1",
    ];
    let done = run_with_limit(&example("kafka_wordcount"), &args, Duration::from_secs(120));
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    // The last epoch of each partition is acknowledged too, before the run ends.
    let committed = broker.committed("bounded", "lines", 3);
    assert_eq!(committed.iter().flatten().sum::<i64>(), 900, "{committed:?}");
}

#[test]
fn a_broker_stopped_mid_run_gives_retries_then_an_error_naming_it() {
    let mut broker = Broker::start();
    broker.create_topic("lines", 1);
    broker.create_topic("counts", 1);
    broker.produce("lines", &["a b".to_string(), "b".to_string()]);
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 1).unwrap();
    let address = broker.address.clone();
    let r = store.path().to_str().unwrap();
    let args = [
        "--brokers",
        &address,
        "--input-topic",
        "lines",
        "--output-topic",
        "counts",
        "--group",
        "g",
        "--unreachable-after-secs",
        "2",
        "-r",
        r,
        "-s",
        "0.1",
    ];
    let child = spawn(&example("kafka_wordcount"), &args, Stdio::piped());
    // Running: it read both lines, and their epoch is durable.
    wait_until("the group's offset at the end", Duration::from_secs(60), || {
        broker.committed("g", "lines", 1) == [Some(2)]
    });
    broker.stop();
    let out = crate::support::wait_output(child, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the run went on without its broker");
    assert!(
        stderr.contains("Kafka lines/0 at")
            && stderr.contains(&address)
            && stderr.contains("unreachable for 2s"),
        "{stderr}"
    );
}

#[test]
fn a_partition_can_start_at_a_given_offset() {
    use weir::testing::{TestingSink, run_main};
    use weir_kafka::{KafkaMessage, KafkaSource, StartOffset};
    let broker = Broker::start();
    broker.create_topic("lines", 2);
    let lines: Vec<String> = (0..20).map(|i| i.to_string()).collect();
    broker.produce("lines", &lines);
    let offsets = [("lines/0".to_string(), 7)].into_iter().collect();
    let source = KafkaSource::new(&broker.address, ["lines"])
        .starting_at(StartOffset::At(offsets))
        .until_end();
    let mut flow = weir::Dataflow::new("offsets");
    let out = TestingSink::new();
    flow.input("read", source)
        .map("where", |m: KafkaMessage| (m.partition, m.offset))
        .output("out", out.clone());
    run_main(flow).unwrap();
    let read = out.sorted();
    let first = |p: i32| read.iter().filter(|(q, _)| *q == p).map(|(_, o)| *o).min();
    assert_eq!(first(0), Some(7), "partition 0 starts at the given offset");
    assert_eq!(first(1), Some(0), "partition 1 at its earliest");
    assert!(read.iter().all(|(p, o)| *p == 1 || *o >= 7));
}

#[test]
fn each_partition_keeps_its_own_watermark_from_message_timestamps() {
    use weir::inputs::EventClock;
    use weir::testing::TestingSink;
    use weir::windows::Windower;
    use weir_kafka::{KafkaMessage, KafkaSource};

    let broker = Broker::start();
    broker.create_topic("clicks", 3);
    // A click every 100 ms for a minute: in time order within each partition, but the
    // partitions are read at their own pace, so one clock over all would see late items.
    let base = 1_700_000_000_000i64;
    let records: Vec<(Option<i64>, &[u8])> =
        (0..600).map(|i| (Some(base + i * 100), &b"click"[..])).collect();
    broker.produce_stamped("clicks", &records);
    let (counts, late) = (TestingSink::new(), TestingSink::new());
    let mut flow = weir::Dataflow::new("clicks");
    let clock = EventClock::new(|m: &KafkaMessage| m.timestamp.unwrap_or(0), Duration::ZERO);
    let clicks = flow.input_with_clock(
        "read",
        KafkaSource::new(&broker.address, ["clicks"]).until_end(),
        clock,
    );
    clicks.late.output("late", late.clone());
    let windows = clicks.on_time.key_on("all", |_| "all".to_owned()).count_window(
        "per_10s",
        |m: &KafkaMessage| m.timestamp.unwrap_or(0),
        Windower::tumbling(Duration::from_secs(10)),
    );
    windows
        .down
        .map("count", |(_, (window, n))| (window.start, n))
        .output("counts", counts.clone());
    weir::run(
        flow,
        weir::RunConfig::threads(2).with_epoch_interval(Duration::from_millis(50)),
    )
    .unwrap();
    assert!(
        late.items().is_empty(),
        "no message is late: {} were",
        late.items().len()
    );
    let expected: Vec<(i64, u64)> = (0..6).map(|w| (base + w * 10_000, 100)).collect();
    let mut got = counts.sorted();
    got.sort();
    assert_eq!(got, expected, "100 clicks in every 10 s window");
}
