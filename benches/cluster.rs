//! Cluster start-up, shutdown and restart: `cargo bench --bench cluster` (release).
//!
//! The bench runs itself as a weir word count (`cluster wordcount …`, the `wordcount`
//! example's flow) through the local launcher, and prints, in one run:
//! 1. the wall time of a whole `-p 2` run on an empty input (launcher included);
//! 2. the wall time of 6 M words (`WORDS`) with `-p 2` vs `-w 2`, with 10 s and 2 s epochs;
//! 3. the recovery time after a SIGKILL of one process under `--restart`: from the kill to
//!    the restarted cluster's first write to the output, with small state and with 1 M keys.

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use weir::cli::RuntimeArgs;
use weir::connectors::{DirSource, FileSink};
use weir::{Dataflow, Stream};

/// The flags of the word count this bench runs as.
#[derive(Parser)]
struct WordcountArgs {
    #[arg(long)]
    input: std::path::PathBuf,
    #[arg(long)]
    output: std::path::PathBuf,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// The `wordcount` example's running count.
fn wordcount(args: &[OsString]) -> std::process::ExitCode {
    let args = WordcountArgs::parse_from(args);
    let mut flow = Dataflow::new("wordcount");
    let lines: Stream<String> = flow.input("read", DirSource::new(&args.input));
    lines
        .flat_map("split", |line: String| {
            line.split_whitespace().map(str::to_owned).collect::<Vec<_>>()
        })
        .as_keys("key")
        .stateful_map("running_count", |seen: Option<u64>, _word: ()| {
            let n = seen.unwrap_or(0) + 1;
            (Some(n), n)
        })
        .map("format", |(word, n): (String, u64)| {
            (word.clone(), format!("{word}\t{n}"))
        })
        .output("write", FileSink::new(&args.output));
    weir::cli::main_with(flow, &args.runtime)
}

/// Runs this bench as a word count with `args`; returns the wall time of the whole run.
fn run(args: &[&str]) -> Duration {
    let start = Instant::now();
    let status = Command::new(std::env::current_exe().expect("own path"))
        .arg("wordcount")
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("start the word count");
    assert!(status.success(), "{args:?}: {status}");
    start.elapsed()
}

fn best_of(runs: usize, args: &[&str]) -> Duration {
    (0..runs).map(|_| run(args)).min().expect("at least one run")
}

/// `words` words from `distinct` ones, in 4 files under `dir`.
fn write_corpus(dir: &Path, words: usize, distinct: u64) {
    let mut state = 7u64;
    for file in 0..4 {
        let mut text = String::with_capacity(words / 4 * 8);
        for i in 0..words / 4 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            text.push_str(&format!("w{}", (state >> 33) % distinct));
            text.push(if i % 10 == 9 { '\n' } else { ' ' });
        }
        std::fs::write(dir.join(format!("f{file}")), text).expect("write corpus");
    }
}

fn path(dir: &Path) -> &str {
    dir.to_str().expect("UTF-8 temporary path")
}

/// The total size of the files in `dir`.
fn output_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The latest modification time of the files in `dir`.
fn last_write(dir: &Path) -> Option<SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| e.metadata().and_then(|m| m.modified()).ok())
        .max()
}

/// SIGKILLs one cluster process midway; returns the time from the kill to the restarted
/// cluster's first write to the output (after its state is loaded).
fn recovery_time(words: usize, distinct: u64) -> Duration {
    let (input, output, store) = (tempdir(), tempdir(), tempdir());
    write_corpus(input.path(), words, distinct);
    weir::recovery::init(store.path(), 4).expect("init store");
    let mut launcher = Command::new(std::env::current_exe().expect("own path"))
        .args([
            "wordcount",
            "--input",
            path(input.path()),
            "--output",
            path(output.path()),
        ])
        .args(["-r", path(store.path()), "-s", "0.5", "-p", "2", "--restart", "3"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the cluster");
    // Kill process 1 once 40 MB of output (some 3.5 M running counts) are written: by
    // then the state holds nearly every key.
    while output_bytes(output.path()) < 40 << 20 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let children: Vec<i32> = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", launcher.id()))
        .expect("the launcher's children")
        .split_whitespace()
        .map(|pid| pid.parse().expect("a pid"))
        .collect();
    let killed = Instant::now();
    // SAFETY: kill(2) of a process this bench started (through its launcher).
    unsafe { libc::kill(children[1], libc::SIGKILL) };
    // The survivor may still write for a moment: count writes after both old processes
    // are gone (reaped by the launcher).
    while children
        .iter()
        .any(|pid| Path::new(&format!("/proc/{pid}")).exists())
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    let gone = SystemTime::now();
    while last_write(output.path()).is_none_or(|t| t <= gone) {
        std::thread::sleep(Duration::from_millis(1));
    }
    let took = killed.elapsed();
    assert!(
        launcher.wait().expect("wait").success(),
        "the restarted cluster failed"
    );
    took
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary directory")
}

fn main() -> std::process::ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "wordcount") {
        let mut rest = vec![args[0].clone()];
        rest.extend(args[2..].iter().cloned());
        return wordcount(&rest);
    }
    let words: usize = std::env::var("WORDS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(6_000_000);
    let (empty, big, out) = (tempdir(), tempdir(), tempdir());
    std::fs::write(empty.path().join("empty"), "").expect("empty input");
    let o = path(out.path());
    let started = best_of(5, &["--input", path(empty.path()), "--output", o, "-p", "2"]);
    println!("cluster: -p 2 on an empty input: {started:.2?} wall (best of 5, launcher included)");
    write_corpus(big.path(), words, 10_000);
    for epoch in ["10", "2"] {
        let input = path(big.path());
        let threads = best_of(3, &["--input", input, "--output", o, "-w", "2", "-s", epoch]);
        let processes = best_of(3, &["--input", input, "--output", o, "-p", "2", "-s", epoch]);
        println!(
            "cluster: {words} words, {epoch} s epochs: -w 2 {threads:.2?}, -p 2 {processes:.2?}, \
             ratio -p/-w {:.2}",
            processes.as_secs_f64() / threads.as_secs_f64()
        );
    }
    for (name, words, distinct) in [
        ("small state (10 k keys)", 10_000_000, 10_000),
        ("1 M keys", 10_000_000, 1_000_000),
    ] {
        let took = recovery_time(words, distinct);
        println!(
            "cluster: recovery after a SIGKILL with --restart, {name}: {took:.2?} to the first new output"
        );
    }
    std::process::ExitCode::SUCCESS
}

// The allocator of weir's examples and benchmarks: faster than the system's where every
// item allocates (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
