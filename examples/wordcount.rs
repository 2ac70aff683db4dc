//! Word count over a file or a directory of files, written to `part-N` files.
//!
//! ```text
//! cargo run --release --example wordcount -- --input examples/data/sample.txt --output out
//! ```
//! Each output line is `word<TAB>count`, one per distinct word. With `--running`, every
//! occurrence emits `word<TAB>n` (its running count), so every line is unique; with
//! `--postgres URL` those running counts go into the table `wordcount_running` instead.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use weir::cli::RuntimeArgs;
use weir::connectors::{DirSource, FileSink, FileSource, Visibility};
use weir::{Dataflow, Stream};
use weir_postgres::{PostgresSink, ToRow};

/// Counts words.
#[derive(Parser)]
struct Args {
    /// A text file, or a directory whose files are read.
    #[arg(long)]
    input: PathBuf,
    /// Directory for the `part-N` output files.
    #[arg(long, required_unless_present = "postgres")]
    output: Option<PathBuf>,
    /// Write the running counts (with `--running`) into the table
    /// `wordcount_running(word text, n bigint)` of this PostgreSQL server (a libpq
    /// connection string or URL; the table is created if absent) instead of files:
    /// exactly once with a recovery store (`-r`).
    #[arg(long, requires = "running", conflicts_with = "output")]
    postgres: Option<String>,
    /// Emit a running count for every occurrence instead of one final count per word.
    #[arg(long)]
    running: bool,
    /// Make output lines visible only once their epoch is durable in the recovery store
    /// (readers of the part files never see a line a resume takes back).
    #[arg(long)]
    visible_when_durable: bool,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut flow = Dataflow::new("wordcount");
    let lines: Stream<String> = if args.input.is_dir() {
        flow.input("read", DirSource::new(&args.input))
    } else {
        flow.input("read", FileSource::new(&args.input))
    };
    let words = lines
        .flat_map("split", |line: String| {
            line.split_whitespace().map(str::to_owned).collect::<Vec<_>>()
        })
        .as_keys("key");
    let visibility = match args.visible_when_durable {
        true => Visibility::WhenDurable,
        false => Visibility::Immediate,
    };
    let counts = if args.running {
        words.stateful_map("running_count", |seen: Option<u64>, _word: ()| {
            let n = seen.unwrap_or(0) + 1;
            (Some(n), n)
        })
    } else {
        words.count_final("count")
    };
    match (&args.output, &args.postgres) {
        (Some(output), _) => counts
            .map("format", |(word, n): (String, u64)| {
                let line = format!("{word}\t{n}");
                (word, line)
            })
            .output("write", FileSink::new(output).with_visibility(visibility)),
        (None, Some(url)) => {
            let sink = PostgresSink::new(url, "wordcount_running", ["word", "n"])
                .creating("word text NOT NULL, n bigint NOT NULL")
                .with_parts(4);
            counts
                .map("row", |(word, n): (String, u64)| {
                    (word.clone(), RunningCount(word, n as i64))
                })
                .output("write", sink)
        }
        (None, None) => unreachable!("clap requires --output or --postgres"),
    }
    weir::cli::main_with(flow, &args.runtime)
}

/// A row of `wordcount_running`: a word and its running count.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct RunningCount(String, i64);

impl ToRow for RunningCount {
    fn to_row(&self) -> Vec<Box<dyn postgres::types::ToSql + Sync + Send>> {
        vec![Box::new(self.0.clone()), Box::new(self.1)]
    }
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
