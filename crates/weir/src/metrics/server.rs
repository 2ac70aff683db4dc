//! The process's HTTP endpoint: `/` (the live dashboard), `/metrics` (Prometheus),
//! `/health`, `/dataflow` (the graph as JSON), served by hyper on the process's async
//! runtime.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use percent_encoding::percent_decode_str;
use tokio::sync::broadcast;

use crate::Error;
use crate::inputs::async_runtime;
use crate::metrics::{Metrics, Owner, Serving, text_format};

type Body = BoxBody<Bytes, Infallible>;

/// The live dashboard: one self-contained page that draws `/dataflow` and polls
/// `/metrics` and `/health` every second.
const DASHBOARD: &str = include_str!("dashboard.html");

/// What the endpoints serve.
pub(crate) struct Site {
    pub metrics: Arc<Metrics>,
    pub serving: Arc<Serving>,
    pub dataflow_json: String,
    pub stall_timeout: Duration,
}

/// The running server; stops when dropped.
pub(crate) struct Server {
    task: tokio::task::JoinHandle<()>,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Binds `addr` (an error at once if it cannot) and serves `site` until dropped.
    pub(crate) fn start(addr: SocketAddr, site: Site) -> Result<Server, Error> {
        let fail = |doing: &str, err: std::io::Error| {
            Error::Config(format!(
                "cannot {doing} the metrics address {addr} ({err}); choose another --metrics-addr"
            ))
        };
        let listener = std::net::TcpListener::bind(addr).map_err(|e| fail("listen on", e))?;
        listener.set_nonblocking(true).map_err(|e| fail("use", e))?;
        let bound = listener.local_addr().map_err(|e| fail("use", e))?;
        let runtime = async_runtime().map_err(|e| Error::Config(e.to_string()))?;
        let site = Arc::new(site);
        let task = runtime.spawn(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let site = site.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let openmetrics = request
                            .headers()
                            .get(hyper::header::ACCEPT)
                            .and_then(|accept| accept.to_str().ok())
                            .is_some_and(|accept| accept.contains("application/openmetrics-text"));
                        let response = match request.uri().path().strip_prefix("/state/") {
                            Some(served) => site.state(served),
                            None => site.answer(request.uri().path(), openmetrics),
                        };
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        tracing::info!(address = %bound, "serving the dashboard on /, /metrics, /health and /dataflow");
        Ok(Server { task, addr: bound })
    }

    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Site {
    /// The page at `path`; metrics in OpenMetrics if the client asked for it (Prometheus
    /// does), else in the classic text format.
    fn answer(&self, path: &str, openmetrics: bool) -> Response<Body> {
        match path {
            "/metrics" if openmetrics => respond(
                StatusCode::OK,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                self.metrics.encode(),
            ),
            "/metrics" => respond(
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                text_format::classic(&self.metrics.encode()),
            ),
            "/health" => {
                let (status, text) = self.health();
                respond(status, "text/plain; charset=utf-8", text)
            }
            "/dataflow" => respond(StatusCode::OK, "application/json", self.dataflow_json.clone()),
            "/" => respond(StatusCode::OK, "text/html; charset=utf-8", DASHBOARD.to_owned()),
            _ => respond(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                format!("no page {path}: try /, /metrics, /health or /dataflow\n"),
            ),
        }
    }

    /// `GET /state/{name}/{key}`: the key's latest value, here or by a redirect to its
    /// owner; `GET /state/{name}/updates`: this process's updates as server-sent events.
    fn state(&self, served: &str) -> Response<Body> {
        let not_found = |text: String| respond(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", text);
        let Some((name, key)) = served.split_once('/') else {
            return not_found("use /state/{name}/{key} or /state/{name}/updates\n".into());
        };
        let key = percent_decode_str(key).decode_utf8_lossy();
        if key == "updates" {
            return match self.serving.existing(name) {
                Some(table) => server_sent_events(table.subscribe()),
                None => not_found(format!("no stream is served as {name:?}\n")),
            };
        }
        match self.serving.owner(name, &key) {
            Owner::Here(Some(value)) => respond(StatusCode::OK, "application/json", value),
            Owner::Here(None) => not_found(format!("{name:?} has no value for key {key:?} yet\n")),
            Owner::There(address) => Response::builder()
                .status(StatusCode::TEMPORARY_REDIRECT)
                .header("location", format!("http://{address}/state/{served}"))
                .body(Full::new(Bytes::new()).boxed())
                .expect("a redirect of valid parts"),
            Owner::NoSuchStream => not_found(format!("no stream is served as {name:?}\n")),
        }
    }

    /// Ready once the cluster is connected; unhealthy when no epoch completed (with
    /// recovery: was committed) for longer than the stall timeout.
    fn health(&self) -> (StatusCode, String) {
        if !self.metrics.is_connected() {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "starting: the cluster is not connected yet\n".into(),
            );
        }
        match self.metrics.stalled_for() {
            Some(stalled) if stalled > self.stall_timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "stalled: no epoch completed for {:.1} s (limit {:.1} s)\n",
                    stalled.as_secs_f64(),
                    self.stall_timeout.as_secs_f64()
                ),
            ),
            _ => (StatusCode::OK, "ok\n".into()),
        }
    }
}

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)).boxed())
        .expect("a response of constant parts")
}

/// A stream of `update` events, one per message, until the client goes away; a client too
/// slow for the buffer is told how many it missed.
fn server_sent_events(updates: broadcast::Receiver<String>) -> Response<Body> {
    let events = futures::stream::unfold(updates, |mut updates| async move {
        let event = match updates.recv().await {
            Ok(update) => format!("event: update\ndata: {update}\n\n"),
            Err(broadcast::error::RecvError::Lagged(missed)) => format!("event: missed\ndata: {missed}\n\n"),
            Err(broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from(event))), updates))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(StreamBody::new(events).boxed())
        .expect("a response of constant parts")
}
