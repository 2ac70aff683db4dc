//! Helpers shared by the integration tests: example binaries, oracles, waiting on files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

/// Path of an example binary built by `cargo test` next to this test binary.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/..");
    let path = dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} missing: run the tests with `cargo test`, which builds examples",
        path.display()
    );
    path
}

/// Runs `bin args`, returning its output; fails the test if it runs longer than `limit`.
pub fn run_with_limit(bin: &Path, args: &[&str], limit: Duration) -> Output {
    let child = Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    wait_output(child, limit)
}

/// Collects the output of `child`; kills it and fails the test after `limit`.
pub fn wait_output(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(output) => output.expect("wait"),
        Err(_) => {
            kill(pid, libc::SIGKILL);
            panic!("process {pid} ran longer than {limit:?}");
        }
    }
}

/// Sends `signal` to process `pid`.
pub fn kill(pid: u32, signal: i32) {
    // SAFETY: kill(2) on a pid this test started.
    unsafe { libc::kill(pid as libc::pid_t, signal) };
}

/// Waits for `child` to exit, at most `limit`; returns its exit code or signal and the time taken.
pub fn wait_exit(child: &mut Child, limit: Duration) -> (Option<i32>, Duration) {
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    let pid = child.id();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let _ = tx.send(child.wait());
        });
        match rx.recv_timeout(limit) {
            Ok(status) => (status.expect("wait").code(), start.elapsed()),
            Err(_) => {
                kill(pid, libc::SIGKILL);
                panic!("process {pid} did not exit within {limit:?}");
            }
        }
    })
}

/// The `part-*` files of `dir` (not hidden work files) and their contents, by name.
pub fn part_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .expect("output dir")
        .map(|entry| entry.expect("entry"))
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("part-"))
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(entry.path()).expect("read part"))
        })
        .collect()
}

/// All lines of the `part-*` files of `dir`, sorted.
pub fn output_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for (_, text) in part_files(dir) {
        let text = String::from_utf8(text).expect("UTF-8 output");
        lines.extend(text.lines().map(str::to_owned));
    }
    lines.sort();
    lines
}

/// Polls `condition` every 20 ms until it holds; panics after `limit` naming `what`.
pub fn wait_until(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Word counts of `text`, split on whitespace, computed without weir.
pub fn word_counts(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word.to_owned()).or_insert(0) += 1;
    }
    counts
}

/// The expected sorted output lines of `wordcount` (final or running) for `text`.
pub fn expected_wordcount(text: &str, running: bool) -> Vec<String> {
    let mut lines: Vec<String> = word_counts(text)
        .into_iter()
        .flat_map(|(word, n)| {
            let from = if running { 1 } else { n };
            (from..=n).map(move |i| format!("{word}\t{i}"))
        })
        .collect();
    lines.sort();
    lines
}

/// Deterministic pseudo-random numbers (splitmix64), so failures replay.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Writes `files` text files of `words` words each (from a vocabulary of `distinct`
/// words) into `dir`; returns all their text concatenated.
pub fn write_corpus(dir: &Path, files: usize, words: usize, distinct: u64, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut all = String::new();
    for f in 0..files {
        let mut text = String::new();
        for w in 0..words {
            text.push_str(&format!("w{}", rng.next() % distinct));
            text.push(if w % 12 == 11 { '\n' } else { ' ' });
        }
        std::fs::write(dir.join(format!("file-{f}.txt")), &text).expect("write corpus");
        all.push_str(&text);
        all.push('\n');
    }
    all
}

/// The pids of the children of process `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .map(|p| p.parse().expect("a pid"))
        .collect()
}

/// Two localhost addresses whose ports were free a moment ago.
pub fn free_addresses(count: usize) -> String {
    let listeners: Vec<_> = (0..count)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").to_string())
        .collect::<Vec<_>>()
        .join(";")
}

/// Counts the items of `script`, read with `clock`, in tumbling windows of `window`; returns
/// the sorted window results and late items.
pub fn count_windows(
    script: &[weir::testing::TestEvent<i64>],
    clock: weir::inputs::EventClock<i64>,
    window: Duration,
    config: weir::RunConfig,
) -> (Vec<(weir::windows::Window, u64)>, Vec<i64>) {
    use weir::testing::{TestingSink, TestingSource};
    let mut flow = weir::Dataflow::new("counts");
    let (out, late) = (TestingSink::new(), TestingSink::new());
    let input = flow.input_with_clock("in", TestingSource::from_events(script.to_vec()), clock);
    input.late.output("late", late.clone());
    input
        .on_time
        .key_on("all", |_| ())
        .count_window("count", |x: &i64| *x, weir::windows::Windower::tumbling(window))
        .down
        .map("unkey", |(_, result)| result)
        .output("out", out.clone());
    weir::run(flow, config).unwrap();
    (out.sorted(), late.sorted())
}

/// Total size of the files in `dir`: a recovery store's grows when an epoch is committed.
pub fn dir_bytes(dir: &Path) -> u64 {
    let files = std::fs::read_dir(dir).expect("read the directory");
    files.map(|f| f.unwrap().metadata().unwrap().len()).sum()
}

/// Starts `bin` with `args`, its stdout discarded and its stderr sent to `stderr`.
pub fn spawn(bin: &Path, args: &[&str], stderr: std::process::Stdio) -> Child {
    Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start the example")
}

/// `GET path` from the HTTP server at `addr`: its status code and body (`None` if it
/// cannot be reached). A plain HTTP/1.0 request, enough for weir's endpoints.
pub fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    http_response(addr, path).map(|r| (r.status, r.body))
}

/// An HTTP response as `http_response` reads it.
pub struct HttpResponse {
    pub status: u16,
    /// Its `location` header, if any.
    pub location: Option<String>,
    pub body: String,
}

/// Like [`http_get`], with the `location` header (redirects are not followed).
pub fn http_response(addr: &str, path: &str) -> Option<HttpResponse> {
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(addr).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(tcp, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let location = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("location")
            .then(|| value.trim().to_owned())
    });
    Some(HttpResponse {
        status,
        location,
        body: body.to_owned(),
    })
}

/// Starts `bin args -p 2`, waits for a commit to its recovery `store` and then `wait` (a
/// seeded moment: before, between or after a sink's writes), SIGKILLs one of the two
/// processes (which one alternates with `round`) and checks that the launcher reports it.
pub fn kill_a_cluster_process_after_a_commit(
    bin: &Path,
    args: &[&str],
    store: &Path,
    wait: Duration,
    round: usize,
) {
    let before = dir_bytes(store);
    let mut launcher = spawn(bin, &[args, &["-p", "2"]].concat(), std::process::Stdio::null());
    wait_until("a commit", Duration::from_secs(60), || dir_bytes(store) > before);
    std::thread::sleep(wait);
    let children = children_of(launcher.id());
    assert_eq!(children.len(), 2, "round {round}: the launcher's processes");
    kill(children[round % 2], libc::SIGKILL);
    let (code, _) = wait_exit(&mut launcher, Duration::from_secs(60));
    assert_ne!(
        code,
        Some(0),
        "round {round}: the launcher reports the killed process"
    );
}
