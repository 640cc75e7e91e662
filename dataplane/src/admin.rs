//! The data plane's admin endpoints, served by a Pingora listening service:
//! `/healthz` (process alive), `/readyz` (a snapshot is applied), `/metrics` (Prometheus text),
//! `/config` (the applied snapshot as JSON, private keys redacted). The first three are for
//! probes and scrapers on the pod address; `/config` describes every route and backend, so it
//! is answered only to clients on loopback (`kubectl port-forward` arrives there).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use http::{Response, StatusCode, header};
use pingora_core::apps::http_app::ServeHttp;
use pingora_core::protocols::http::ServerSession;

use crate::metrics::Metrics;
use crate::state::Current;

/// Admin request handler.
pub struct Admin {
    /// The served configuration.
    pub current: Current,
    /// Metrics to render.
    pub metrics: Arc<Metrics>,
    /// Whether a first snapshot was applied.
    pub ready: Arc<AtomicBool>,
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
