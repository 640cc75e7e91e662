//! The data plane's admin endpoints, served by a Pingora listening service:
//! `/healthz` (process alive), `/readyz` (a snapshot is applied), `/metrics` (Prometheus text),
//! `/config` (the applied snapshot as JSON, private keys redacted). The first three are for
//! probes and scrapers on the pod address; `/config` describes every route and backend, so it
//! is answered only to clients on loopback (`kubectl port-forward` arrives there).
//!
//! Served by an accept loop of its own rather than a Pingora listening service, which would
//! stop at SIGTERM: `/readyz` must keep answering (503) while the data plane drains.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use http::{Response, StatusCode, header};
use pingora_core::apps::ServerApp;
use pingora_core::apps::http_app::{HttpServer, ServeHttp};
use pingora_core::protocols::http::ServerSession;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::background::BackgroundService;

use crate::backoff::Backoff;
use crate::connection::pingora_stream;
use crate::drain::Drain;
use crate::metrics::Metrics;
use crate::state::Current;

/// Admin request handler.
pub struct Admin {
    /// The served configuration.
    pub current: Current,
    /// Metrics to render.
    pub metrics: Arc<Metrics>,
    /// Whether a first snapshot was applied and its sockets bound.
    pub ready: Arc<AtomicBool>,
    /// Not ready any more once draining.
    pub drain: Drain,
}

/// The admin endpoint's accept loop, running until the process exits.
pub struct AdminServer {
    listener: std::sync::Mutex<Option<std::net::TcpListener>>,
    app: Arc<HttpServer<Admin>>,
    drain: Drain,
}

impl AdminServer {
    /// Bind `address` now, so a taken port fails start-up with a clear error.
    pub fn bind(address: &str, admin: Admin) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind(address)?;
        listener.set_nonblocking(true)?;
        let drain = admin.drain.clone();
        Ok(Self {
            listener: std::sync::Mutex::new(Some(listener)),
            app: Arc::new(HttpServer::new_app(admin)),
            drain,
        })
    }
}

#[async_trait]
impl BackgroundService for AdminServer {
    async fn start(&self, _shutdown: ShutdownWatch) {
        let taken = self
            .listener
            .lock()
            .map(|mut l| l.take())
            .unwrap_or_default();
        let Some(listener) = taken.and_then(|l| tokio::net::TcpListener::from_std(l).ok()) else {
            tracing::error!("admin listener unavailable");
            return;
        };
        let mut pauses = Backoff::for_accept_errors();
        loop {
            let tcp = match listener.accept().await {
                Ok((tcp, _)) => tcp,
                Err(error) => {
                    let pause = pauses.next_delay();
                    tracing::warn!(%error, pause_ms = pause.as_millis(), "admin accept failed; pausing");
                    tokio::time::sleep(pause).await;
                    continue;
                }
            };
            pauses.reset();
            let app = self.app.clone();
            // Admin keep-alive connections end with the drain's grace period.
            let stopped = self.drain.stopped();
            tokio::spawn(async move {
                let mut next = app.process_new(pingora_stream(tcp), &stopped).await;
                while let Some(stream) = next {
                    next = app.process_new(stream, &stopped).await;
                }
            });
        }
    }
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Vec<u8>> {
    let body = body.into_bytes();
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_LENGTH, body.len())
        .body(body)
        .unwrap_or_default()
}

/// Whether the client connected from a loopback address.
fn from_loopback(session: &ServerSession) -> bool {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .is_some_and(|a| a.ip().is_loopback())
}

#[async_trait]
impl ServeHttp for Admin {
    async fn response(&self, session: &mut ServerSession) -> Response<Vec<u8>> {
        const TEXT: &str = "text/plain; charset=utf-8";
        match session.req_header().uri.path() {
            "/healthz" => reply(StatusCode::OK, TEXT, "ok\n".into()),
            "/readyz" if self.drain.is_draining() => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                "shutting down\n".into(),
            ),
            "/readyz" if self.ready.load(Ordering::Acquire) => {
                reply(StatusCode::OK, TEXT, "ready\n".into())
            }
            "/readyz" => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                "no snapshot applied yet\n".into(),
            ),
            "/metrics" => reply(
                StatusCode::OK,
                "text/plain; version=0.0.4",
                self.metrics.render(),
            ),
            "/config" if !from_loopback(session) => reply(
                StatusCode::FORBIDDEN,
                TEXT,
                "/config is served to loopback clients only (use kubectl port-forward)\n".into(),
            ),
            "/config" => match self.current.load_full() {
                Some(applied) => match serde_json::to_string_pretty(&applied.snapshot) {
                    Ok(json) => reply(StatusCode::OK, "application/json", json),
                    Err(e) => reply(StatusCode::INTERNAL_SERVER_ERROR, TEXT, format!("{e}\n")),
                },
                None => reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    TEXT,
                    "no snapshot applied yet\n".into(),
                ),
            },
            _ => reply(StatusCode::NOT_FOUND, TEXT, "not found\n".into()),
        }
    }
}
