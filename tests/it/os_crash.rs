//! An OS crash can lose a store partition's commits since it was last synced to disk
//! (WAL with `synchronous = NORMAL`), and partitions lose different amounts. The store
//! must still resume: garbage collection never passes what every partition has on disk.
//!
//! Simulated with real processes: process 1 of a two-process cluster stops inside its
//! n-th snapshot commit (fail point; no checkpoint is running then), is SIGKILLed there,
//! and its partition loses its WAL — everything since it was last synced, the worst an OS
//! crash can do — while the other partition keeps all its commits and its garbage
//! collection.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{
    example, expected_wordcount, free_addresses, kill, output_lines, wait_exit, write_corpus,
};

fn start(id: usize, addresses: &str, dirs: [&std::path::Path; 3], failpoints: Option<&str>) -> Child {
    let [input, output, store] = dirs.map(|d| d.to_str().unwrap().to_owned());
    let mut cmd = Command::new(example("wordcount"));
    cmd.args(["--input", &input, "--output", &output, "--running", "-r", &store])
        .args(["-s", "0.02", "-i", &id.to_string(), "-a", addresses])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(failpoints) = failpoints {
        cmd.env("FAILPOINTS", failpoints);
    }
    cmd.spawn().expect("start wordcount")
}

#[test]
fn a_partition_that_lost_its_unsynced_commits_still_resumes_exactly_once() {
    // Garbage is collected every 16 epochs: crash after one and after two sweeps. A busy
    // machine commits several epochs at once: if the run ends first, crash earlier.
    for wanted in [18, 30] {
        let mut commits = wanted;
        while !crash_in_commit(commits) {
            assert!(commits > 2, "the run never reached its third commit");
            commits /= 2;
        }
    }
}

/// Stops process 1 in its `commits`-th commit, loses its WAL, resumes and checks the
/// output; false if the run ended before that commit.
fn crash_in_commit(commits: u64) -> bool {
    let (input, output, store) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let text = write_corpus(input.path(), 12, 100_000, 3_000, commits);
    weir::recovery::init(store.path(), 2).unwrap();
    let dirs = [input.path(), output.path(), store.path()];
    let addresses = free_addresses(2);
    let stop = format!("weir::recovery::commit={commits}*off->sleep(120000)");
    let mut p0 = start(0, &addresses, dirs, None);
    let mut p1 = start(1, &addresses, dirs, Some(&stop));
    // Process 1 (worker 1, owner of partition 1) is stuck once its WAL stops growing.
    let wal = store.path().join("part-1.sqlite3-wal");
    let (mut last, mut since) = (None, Instant::now());
    while last.is_none() || since.elapsed() < Duration::from_secs(1) {
        let now = std::fs::metadata(&wal)
            .map(|m| (m.len(), m.modified().unwrap()))
            .ok();
        if now != last {
            (last, since) = (now, Instant::now());
        }
        if p0.try_wait().unwrap().is_some() {
            let _ = wait_exit(&mut p1, Duration::from_secs(30));
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(p1.id(), libc::SIGKILL);
    let _ = wait_exit(&mut p1, Duration::from_secs(30));
    let _ = wait_exit(&mut p0, Duration::from_secs(30));
    // The OS crash: partition 1 keeps only what it synced.
    std::fs::remove_file(&wal).unwrap();
    let addresses = free_addresses(2);
    let mut finish = [start(0, &addresses, dirs, None), start(1, &addresses, dirs, None)];
    for child in &mut finish {
        let (code, _) = wait_exit(child, Duration::from_secs(120));
        assert_eq!(
            code,
            Some(0),
            "the resume after the crash in commit {commits} failed"
        );
    }
    assert!(
        output_lines(output.path()) == expected_wordcount(&text, true),
        "output differs after the crash in commit {commits}"
    );
    true
}
