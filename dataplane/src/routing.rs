//! What to do with a request: the router's [`Action`] for it, turned into an [`Outcome`], and
//! the endpoint each attempt at a backend goes to, with the rule's timeouts. The applied
//! configuration is read through one atomic pointer load.

use std::sync::Arc;
use std::time::Instant;

use pingora_core::upstreams::peer::HttpPeer;
use pingora_http::RequestHeader;
use portico_router::Action;
use portico_router::Request;
use portico_router::hosts::normalize_host;
use portico_router::normalize::normalize_path;

use crate::mirror;
use crate::proxy::{PorticoProxy, RequestCtx};
use crate::state::Balancer;

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
            Action::Respond { status } if decision.matched.is_some() => {
                let route = ctx.route.as_ref().map_or("", |(_, r)| r.as_ref());
                tracing::error!(route, status, "matched rule has no valid backendRef");
                Outcome::Respond(status)
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
                    let status = ctx
                        .action
                        .as_ref()
                        .map_or(500, |a| a.kind.no_backend_status());
                    tracing::error!(route, cluster, status, "cluster has no ready endpoint");
                    Outcome::Respond(status)
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
