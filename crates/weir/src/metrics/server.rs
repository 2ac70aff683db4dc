//! The process's HTTP endpoint: `/` (the live dashboard), `/metrics` (Prometheus),
//! `/health`, `/dataflow` (the graph as JSON), served by hyper on the process's async
//! runtime.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

use crate::Error;
use crate::inputs::async_runtime;
use crate::metrics::{Metrics, text_format};

/// The live dashboard: one self-contained page that draws `/dataflow` and polls
/// `/metrics` and `/health` every second.
const DASHBOARD: &str = include_str!("dashboard.html");

/// What the endpoints serve.
struct Site {
    metrics: Arc<Metrics>,
    dataflow_json: String,
    stall_timeout: Duration,
}

/// The running server; stops when dropped.
pub(crate) struct Server {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Binds `addr` (an error at once if it cannot) and serves until dropped.
    pub(crate) fn start(
        addr: SocketAddr,
        metrics: Arc<Metrics>,
        dataflow_json: String,
        stall_timeout: Duration,
    ) -> Result<Server, Error> {
        let fail = |doing: &str, err: std::io::Error| {
            Error::Config(format!(
                "cannot {doing} the metrics address {addr} ({err}); choose another --metrics-addr"
            ))
        };
        let listener = std::net::TcpListener::bind(addr).map_err(|e| fail("listen on", e))?;
        listener.set_nonblocking(true).map_err(|e| fail("use", e))?;
        let bound = listener.local_addr().map_err(|e| fail("use", e))?;
        let runtime = async_runtime().map_err(|e| Error::Config(e.to_string()))?;
        let site = Arc::new(Site {
            metrics,
            dataflow_json,
            stall_timeout,
        });
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
                        let response = site.answer(request.uri().path(), openmetrics);
                        async move { Ok::<_, Infallible>(response) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        tracing::info!(address = %bound, "serving the dashboard on /, /metrics, /health and /dataflow");
        Ok(Server { task })
    }
}

impl Site {
    /// The page at `path`; metrics in OpenMetrics if the client asked for it (Prometheus
    /// does), else in the classic text format.
    fn answer(&self, path: &str, openmetrics: bool) -> Response<Full<Bytes>> {
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

fn respond(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("a response of constant parts")
}
