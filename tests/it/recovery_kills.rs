//! Exactly-once output across real crashes: `wordcount --running` with a recovery store,
//! SIGKILLed at seeded random moments and restarted, must end with exactly the output of
//! a run without failures (every line is unique, so a lost or duplicated line shows), and
//! a clean rerun on the finished store must leave it unchanged.
//!
//! Each seed draws the whole configuration: the store's partition count (1–32), and for
//! every round the processes (1–3), workers per process (1–4), epoch length and how and
//! when a process dies (at its first output, after a delay, stuck inside a snapshot
//! commit, or failing one), and whether output is visible at once or only once durable —
//! then every look a reader took at the part files during the run must be a prefix of the
//! final files. `WEIR_KILL_SEEDS=N` runs N seeds (soak); `WEIR_KILL_SEED=S` replays one.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{
    Rng, children_of, example, expected_wordcount, free_addresses, kill, output_lines, part_files, wait_exit,
    write_corpus,
};

/// How a round's cluster is laid out.
#[derive(Clone, Copy, Debug)]
struct Layout {
    processes: usize,
    workers: usize,
}

/// How a round ends.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// SIGKILL as soon as any output appears (with long epochs: before any commit).
    AtFirstOutput,
    /// SIGKILL after this long (the run may finish first).
    After(Duration),
    /// The victim stops inside its n-th snapshot commit (rows written, transaction not
    /// committed) and is SIGKILLed there.
    InCommit(u32),
    /// The victim's n-th snapshot commit fails: the cluster must stop by itself, and no
    /// other process may take that epoch for durable.
    FailsInCommit(u32),
}

/// One run of the cluster and how it is stopped.
#[derive(Clone, Copy, Debug)]
struct Round {
    layout: Layout,
    epoch_secs: f64,
    kill: Kill,
    victim: usize,
}

/// Everything a seed decides.
#[derive(Debug)]
struct Scenario {
    partitions: usize,
    visible_when_durable: bool,
    rounds: Vec<Round>,
    finish: Layout,
    rerun: Layout,
}

fn layout(rng: &mut Rng) -> Layout {
    Layout {
        processes: 1 + (rng.next() % 3) as usize,
        workers: 1 + (rng.next() % 4) as usize,
    }
}

impl Scenario {
    fn draw(seed: u64) -> Self {
        let mut rng = Rng(seed);
        let partitions = 1 + (rng.next() % 32) as usize;
        let visible_when_durable = rng.next().is_multiple_of(2);
        let rounds = (0..2 + rng.next() % 3)
            .map(|i| {
                let layout = layout(&mut rng);
                let victim = (rng.next() % layout.processes as u64) as usize;
                let (epoch_secs, kill) = match rng.next() % 4 {
                    0 if i == 0 => (5.0, Kill::AtFirstOutput),
                    1 => (0.05, Kill::InCommit((rng.next() % 8) as u32)),
                    2 => (0.05, Kill::FailsInCommit((rng.next() % 8) as u32)),
                    _ => (
                        [0.02, 0.05, 0.1, 0.3][(rng.next() % 4) as usize],
                        // Start-up of a cluster takes about a second; a run a few more.
                        Kill::After(Duration::from_millis(300 + rng.next() % 3000)),
                    ),
                };
                Round {
                    layout,
                    epoch_secs,
                    kill,
                    victim,
                }
            })
            .collect();
        Scenario {
            partitions,
            visible_when_durable,
            rounds,
            finish: layout(&mut rng),
            rerun: layout(&mut rng),
        }
    }
}

fn start(layout: Layout, dirs: &Dirs, epoch_secs: f64, failpoints: Option<(usize, String)>) -> Vec<Child> {
    let addresses = free_addresses(layout.processes);
    (0..layout.processes)
        .map(|id| {
            let mut cmd = Command::new(example("wordcount"));
            cmd.args([
                "--input",
                path(&dirs.input),
                "--output",
                path(&dirs.output),
                "--running",
            ])
            .args(["-r", path(&dirs.store), "-s", &epoch_secs.to_string()])
            .args(["-w", &layout.workers.to_string()])
            // A peer killed while connecting leaves the others waiting for it: not for long.
            .args(["--connect-timeout", "10"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
            if layout.processes > 1 {
                cmd.args(["-i", &id.to_string(), "-a", &addresses]);
            }
            if dirs.visible_when_durable {
                cmd.arg("--visible-when-durable");
            }
            if let Some((process, failpoints)) = &failpoints
                && *process == id
            {
                cmd.env("FAILPOINTS", failpoints);
            }
            cmd.spawn().expect("start wordcount")
        })
        .collect()
}

fn path(dir: &tempfile::TempDir) -> &str {
    dir.path().to_str().expect("a UTF-8 temporary path")
}

/// The input, output and store directories of one seed, and how output is written.
struct Dirs {
    input: tempfile::TempDir,
    output: tempfile::TempDir,
    store: tempfile::TempDir,
    visible_when_durable: bool,
}

/// Runs `layout` to completion; every process must succeed.
fn run_clean(layout: Layout, dirs: &Dirs, seed: u64, what: &str) {
    for child in &mut start(layout, dirs, 0.05, None) {
        let (code, _) = wait_exit(child, Duration::from_secs(180));
        assert_eq!(code, Some(0), "seed {seed}: the {what} ({layout:?}) failed");
    }
}

/// Polls every 10 ms until `done()` or `deadline`; true if `done()`.
fn poll_until(deadline: Instant, mut done: impl FnMut() -> bool) -> bool {
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn all_exited(children: &mut [Child]) -> bool {
    children
        .iter_mut()
        .all(|c| c.try_wait().expect("try_wait").is_some())
}

fn kill_all_and_wait(children: &mut [Child], victim: usize) {
    kill(children[victim].id(), libc::SIGKILL);
    for child in children.iter_mut() {
        // The others exit on their own (peer lost); make sure of it.
        let _ = wait_exit(child, Duration::from_secs(30));
    }
}

/// Total bytes of the output files.
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

/// Waits until the output stood still for a second after the cluster started writing
/// (stuck in the commit fail point: epochs last 50 ms), or until every process exited.
fn stuck_or_exited(children: &mut [Child], dir: &Path) -> bool {
    let (mut last, mut since) = (u64::MAX, Instant::now());
    poll_until(Instant::now() + Duration::from_secs(120), || {
        let now = output_bytes(dir);
        if now != last {
            (last, since) = (now, Instant::now());
        }
        all_exited(children) || since.elapsed() > Duration::from_secs(1)
    })
}

/// Runs one round; true if the cluster finished before it was killed. Adds what a reader
/// saw in the part files just before and after the kill to `seen`.
fn run_round(round: Round, dirs: &Dirs, seed: u64, index: usize, seen: &mut Vec<Seen>) -> bool {
    let failpoints = match round.kill {
        Kill::InCommit(n) => Some((
            round.victim,
            format!("weir::recovery::commit={n}*off->sleep(120000)"),
        )),
        Kill::FailsInCommit(n) => Some((round.victim, format!("weir::recovery::commit={n}*off->return"))),
        _ => None,
    };
    let mut children = start(round.layout, dirs, round.epoch_secs, failpoints);
    let output = dirs.output.path();
    let deadline = Instant::now() + Duration::from_secs(60);
    match round.kill {
        Kill::AtFirstOutput => {
            poll_until(deadline, || output_bytes(output) > 0 || all_exited(&mut children));
        }
        Kill::After(delay) => {
            poll_until(Instant::now() + delay, || all_exited(&mut children));
        }
        Kill::InCommit(_) => {
            stuck_or_exited(&mut children, output);
        }
        Kill::FailsInCommit(_) => {
            let stopped = poll_until(Instant::now() + Duration::from_secs(120), || {
                all_exited(&mut children)
            });
            assert!(
                stopped,
                "seed {seed} round {index}: a failed commit did not stop the cluster"
            );
            let failed = children.iter_mut().any(|c| !c.wait().expect("wait").success());
            if failed {
                println!("seed {seed} round {index}: {round:?}: the commit failed");
                seen.push(part_files(output));
                return false;
            }
        }
    }
    if all_exited(&mut children) {
        for child in &mut children {
            let status = child.wait().expect("wait");
            assert!(
                status.success(),
                "seed {seed} round {index}: {round:?} failed: {status}"
            );
        }
        return true;
    }
    println!("seed {seed} round {index}: {round:?}: SIGKILL");
    seen.push(part_files(output));
    kill_all_and_wait(&mut children, round.victim);
    seen.push(part_files(output));
    false
}

/// The contents of the part files at one moment, by file name.
type Seen = BTreeMap<String, Vec<u8>>;

/// Every look at the part files must be a prefix of the final ones: nothing a reader saw
/// was ever taken back.
fn assert_never_retracted(seen: &[Seen], last: &Seen, seed: u64) {
    for (moment, files) in seen.iter().enumerate() {
        for (name, bytes) in files {
            let end = last.get(name).map_or(&[][..], Vec::as_slice);
            assert!(
                end.starts_with(bytes),
                "seed {seed}: a reader saw {} bytes of {name} at look {moment} that are not in the final \
                 file ({} bytes): output was taken back",
                bytes.len(),
                end.len()
            );
        }
    }
}

fn run_kill_test(seed: u64) {
    let scenario = Scenario::draw(seed);
    println!("kill test seed {seed} (replay: WEIR_KILL_SEED={seed}): {scenario:?}");
    let dirs = Dirs {
        input: tempfile::tempdir().unwrap(),
        output: tempfile::tempdir().unwrap(),
        store: tempfile::tempdir().unwrap(),
        visible_when_durable: scenario.visible_when_durable,
    };
    let text = write_corpus(dirs.input.path(), 5, 60_000, 3_000, seed);
    weir::recovery::init(dirs.store.path(), scenario.partitions).unwrap();
    let mut seen = Vec::new();
    let finished = scenario
        .rounds
        .iter()
        .enumerate()
        .any(|(index, round)| run_round(*round, &dirs, seed, index, &mut seen));
    if !finished {
        run_clean(scenario.finish, &dirs, seed, "final run");
    }
    let expected = expected_wordcount(&text, true);
    assert_same_lines(
        &output_lines(dirs.output.path()),
        &expected,
        seed,
        "after the crashes",
    );
    if scenario.visible_when_durable {
        assert_never_retracted(&seen, &part_files(dirs.output.path()), seed);
    }
    run_clean(scenario.rerun, &dirs, seed, "rerun on the finished store");
    assert_same_lines(
        &output_lines(dirs.output.path()),
        &expected,
        seed,
        "after the rerun",
    );
}

fn assert_same_lines(got: &[String], expected: &[String], seed: u64, when: &str) {
    if got == expected {
        return;
    }
    let mut missing = expected.to_vec();
    missing.retain(|l| got.binary_search(l).is_err());
    let mut dupes = got.to_vec();
    dupes.dedup();
    panic!(
        "seed {seed} {when}: {} lines, expected {}; {} missing (e.g. {:?}), {} duplicated",
        got.len(),
        expected.len(),
        missing.len(),
        missing.first(),
        got.len() - dupes.len()
    );
}

#[test]
fn killed_and_restarted_clusters_produce_exactly_the_failure_free_output() {
    let seeds: Vec<u64> = match (std::env::var("WEIR_KILL_SEED"), std::env::var("WEIR_KILL_SEEDS")) {
        (Ok(seed), _) => vec![seed.parse().expect("WEIR_KILL_SEED is a number")],
        (_, Ok(n)) => (0..n.parse().expect("WEIR_KILL_SEEDS is a number"))
            .map(|i| 1000 + i)
            .collect(),
        _ => vec![1, 2, 3, 4],
    };
    for seed in seeds {
        run_kill_test(seed);
    }
}

#[test]
fn the_launcher_restarts_a_killed_cluster_from_the_store() {
    let (input, output, store) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let text = write_corpus(input.path(), 4, 150_000, 2_000, 77);
    weir::recovery::init(store.path(), 2).unwrap();
    let mut launcher = Command::new(example("wordcount"))
        .args([
            "--input",
            input.path().to_str().unwrap(),
            "--output",
            output.path().to_str().unwrap(),
            "--running",
        ])
        .args([
            "-r",
            store.path().to_str().unwrap(),
            "-s",
            "0.05",
            "-p",
            "2",
            "--restart",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    poll_until(Instant::now() + Duration::from_secs(30), || {
        output_bytes(output.path()) > 0
    });
    let children = children_of(launcher.id());
    assert_eq!(children.len(), 2, "{children:?}");
    kill(children[0], libc::SIGKILL);
    let (code, _) = wait_exit(&mut launcher, Duration::from_secs(120));
    let mut stderr = String::new();
    std::io::Read::read_to_string(launcher.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("restarting the local cluster"), "{stderr}");
    assert!(
        output_lines(output.path()) == expected_wordcount(&text, true),
        "output differs after the restart"
    );
}
