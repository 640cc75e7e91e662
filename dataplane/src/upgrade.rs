//! HTTP/1.1 WebSocket upgrades, tunnelled by Portico itself rather than by Pingora's proxy
//! loop. Other `Upgrade` protocols (`h2c` among them) are not offered: those requests go
//! through Pingora, which forwards them without their `Upgrade`.
//!
//! Pingora 0.9 tears an upgraded connection down when it reads the endpoint's `101` before the
//! upgrade request's (empty) body has been handed upstream, which happens under load
//! (cloudflare/pingora#946). An upgrade request is routed like any other (same table, same
//! header edits and `X-Forwarded-*`, its connection-specific fields removed); then its head
//! alone goes to the endpoint on a connection of its own, the answer comes back with the rule's
//! response edits, and only after a `101` do the client's further bytes follow: they are copied
//! both ways until either side closes, both directions have been idle for the upstream read
//! timeout, or the data plane's drain ends. A refused upgrade is passed back, as long as its
//! head says, and the connection closed after it. An upgrade request with a body, or with two
//! `Host` fields, is refused with 400.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora_core::connectors::L4Connect;
use pingora_core::protocols::Stream;
use pingora_core::protocols::l4::stream::Stream as L4Stream;
use pingora_core::upstreams::peer::Peer;
use pingora_core::{ErrorType, OrErr};
use pingora_http::RequestHeader;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::bare_answer::answer_and_close;
use crate::drain::Drain;
use crate::hop_by_hop;
use crate::http1_head::{
    Failure, body_length, read_final_response_head, request_head, response_head,
};
use crate::proxy::{PorticoProxy, RequestCtx};
use crate::routing::Outcome;

/// Bytes copied at a time through a tunnel.
const CHUNK: usize = 16 * 1024;

/// The request in `head` when it asks for a WebSocket: HTTP/1.1 with `Upgrade: websocket`,
/// which its `Connection` header names. With the request comes the length of its head (bytes
/// after it already belong to the new protocol).
pub fn upgrade_request(head: &[u8], max_headers: usize) -> Option<(RequestHeader, usize)> {
    // Most heads are not upgrades: a scan for the field spares them the parse.
    if !head
        .windows(b"\nupgrade:".len())
        .any(|w| w.eq_ignore_ascii_case(b"\nupgrade:"))
    {
        return None;
    }
    let mut fields = vec![httparse::EMPTY_HEADER; max_headers];
    let mut parsed = httparse::Request::new(&mut fields);
    let httparse::Status::Complete(length) = parsed.parse(head).ok()? else {
        return None;
    };
    if parsed.version != Some(1) {
        return None;
    }
    let mut request = RequestHeader::build(
        parsed.method?,
        parsed.path?.as_bytes(),
        Some(parsed.headers.len()),
    )
    .ok()?;
    for field in parsed.headers.iter() {
        request
            .append_header(field.name.to_string(), field.value)
            .ok()?;
    }
    let has_token = |name: http::header::HeaderName, wanted: &[u8]| {
        request
            .headers
            .get_all(name)
            .iter()
            .flat_map(|v| v.as_bytes().split(|b| *b == b','))
            .any(|token| token.trim_ascii().eq_ignore_ascii_case(wanted))
    };
    let websocket = has_token(http::header::CONNECTION, b"upgrade")
        && has_token(http::header::UPGRADE, b"websocket");
    websocket.then_some((request, length))
}

/// Why an upgrade request is refused before it is routed: a body (nothing may reach the
/// endpoint before its `101`) or more than one `Host`.
fn malformed(request: &RequestHeader) -> Option<&'static str> {
    let headers = &request.headers;
    if headers.get_all(http::header::HOST).iter().count() > 1 {
        return Some("more than one Host field");
    }
    let has_body = headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers
            .get(http::header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    has_body.then_some("an upgrade request with a body")
}

/// An upgrade request as read from a client.
pub struct Upgrade {
    /// The request.
    pub request: RequestHeader,
    /// What was read: the head, perhaps followed by the first bytes of the new protocol.
    pub read: BytesMut,
    /// The length of the head in `read`.
    pub head_length: usize,
    /// The client's address.
    pub client: Option<std::net::IpAddr>,
    /// The server name (SNI) of the client's TLS connection.
    pub server_name: Option<String>,
}

/// Serve `upgrade` on `downstream` with the socket's `proxy`; tunnels close when `drain`'s
/// grace period ends.
pub async fn serve(mut downstream: Stream, upgrade: Upgrade, proxy: &PorticoProxy, drain: &Drain) {
    let Upgrade {
        request,
        read,
        head_length,
        client,
        server_name,
    } = upgrade;
    let mut ctx = RequestCtx::default();
    if let Some(reason) = malformed(&request) {
        tracing::debug!(reason, "upgrade refused");
        answer_and_close(downstream, 400, None).await;
        proxy.record(&ctx, 400);
        return;
    }
    let status = match proxy.decide(&request, server_name.as_deref(), &mut ctx) {
        Outcome::Respond(status) => {
            answer_and_close(downstream, status, None).await;
            status
        }
        Outcome::Redirect(location, status) => {
            answer_and_close(downstream, status, Some(&location)).await;
            status
        }
        Outcome::Proxy(peer) => {
            let early = read.freeze().slice(head_length..);
            let tunnel = Tunnel {
                request: &request,
                client,
                early,
                proxy,
                drain,
            };
            match tunnel.run(&mut downstream, peer, &mut ctx).await {
                Ok(status) => status,
                Err(failure) => {
                    let (listener, route) = ctx
                        .route
                        .as_ref()
                        .map_or(("", ""), |(l, r)| (l.as_ref(), r.as_ref()));
                    tracing::warn!(listener, route, status = failure.status, reason = %failure.reason, "upgrade failed");
                    answer_and_close(downstream, failure.status, None).await;
                    failure.status
                }
            }
        }
    };
    proxy.record(&ctx, status);
}

/// One upgrade request on its way to an endpoint.
struct Tunnel<'a> {
    request: &'a RequestHeader,
    client: Option<std::net::IpAddr>,
    /// Bytes the client sent after the head.
    early: Bytes,
    proxy: &'a PorticoProxy,
    drain: &'a Drain,
}

impl Tunnel<'_> {
    /// Connect, send the head, pass the answer back; after a `101`, copy both ways. The
    /// answer's status, or why there was none.
    async fn run(
        &self,
        downstream: &mut Stream,
        peer: Box<pingora_core::upstreams::peer::HttpPeer>,
        ctx: &mut RequestCtx,
    ) -> Result<u16, Failure> {
        let proxy = self.proxy;
        if ctx.balancer.as_ref().is_some_and(|b| b.protocol.is_http2()) {
            return Err(Failure::new(
                502,
                "the backend speaks HTTP/2, which has no HTTP/1.1 upgrade",
            ));
        }
        let read_timeout = peer
            .options
            .read_timeout
            .unwrap_or(proxy.upstream.read_timeout);
        let write_timeout = peer
            .options
            .write_timeout
            .unwrap_or(proxy.upstream.write_timeout);
        let mut upstream = self.connect(peer, ctx).await?;

        let mut head = self.request.clone();
        hop_by_hop::strip(&mut head);
        head.insert_header(http::header::CONNECTION, "Upgrade")
            .and_then(|()| head.insert_header(http::header::UPGRADE, "websocket"))
            .map_err(|e| Failure::new(500, e.to_string()))?;
        proxy
            .edit_upstream_request(self.request, self.client, &mut head, ctx, Some(ctx.backend))
            .map_err(|e| Failure::new(500, e.to_string()))?;
        // The head alone: nothing else reaches the endpoint before its 101.
        write_within(write_timeout, &mut upstream, &request_head(&head))
            .await
            .map_err(|e| Failure::new(502, format!("sending the request head: {e}")))?;

        let (mut response, rest) = read_final_response_head(&mut upstream, read_timeout).await?;
        let status = response.status.as_u16();
        proxy.edit_response(&mut response, ctx);
        let switched = status == 101;
        if !switched {
            let _ = response.insert_header(http::header::CONNECTION, "close");
        }
        let mut answer = response_head(&response);
        let declared = if switched {
            answer.extend_from_slice(&rest);
            None
        } else {
            let declared = body_length(&response);
            let shown = declared.map_or(rest.len(), |n| rest.len().min(n as usize));
            answer.extend_from_slice(&rest[..shown]);
            declared.map(|n| n.saturating_sub(shown as u64))
        };
        if write_within(write_timeout, downstream, &answer)
            .await
            .is_err()
        {
            return Ok(status);
        }
        let mut stopped = self.drain.stopped();
        let idle = Activity::new();
        // Silence is judged by the data plane's read timeout, not a route's request timeouts.
        let idle_limit = proxy.upstream.read_timeout;
        let copying = async {
            if switched {
                if write_within(write_timeout, &mut upstream, &self.early)
                    .await
                    .is_err()
                {
                    return;
                }
                let (mut from_client, mut to_client) = tokio::io::split(downstream);
                let (mut from_endpoint, mut to_endpoint) = tokio::io::split(upstream);
                // Either direction failing ends both; one ending cleanly lets the other finish.
                let _ = tokio::try_join!(
                    pump(&mut from_client, &mut to_endpoint, &idle),
                    pump(&mut from_endpoint, &mut to_client, &idle),
                );
            } else {
                // A refused upgrade: the rest of its body, as long as its head says (or until
                // the endpoint closes when it does not say).
                let _ = match declared {
                    Some(left) => pump(&mut (&mut upstream).take(left), downstream, &idle).await,
                    None => pump(&mut upstream, downstream, &idle).await,
                };
            }
        };
        tokio::select! {
            () = copying => {}
            () = idle.expired(idle_limit) => {
                tracing::debug!(?idle_limit, "upgraded connection idle; closing");
            }
            _ = stopped.wait_for(|&stop| stop) => {}
        }
        Ok(status)
    }

    /// A connection to the request's endpoint, moving on to the cluster's next endpoint when
    /// one cannot be reached, as proxied requests do.
    async fn connect(
        &self,
        mut peer: Box<pingora_core::upstreams::peer::HttpPeer>,
        ctx: &RequestCtx,
    ) -> Result<L4Stream, Failure> {
        let proxy = self.proxy;
        let tls = ctx.balancer.as_ref().and_then(|b| b.tls_connector.clone());
        let mut attempts = 0u8;
        loop {
            attempts = attempts.saturating_add(1);
            let address = peer
                .address()
                .as_inet()
                .copied()
                .ok_or_else(|| Failure::new(502, "the endpoint is not an IP address"))?;
            let timeout = peer
                .options
                .connection_timeout
                .unwrap_or(proxy.upstream.connect_timeout);
            let connected = match &tls {
                Some(connector) => {
                    tokio::time::timeout(timeout, connector.connect(peer.address())).await
                }
                None => tokio::time::timeout(timeout, plain(address)).await,
            };
            let error = match connected {
                Ok(Ok(stream)) => return Ok(stream),
                Ok(Err(e)) => Failure::new(502, format!("cannot connect to {address}: {e}")),
                Err(_) => Failure::new(504, format!("connecting to {address} timed out")),
            };
            let retry = attempts < proxy.upstream.connect_attempts;
            tracing::warn!(endpoint = %address, reason = %error.reason, retry, "cannot connect to endpoint");
            match proxy.endpoint(ctx.balancer.as_ref(), ctx) {
                Some((_, next)) if retry => peer = next,
                _ => return Err(error),
            }
        }
    }
}

/// A plain-text connection to `address`, as Pingora's stream.
async fn plain(address: std::net::SocketAddr) -> pingora_core::Result<L4Stream> {
    let stream = TcpStream::connect(address)
        .await
        .or_err(ErrorType::ConnectError, "connecting")?;
    let _ = stream.set_nodelay(true);
    Ok(L4Stream::from(stream))
}

/// When bytes last went through a tunnel, in either direction.
struct Activity {
    started: Instant,
    /// Milliseconds from `started` to the last copy.
    last: AtomicU64,
}

impl Activity {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            last: AtomicU64::new(0),
        })
    }

    fn touch(&self) {
        let now = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(now, Ordering::Relaxed);
    }

    /// Completes once nothing has been copied for `idle`.
    async fn expired(&self, idle: Duration) {
        loop {
            let last = self.started + Duration::from_millis(self.last.load(Ordering::Relaxed));
            let deadline = last + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// Copy `from` to `to` until `from` ends (then `to` is shut down for writing) or fails.
async fn pump<R, W>(from: &mut R, to: &mut W, activity: &Activity) -> std::io::Result<()>
where
    R: AsyncRead + Unpin + ?Sized,
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut buffer = vec![0u8; CHUNK];
    loop {
        let n = from.read(&mut buffer).await?;
        if n == 0 {
            return to.shutdown().await;
        }
        activity.touch();
        to.write_all(&buffer[..n]).await?;
        to.flush().await?;
    }
}

/// Write all of `bytes` to `stream` and flush, within `timeout`.
async fn write_within<W: AsyncWrite + Unpin + ?Sized>(
    timeout: Duration,
    stream: &mut W,
    bytes: &[u8],
) -> std::io::Result<()> {
    let write = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    tokio::time::timeout(timeout, write)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out"))?
}

/// The client address of a Pingora stream.
pub fn client_of(stream: &Stream) -> Option<std::net::IpAddr> {
    stream
        .get_socket_digest()
        .and_then(|d| d.peer_addr().cloned())
        .and_then(|a| a.as_inet().map(SocketAddr::ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http11_websocket_upgrades_named_in_connection_are_tunnelled() {
        let websocket = b"GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\r\nearly";
        let (request, length) = upgrade_request(websocket, 100).expect("an upgrade");
        assert_eq!(request.uri.path(), "/chat");
        assert_eq!(&websocket[length..], b"early");
        for not_upgrade in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"GET / HTTP/1.0\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
            b"GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
            b"GET /upgrade HTTP/1.1\r\nX-Upgrade: 1\r\n\r\n",
            b"GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n\r\n",
            b"GET / HTTP/1.1\r\nUpgrade-Insecure-Requests: 1\r\nConnection: upgrade\r\n\r\n",
        ] {
            assert!(
                upgrade_request(not_upgrade, 100).is_none(),
                "{}",
                String::from_utf8_lossy(not_upgrade)
            );
        }
    }

    #[test]
    fn upgrades_with_a_body_or_two_hosts_are_refused() {
        let parse = |head: &[u8]| upgrade_request(head, 100).expect("an upgrade").0;
        let upgrade = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n";
        let with = |fields: &str| parse(format!("{upgrade}{fields}\r\n").as_bytes());
        assert_eq!(malformed(&with("Host: a\r\n")), None);
        assert_eq!(malformed(&with("Host: a\r\nContent-Length: 0\r\n")), None);
        assert!(malformed(&with("Host: a\r\nContent-Length: 5\r\n")).is_some());
        assert!(malformed(&with("Host: a\r\nTransfer-Encoding: chunked\r\n")).is_some());
        assert!(malformed(&with("Host: a\r\nHost: b\r\n")).is_some());
    }
}
