//! The slipstream cookbook's timer: an async interval as a source, driving a handler.
//!
//! ```text
//! cargo run --release --example timer -- --interval-ms 1000 --ticks 5
//! ```
//! Prints `tick N at HH:MM:SS` (UTC) every interval, `--ticks` times. The tick count is the
//! source's resume state: with `-r DIR`, a run stopped after tick 3 resumes at tick 4.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use futures::StreamExt;
use weir::Dataflow;
use weir::cli::RuntimeArgs;
use weir::connectors::StdOutSink;
use weir::inputs::stream_per_partition;

/// Ticks on an interval.
#[derive(Parser)]
struct Args {
    /// Milliseconds between two ticks.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Ticks in all, then the input ends.
    #[arg(long, default_value_t = 5)]
    ticks: u64,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// The ticks after `done` up to `ticks`, one per `interval`: the async generator of the
/// recipe. Each tick is also its own resume state.
fn timer(
    done: u64,
    ticks: u64,
    interval: Duration,
) -> impl futures::Stream<Item = Result<(u64, u64), std::io::Error>> {
    // Built inside weir's async runtime, which `tokio::time::interval` needs.
    let clock = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    futures::stream::unfold((clock, done), |(mut clock, n)| async move {
        clock.tick().await;
        Some((Ok((n + 1, n + 1)), (clock, n + 1)))
    })
    .take(ticks.saturating_sub(done) as usize)
}

/// The time of day now, UTC, as `HH:MM:SS`.
fn utc_time_of_day() -> String {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let seconds = since_epoch.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn main() -> ExitCode {
    let args = Args::parse();
    let (ticks, interval) = (args.ticks, Duration::from_millis(args.interval_ms));
    let mut flow = Dataflow::new("timer");
    // One partition, so one timer in the whole cluster.
    let source = stream_per_partition(["timer"], move |_, done: Option<u64>| {
        timer(done.unwrap_or(0), ticks, interval)
    });
    flow.input("timer", source)
        .map("handler", |tick: u64| {
            format!("tick {tick} at {}", utc_time_of_day())
        })
        .output("print", StdOutSink::default());
    weir::cli::main_with(flow, &args.runtime)
}

// The allocator of weir's examples and benchmarks (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
