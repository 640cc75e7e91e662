//! The request path: one [`ProxyHttp`] per bound socket. Routing is a lookup in the socket's
//! precompiled table; the applied configuration is read through one atomic pointer load.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_core::{Error, ErrorType, Result};
use pingora_http::ResponseHeader;
use pingora_proxy::{ProxyHttp, Session};
use portico_router::hosts::normalize_host;
use portico_router::{Request, RouteAction};
use portico_snapshot::{Protocol, RequestRedirect};

use crate::metrics::{ListenerCounters, Metrics};
use crate::state::{Applied, Current};

/// Proxy logic for the socket `address:port`.
pub struct PorticoProxy {
    /// Socket address.
    pub address: IpAddr,
    /// Socket port.
    pub port: u16,
    /// Whether this socket terminates TLS. A snapshot that changed the port's protocol is only
    /// served once the socket is rebound; until then this one answers 404.
    pub protocol: Protocol,
    /// The served configuration.
    pub current: Current,
    /// Request counters.
    pub metrics: Arc<Metrics>,
}

/// Per-request state.
#[derive(Default)]
pub struct RequestCtx {
    /// Listener and route that took the request, for logs.
    route: Option<(Arc<str>, Arc<str>)>,
    /// Where the request is counted.
    counters: Option<Arc<ListenerCounters>>,
    /// The chosen endpoint.
    peer: Option<Box<HttpPeer>>,
}

enum Decision {
    Respond(u16),
    Redirect(String, u16),
    Proxy(Box<HttpPeer>),
}

impl PorticoProxy {
    fn decide(&self, session: &mut Session, ctx: &mut RequestCtx) -> Decision {
        let current = self.current.load();
        let Some(applied) = current.as_deref() else {
            return Decision::Respond(503);
        };
        let Some(socket) = applied
            .router
            .socket(self.address, self.port)
            .filter(|socket| socket.protocol == self.protocol)
        else {
            return Decision::Respond(404);
        };
        let header = session.req_header();
        let authority = header
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| header.uri.authority().map(|a| a.as_str()))
            .unwrap_or_default();
        let host = normalize_host(authority);
        let request = Request {
            host: &host,
            path: header.uri.path(),
            headers: &header.headers,
        };
        let Some(matched) = socket.route(&request) else {
            return Decision::Respond(404);
        };
        let action: &RouteAction = matched.action;
        ctx.route = Some((matched.listener.clone(), action.route.clone()));
        ctx.counters = applied.counters.get(matched.listener.as_ref()).cloned();
        if let Some(redirect) = &action.redirect {
            let location = location(redirect, socket.protocol, socket.port, &host, header);
            return Decision::Redirect(location, redirect.status_code);
        }
        let modifiers = &action.header_modifiers;
        let cluster = action.backends.pick(rand::random());
        let peer = cluster.and_then(|name| endpoint(applied, name));
        let Some(peer) = peer else {
            tracing::error!(
                route = %action.route,
                cluster = cluster.unwrap_or("<invalid backendRef>"),
                "matched route has no usable backend; answering 500"
            );
            return Decision::Respond(500);
        };
        let header = session.req_header_mut();
        for modifier in modifiers {
            for (name, value) in &modifier.set {
                let _ = header.insert_header(name.clone(), value.clone());
            }
            for (name, value) in &modifier.add {
                let _ = header.append_header(name.clone(), value.clone());
            }
            for name in &modifier.remove {
                header.remove_header(name);
            }
        }
        Decision::Proxy(peer)
    }
}

fn endpoint(applied: &Applied, cluster: &str) -> Option<Box<HttpPeer>> {
    let backend = applied.clusters.get(cluster)?.select(b"", 256)?;
    Some(Box::new(HttpPeer::new(backend.addr, false, String::new())))
}

/// The `Location` of a redirect, per the HTTPRoute RequestRedirect rules: unset parts keep the
/// request's; a port is derived from the scheme, and omitted when it is the scheme's default.
fn location(
    redirect: &RequestRedirect,
    protocol: Protocol,
    listener_port: u16,
    host: &str,
    header: &pingora_http::RequestHeader,
) -> String {
    let listener_scheme = match protocol {
        Protocol::Http => "http",
        Protocol::Https => "https",
    };
    let scheme = redirect.scheme.as_deref().unwrap_or(listener_scheme);
    let port = redirect.port.unwrap_or(match redirect.scheme.as_deref() {
        Some("https") => 443,
        Some(_) => 80,
        None => listener_port,
    });
    let host = redirect.hostname.as_deref().unwrap_or(host);
    let default_port = matches!((scheme, port), ("http", 80) | ("https", 443));
    let path = header
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    if default_port {
        format!("{scheme}://{host}{path}")
    } else {
        format!("{scheme}://{host}:{port}{path}")
    }
}

#[async_trait]
impl ProxyHttp for PorticoProxy {
    type CTX = RequestCtx;

    fn new_ctx(&self) -> Self::CTX {
        RequestCtx::default()
    }

    /// Route the request. Returns `true` when a response (404, 500, redirect) was already sent.
    async fn request_filter(&self, session: &mut Session, ctx: &mut Self::CTX) -> Result<bool> {
        match self.decide(session, ctx) {
            Decision::Proxy(peer) => {
                ctx.peer = Some(peer);
                Ok(false)
            }
            Decision::Respond(code) => {
                session.respond_error(code).await?;
                Ok(true)
            }
            Decision::Redirect(location, code) => {
                let mut response = ResponseHeader::build(code, Some(2))?;
                response.insert_header(http::header::LOCATION, location)?;
                response.insert_header(http::header::CONTENT_LENGTH, "0")?;
                session
                    .write_response_header(Box::new(response), true)
                    .await?;
                Ok(true)
            }
        }
    }

    /// The endpoint chosen in [`Self::request_filter`].
    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut Self::CTX,
    ) -> Result<Box<HttpPeer>> {
        ctx.peer.take().ok_or_else(|| {
            Error::explain(ErrorType::InternalError, "no upstream chosen for request")
        })
    }

    async fn logging(&self, session: &mut Session, error: Option<&Error>, ctx: &mut Self::CTX) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        ctx.counters
            .as_ref()
            .unwrap_or(&self.metrics.unmatched)
            .record(status);
        if let Some(error) = error {
            let (listener, route) = ctx
                .route
                .as_ref()
                .map_or(("", ""), |(l, r)| (l.as_ref(), r.as_ref()));
            tracing::warn!(listener, route, status, %error, "request failed");
        }
    }
}
