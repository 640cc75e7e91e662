//! Pingora's phases of a proxied request, as Portico fills them in: route in
//! `request_filter`, pick the endpoint in `upstream_peer`, edit the upstream request and the
//! response in their filters, retry a failed attempt as the rule allows ([`crate::retries`]),
//! and answer a request that could not be proxied (a gRPC call in gRPC's terms, [`crate::grpc`]).

use async_trait::async_trait;
use bytes::Bytes;
use pingora_core::upstreams::peer::{HttpPeer, Peer};
use pingora_core::{Error, ErrorType, Result};
use pingora_http::{RequestHeader, ResponseHeader};
use pingora_proxy::{FailToProxy, ProxyHttp, Session};

use crate::cors;
use crate::grpc;
use crate::metrics::RetryCause;
use crate::proxy::{PorticoProxy, RequestCtx, client_of};
use crate::retries::retry_status;
use crate::routing::Outcome;
use crate::tls;

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
                if grpc::is_call(session.req_header()) {
                    grpc::answer(session, code).await?;
                } else {
                    session.respond_error(code).await?;
                }
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

    /// The endpoint chosen in [`Self::request_filter`]; after a failed attempt, the cluster's
    /// next endpoint (after the rule's backoff, for a retry).
    async fn upstream_peer(
        &self,
        _session: &mut Session,
        ctx: &mut Self::CTX,
    ) -> Result<Box<HttpPeer>> {
        ctx.copied.new_attempt();
        ctx.retrying_status = false;
        let backoff = ctx.retries.wait(ctx.retry_policy());
        if !backoff.is_zero() {
            tokio::time::sleep(backoff).await;
        }
        if let Some(peer) = ctx.peer.take() {
            return Ok(peer);
        }
        self.endpoint(ctx.balancer.as_ref(), ctx)
            .map(|(_, peer)| peer)
            .ok_or_else(|| Error::explain(ErrorType::InternalError, "no upstream for request"))
    }

    /// Nothing was sent yet: try another endpoint, up to `--upstream-connect-attempts`, then as
    /// the rule's retries allow.
    fn fail_to_connect(
        &self,
        session: &mut Session,
        peer: &HttpPeer,
        ctx: &mut Self::CTX,
        mut error: Box<Error>,
    ) -> Box<Error> {
        ctx.failed_connects = ctx.failed_connects.saturating_add(1);
        let retry = ctx.failed_connects < self.upstream.connect_attempts || {
            let granted = ctx.grant_retry(!session.as_ref().retry_buffer_truncated());
            if granted {
                self.metrics.record_retry(RetryCause::Connect);
            }
            granted
        };
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
        if code > 0 {
            let answered = if grpc::is_call(session.req_header()) {
                grpc::answer(session, code).await
            } else {
                session.respond_error(code).await
            };
            if let Err(write) = answered {
                tracing::debug!(%write, "cannot send the error response");
            }
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
        self.edit_upstream_request(session.req_header(), client, upstream_request, ctx, backend)?;
        if ctx.balancer.as_ref().is_some_and(|b| b.protocol.is_http2()) {
            grpc::keep_trailers(session.req_header(), upstream_request)?;
        }
        Ok(())
    }

    /// A response whose status the rule retries is abandoned, while a retry is granted.
    async fn upstream_response_filter(
        &self,
        session: &mut Session,
        upstream_response: &mut ResponseHeader,
        ctx: &mut Self::CTX,
    ) -> Result<()> {
        let status = upstream_response.status.as_u16();
        if ctx.retry_policy().is_some_and(|p| p.retries_status(status)) {
            let replayable = !session.as_ref().retry_buffer_truncated();
            if ctx.grant_retry(replayable) {
                self.metrics.record_retry(RetryCause::Status);
                ctx.retrying_status = true;
                tracing::debug!(status, retry = ctx.retries.made(), "retrying the request");
                return retry_status(status);
            }
        }
        Ok(())
    }

    /// An attempt that failed after it started (a broken connection, the backend timeout) is
    /// retried as the rule allows, unless the client already has part of the response;
    /// otherwise as Pingora decides (only an idempotent request on a reused connection, which
    /// may have been closed under it).
    fn error_while_proxy(
        &self,
        peer: &HttpPeer,
        session: &mut Session,
        error: Box<Error>,
        ctx: &mut Self::CTX,
        client_reused: bool,
    ) -> Box<Error> {
        let mut error = error.more_context(format!("Peer: {peer}"));
        if ctx.retrying_status {
            return error;
        }
        // Once the client has part of a response, another attempt would add to it.
        if session.response_written().is_some() {
            error.set_retry(false);
            return error;
        }
        let replayable = !session.as_ref().retry_buffer_truncated();
        if *error.esource() == pingora_core::ErrorSource::Upstream && ctx.grant_retry(replayable) {
            self.metrics.record_retry(RetryCause::Error);
            error.set_retry(true);
        } else if !session.req_header().method.is_idempotent() || !replayable {
            error.set_retry(false);
        } else {
            error.retry.decide_reuse(client_reused);
        }
        error
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
