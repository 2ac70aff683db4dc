//! Event-time windows over CSV lines `ts_ms,key,value`, written to `part-N` files.
//!
//! ```text
//! cargo run --release --example event_windows -- --input examples/data/events.csv \
//!     --output out --late late --window tumbling:10000 --wait 2000
//! ```
//! Each input file is one partition, read in file order; its watermark is the largest
//! timestamp read minus `--wait`, and a line below it is late. Output lines are
//! `key<TAB>start_ms<TAB>end_ms<TAB>count<TAB>sum` per closed window (sessions: from the
//! first item's timestamp to the last one's plus the gap); late lines are
//! `key<TAB>ts_ms<TAB>value`. Results are the same whatever the worker count, the epoch
//! length or a crash and resume (`-r`): lateness is decided per partition, at the source.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use weir::cli::RuntimeArgs;
use weir::connectors::{DirSource, FileSink, FileSource};
use weir::inputs::EventClock;
use weir::windows::Windower;
use weir::{ClockedInput, Dataflow, Timestamp};

/// Counts and sums values per key and event-time window.
#[derive(Parser)]
struct Args {
    /// A CSV file, or a directory whose files are read (one partition each).
    #[arg(long)]
    input: PathBuf,
    /// Directory for the `part-N` files of window results.
    #[arg(long)]
    output: PathBuf,
    /// Directory for the `part-N` files of late lines.
    #[arg(long)]
    late: PathBuf,
    /// `tumbling:LEN_MS`, `sliding:LEN_MS:SLIDE_MS` or `session:GAP_MS`.
    #[arg(long, value_parser = parse_windower)]
    window: Windower,
    /// How far out of order a partition's lines may be, in milliseconds.
    #[arg(long, default_value_t = 0)]
    wait: u64,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// One input line.
type Row = (Timestamp, String, i64);

fn parse_row(line: &str) -> Result<Row, String> {
    let fields: Vec<&str> = line.trim_end().split(',').collect();
    let [ts, key, value] = fields[..] else {
        return Err(format!("expected `ts_ms,key,value`, got {line:?}"));
    };
    let ts = ts
        .parse()
        .map_err(|e| format!("timestamp {ts:?} in {line:?}: {e}"))?;
    let value = value
        .parse()
        .map_err(|e| format!("value {value:?} in {line:?}: {e}"))?;
    Ok((ts, key.to_owned(), value))
}

fn parse_windower(spec: &str) -> Result<Windower, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let ms = |s: &str| -> Result<Duration, String> {
        match s.parse::<u64>() {
            Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
            _ => Err(format!("{s:?} is not a positive number of milliseconds")),
        }
    };
    match parts[..] {
        ["tumbling", len] => Ok(Windower::tumbling(ms(len)?)),
        ["sliding", len, slide] => Ok(Windower::sliding(ms(len)?, ms(slide)?)),
        ["session", gap] => Ok(Windower::session(ms(gap)?)),
        _ => Err("expected tumbling:LEN_MS, sliding:LEN_MS:SLIDE_MS or session:GAP_MS".into()),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut flow = Dataflow::new("event_windows");
    // Every line is checked here, so the steps below only see well-formed rows.
    let clock = EventClock::try_new(
        |line: &String| Ok(parse_row(line)?.0),
        Duration::from_millis(args.wait),
    );
    let input: ClockedInput<String> = if args.input.is_dir() {
        flow.input_with_clock("read", DirSource::new(&args.input), clock)
    } else {
        flow.input_with_clock("read", FileSource::new(&args.input), clock)
    };
    let parse = |line: String| parse_row(&line).expect("the event clock checked every line");
    let windows = input
        .on_time
        .map("parse", parse)
        .key_on("key", |row: &Row| row.1.clone())
        .fold_window(
            "window",
            |row: &Row| row.0,
            args.window,
            || (0u64, 0i64),
            |(count, sum), row| (count + 1, sum.wrapping_add(row.2)),
            |(c1, s1), (c2, s2)| (c1 + c2, s1.wrapping_add(s2)),
        );
    windows
        .down
        .map("format", |(key, (window, (count, sum)))| {
            let line = format!("{key}\t{}\t{}\t{count}\t{sum}", window.start, window.end);
            (key, line)
        })
        .output("write", FileSink::new(&args.output));
    let late_rows = input.late.map("parse_late", parse);
    // Lines that found their window closed at the window step (none, as the steps in
    // between are stateless; see `weir::windows`).
    let missed = windows.late.map("unwrap_late", |(_, late)| late.value);
    late_rows
        .merge("all_late", &[&missed])
        .map("format_late", |(ts, key, value): Row| {
            let line = format!("{key}\t{ts}\t{value}");
            (key, line)
        })
        .output("write_late", FileSink::new(&args.late));
    weir::cli::main_with(flow, &args.runtime)
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
