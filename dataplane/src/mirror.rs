//! RequestMirror: copies of requests sent to other clusters, their answers dropped.
//!
//! A copy never delays or fails the request it copies. It starts when the request is routed,
//! on a task of its own, and its body is fed chunk by chunk as the request's body is read, into
//! a small queue: a copy that falls behind (its queue is full) is abandoned rather than holding
//! the request back, as is one whose request ends before its whole body was read. At most
//! [`MAX_IN_FLIGHT`] copies are under way per data plane; further ones are skipped. Each copy
//! goes to one endpoint of its cluster, with the data plane's upstream timeouts.

use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use pingora_core::connectors::http::Connector;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_http::RequestHeader;
use portico_router::RouteAction;
use portico_snapshot::BackendProtocol;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::hop_by_hop;
use crate::metrics::{Metrics, MirrorOutcome};
use crate::state::{Applied, Balancer};
use crate::upstream::UpstreamSettings;

/// Copies under way at once, per data plane.
pub const MAX_IN_FLIGHT: usize = 1024;

/// Body chunks queued for one copy before it counts as fallen behind.
const QUEUED_CHUNKS: usize = 16;

/// Starts request copies; shared by every socket of a data plane.
#[derive(Clone)]
pub struct Mirrors {
    connector: Arc<Connector>,
    in_flight: Arc<Semaphore>,
    upstream: UpstreamSettings,
    metrics: Arc<Metrics>,
}

/// One copy under way: where its body goes.
#[derive(Debug)]
pub struct MirroredRequest {
    body: mpsc::Sender<Chunk>,
}

#[derive(Debug)]
enum Chunk {
    Data(Bytes),
    End,
}

impl Mirrors {
    /// Copies dialled with `upstream`'s timeouts, counted in `metrics`.
    pub fn new(upstream: UpstreamSettings, metrics: Arc<Metrics>) -> Self {
        Self {
            connector: Arc::new(Connector::new(None)),
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            upstream,
            metrics,
        }
    }

    /// Start copying a request whose head, as it goes upstream, is `head` (sent to `host`;
    /// `has_body` when a body follows), to an endpoint of `balancer`'s cluster. `None` when
    /// the copy is skipped.
    pub fn start(
        &self,
        balancer: &Balancer,
        head: &RequestHeader,
        host: Option<&HeaderValue>,
        has_body: bool,
    ) -> Option<MirroredRequest> {
        let head = copy_head(head, host, has_body, balancer.protocol)?;
        let Ok(permit) = self.in_flight.clone().try_acquire_owned() else {
            self.metrics.record_mirror(MirrorOutcome::Skipped);
            return None;
        };
        let endpoint = balancer.endpoints.select(b"", 256)?;
        let mut peer = balancer.peer(endpoint.addr);
        self.upstream.configure(&mut peer, None);
        let (body, queue) = mpsc::channel(QUEUED_CHUNKS);
        tokio::spawn(self.clone().send(peer, head, queue, permit));
        Some(MirroredRequest { body })
    }

    async fn send(
        self,
        peer: HttpPeer,
        head: RequestHeader,
        queue: mpsc::Receiver<Chunk>,
        _permit: OwnedSemaphorePermit,
    ) {
        let outcome = match self.exchange(&peer, head, queue).await {
            Ok(()) => MirrorOutcome::Sent,
            Err(Stop::Abandoned) => MirrorOutcome::Abandoned,
            Err(Stop::Failed(error)) => {
                tracing::debug!(endpoint = %peer, %error, "request copy failed");
                MirrorOutcome::Failed
            }
        };
        self.metrics.record_mirror(outcome);
    }

    /// Send the copy and read its answer, which is dropped.
    async fn exchange(
        &self,
        peer: &HttpPeer,
        head: RequestHeader,
        mut queue: mpsc::Receiver<Chunk>,
    ) -> Result<(), Stop> {
        let (mut session, _reused) = self.connector.get_http_session(peer).await?;
        session.write_request_header(Box::new(head)).await?;
        loop {
            match queue.recv().await {
                Some(Chunk::Data(data)) => session.write_request_body(data, false).await?,
                Some(Chunk::End) => break,
                None => return Err(Stop::Abandoned),
            }
        }
        session.finish_request_body().await?;
        session.read_response_header().await?;
        while session.read_response_body().await?.is_some() {}
        self.connector
            .release_http_session(session, peer, Some(self.upstream.idle_timeout))
            .await;
        Ok(())
    }
}

/// The clusters of `action`'s mirrors that draw a request (each draws on its own).
pub fn targets(applied: &Applied, action: &RouteAction) -> Vec<Arc<Balancer>> {
    action
        .mirrors
        .iter()
        .filter(|mirror| mirror.takes(rand::random()))
        .filter_map(|mirror| applied.clusters.get(mirror.cluster.as_str()).cloned())
        .collect()
}

/// `head` in the HTTP version the copy's cluster speaks, without its connection-specific
/// fields: HTTP/1.1 with a `Host` field (and chunked framing for a body of unknown length), or
/// HTTP/2 with an absolute URI. `None` when it cannot be expressed (no host for HTTP/2).
fn copy_head(
    head: &RequestHeader,
    host: Option<&HeaderValue>,
    has_body: bool,
    protocol: BackendProtocol,
) -> Option<RequestHeader> {
    let mut copy = head.clone();
    hop_by_hop::strip(&mut copy);
    let target = head
        .uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    match protocol {
        BackendProtocol::Http1 => {
            copy.set_version(http::Version::HTTP_11);
            if !copy.headers.contains_key(http::header::HOST)
                && let Some(host) = host
            {
                copy.insert_header(http::header::HOST, host.clone()).ok()?;
            }
            if head.uri.authority().is_some() {
                copy.set_uri(http::Uri::try_from(target).ok()?);
            }
            if has_body && !copy.headers.contains_key(http::header::CONTENT_LENGTH) {
                copy.insert_header(http::header::TRANSFER_ENCODING, "chunked")
                    .ok()?;
            }
        }
        BackendProtocol::H2c | BackendProtocol::H2 => {
            copy.set_version(http::Version::HTTP_2);
            let host = copy
                .headers
                .get(http::header::HOST)
                .or(host)?
                .to_str()
                .ok()?
                .to_string();
            copy.set_uri(http::Uri::try_from(format!("http://{host}{target}")).ok()?);
            crate::grpc::keep_trailers(head, &mut copy).ok()?;
        }
    }
    Some(copy)
}

/// How much of a request's body its copies have had. Pingora replays a body from its start
/// when it retries the request on another connection; the copies must not get it twice.
#[derive(Debug, Default)]
pub struct BodyProgress {
    /// Bytes passed to the copies.
    fed: usize,
    /// Bytes of the body seen in the current attempt.
    seen: usize,
}

impl BodyProgress {
    /// Another attempt at the request begins: its body is seen again from the start.
    pub fn new_attempt(&mut self) {
        self.seen = 0;
    }

    /// The part of `chunk` the copies have not had yet.
    pub fn unseen(&mut self, chunk: Option<&Bytes>) -> Option<Bytes> {
        let chunk = chunk?;
        let start = self.seen;
        self.seen += chunk.len();
        if self.seen <= self.fed {
            return None;
        }
        let skip = self.fed.saturating_sub(start);
        self.fed = self.seen;
        Some(chunk.slice(skip..))
    }
}

/// Why a copy stopped before its answer was read.
enum Stop {
    Abandoned,
    Failed(Box<pingora_core::Error>),
}

impl From<Box<pingora_core::Error>> for Stop {
    fn from(error: Box<pingora_core::Error>) -> Self {
        Self::Failed(error)
    }
}

impl MirroredRequest {
    /// Pass on a piece of the request's body (`end`: the last). `false` when the copy has
    /// fallen behind or ended, and is abandoned.
    pub fn feed(&self, data: Option<&Bytes>, end: bool) -> bool {
        if let Some(data) = data.filter(|d| !d.is_empty())
            && self.body.try_send(Chunk::Data(data.clone())).is_err()
        {
            return false;
        }
        !end || self.body.try_send(Chunk::End).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replayed_body_is_not_fed_twice() {
        let mut progress = BodyProgress::default();
        let chunk = |s: &'static str| Bytes::from_static(s.as_bytes());
        assert_eq!(
            progress.unseen(Some(&chunk("hello "))),
            Some(chunk("hello "))
        );
        // A retry replays what was read so far, then the body goes on.
        progress.new_attempt();
        assert_eq!(progress.unseen(Some(&chunk("hel"))), None);
        assert_eq!(progress.unseen(Some(&chunk("lo wor"))), Some(chunk("wor")));
        assert_eq!(progress.unseen(Some(&chunk("ld"))), Some(chunk("ld")));
        assert_eq!(progress.unseen(None), None);
    }

    #[test]
    fn copies_lose_connection_fields_and_get_framing_for_a_body_of_unknown_length() {
        let mut head = RequestHeader::build("POST", b"/upload", None).expect("head");
        head.set_version(http::Version::HTTP_2);
        head.append_header("connection", "x-hop").expect("field");
        head.append_header("x-hop", "1").expect("field");
        let host = HeaderValue::from_static("shop.example.com");
        let copy = copy_head(&head, Some(&host), true, BackendProtocol::Http1).expect("copy");
        assert_eq!(copy.version, http::Version::HTTP_11);
        assert_eq!(copy.headers.get("host"), Some(&host));
        assert_eq!(
            copy.headers
                .get("transfer-encoding")
                .map(HeaderValue::as_bytes),
            Some(&b"chunked"[..])
        );
        assert!(!copy.headers.contains_key("x-hop"));
        let copy = copy_head(&head, Some(&host), true, BackendProtocol::H2c).expect("copy");
        assert_eq!(copy.uri.to_string(), "http://shop.example.com/upload");
        assert!(!copy.headers.contains_key("transfer-encoding"));
    }
}
