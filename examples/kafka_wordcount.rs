//! Running word counts from one Kafka topic to another.
//!
//! ```text
//! cargo run --release --example kafka_wordcount -- --brokers 127.0.0.1:9092 \
//!     --input-topic lines --output-topic counts --until-end -r state
//! ```
//! Reads the lines of every partition of `--input-topic` and writes `word<TAB>n` (the
//! running count of each occurrence) to `--output-topic`, keyed by word. `--until-end`
//! ends each partition at the end offset it had when the first run started (kept across
//! resumes). With `-r`, no line is lost or read twice; the output is at-least-once (a
//! resume may resend the records of the epochs it replays). A message that is not UTF-8
//! is reported on stdout (`skipped message N of T/P: …`) and skipped.

use std::process::ExitCode;

use clap::Parser;
use weir::Dataflow;
use weir::cli::RuntimeArgs;
use weir::connectors::StdOutSink;
use weir_kafka::{KafkaMessage, KafkaRecord, KafkaSink, KafkaSource};

/// Counts words between Kafka topics.
#[derive(Parser)]
struct Args {
    /// The brokers, `host:port,…`.
    #[arg(long)]
    brokers: String,
    /// The topic of lines.
    #[arg(long)]
    input_topic: String,
    /// The topic of running counts.
    #[arg(long)]
    output_topic: String,
    /// End each partition at its end offset when first read.
    #[arg(long)]
    until_end: bool,
    /// Commit durable offsets to this consumer group (for lag tools).
    #[arg(long)]
    group: Option<String>,
    /// Give up after the brokers answered only errors this long.
    #[arg(long, default_value_t = 30)]
    unreachable_after_secs: u64,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let unreachable = std::time::Duration::from_secs(args.unreachable_after_secs);
    let mut source = KafkaSource::new(&args.brokers, [&args.input_topic]).unreachable_after(unreachable);
    if args.until_end {
        source = source.until_end();
    }
    if let Some(group) = &args.group {
        source = source.committing_to_group(group);
    }
    let mut flow = Dataflow::new("kafka_wordcount");
    let decoded = flow
        .input("read", source)
        .try_map("decode", |message: KafkaMessage| message.decode_text());
    // A message that is not text is reported and skipped, not fatal.
    decoded
        .errors
        .map("skipped", |why: String| format!("skipped {why}"))
        .output("report", StdOutSink::default());
    decoded
        .ok
        .flat_map("split", |text: String| {
            text.split_whitespace().map(str::to_owned).collect::<Vec<_>>()
        })
        .as_keys("key")
        .stateful_map("running_count", |seen: Option<u64>, _: ()| {
            let n = seen.unwrap_or(0) + 1;
            (Some(n), n)
        })
        .map("record", |(word, n): (String, u64)| {
            let record = KafkaRecord::text(&word, &format!("{word}\t{n}"));
            (word, record)
        })
        .output(
            "write",
            KafkaSink::new(&args.brokers, &args.output_topic).with_parts(2),
        );
    weir::cli::main_with(flow, &args.runtime)
}

// The allocator of weir's examples and benchmarks (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
