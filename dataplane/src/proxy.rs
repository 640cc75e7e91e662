//! The request path: one [`PorticoProxy`] (a Pingora `ProxyHttp`) per bound socket, and what
//! it keeps per request ([`RequestCtx`]). The socket's precompiled table decides what to do
//! (`crate::routing`); Pingora's phases carry it out (`crate::phases`) with the edits made
//! here: the upstream request's path, host, forwarding and header edits, the response's header
//! edits, mirrored copies and counters.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use pingora_core::upstreams::peer::HttpPeer;
use pingora_core::{Error, ErrorType, Result};
use pingora_http::{RequestHeader, ResponseHeader};
use pingora_proxy::Session;
use portico_router::normalize::PathPolicy;
use portico_router::{RetryPolicy, RouteAction};
use portico_snapshot::Protocol;

use crate::forwarded::{Arrival, set_forwarding_headers};
use crate::header_edits::edit_headers;
use crate::metrics::{ListenerCounters, Metrics};
use crate::mirror::{BodyProgress, MirroredRequest, Mirrors};
use crate::retries::Retries;
use crate::state::{Balancer, Current};
use crate::upstream::UpstreamSettings;

/// Proxy logic for the socket `address:port`.
#[derive(Clone)]
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
    /// Timeouts and connect attempts towards endpoints.
    pub upstream: UpstreamSettings,
    /// How request paths are normalised before matching.
    pub paths: PathPolicy,
    /// Proxies in front of the data plane whose `X-Forwarded-*` headers are kept.
    pub trusted_hops: u8,
    /// Where RequestMirror copies are started.
    pub mirrors: Mirrors,
}

/// Per-request state.
#[derive(Default)]
pub struct RequestCtx {
    /// Listener and route that took the request, for logs.
    pub(crate) route: Option<(Arc<str>, Arc<str>)>,
    /// Where the request is counted.
    pub(crate) counters: Option<Arc<ListenerCounters>>,
    /// The matched rule, whose edits apply to the upstream request and the response.
    pub(crate) action: Option<Arc<RouteAction>>,
    /// Which of the rule's backends was picked (its own header edits apply too).
    pub(crate) backend: usize,
    /// When the rule's request timeout runs out.
    pub(crate) deadline: Option<Instant>,
    /// The chosen endpoint.
    pub(crate) peer: Option<Box<HttpPeer>>,
    /// The cluster's balancer, to pick another endpoint when connecting fails.
    pub(crate) balancer: Option<Arc<Balancer>>,
    /// Endpoints this request failed to connect to.
    pub(crate) failed_connects: u8,
    /// Retries of failed attempts the rule granted.
    pub(crate) retries: Retries,
    /// The last attempt was abandoned for its response's status, to be retried.
    pub(crate) retrying_status: bool,
    /// The path to forward, when it differs from the request's (normalised or rewritten).
    pub(crate) forwarded_path: Option<String>,
    /// Clusters the rule's mirrors drew this request for.
    pub(crate) mirror_to: Vec<Arc<Balancer>>,
    /// Copies of this request under way, fed its body.
    pub(crate) copies: Vec<MirroredRequest>,
    /// How much of the body the copies have had.
    pub(crate) copied: BodyProgress,
    /// The `Origin` the response answers, for a rule with a CORS filter.
    pub(crate) cors_origin: Option<http::HeaderValue>,
}

/// The `Host` a request was sent to: its `Host` header, else its URI's authority.
fn host_of(request: &RequestHeader) -> Option<http::HeaderValue> {
    request
        .headers
        .get(http::header::HOST)
        .cloned()
        .or_else(|| {
            let authority = request.uri.authority()?;
            http::HeaderValue::from_str(authority.as_str()).ok()
        })
}

impl RequestCtx {
    /// The matched rule's retries, if it has any.
    pub(crate) fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.action.as_ref().and_then(|a| a.retry.as_ref())
    }

    /// Whether the rule grants a retry of the failed attempt (see [`Retries::grant`]).
    pub(crate) fn grant_retry(&mut self, replayable: bool) -> bool {
        let policy = self.action.as_ref().and_then(|a| a.retry.as_ref());
        self.retries.grant(policy, self.deadline, replayable)
    }
}

impl PorticoProxy {
    /// The normalised or rewritten path, the rewritten `Host`, the `X-Forwarded-*` headers and
    /// the matched rule's header edits, then those of its `backend` (last, so a rule may
    /// override the others), on `upstream_request`, a copy of `request` from `client` about
    /// to go upstream.
    pub(crate) fn edit_upstream_request(
        &self,
        request: &RequestHeader,
        client: Option<IpAddr>,
        upstream_request: &mut RequestHeader,
        ctx: &RequestCtx,
        backend: Option<usize>,
    ) -> Result<()> {
        if let Some(path) = &ctx.forwarded_path {
            let target = match upstream_request.uri.query() {
                Some(query) => format!("{path}?{query}"),
                None => path.clone(),
            };
            let uri = http::Uri::builder()
                .path_and_query(target)
                .build()
                .map_err(|e| Error::because(ErrorType::InternalError, "normalised path", e))?;
            upstream_request.set_uri(uri);
        }
        let arrival = Arrival {
            client,
            scheme: self.protocol.scheme().as_str(),
            host: host_of(request),
            port: self.port,
        };
        set_forwarding_headers(upstream_request, &arrival, self.trusted_hops);
        if let Some(action) = &ctx.action {
            if let Some(host) = &action.rewrite.host {
                upstream_request.insert_header(http::header::HOST, host.clone())?;
            }
            let backend = backend.and_then(|index| action.backends.get(index));
            let backend_edits = backend.into_iter().flat_map(|b| &b.request_headers);
            edit_headers(
                action.request_headers.iter().chain(backend_edits),
                upstream_request,
            );
        }
        Ok(())
    }

    /// The matched rule's response header edits, then its backend's, on `response`.
    pub(crate) fn edit_response(&self, response: &mut ResponseHeader, ctx: &RequestCtx) {
        if let Some(action) = &ctx.action {
            let backend = action.backends.get(ctx.backend);
            let backend_edits = backend.into_iter().flat_map(|b| &b.response_headers);
            edit_headers(
                action.response_headers.iter().chain(backend_edits),
                response,
            );
        }
    }

    /// Start the copies of a request its rule's mirrors drew it for: the request as it goes
    /// upstream, with the rule's edits but not those of the backend it goes to.
    pub(crate) fn start_copies(&self, session: &mut Session, ctx: &mut RequestCtx) {
        let targets = std::mem::take(&mut ctx.mirror_to);
        if targets.is_empty() {
            return;
        }
        let request = session.req_header();
        let mut head = request.clone();
        if let Err(error) =
            self.edit_upstream_request(request, client_of(session), &mut head, ctx, None)
        {
            tracing::debug!(%error, "request not copied");
            return;
        }
        let host = host_of(request);
        let has_body = !session.is_body_empty();
        ctx.copies = targets
            .iter()
            .filter_map(|balancer| self.mirrors.start(balancer, &head, host.as_ref(), has_body))
            .collect();
    }

    /// Count a request answered with `status` (0: no answer) under its listener.
    pub(crate) fn record(&self, ctx: &RequestCtx, status: u16) {
        ctx.counters
            .as_ref()
            .unwrap_or(&self.metrics.unmatched)
            .record(status);
    }
}

/// The address of `session`'s client.
pub(crate) fn client_of(session: &Session) -> Option<IpAddr> {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
}
