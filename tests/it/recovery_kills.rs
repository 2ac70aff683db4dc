//! Exactly-once output across real crashes: `wordcount --running` as a cluster with a
//! recovery store, SIGKILLed at seeded random moments and restarted, must end with
//! exactly the output of a run without failures (every line is unique, so a lost or
//! duplicated line shows).
//!
//! `WEIR_KILL_SEEDS=N` runs N seeds (soak); `WEIR_KILL_SEED=S` replays one.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{
    Rng, children_of, example, expected_wordcount, free_addresses, kill, output_lines, wait_exit,
    write_corpus,
};

/// How a round's cluster is laid out.
#[derive(Clone, Copy, Debug)]
struct Layout {
    processes: usize,
    workers: usize,
}

const TWO_BY_TWO: Layout = Layout {
    processes: 2,
    workers: 2,
};
const ONE_BY_THREE: Layout = Layout {
    processes: 1,
    workers: 3,
};

/// Makes process 1 stop inside its fourth snapshot commit (rows written, not committed).
const STUCK_IN_COMMIT: &str = "weir::recovery::commit=3*off->sleep(120000)";

fn start(layout: Layout, input: &Path, output: &Path, store: &Path, epoch_secs: &str) -> Vec<Child> {
    start_with(layout, input, output, store, epoch_secs, None)
}

fn start_with(
    layout: Layout,
    input: &Path,
    output: &Path,
    store: &Path,
    epoch_secs: &str,
    failpoints_of_process_1: Option<&str>,
) -> Vec<Child> {
    let addresses = free_addresses(layout.processes);
    (0..layout.processes)
        .map(|id| {
            let mut cmd = Command::new(example("wordcount"));
            cmd.args([
                "--input",
                input.to_str().unwrap(),
                "--output",
                output.to_str().unwrap(),
                "--running",
            ])
            .args([
                "-r",
                store.to_str().unwrap(),
                "-s",
                epoch_secs,
                "-w",
                &layout.workers.to_string(),
            ])
            // A peer killed while connecting leaves the other waiting for it: not for long.
            .args(["--connect-timeout", "10"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
            if layout.processes > 1 {
                cmd.args(["-i", &id.to_string(), "-a", &addresses]);
            }
            if let (1, Some(failpoints)) = (id, failpoints_of_process_1) {
                cmd.env("FAILPOINTS", failpoints);
            }
            cmd.spawn().expect("start wordcount")
        })
        .collect()
}

/// Waits until `deadline` or until every process exited; true if they all exited.
fn all_exited_before(children: &mut [Child], deadline: Instant) -> bool {
    loop {
        if children
            .iter_mut()
            .all(|c| c.try_wait().expect("try_wait").is_some())
        {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
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

/// Waits until the output has grown and then stood still for a second: the cluster is
/// stuck (here: in the commit fail point, since epochs last 50 ms).
fn wait_until_stuck(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut last, mut since) = (0, Instant::now());
    while Instant::now() < deadline {
        let now = output_bytes(dir);
        if now != last {
            (last, since) = (now, Instant::now());
        } else if now > 0 && since.elapsed() > Duration::from_secs(1) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("the cluster never got stuck in the commit fail point");
}

fn any_output(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|d| d.flatten().any(|e| e.metadata().is_ok_and(|m| m.len() > 0)))
        .unwrap_or(false)
}

fn run_kill_test(seed: u64) {
    println!("kill test seed {seed} (replay: WEIR_KILL_SEED={seed})");
    let (input, output, store) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let text = write_corpus(input.path(), 6, 200_000, 5_000, seed);
    weir::recovery::init(store.path(), 4).unwrap();
    let mut rng = Rng(seed);
    let mut finished = false;
    // Round 0: long epochs, killed as soon as output appears: inside the first epoch,
    // before anything was committed. Round 1: process 1 is killed while it writes a
    // snapshot transaction. Round 2 resumes on a different layout.
    for round in 0..5 {
        let (layout, epoch_secs) = match round {
            0 => (TWO_BY_TWO, "5"),
            2 => (ONE_BY_THREE, "0.05"),
            _ => (TWO_BY_TWO, "0.05"),
        };
        let failpoints = (round == 1).then_some(STUCK_IN_COMMIT);
        let mut children = start_with(
            layout,
            input.path(),
            output.path(),
            store.path(),
            epoch_secs,
            failpoints,
        );
        let exited = if round == 1 {
            wait_until_stuck(output.path());
            false
        } else if round == 0 {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !any_output(output.path()) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            false
        } else {
            // Cluster start-up takes about a second; a run about four more.
            let delay = Duration::from_millis(800 + rng.next() % 2500);
            all_exited_before(&mut children, Instant::now() + delay)
        };
        if exited {
            for child in &mut children {
                assert!(
                    child.wait().unwrap().success(),
                    "seed {seed} round {round}: a clean run failed"
                );
            }
            finished = true;
            break;
        }
        let victim = if round == 1 {
            1
        } else {
            (rng.next() % layout.processes as u64) as usize
        };
        println!("seed {seed} round {round}: {layout:?}, SIGKILL process {victim}");
        kill_all_and_wait(&mut children, victim);
    }
    if !finished {
        let mut children = start(TWO_BY_TWO, input.path(), output.path(), store.path(), "0.05");
        for child in &mut children {
            let (code, _) = wait_exit(child, Duration::from_secs(120));
            assert_eq!(code, Some(0), "seed {seed}: the final run failed");
        }
    }
    let got = output_lines(output.path());
    let expected = expected_wordcount(&text, true);
    if got != expected {
        let mut missing = expected.clone();
        missing.retain(|l| got.binary_search(l).is_err());
        let mut dupes = got.clone();
        dupes.dedup();
        panic!(
            "seed {seed}: {} lines, expected {}; {} missing (e.g. {:?}), {} duplicated",
            got.len(),
            expected.len(),
            missing.len(),
            missing.first(),
            got.len() - dupes.len()
        );
    }
}

#[test]
fn killed_and_restarted_clusters_produce_exactly_the_failure_free_output() {
    let seeds: Vec<u64> = match (std::env::var("WEIR_KILL_SEED"), std::env::var("WEIR_KILL_SEEDS")) {
        (Ok(seed), _) => vec![seed.parse().expect("WEIR_KILL_SEED is a number")],
        (_, Ok(n)) => (0..n.parse().expect("WEIR_KILL_SEEDS is a number"))
            .map(|i| 1000 + i)
            .collect(),
        _ => vec![1, 2],
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
    let deadline = Instant::now() + Duration::from_secs(30);
    while !any_output(output.path()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
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
