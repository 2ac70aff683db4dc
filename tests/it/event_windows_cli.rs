//! The `event_windows` example against the window oracle of `windows_oracle`: CSV files
//! (one partition each, skewed and out of order, with late lines) must give the oracle's
//! window and late lines under every epoch length, worker and process count — so all
//! configurations write byte-identical sorted output — and, with a recovery store, across
//! SIGKILLs and resumes on changing cluster shapes: exactly once, nothing lost or repeated.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::support::{children_of, example, kill, output_lines, part_files, run_with_limit, wait_exit};
use crate::windows_oracle::{self as oracle, Spec, assert_same};

/// How far out of order each file's lines may be, in ms (`--wait`).
const WAIT: i64 = 100;

/// An input directory and what the oracle says `event_windows` must write for it.
struct Case {
    input: TempDir,
    spec: Spec,
    windows: Vec<String>,
    late: Vec<String>,
}

/// Four CSV files of `lines` lines each (one of them hours ahead, one partly before 1970).
fn case(seed: u64, lines: usize, spec: Spec) -> Case {
    let input = tempfile::tempdir().unwrap();
    let parts = oracle::out_of_order(seed, 4, lines, 40, WAIT);
    for (p, part) in parts.iter().enumerate() {
        let text: String = part.iter().map(|(ts, k, v)| format!("{ts},{k},{v}\n")).collect();
        std::fs::write(input.path().join(format!("events-{p}.csv")), text).unwrap();
    }
    let split = oracle::split_late(&parts, WAIT);
    assert!(!split.late.is_empty(), "the input must have late lines");
    Case {
        input,
        spec,
        windows: oracle::window_lines(&oracle::windows(spec, &split.on_time)),
        late: oracle::late_lines(&split.late),
    }
}

fn path(dir: &Path) -> &str {
    dir.to_str().expect("a UTF-8 temporary path")
}

/// The command line for `case`, writing to `out` and `late`, with runtime flags `extra`.
fn command(case: &Case, out: &Path, late: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--input",
        path(case.input.path()),
        "--output",
        path(out),
        "--late",
        path(late),
    ]
    .map(str::to_owned)
    .to_vec();
    args.extend([
        "--window".to_owned(),
        case.spec.cli(),
        "--wait".to_owned(),
        WAIT.to_string(),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The sorted lines of `dir`'s part files; every part file must end with a whole line.
fn lines(dir: &Path) -> Vec<String> {
    for (name, bytes) in part_files(dir) {
        assert!(
            bytes.is_empty() || bytes.ends_with(b"\n"),
            "{name} in {} ends inside a line",
            dir.display()
        );
    }
    output_lines(dir)
}

/// Runs `event_windows` to completion (it must succeed) with runtime flags `extra`.
fn run_to_end(case: &Case, out: &Path, late: &Path, extra: &[&str]) {
    let args = command(case, out, late, extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run_with_limit(&example("event_windows"), &args, Duration::from_secs(300));
    assert!(
        output.status.success(),
        "event_windows {extra:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Both outputs must be the oracle's, line for line.
fn assert_oracle(case: &Case, out: &Path, late: &Path, what: &str) {
    assert_same(&format!("{what}: window lines"), &lines(out), &case.windows);
    assert_same(&format!("{what}: late lines"), &lines(late), &case.late);
}

#[test]
fn every_configuration_writes_the_oracle_s_windows_and_late_lines() {
    let configs: [&[&str]; 5] = [
        &["-s", "0.005"],
        &["-s", "1"],
        &["-w", "1"],
        &["-w", "3", "-s", "0.01"],
        &["-p", "2", "-w", "2", "-s", "0.01"],
    ];
    for spec in [
        Spec::tumbling(1000),
        Spec::sliding(1000, 250),
        Spec::Session { gap: 300 },
    ] {
        let case = case(21, 5000, spec);
        let mut first: Option<(Vec<String>, Vec<String>)> = None;
        for extra in configs {
            let (out, late) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
            run_to_end(&case, out.path(), late.path(), extra);
            let what = format!("{} {extra:?}", case.spec.cli());
            assert_oracle(&case, out.path(), late.path(), &what);
            // Equal to the oracle, hence to each other; said outright for the reader.
            let got = (lines(out.path()), lines(late.path()));
            assert!(first.get_or_insert_with(|| got.clone()) == &got, "{what}");
        }
    }
}

/// Total bytes of the part files in `dir`.
fn bytes(dir: &Path) -> usize {
    part_files(dir).values().map(Vec::len).sum()
}

/// Polls every 10 ms until `done()` or `limit`; true if `done()`.
fn poll(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

fn exited(child: &mut Child) -> bool {
    child.try_wait().expect("try_wait").is_some()
}

fn spawn(case: &Case, out: &Path, late: &Path, extra: &[&str]) -> Child {
    Command::new(example("event_windows"))
        .args(command(case, out, late, extra))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start event_windows")
}

/// Kill after kill, then a run to the end, then a rerun on the finished store of
/// `store_partitions`: the output is the oracle's every time.
fn kill_and_resume(spec: Spec, seed: u64, store_partitions: usize) {
    let case = case(seed, 50_000, spec);
    let (out, late, store) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let (o, l) = (out.path(), late.path());
    weir::recovery::init(store.path(), store_partitions).unwrap();
    let r = path(store.path());
    let what = case.spec.cli();

    // Round 1: one process of 2 workers, SIGKILLed as soon as it wrote a window.
    let mut child = spawn(&case, o, l, &["-r", r, "-s", "0.02", "-w", "2"]);
    let wrote = poll(Duration::from_secs(60), || bytes(o) > 0 || exited(&mut child));
    assert!(
        wrote && !exited(&mut child),
        "{what}: round 1 ended before it could be killed"
    );
    kill(child.id(), libc::SIGKILL);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(30)).0,
        None,
        "{what}: killed"
    );

    // Round 2: a local cluster of 2 processes resumes; one of them is SIGKILLed once half
    // the output is written, and the launcher stops the other.
    let half: usize = case.windows.iter().map(|line| line.len() + 1).sum::<usize>() / 2;
    let mut launcher = spawn(&case, o, l, &["-r", r, "-s", "0.05", "-p", "2", "-w", "1"]);
    let grew = poll(Duration::from_secs(60), || {
        bytes(o) > half || exited(&mut launcher)
    });
    assert!(
        grew && !exited(&mut launcher),
        "{what}: round 2 ended before it could be killed"
    );
    let children = children_of(launcher.id());
    assert_eq!(
        children.len(),
        2,
        "{what}: the launcher's processes: {children:?}"
    );
    kill(children[1], libc::SIGKILL);
    let (code, _) = wait_exit(&mut launcher, Duration::from_secs(60));
    assert_ne!(
        code,
        Some(0),
        "{what}: the launcher must report the killed process"
    );

    // Round 3: three workers finish from the store.
    run_to_end(&case, o, l, &["-r", r, "-s", "0.05", "-w", "3"]);
    assert_oracle(&case, o, l, &format!("{what} after two kills"));

    // A rerun on the finished store changes nothing.
    run_to_end(&case, o, l, &["-r", r, "-s", "0.05", "-w", "1"]);
    assert_oracle(
        &case,
        o,
        l,
        &format!("{what} after a rerun on the finished store"),
    );
}

#[test]
fn killed_sliding_windows_resume_to_exactly_the_oracle_s_output() {
    kill_and_resume(Spec::sliding(2000, 500), 31, 3);
}

#[test]
fn killed_session_windows_resume_to_exactly_the_oracle_s_output() {
    // More than 10 store partitions: where routing once broke.
    kill_and_resume(Spec::Session { gap: 300 }, 32, 13);
}
