//! The `http_events` example against a real HTTP server started here (hyper, on loopback):
//! server-sent events read across the server ending its responses, resumed by event id;
//! a server gone for good, or one that answers without events, gives retries, then a clear
//! error.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::support::{example, run_with_limit, spawn};

/// An SSE server on a free loopback port: each response carries the next `per_response`
/// events of `1..=total` after the request's `Last-Event-ID`, then ends (so the client
/// must reconnect to read on). Counts the requests it answered.
struct EventServer {
    runtime: tokio::runtime::Runtime,
    url: String,
    requests: Arc<AtomicU64>,
    accepting: tokio::task::JoinHandle<()>,
}

impl EventServer {
    fn start(total: u64, per_response: u64) -> EventServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicU64::new(0));
        let counted = requests.clone();
        let accepting = runtime.spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let counted = counted.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let after: u64 = (request.headers().get("last-event-id"))
                            .and_then(|id| id.to_str().ok()?.parse().ok())
                            .unwrap_or(0);
                        let body: String = (after + 1..=(after + per_response).min(total))
                            .map(|id| format!(": a comment\nid: {id}\ndata: event {id}\n\n"))
                            .collect();
                        let response = Response::builder()
                            .header("content-type", "text/event-stream")
                            .body(Full::new(Bytes::from(body)));
                        async move { Ok::<_, Infallible>(response.unwrap()) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        EventServer {
            runtime,
            url,
            requests,
            accepting,
        }
    }

    /// Stops accepting connections: the port refuses from now on.
    fn stop(self) {
        self.accepting.abort();
        self.runtime.shutdown_timeout(Duration::from_secs(5));
    }
}

#[test]
fn events_are_read_once_each_across_responses_the_server_ends() {
    let server = EventServer::start(100, 7);
    let bin = example("http_events");
    let args = ["--url", &server.url, "--limit", "100", "--backoff-ms", "10"];
    let out = run_with_limit(&bin, &args, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let expected: Vec<String> = (1..=100).map(|id| format!("{id}\tevent {id}")).collect();
    assert_eq!(lines, expected);
    // 100 events at 7 per response: 15 responses, the last one read in part.
    assert_eq!(server.requests.load(Ordering::SeqCst), 15);
    server.stop();
}

#[test]
fn a_server_gone_for_good_gives_retries_then_an_error_naming_the_step_and_url() {
    let server = EventServer::start(2, 2);
    let url = server.url.clone();
    let bin = example("http_events");
    // The client reads the 2 events, reconnects, and finds nobody.
    let args = ["--url", &url, "--retries", "3", "--backoff-ms", "10"];
    let child = spawn(&bin, &args, std::process::Stdio::piped());
    crate::support::wait_until("the first request", Duration::from_secs(30), || {
        server.requests.load(Ordering::SeqCst) >= 1
    });
    server.stop();
    let out = crate::support::wait_output(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("step \"events\"")
            && stderr.contains(&url)
            && stderr.contains("unreachable after 3 retries"),
        "{stderr}"
    );
}

#[test]
fn a_server_that_answers_without_events_gives_retries_then_an_error() {
    // After its 3 events the server keeps accepting and ending empty responses.
    let server = EventServer::start(3, 3);
    let bin = example("http_events");
    let args = ["--url", &server.url, "--retries", "2", "--backoff-ms", "10"];
    let out = run_with_limit(&bin, &args, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("step \"events\"")
            && stderr.contains("unreachable after 2 retries: its responses ended without an event"),
        "{stderr}"
    );
    let printed = String::from_utf8_lossy(&out.stdout).lines().count();
    assert!(printed <= 3, "{printed} lines for 3 events");
    // The first response, then one per retry: nothing is retried forever.
    assert_eq!(server.requests.load(Ordering::SeqCst), 1 + 2);
}

#[test]
fn a_run_with_a_recovery_store_resumes_after_the_last_event_it_read() {
    let server = EventServer::start(100, 30);
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 2).unwrap();
    let bin = example("http_events");
    let args = [
        "--url",
        &server.url,
        "--limit",
        "40",
        "-r",
        store.path().to_str().unwrap(),
    ];
    let mut read = Vec::new();
    for _ in 0..2 {
        let out = run_with_limit(&bin, &args, Duration::from_secs(60));
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        read.extend(String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned));
    }
    let expected: Vec<String> = (1..=80).map(|id| format!("{id}\tevent {id}")).collect();
    assert_eq!(read, expected, "the second run asked for what follows event 40");
    server.stop();
}
