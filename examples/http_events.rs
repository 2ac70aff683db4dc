//! An async HTTP stream as a source: server-sent events read with hyper on weir's async
//! runtime, resumable by event id.
//!
//! ```text
//! cargo run --release --example http_events -- --url http://127.0.0.1:8080/events --limit 100
//! ```
//! Prints each event's `id<TAB>data`. When the server ends the response, the connection
//! drops or nothing arrives for `--read-timeout-ms`, the client reconnects with
//! `Last-Event-ID` (the SSE protocol's resume) after `--backoff-ms`, doubled for each
//! failure since the last complete event (a failed connection, or a response that ended
//! without one); after `--retries` such retries the dataflow stops with an error naming the
//! step and the URL. The last event id is also the partition's resume state: with `-r DIR`,
//! a resumed run asks the server for what follows the last event of the last complete epoch.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use futures::{Stream, StreamExt};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use weir::cli::RuntimeArgs;
use weir::connectors::StdOutSink;
use weir::inputs::stream_per_partition;
use weir::{BoxError, Dataflow};

/// Reads server-sent events.
#[derive(Parser)]
struct Args {
    /// The event stream, `http://host:port/path` (plain HTTP/1.1).
    #[arg(long)]
    url: Uri,
    /// Stop after this many events in this run (otherwise read forever).
    #[arg(long)]
    limit: Option<usize>,
    /// Retries without a complete event in between before giving up.
    #[arg(long, default_value_t = 5)]
    retries: u32,
    /// Wait before the first retry, doubled for each further one.
    #[arg(long, default_value_t = 200)]
    backoff_ms: u64,
    /// A server that sends nothing this long (no response, no keep-alive comment) is left
    /// and retried.
    #[arg(long, default_value_t = 60_000)]
    read_timeout_ms: u64,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// One event: its id (empty if the server sent none) and its data lines.
type Event = (String, String);

/// Where the client stands: the open response, what it has read of the current event,
/// and the last event id seen.
struct Reader {
    url: Uri,
    retries: u32,
    backoff: Duration,
    read_timeout: Duration,
    body: Option<Incoming>,
    buffer: Vec<u8>,
    id: String,
    data: Vec<String>,
    last_id: Option<String>,
    /// Failures (a connection that failed, a response that ended or went silent) since the
    /// last complete event, and what the last one was.
    failures: u32,
    last_failure: String,
}

/// Opens the event stream, asking for what follows `last_id`.
async fn connect(url: &Uri, last_id: Option<&str>) -> Result<Incoming, BoxError> {
    let host = url.host().ok_or("the URL has no host")?;
    let port = url.port_u16().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((host, port)).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    let path = url.path_and_query().map_or("/", |p| p.as_str());
    let mut request = Request::get(path)
        .header(hyper::header::HOST, url.authority().map_or(host, |a| a.as_str()))
        .header(hyper::header::ACCEPT, "text/event-stream");
    if let Some(id) = last_id {
        request = request.header("Last-Event-ID", id);
    }
    let response = sender.send_request(request.body(Empty::<Bytes>::new())?).await?;
    if !response.status().is_success() {
        return Err(format!("the server answered {}", response.status()).into());
    }
    Ok(response.into_body())
}

impl Reader {
    /// Connects, after a backoff doubled per failure since the last complete event; an
    /// error once `retries` retries failed.
    async fn reconnect(&mut self) -> Result<(), BoxError> {
        loop {
            if self.failures > self.retries {
                let (url, retries, last) = (&self.url, self.retries, &self.last_failure);
                return Err(format!(
                    "the event stream at {url} is unreachable after {retries} retries: {last}"
                )
                .into());
            }
            if self.failures > 0 {
                tokio::time::sleep(self.backoff.saturating_mul(2u32.pow(self.failures.min(16) - 1))).await;
            }
            // A server that accepts the connection but never answers counts as failing too.
            let connecting = connect(&self.url, self.last_id.as_deref());
            match tokio::time::timeout(self.read_timeout, connecting).await {
                Ok(Ok(body)) => {
                    self.body = Some(body);
                    return Ok(());
                }
                Ok(Err(err)) => self.failed(err.to_string()),
                Err(_) => self.failed(format!("no answer within {:?}", self.read_timeout)),
            }
        }
    }

    fn failed(&mut self, what: String) {
        self.failures += 1;
        self.last_failure = what;
    }

    /// The next complete event in the buffer, if any (SSE: `field: value` lines, an empty
    /// line ends an event; comments and other fields are skipped).
    fn parse_buffered(&mut self) -> Option<Event> {
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if self.data.is_empty() {
                    continue;
                }
                let event = (std::mem::take(&mut self.id), self.data.join("\n"));
                self.data.clear();
                if !event.0.is_empty() {
                    self.last_id = Some(event.0.clone());
                }
                return Some(event);
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value).to_string();
            match field {
                "id" => self.id = value,
                "data" => self.data.push(value),
                _ => {}
            }
        }
        None
    }

    /// The next event, reconnecting whenever the response ends or breaks.
    async fn next_event(&mut self) -> Result<Event, BoxError> {
        loop {
            if let Some(event) = self.parse_buffered() {
                self.failures = 0;
                return Ok(event);
            }
            let Some(body) = self.body.as_mut() else {
                self.reconnect().await?;
                continue;
            };
            match tokio::time::timeout(self.read_timeout, body.frame()).await {
                Ok(Some(Ok(frame))) => {
                    if let Some(bytes) = frame.data_ref() {
                        self.buffer.extend_from_slice(bytes);
                    }
                }
                // The response ended, broke or went silent: what was half read of an event
                // is dropped, and the server resends it after the last complete one.
                ended => {
                    self.failed(match ended {
                        Ok(Some(Err(err))) => format!("the response broke: {err}"),
                        Err(_) => format!("nothing arrived for {:?}", self.read_timeout),
                        _ => "its responses ended without an event".to_owned(),
                    });
                    self.body = None;
                    self.buffer.clear();
                    self.data.clear();
                    self.id.clear();
                }
            }
        }
    }
}

/// The events after `last_id`, each with the last event id seen as the resume state (empty
/// until the server sent one).
fn events(
    args: &Args,
    last_id: Option<String>,
) -> impl Stream<Item = Result<(String, Event), BoxError>> + use<> {
    let reader = Reader {
        url: args.url.clone(),
        retries: args.retries,
        backoff: Duration::from_millis(args.backoff_ms),
        read_timeout: Duration::from_millis(args.read_timeout_ms),
        body: None,
        buffer: Vec::new(),
        id: String::new(),
        data: Vec::new(),
        last_id: last_id.filter(|id| !id.is_empty()),
        failures: 0,
        last_failure: String::new(),
    };
    let events = futures::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?;
        match reader.next_event().await {
            Ok(event) => {
                let state = reader.last_id.clone().unwrap_or_default();
                Some((Ok((state, event)), Some(reader)))
            }
            Err(err) => Some((Err(err), None)),
        }
    });
    events.take(args.limit.unwrap_or(usize::MAX))
}

fn main() -> ExitCode {
    let args = std::sync::Arc::new(Args::parse());
    let mut flow = Dataflow::new("http_events");
    let reading = args.clone();
    let source = stream_per_partition(["events"], move |_, last_id: Option<String>| {
        events(&reading, last_id)
    });
    flow.input("events", source)
        .map("format", |(id, data): Event| format!("{id}\t{data}"))
        .output("print", StdOutSink::default());
    weir::cli::main_with(flow, &args.runtime)
}

// The allocator of weir's examples and benchmarks (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
