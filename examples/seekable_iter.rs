//! A resumable source from seekable iterators: each partition counts, and resumes right
//! after the last number it emitted.
//!
//! ```text
//! cargo run --release --example seekable_iter -- --parts 4 --count 100000 --output out
//! ```
//! Partition `pN` emits `pN<TAB>k` for `k` in `0..count`, as an iterator of `(k + 1, k)`:
//! the state after `k` is where the iterator resumes, so with `-r DIR` a run killed at any
//! moment resumes each partition exactly after the last number of the last complete
//! epoch, and `part-N` files hold every line exactly once.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use weir::Dataflow;
use weir::cli::RuntimeArgs;
use weir::connectors::FileSink;
use weir::inputs::iter_per_partition;

/// Counts in partitions.
#[derive(Parser)]
struct Args {
    /// Partitions, named `p0`, `p1`, …
    #[arg(long, default_value_t = 4)]
    parts: usize,
    /// Numbers per partition.
    #[arg(long, default_value_t = 100_000)]
    count: u64,
    /// Directory for the `part-N` output files.
    #[arg(long)]
    output: PathBuf,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let count = args.count;
    let parts = (0..args.parts).map(|p| format!("p{p}"));
    // Seeks to `next` (the state of the last item read), then counts on.
    let source = iter_per_partition(parts, move |part: &str, next: Option<u64>| {
        let part = part.to_string();
        (next.unwrap_or(0)..count).map(move |k| (k + 1, (part.clone(), k)))
    });
    let mut flow = Dataflow::new("seekable_iter");
    flow.input("count", source)
        .map("format", |(part, k): (String, u64)| {
            (part.clone(), format!("{part}\t{k}"))
        })
        .output("write", FileSink::new(&args.output));
    weir::cli::main_with(flow, &args.runtime)
}

// The allocator of weir's examples and benchmarks (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
