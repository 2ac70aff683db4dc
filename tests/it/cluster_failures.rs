//! A dead or hung process takes the whole cluster down promptly, with a clear status.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{children_of, example, free_addresses, kill, output_lines, wait_exit, wait_until};

/// Starts process `id` of a hand-made cluster running `files_by_ctime --follow`.
fn start(id: usize, addresses: &str, input: &Path, output: &Path, extra: &[&str]) -> Child {
    Command::new(example("files_by_ctime"))
        .args([
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
            "--follow",
        ])
        .args(["-w", "2", "-s", "0.1", "-i", &id.to_string(), "-a", addresses])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cluster process")
}

/// An input directory with one file, and a wait until the cluster has processed it.
fn running_cluster(extra: &[&str]) -> (tempfile::TempDir, tempfile::TempDir, Child, Child) {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("first"), "1\n2\n").unwrap();
    let addresses = free_addresses(2);
    let p0 = start(0, &addresses, input.path(), output.path(), extra);
    let p1 = start(1, &addresses, input.path(), output.path(), extra);
    wait_until(
        "the cluster to process the first file",
        Duration::from_secs(30),
        || output_lines(output.path()).len() == 1,
    );
    (input, output, p0, p1)
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut text).unwrap();
    text
}

#[test]
fn killing_one_process_stops_the_other_within_seconds() {
    let (_input, _output, mut p0, mut p1) = running_cluster(&[]);
    kill(p1.id(), libc::SIGKILL);
    let (code, took) = wait_exit(&mut p0, Duration::from_secs(10));
    let _ = wait_exit(&mut p1, Duration::from_secs(5));
    let stderr = stderr_of(&mut p0);
    assert_eq!(code, Some(75), "{stderr}");
    assert!(
        stderr.contains("lost the connection to a peer process"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn a_step_failing_in_one_process_stops_the_others_at_once() {
    // `--watchdog-timeout 600`: the failure must stop the others by itself.
    let (input, _output, mut p0, mut p1) = running_cluster(&["--watchdog-timeout", "600"]);
    std::fs::write(input.path().join("second"), "not a number\n").unwrap();
    let (c0, _) = wait_exit(&mut p0, Duration::from_secs(60));
    let (c1, _) = wait_exit(&mut p1, Duration::from_secs(60));
    let (e0, e1) = (stderr_of(&mut p0), stderr_of(&mut p1));
    let mut codes = [c0, c1];
    codes.sort();
    assert_eq!(codes, [Some(1), Some(75)], "{e0}\n{e1}");
    assert!(
        format!("{e0}{e1}").contains("is not an integer"),
        "the failed process names the step's error: {e0}\n{e1}"
    );
}

#[test]
fn a_stopped_process_is_detected_by_the_watchdog() {
    let (_input, _output, mut p0, mut p1) = running_cluster(&["--watchdog-timeout", "2"]);
    kill(p1.id(), libc::SIGSTOP);
    let (code, took) = wait_exit(&mut p0, Duration::from_secs(20));
    kill(p1.id(), libc::SIGKILL);
    let _ = wait_exit(&mut p1, Duration::from_secs(5));
    let stderr = stderr_of(&mut p0);
    assert_eq!(code, Some(76), "{stderr}");
    assert!(stderr.contains("no progress for"), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[test]
fn the_launcher_stops_the_cluster_and_names_the_failed_process() {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("first"), "7\n").unwrap();
    let mut launcher = Command::new(example("files_by_ctime"))
        .args([
            "--input",
            input.path().to_str().unwrap(),
            "--output",
            output.path().to_str().unwrap(),
        ])
        .args(["--follow", "-p", "2", "-s", "0.1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(
        "the local cluster to process the first file",
        Duration::from_secs(30),
        || output_lines(output.path()).len() == 1,
    );
    let pids = children_of(launcher.id());
    assert_eq!(pids.len(), 2, "two cluster processes: {pids:?}");
    kill(pids[1], libc::SIGKILL);
    let (code, took) = wait_exit(&mut launcher, Duration::from_secs(15));
    let stderr = stderr_of(&mut launcher);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("of the local cluster failed"), "{stderr}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        pids.iter()
            .all(|&p| !Path::new(&format!("/proc/{p}")).exists() || zombie_or_gone(p))
    );
}

fn zombie_or_gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
}
