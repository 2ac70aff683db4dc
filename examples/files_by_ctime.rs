//! The bream guide's example: numbers read from a directory of files in creation order,
//! per-file count, mean and standard deviation written out.
//!
//! ```text
//! cargo run --example files_by_ctime -- --input DIR --output OUT [--follow]
//! ```
//! Each input file holds one integer per line. The source's resume state is the
//! (creation time, name) of the last file read, like bream's offset. Without `--follow`
//! the input ends once every file present has been read; with it, new files keep coming.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use weir::cli::RuntimeArgs;
use weir::connectors::FileSink;
use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::{BoxError, Dataflow, StepId};

/// Files read per batch, like bream's `num_files_per_batch`.
const FILES_PER_BATCH: usize = 3;

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

/// Where reading resumes: after the file with this (creation time in ns, name).
type Offset = Option<(i128, String)>;

/// The directory as one partition, read in creation order.
struct NumbersByCtime {
    dir: PathBuf,
    follow: bool,
}

impl FixedPartitionedSource for NumbersByCtime {
    type Item = (String, Vec<i64>);
    type State = Offset;
    type Partition = NumbersPartition;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        std::fs::read_dir(&self.dir).map_err(|e| format!("cannot list {}: {e}", self.dir.display()))?;
        Ok(vec![self.dir.display().to_string()])
    }

    fn build_part(&self, _: &StepId, _: &str, resume: Option<Offset>) -> Result<NumbersPartition, BoxError> {
        Ok(NumbersPartition {
            dir: self.dir.clone(),
            follow: self.follow,
            read_after: resume.flatten(),
            awake: None,
        })
    }
}

struct NumbersPartition {
    dir: PathBuf,
    follow: bool,
    read_after: Offset,
    awake: Option<Instant>,
}

/// The files of `dir` by (creation time, name); files removed meanwhile are skipped.
fn files_by_ctime(dir: &Path) -> Result<Vec<(i128, String)>, BoxError> {
    use std::os::unix::fs::MetadataExt;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            let ctime = i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec());
            files.push((ctime, entry.file_name().to_string_lossy().into_owned()));
        }
    }
    files.sort();
    Ok(files)
}

impl StatefulSourcePartition for NumbersPartition {
    type Item = (String, Vec<i64>);
    type State = Offset;

    fn next_batch(&mut self) -> Result<Batch<Self::Item>, BoxError> {
        let files = files_by_ctime(&self.dir)?;
        let new: Vec<_> = files
            .into_iter()
            .filter(|f| self.read_after.as_ref().is_none_or(|after| f > after))
            .take(FILES_PER_BATCH)
            .collect();
        if new.is_empty() {
            if !self.follow {
                return Ok(Batch::Eof);
            }
            self.awake = Some(Instant::now() + Duration::from_millis(100));
            return Ok(Batch::Pending);
        }
        self.awake = None;
        let mut batch = Vec::with_capacity(new.len());
        for (ctime, name) in new {
            let path = self.dir.join(&name);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            let numbers = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| {
                    l.trim()
                        .parse::<i64>()
                        .map_err(|e| format!("{}: {l:?} is not an integer: {e}", path.display()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            batch.push((name.clone(), numbers));
            self.read_after = Some((ctime, name));
        }
        Ok(Batch::Items(batch))
    }

    fn next_awake(&self) -> Option<Instant> {
        self.awake
    }

    fn snapshot(&self) -> Offset {
        self.read_after.clone()
    }
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
    flow.input(
        "numbers",
        NumbersByCtime {
            dir: args.input.clone(),
            follow: args.follow,
        },
    )
    .map("stats", |(name, numbers): (String, Vec<i64>)| {
        let line = format!("{name}: {}", stats(&numbers));
        (name, line)
    })
    .output("write", FileSink::new(&args.output));
    weir::cli::main_with(flow, &args.runtime)
}
