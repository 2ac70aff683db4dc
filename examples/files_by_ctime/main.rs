//! The bream guide's example: numbers read from a directory of files in creation order,
//! per-file count, mean and standard deviation written out.
//!
//! ```text
//! cargo run --example files_by_ctime -- --input DIR --output OUT [--follow]
//! ```
//! Each input file holds one integer per line. The source's resume state is the
//! (creation time, name) of the last file read, like bream's offset. Without `--follow`
//! the input ends once every file present has been read; with it, new files keep coming,
//! and a file is read only once its last line has its newline (see `numbers_by_ctime.rs`).

mod numbers_by_ctime;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use numbers_by_ctime::NumbersByCtime;
use weir::Dataflow;
use weir::cli::RuntimeArgs;
use weir::connectors::FileSink;

/// Per-file statistics of a directory of number files.
#[derive(Parser)]
struct Args {
    /// Directory of files with one integer per line.
    #[arg(long)]
    input: PathBuf,
    /// Directory for the `part-N` output files.
    #[arg(long)]
    output: PathBuf,
    /// Keep watching the directory for new files (never ends).
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// `count=…, mean=…, stdev=…` of one file's numbers (sample standard deviation).
fn stats(numbers: &[i64]) -> String {
    let n = numbers.len() as f64;
    let mean = if numbers.is_empty() {
        0.0
    } else {
        numbers.iter().sum::<i64>() as f64 / n
    };
    let stdev = if numbers.len() < 2 {
        0.0
    } else {
        (numbers.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
    };
    format!("count={} mean={mean:.3} stdev={stdev:.3}", numbers.len())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut flow = Dataflow::new("files_by_ctime");
    flow.input("numbers", NumbersByCtime::new(&args.input, args.follow))
        .map("stats", |(name, numbers): (String, Vec<i64>)| {
            let line = format!("{name}: {}", stats(&numbers));
            (name, line)
        })
        .output("write", FileSink::new(&args.output));
    weir::cli::main_with(flow, &args.runtime)
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
