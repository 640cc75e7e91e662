//! The request path: one [`ProxyHttp`] per bound socket. The socket's precompiled table decides
//! what to do (`portico_router::Action`); this module only carries it out: answer, redirect, or
//! pick an endpoint, edit the upstream request in `upstream_request_filter` and the response in
//! `response_filter`, as Pingora's phases intend. The path is normalised first: what is matched
//! is what is forwarded (unless the rule rewrites it). The applied configuration is read through
//! one atomic pointer load.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use bytes::Bytes;
use pingora_core::upstreams::peer::{HttpPeer, Peer};
use pingora_core::{Error, ErrorType, Result};
use pingora_http::{RequestHeader, ResponseHeader};
use pingora_proxy::{FailToProxy, ProxyHttp, Session};
use portico_router::hosts::normalize_host;
use portico_router::normalize::{PathPolicy, normalize_path};
use portico_router::{Action, Request, RouteAction};
use portico_snapshot::Protocol;

use crate::cors;
use crate::forwarded::{Arrival, set_forwarding_headers};
use crate::header_edits::edit_headers;
use crate::metrics::{ListenerCounters, Metrics};
use crate::mirror::{self, BodyProgress, MirroredRequest, Mirrors};
use crate::state::{Balancer, Current};
use crate::tls;
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
    counters: Option<Arc<ListenerCounters>>,
    /// The matched rule, whose edits apply to the upstream request and the response.
    action: Option<Arc<RouteAction>>,
    /// Which of the rule's backends was picked (its own header edits apply too).
    pub(crate) backend: usize,
    /// When the rule's request timeout runs out.
    deadline: Option<Instant>,
    /// The chosen endpoint.
    peer: Option<Box<HttpPeer>>,
    /// The cluster's balancer, to pick another endpoint when connecting fails.
    pub(crate) balancer: Option<Arc<Balancer>>,
    /// Endpoints this request failed to connect to.
    failed_connects: u8,
    /// The path to forward, when it differs from the request's (normalised or rewritten).
    forwarded_path: Option<String>,
    /// Clusters the rule's mirrors drew this request for.
    mirror_to: Vec<Arc<Balancer>>,
    /// Copies of this request under way, fed its body.
    copies: Vec<MirroredRequest>,
    /// How much of the body the copies have had.
    copied: BodyProgress,
    /// The `Origin` the response answers, for a rule with a CORS filter.
    cors_origin: Option<http::HeaderValue>,
}

/// What [`PorticoProxy::decide`] settled on.
pub(crate) enum Outcome {
    Respond(u16),
    Redirect(String, u16),
    Proxy(Box<HttpPeer>),
}

impl PorticoProxy {
    /// Ask the router for the request's [`Action`] and turn it into an [`Outcome`]: the
    /// endpoint of a forward is chosen by the cluster's load balancer.
    /// `server_name` is the SNI of the request's TLS connection: a request for a host that
    /// another listener owns is answered 421.
    pub(crate) fn decide(
        &self,
        header: &RequestHeader,
        server_name: Option<&str>,
        ctx: &mut RequestCtx,
    ) -> Outcome {
        let current = self.current.load();
        let Some(applied) = current.as_deref() else {
            return Outcome::Respond(503);
        };
        let Some(socket) = applied
            .router
            .socket(self.address, self.port)
            .filter(|socket| socket.protocol == self.protocol)
        else {
            return Outcome::Respond(404);
        };
        let authority = header
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| header.uri.authority().map(|a| a.as_str()))
            .unwrap_or_default();
        let host = normalize_host(authority);
        if server_name.is_some_and(|name| socket.misdirected(name, &host)) {
            return Outcome::Respond(421);
        }
        let Ok(path) = normalize_path(header.uri.path(), self.paths) else {
            return Outcome::Respond(400);
        };
        let request = Request {
            host: &host,
            method: &header.method,
            path: &path,
            query: header.uri.query(),
            headers: &header.headers,
        };
        let decision = socket.decide(&request, rand::random());
        if let std::borrow::Cow::Owned(path) = path {
            ctx.forwarded_path = Some(path);
        }
        if let Some(matched) = &decision.matched {
            ctx.route = Some((matched.listener.clone(), matched.action.route.clone()));
            ctx.counters = applied.counters.get(matched.listener.as_ref()).cloned();
            ctx.action = Some(matched.action.clone());
            ctx.deadline = matched
                .action
                .timeouts
                .request
                .map(|timeout| Instant::now() + timeout);
        }
        match decision.action {
            Action::Respond { status: 500 } => {
                let route = ctx.route.as_ref().map_or("", |(_, r)| r.as_ref());
                tracing::error!(route, "matched rule has no valid backendRef; answering 500");
                Outcome::Respond(500)
            }
            Action::Respond { status } => Outcome::Respond(status),
            Action::Redirect { status, location } => Outcome::Redirect(location, status),
            Action::Forward {
                cluster,
                backend,
                path,
            } => match self.endpoint(applied.clusters.get(cluster), ctx) {
                Some((balancer, peer)) => {
                    ctx.balancer = Some(balancer);
                    ctx.backend = backend;
                    if let Some(action) = &ctx.action {
                        ctx.mirror_to = mirror::targets(applied, action);
                    }
                    if path.is_some() {
                        ctx.forwarded_path = path;
                    }
                    Outcome::Proxy(peer)
                }
                None => {
                    let route = ctx.route.as_ref().map_or("", |(_, r)| r.as_ref());
                    tracing::error!(
                        route,
                        cluster,
                        "cluster has no ready endpoint; answering 500"
                    );
                    Outcome::Respond(500)
                }
            },
        }
    }
}

impl PorticoProxy {
    /// The next endpoint of `balancer`'s cluster, as a peer with the upstream timeouts,
    /// shortened to the matched rule's timeouts.
    pub(crate) fn endpoint(
        &self,
        balancer: Option<&Arc<Balancer>>,
        ctx: &RequestCtx,
    ) -> Option<(Arc<Balancer>, Box<HttpPeer>)> {
        let balancer = balancer?;
        let backend = balancer.endpoints.select(b"", 256)?;
        let mut peer = balancer.peer(backend.addr);
        let timeouts = ctx.action.as_ref().map(|a| a.timeouts).unwrap_or_default();
        let remaining = ctx
            .deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()));
        let limit = match (timeouts.backend_request, remaining) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.upstream.configure(&mut peer, limit);
        Some((balancer.clone(), Box::new(peer)))
    }
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

/// The status answering a request that failed with `error` (0: the client is gone).
fn failure_status(error: &Error) -> u16 {
    use pingora_core::{ErrorSource, ErrorType::*};
    match (error.esource(), error.etype()) {
        (_, HTTPStatus(code)) => *code,
        (
            ErrorSource::Upstream,
            ConnectTimedout | ReadTimedout | WriteTimedout | TLSHandshakeTimedout,
        ) => 504,
        (ErrorSource::Upstream, _) => 502,
        (ErrorSource::Downstream, WriteError | ReadError | ConnectionClosed) => 0,
        (ErrorSource::Downstream, _) => 400,
        (ErrorSource::Internal | ErrorSource::Unset, _) => 500,
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
        let server_name = session
            .digest()
            .and_then(|d| d.ssl_digest.as_deref())
            .and_then(tls::server_name);
        let outcome = self.decide(session.req_header(), server_name, ctx);
        if let Some(action) = &ctx.action {
            if let Some(headers) = cors::preflight(action, session.req_header()) {
                cors::answer_preflight(session, headers).await?;
                return Ok(true);
            }
            ctx.cors_origin = cors::origin(action, session.req_header());
        }
        match outcome {
            Outcome::Proxy(peer) => {
                ctx.peer = Some(peer);
                self.start_copies(session, ctx);
                Ok(false)
            }
            Outcome::Respond(code) => {
                session.respond_error(code).await?;
                Ok(true)
            }
            Outcome::Redirect(location, code) => {
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

    /// Each piece of the request's body also goes to the request's copies.
    async fn request_body_filter(
        &self,
        _session: &mut Session,
        body: &mut Option<Bytes>,
        end_of_stream: bool,
        ctx: &mut Self::CTX,
    ) -> Result<()> {
        if !ctx.copies.is_empty() {
            let unseen = ctx.copied.unseen(body.as_ref());
            ctx.copies
                .retain(|copy| copy.feed(unseen.as_ref(), end_of_stream));
        }
        Ok(())
    }

    /// The endpoint chosen in [`Self::request_filter`]; after a failed connect, the cluster's
    /// next endpoint.
    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut Self::CTX,
    ) -> Result<Box<HttpPeer>> {
        ctx.copied.new_attempt();
        if let Some(peer) = ctx.peer.take() {
            return Ok(peer);
        }
        self.endpoint(ctx.balancer.as_ref(), ctx)
            .map(|(_, peer)| peer)
            .ok_or_else(|| Error::explain(ErrorType::InternalError, "no upstream for request"))
    }

    /// Nothing was sent yet: try another endpoint, up to `--upstream-connect-attempts`.
    fn fail_to_connect(
        &self,
        _session: &mut Session,
        peer: &HttpPeer,
        ctx: &mut Self::CTX,
        mut error: Box<Error>,
    ) -> Box<Error> {
        ctx.failed_connects = ctx.failed_connects.saturating_add(1);
        let retry = ctx.failed_connects < self.upstream.connect_attempts;
        tracing::warn!(endpoint = %peer.address(), %error, retry, "cannot connect to endpoint");
        error.set_retry(retry);
        error
    }

    /// Answer a failed request: 504 when an endpoint did not answer in time, else as Pingora
    /// does (502 for other upstream errors, 400 for a bad request, 500 for internal errors).
    async fn fail_to_proxy(
        &self,
        session: &mut Session,
        error: &Error,
        _ctx: &mut Self::CTX,
    ) -> FailToProxy {
        let code = failure_status(error);
        if code > 0
            && let Err(write) = session.respond_error(code).await
        {
            tracing::debug!(%write, "cannot send the error response");
        }
        FailToProxy {
            error_code: code,
            can_reuse_downstream: false,
        }
    }

    /// The normalised or rewritten path, the rewritten `Host`, the `X-Forwarded-*` headers and
    /// the matched rule's header edits, then its backend's (last, so a rule may override the
    /// others), on the request as it goes upstream.
    async fn upstream_request_filter(
        &self,
        session: &mut Session,
        upstream_request: &mut RequestHeader,
        ctx: &mut Self::CTX,
    ) -> Result<()> {
        let client = client_of(session);
        let backend = Some(ctx.backend);
        self.edit_upstream_request(session.req_header(), client, upstream_request, ctx, backend)
    }

    /// The matched rule's response header edits, then its backend's.
    async fn response_filter(
        &self,
        _session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut Self::CTX,
    ) -> Result<()> {
        self.edit_response(upstream_response, ctx);
        if let Some(action) = &ctx.action {
            cors::answer(action, ctx.cors_origin.as_ref(), upstream_response);
        }
        Ok(())
    }

    async fn logging(&self, session: &mut Session, error: Option<&Error>, ctx: &mut Self::CTX) {
        let status = session.response_written().map_or(0, |r| r.status.as_u16());
        self.record(ctx, status);
        if let Some(error) = error {
            let (listener, route) = ctx
                .route
                .as_ref()
                .map_or(("", ""), |(l, r)| (l.as_ref(), r.as_ref()));
            tracing::warn!(listener, route, status, %error, "request failed");
        }
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
    fn start_copies(&self, session: &mut Session, ctx: &mut RequestCtx) {
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
fn client_of(session: &Session) -> Option<IpAddr> {
    session
        .client_addr()
        .and_then(|a| a.as_inet())
        .map(|a| a.ip())
}
