//! Reads lines from stdin and prints them upper-cased on stdout.
//!
//! ```text
//! printf 'a\nb\n' | cargo run --example uppercase -- -w 2
//! ```
//! stdout carries only the data, even as a cluster (`-p 2`): connection messages and logs
//! go to stderr.

use weir::Dataflow;
use weir::connectors::{StdInSource, StdOutSink};

fn main() -> std::process::ExitCode {
    let mut flow = Dataflow::new("uppercase");
    flow.dynamic_input("stdin", StdInSource)
        .map("upper", |line: String| line.to_uppercase())
        .output("stdout", StdOutSink::new());
    weir::cli::main(flow)
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
