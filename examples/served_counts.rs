//! Running word counts served over HTTP: `GET /state/counts/{word}` on the metrics address
//! answers the word's latest count, `/state/counts/updates` streams every change.
//!
//! ```text
//! cargo run --example served_counts -- --items 1000 --metrics-addr 127.0.0.1:9100
//! curl -L localhost:9100/state/counts/w3
//! ```
//! The source emits `--items` words (`w0`, `w1`, … cycling through `--words`), then waits
//! for more forever: stop it with Ctrl-C. With `-r DIR` it resumes where it stopped, and the
//! counts are served again at once (they are the serving step's state); run it again with
//! a larger `--items` to count on.

use std::process::ExitCode;
use std::task::Poll;

use clap::Parser;
use weir::Dataflow;
use weir::cli::RuntimeArgs;
use weir::connectors::StdOutSink;
use weir::inputs::{NamedParts, ResumableGetter};

#[derive(Parser)]
struct Args {
    /// Words to emit in all, then wait.
    #[arg(long, default_value_t = 1000)]
    items: u64,
    /// Distinct words.
    #[arg(long, default_value_t = 10)]
    words: u64,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (items, words) = (args.items, args.words.max(1));
    // One partition; its state is the index of the next word.
    let source = NamedParts::new(["words"], move |_: &str, resume: Option<Option<u64>>| {
        let mut next = resume.flatten().unwrap_or(0);
        Ok(ResumableGetter::new(
            move || {
                if next >= items {
                    return Ok(Poll::Pending);
                }
                next += 1;
                Ok(Poll::Ready(Some((next, format!("w{}", (next - 1) % words)))))
            },
            100,
        ))
    });
    let mut flow = Dataflow::new("served_counts");
    flow.input("words", source)
        .as_keys("key")
        .stateful_map("count", |seen: Option<u64>, _: ()| {
            let n = seen.unwrap_or(0) + 1;
            (Some(n), n)
        })
        .serve("counts")
        .map("format", |(word, n): (String, u64)| format!("{word}\t{n}"))
        .output("print", StdOutSink::new());
    weir::cli::main_with(flow, &args.runtime)
}

// The allocator of weir's examples and benchmarks (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
