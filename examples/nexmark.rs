//! The Nexmark queries on generated events.
//!
//! ```text
//! cargo run --release --example nexmark -- --query q1 --events 1000000 --output out
//! cargo run --release --example nexmark -- --query q0 --events 10000000 --sink null -w 2
//! ```
//! Results go to `part-N` files in `--output`, one line per result, fields tab-separated
//! (see each query's docs in `weir_nexmark`), or are counted and dropped unformatted
//! (`--sink null`).
//! `--dump-events FILE` writes every generated event once, one JSON line each in the
//! `nexmark` crate's serde form, so another tool can recompute the answers. The events
//! depend only on `--events` and `--partitions` (default: the cluster's worker count; keep
//! it fixed across a resume with `-r`), not on the worker count or timing.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use weir::Dataflow;
use weir::cli::RuntimeArgs;
use weir::connectors::{FileSink, Visibility};
use weir_nexmark::{NexmarkSource, NullSink, Query, lines};

/// Runs one Nexmark query.
#[derive(Parser)]
struct Args {
    /// The query: q0, q1, q2, q3, q4, q5, q7, q8, q9 or q11.
    #[arg(long)]
    query: Query,
    /// How many events to generate.
    #[arg(long)]
    events: u64,
    /// Source partitions (default: the cluster's worker count).
    #[arg(long)]
    partitions: Option<usize>,
    /// Directory for the `part-N` result files.
    #[arg(long, required_unless_present = "sink")]
    output: Option<PathBuf>,
    /// `null`: count the results and drop them.
    #[arg(long, value_parser = ["null"], conflicts_with = "output")]
    sink: Option<String>,
    /// Write every generated event to this file, one JSON line each.
    #[arg(long)]
    dump_events: Option<PathBuf>,
    /// Make output lines visible only once their epoch is durable in the recovery store.
    #[arg(long)]
    visible_when_durable: bool,
    /// Generate at most this many events per second (default: as fast as possible).
    #[arg(long)]
    rate: Option<f64>,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

fn dump(source: &NexmarkSource, path: &Path) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for event in source.events() {
        serde_json::to_writer(&mut out, &event)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = &args.runtime;
    let partitions = args.partitions.unwrap_or_else(|| runtime.total_workers());
    let mut source = NexmarkSource::new(Some(args.events), partitions);
    if let Some(rate) = args.rate {
        source = source.with_rate(rate);
    }
    // One process writes the dump: a single process, or process 0 of a cluster (not the
    // launcher of a local one, whose process 0 does).
    let writes_dump = runtime.process_id.unwrap_or(0) == 0 && runtime.processes.is_none();
    if let Some(path) = &args.dump_events
        && writes_dump
        && let Err(err) = dump(&source, path)
    {
        eprintln!("error: cannot write the events to {}: {err}", path.display());
        return ExitCode::FAILURE;
    }
    let mut flow = Dataflow::new(&format!("nexmark_{}", args.query.name()));
    let events = flow.input_with_clock("events", source, NexmarkSource::clock());
    let rows = args.query.build(&events.on_time);
    let null = NullSink::new();
    match &args.output {
        Some(dir) => {
            let visibility = match args.visible_when_durable {
                true => Visibility::WhenDurable,
                false => Visibility::Immediate,
            };
            lines(&rows, "format").output("write", FileSink::new(dir).with_visibility(visibility))
        }
        None => rows.output("count", null.clone()),
    }
    let code = weir::cli::main_with(flow, runtime);
    if args.sink.is_some() && runtime.processes.is_none() {
        eprintln!("{}: {} results in this process", args.query.name(), null.count());
    }
    code
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
