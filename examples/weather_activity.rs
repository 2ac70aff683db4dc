//! The as-of join of slipstream's weather/activity example: the weather at the time of each
//! activity, from two clocked CSV inputs (`ts,value`, RFC 3339 timestamps).
//!
//! ```text
//! cargo run --example weather_activity
//! ```
//! prints `The weather during swimming was 🌞`, and so on. An activity is joined only
//! once the watermark — of both inputs — has passed it, so a weather stream that stalls
//! holds activities back rather than enriching them with stale weather; one whose weather
//! is more than `--staleness-min` minutes old is flagged.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use weir::cli::RuntimeArgs;
use weir::connectors::{FileSource, StdOutSink};
use weir::event_time::parse_rfc3339;
use weir::inputs::EventClock;
use weir::joins::AsOf;
use weir::{Dataflow, Timestamp};

/// Joins activities with the weather at their time.
#[derive(Parser)]
struct Args {
    /// Weather updates: `timestamp,weather` lines.
    #[arg(long, default_value = "examples/data/weather.csv")]
    weather: PathBuf,
    /// Activities: `timestamp,activity` lines.
    #[arg(long, default_value = "examples/data/activity.csv")]
    activity: PathBuf,
    /// Weather older than this (minutes) is flagged as stale.
    #[arg(long, default_value_t = 60)]
    staleness_min: u64,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// A `timestamp,value` line.
type Event = (Timestamp, String);

fn parse(line: &str) -> Result<Event, String> {
    let (ts, value) = line
        .split_once(',')
        .ok_or_else(|| format!("expected `timestamp,value`, got {line:?}"))?;
    let ts = parse_rfc3339(ts).map_err(|e| e.to_string())?;
    Ok((ts, value.trim_end().to_owned()))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut flow = Dataflow::new("weather_activity");
    let clock = || EventClock::try_new(|line: &String| Ok(parse(line)?.0), Duration::ZERO);
    let parsed = |line: String| parse(&line).expect("the event clock checked every line");
    // One place: every event has the same key.
    let weather = flow
        .input_with_clock("weather", FileSource::new(&args.weather), clock())
        .on_time
        .map("parse_weather", parsed)
        .key_on("here", |_| "here".to_string());
    let activity = flow
        .input_with_clock("activity", FileSource::new(&args.activity), clock())
        .on_time
        .map("parse_activity", parsed)
        .key_on("here_too", |_| "here".to_string());
    activity
        .join_as_of(
            "weather_at",
            &weather,
            |a: &Event| a.0,
            |w: &Event| w.0,
            Some(Duration::from_secs(60 * args.staleness_min)),
        )
        .map("describe", |(_, joined): (String, AsOf<Event, Event>)| {
            let weather = joined.right.map_or("unknown".to_string(), |w| w.1);
            let note = if joined.stale { " (stale)" } else { "" };
            format!("The weather during {} was {weather}{note}", joined.left.1)
        })
        .output("print", StdOutSink::new());
    weir::cli::main_with(flow, &args.runtime)
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
