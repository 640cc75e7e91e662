//! The controller's admin endpoint: `GET /status` (object statuses as JSON), `/healthz`,
//! `/metrics`. `/status` describes every Gateway and route, so it is answered only to clients on
//! loopback (`kubectl port-forward` arrives there); probes and scrapers use the other two.

use std::sync::Arc;

use portico_translate::Statuses;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::http_server::{Limits, from_loopback, respond, serve};
use crate::metrics::Metrics;

/// Serve the admin endpoint on `listener`. `status` holds the latest rendered statuses.
pub async fn run(
    listener: TcpListener,
    status: watch::Receiver<Arc<Statuses>>,
    metrics: Arc<Metrics>,
) {
    serve(listener, Limits::ADMIN, move |request| {
        let status = status.borrow().clone();
        let metrics = metrics.clone();
        let local = from_loopback(&request);
        async move {
            match (request.method().as_str(), request.uri().path()) {
                ("GET", "/status") if !local => respond(
                    403,
                    "text/plain",
                    "/status is served to loopback clients only (use kubectl port-forward)\n",
                ),
                ("GET", "/status") => match serde_json::to_vec_pretty(status.as_ref()) {
                    Ok(json) => respond(200, "application/json", json),
                    Err(error) => respond(500, "text/plain", format!("{error}\n")),
                },
                ("GET", "/healthz") => respond(200, "text/plain", "ok\n"),
                ("GET", "/metrics") => respond(200, "text/plain; version=0.0.4", metrics.render()),
                _ => respond(404, "text/plain", "not found\n"),
            }
        }
    })
    .await;
}
