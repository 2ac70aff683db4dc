//! SIGTERM and Ctrl-C: a graceful stop finishes the current epoch and exits 0; a resume
//! from the store then ends with exactly the lines of a run that never stopped.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::nexmark::{dumped, oracle, path, run_to_end};
use crate::support::{example, kill, output_lines, wait_exit};
use crate::windows_oracle::assert_same;

const LIMIT: Duration = Duration::from_secs(60);
/// Enough events for a few seconds at `RATE`: windows close during the run.
const EVENTS: usize = 40_000;
const EVENTS_ARG: &str = "40000";
const RATE: &str = "10000";

struct Stores {
    out: tempfile::TempDir,
    store: tempfile::TempDir,
    /// The epoch length (`-s`).
    epoch: &'static str,
}

impl Stores {
    fn new() -> Self {
        Stores::with(3, "0.1")
    }

    /// A store of `partitions`, and epochs of `epoch` seconds.
    fn with(partitions: usize, epoch: &'static str) -> Self {
        let stores = Stores {
            out: tempfile::tempdir().unwrap(),
            store: tempfile::tempdir().unwrap(),
            epoch,
        };
        weir::recovery::init(stores.store.path(), partitions).unwrap();
        stores
    }

    /// q5 (hopping windows) into `out` with recovery into `store`, and `extra` flags.
    fn args<'a>(&'a self, extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "--query",
            "q5",
            "--events",
            EVENTS_ARG,
            "--partitions",
            "4",
            "--output",
            path(self.out.path()),
            "-r",
            path(self.store.path()),
            "-s",
            self.epoch,
        ];
        args.extend_from_slice(extra);
        args
    }

    /// Starts a paced run; returns it, and its stderr lines, once it committed an epoch.
    fn start_paced(&self, extra: &[&str], failpoints: Option<&str>) -> (Child, mpsc::Receiver<String>) {
        let mut args = self.args(&["--rate", RATE, "--log-level", "weir=debug"]);
        args.extend_from_slice(extra);
        let mut command = Command::new(example("nexmark"));
        command.args(&args).stdout(Stdio::null()).stderr(Stdio::piped());
        if let Some(failpoints) = failpoints {
            command.env("FAILPOINTS", failpoints);
        }
        let mut child = command.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (lines, received) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        wait_for_line(&received, "committed epoch=");
        (child, received)
    }

    /// Resumes to the end with 3 workers and checks the lines against the oracle.
    fn resume_to_the_oracle(&self, what: &str, extra: &[&str]) {
        let lines_before = output_lines(self.out.path()).len();
        let dump_dir = tempfile::tempdir().unwrap();
        let dump = dump_dir.path().join("events.jsonl");
        let mut args = self.args(&["-w", "3", "--dump-events", path(&dump)]);
        args.extend_from_slice(extra);
        run_to_end(&args);
        let expected = oracle("q5", &dumped(&dump, EVENTS));
        assert!(
            lines_before < expected.len(),
            "{what}: the stop came before the end"
        );
        assert_same(what, &output_lines(self.out.path()), &expected);
    }
}

/// Waits until a line containing `text` arrives.
fn wait_for_line(lines: &mpsc::Receiver<String>, text: &str) {
    loop {
        match lines.recv_timeout(LIMIT) {
            Ok(line) if line.contains(text) => return,
            Ok(_) => {}
            Err(err) => panic!("no line with {text:?}: {err}"),
        }
    }
}

#[test]
fn sigterm_stops_gracefully_and_a_resume_loses_and_repeats_nothing() {
    let stores = Stores::new();
    let (mut child, _) = stores.start_paced(&["-w", "2"], None);
    kill(child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child, LIMIT).0, Some(0), "a graceful stop exits 0");
    stores.resume_to_the_oracle("one process of 2 workers stopped by SIGTERM", &[]);
}

#[test]
fn a_graceful_stop_publishes_no_output_a_resume_takes_back() {
    // Lines become visible only once durable: what a stop made visible must be exactly
    // what the resume builds on, or the resume refuses the file.
    let stores = Stores::new();
    let (mut child, _) = stores.start_paced(&["-w", "3", "--visible-when-durable"], None);
    kill(child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child, LIMIT).0, Some(0), "a graceful stop exits 0");
    stores.resume_to_the_oracle(
        "3 workers with output visible when durable, stopped by SIGTERM",
        &["--visible-when-durable"],
    );
}

#[test]
fn graceful_stops_resume_exactly_across_store_sizes_workers_processes_and_epochs() {
    let configs: [(usize, &str, &[&str]); 4] = [
        (1, "0.05", &["-w", "1"]),
        (11, "0.2", &["-w", "3"]),
        (13, "0.1", &["-p", "3"]),
        (16, "0.05", &["-p", "2", "-w", "2"]),
    ];
    for (partitions, epoch, run) in configs {
        let stores = Stores::with(partitions, epoch);
        let (mut child, _) = stores.start_paced(run, None);
        kill(child.id(), libc::SIGTERM);
        let what = format!("{partitions} store partitions, {epoch} s epochs, {run:?}");
        assert_eq!(
            wait_exit(&mut child, LIMIT).0,
            Some(0),
            "{what}: a graceful stop exits 0"
        );
        stores.resume_to_the_oracle(&what, &[]);
    }
}

#[test]
fn the_launcher_forwards_sigterm_and_its_cluster_stops_gracefully() {
    let stores = Stores::new();
    let (mut launcher, _) = stores.start_paced(&["-p", "2"], None);
    kill(launcher.id(), libc::SIGTERM);
    assert_eq!(
        wait_exit(&mut launcher, LIMIT).0,
        Some(0),
        "every process stopped gracefully"
    );
    stores.resume_to_the_oracle("a local cluster of 2 stopped by SIGTERM", &[]);
}

/// Commits hang after the first few, so a graceful stop cannot finish.
const STUCK: &str = "weir::recovery::commit=4*off->sleep(600000)";

#[test]
fn a_second_signal_stops_at_once() {
    let stores = Stores::new();
    let (mut child, lines) = stores.start_paced(&[], Some(STUCK));
    kill(child.id(), libc::SIGINT);
    wait_for_line(&lines, "stopping: finishing the current epoch");
    kill(child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child, LIMIT).0, Some(77));
    wait_for_line(&lines, "stopped at once by a second signal");
    stores.resume_to_the_oracle("stopped at once by a second signal", &[]);
}

#[test]
fn a_stop_that_takes_longer_than_the_timeout_stops_at_once() {
    let stores = Stores::new();
    let (mut child, lines) = stores.start_paced(&["--stop-timeout", "0.5"], Some(STUCK));
    kill(child.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut child, LIMIT).0, Some(77));
    wait_for_line(&lines, "the graceful stop took longer than --stop-timeout");
    stores.resume_to_the_oracle("stopped at once by --stop-timeout", &[]);
}

#[test]
fn a_branch_without_an_output_keeps_the_run_alive_until_a_stop() {
    use std::task::Poll;
    use weir::inputs::{NamedParts, ResumableGetter};
    use weir::testing::{TestingSink, TestingSource};

    let watchdog = Duration::from_millis(300);
    let out = TestingSink::new();
    let stop = weir::StopSignal::new();
    let config = weir::RunConfig {
        watchdog_timeout: watchdog,
        ..weir::RunConfig::threads(2)
            .with_epoch_interval(Duration::from_millis(20))
            .with_stop_signal(stop.clone())
    };
    let sink = out.clone();
    let running = std::thread::spawn(move || {
        let mut flow = weir::Dataflow::new("branches");
        flow.input("bounded", TestingSource::new(0..100u64))
            .output("out", sink);
        // Never ends, and no output reads it.
        let endless = NamedParts::new(["p"], |_: &str, _: Option<Option<u64>>| {
            Ok(ResumableGetter::new(
                || Ok(Poll::<Option<(u64, u64)>>::Pending),
                10,
            ))
        });
        flow.input("endless", endless).map("dangling", |x: u64| x + 1);
        weir::run(flow, config)
    });
    crate::support::wait_until("the bounded branch's output", LIMIT, || out.items().len() == 100);
    // What is tested is that nothing happens for a while: longer than the watchdog, which
    // fired once the branch with the output ended, when only that branch was watched.
    std::thread::sleep(3 * watchdog);
    assert!(!running.is_finished(), "the endless branch keeps the run going");
    stop.stop();
    running.join().unwrap().unwrap();
}
