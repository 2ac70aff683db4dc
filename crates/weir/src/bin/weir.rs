//! The `weir` command: manage recovery stores.
//!
//! ```text
//! weir recovery init DIR --partitions N
//! weir recovery inspect DIR [--json]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tools for weir dataflows.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Recovery stores.
    #[command(subcommand)]
    Recovery(Recovery),
}

#[derive(Subcommand)]
enum Recovery {
    /// Create a recovery store: DIR/part-0.sqlite3 … part-{N-1}.sqlite3.
    Init {
        /// The recovery directory (created if missing; must not hold a store yet).
        dir: PathBuf,
        /// Number of partition files; fixed for the store's life.
        #[arg(long)]
        partitions: usize,
    },
    /// Show executions, committed frontiers and snapshot counts per partition.
    Inspect {
        /// The recovery directory.
        dir: PathBuf,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Recovery(Recovery::Init { dir, partitions }) => {
            weir::recovery::init(&dir, partitions).map(|()| {
                println!(
                    "created recovery store {} with {partitions} partitions",
                    dir.display()
                )
            })
        }
        Command::Recovery(Recovery::Inspect { dir, json }) => weir::recovery::inspect(&dir).map(|report| {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("reports serialise")
                );
            } else {
                print!("{report}");
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}
