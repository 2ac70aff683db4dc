//! State over HTTP (`KeyedStream::serve`): each key answered by its owner (others
//! redirect), values equal to the stream's last value per key, back after a restart, and
//! every update as a server-sent event.

use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use crate::support::{example, http_get, http_response, kill, spawn, wait_exit, wait_until};

const LIMIT: Duration = Duration::from_secs(60);

/// A free port whose next port is free too (a local cluster of 2 serves on both).
fn two_free_ports() -> u16 {
    loop {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        if port < u16::MAX && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
}

/// `GET path` from `addr`, following one redirect; whether it was redirected.
fn get_value(addr: &str, path: &str) -> Option<(bool, u16, String)> {
    let response = http_response(addr, path)?;
    if response.status != 307 {
        return Some((false, response.status, response.body));
    }
    let rest = response.location?.strip_prefix("http://")?.to_owned();
    let (owner, owner_path) = rest.split_once('/')?;
    let (status, body) = http_get(owner, &format!("/{owner_path}"))?;
    Some((true, status, body))
}

#[test]
fn every_process_answers_every_key_with_its_last_value_also_after_a_restart() {
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 2).unwrap();
    let port = two_free_ports();
    let processes = [format!("127.0.0.1:{port}"), format!("127.0.0.1:{}", port + 1)];
    let metrics = processes[0].clone();
    let run = |items: &str| {
        let args = ["--items", items, "--words", "10", "-p", "2", "-s", "0.1"];
        let mut args = args.to_vec();
        args.extend(["-r", store.path().to_str().unwrap(), "--metrics-addr", &metrics]);
        spawn(&example("served_counts"), &args, std::process::Stdio::inherit())
    };
    // Each of w0..w9 appears 100 times in 1000 items: its last count is 100.
    let check_all = |expected: &str| {
        let mut redirected = 0;
        for process in &processes {
            for word in 0..10 {
                let path = format!("/state/counts/w{word}");
                let mut answer = None;
                wait_until(&format!("{path} = {expected} at {process}"), LIMIT, || {
                    answer = get_value(process, &path).filter(|(_, s, body)| *s == 200 && body == expected);
                    answer.is_some()
                });
                redirected += usize::from(answer.unwrap().0);
            }
        }
        // Keys are spread over two processes: about half of the 20 requests redirect.
        assert!(
            (1..20).contains(&redirected),
            "{redirected} of 20 requests redirected"
        );
    };
    let mut launcher = run("1000");
    check_all("100");
    let (status, body) = http_get(&processes[0], "/state/counts/w77").unwrap();
    assert!(status == 404 || status == 307, "{status} {body}");
    let (status, body) = http_get(&processes[1], "/state/nothing/w1").unwrap();
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no stream is served as \"nothing\""), "{body}");
    kill(launcher.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut launcher, LIMIT).0, Some(0));
    // Restarted with no new item: the values come back from the store.
    let mut launcher = run("1000");
    check_all("100");
    kill(launcher.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut launcher, LIMIT).0, Some(0));
    // More items: the counts go on from there.
    let mut launcher = run("1100");
    check_all("110");
    kill(launcher.id(), libc::SIGTERM);
    assert_eq!(wait_exit(&mut launcher, LIMIT).0, Some(0));
}

#[test]
fn updates_arrive_as_server_sent_events() {
    use weir::inputs::{NamedParts, ResumableGetter};
    let open = Arc::new(AtomicBool::new(false));
    let opened = open.clone();
    // Emits a0 a1 a0 a1 … (6 items) once `open` is set, then nothing.
    let source = NamedParts::new(["p"], move |_: &str, _: Option<Option<u64>>| {
        let (open, mut next) = (opened.clone(), 0u64);
        Ok(ResumableGetter::new(
            move || {
                if !open.load(Ordering::SeqCst) || next >= 6 {
                    return Ok(Poll::Pending);
                }
                next += 1;
                Ok(Poll::Ready(Some((next, (format!("a{}", next % 2), next)))))
            },
            10,
        ))
    });
    let addr = crate::support::free_addresses(1);
    let stop = weir::StopSignal::new();
    let config = weir::RunConfig::threads(2)
        .with_epoch_interval(Duration::from_millis(50))
        .with_metrics(addr.parse().unwrap())
        .with_stop_signal(stop.clone());
    let running = std::thread::spawn(move || {
        let mut flow = weir::Dataflow::new("sse");
        flow.input("in", source)
            .serve("latest")
            .output("out", weir::testing::TestingSink::new());
        weir::run(flow, config)
    });
    let mut events = None;
    wait_until("the updates stream", LIMIT, || {
        events = std::net::TcpStream::connect(&addr).ok();
        events.is_some()
    });
    let mut events = events.unwrap();
    write!(
        events,
        "GET /state/latest/updates HTTP/1.1\r\nHost: {addr}\r\n\r\n"
    )
    .unwrap();
    let mut lines = BufReader::new(events).lines().map(Result::unwrap);
    assert!(lines.next().unwrap().contains(" 200 "), "the stream is open");
    open.store(true, Ordering::SeqCst);
    let updates: Vec<String> = lines
        .filter_map(|l| l.strip_prefix("data: ").map(str::to_owned))
        .take(6)
        .collect();
    let expected: Vec<String> = (1..=6)
        .map(|n| format!("{{\"key\":\"a{}\",\"value\":{n}}}", n % 2))
        .collect();
    assert_eq!(
        updates, expected,
        "every update, in order (one partition, one process)"
    );
    stop.stop();
    running.join().unwrap().unwrap();
}
