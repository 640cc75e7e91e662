//! HTTP/1.1 connection upgrades (WebSocket and any other `Upgrade` protocol), tunnelled by
//! Portico itself rather than by Pingora's proxy loop.
//!
//! Pingora 0.9 tears an upgraded connection down when it reads the endpoint's `101` before the
//! upgrade request's (empty) body has been handed upstream, which happens under load
//! (cloudflare/pingora#946). An upgrade request is routed like any other (same table, same
//! header edits and `X-Forwarded-*`); then its head goes to the endpoint on a connection of its
//! own, the answer comes back with the rule's response edits, and after a `101` bytes are
//! copied both ways until either side closes, the connection has been idle in both directions
//! for the upstream read timeout, or the data plane's drain ends. A refused upgrade is passed
//! back as is and the connection closed after it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora_core::protocols::Stream;
use pingora_core::upstreams::peer::Peer;
use pingora_http::{RequestHeader, ResponseHeader};
use portico_snapshot::BackendProtocol;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::bare_answer::answer_and_close;
use crate::drain::Drain;
use crate::proxy::{Outcome, PorticoProxy, RequestCtx};

/// Largest response head accepted from an endpoint.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;

/// Most header fields in an endpoint's response head.
const MAX_RESPONSE_HEADERS: usize = 256;

/// Bytes copied at a time through a tunnel.
const CHUNK: usize = 16 * 1024;

/// The request in `head` when it asks to upgrade the connection: HTTP/1.1 with an `Upgrade`
/// header that its `Connection` header names. With the request comes the length of its head
/// (bytes after it already belong to the new protocol).
pub fn upgrade_request(head: &[u8], max_headers: usize) -> Option<(RequestHeader, usize)> {
    // Most heads are not upgrades: a scan for the header name spares them the parse.
    if !head
        .windows(b"upgrade".len())
        .any(|w| w.eq_ignore_ascii_case(b"upgrade"))
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
    let names_upgrade = request
        .headers
        .get_all(http::header::CONNECTION)
        .iter()
        .flat_map(|v| v.as_bytes().split(|b| *b == b','))
        .any(|token| token.trim_ascii().eq_ignore_ascii_case(b"upgrade"));
    (names_upgrade && request.headers.contains_key(http::header::UPGRADE))
        .then_some((request, length))
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

/// Why an upgrade got no answer from an endpoint, and the status the client gets instead.
struct Failure {
    status: u16,
    reason: String,
}

impl Failure {
    fn new(status: u16, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
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
        if ctx
            .balancer
            .as_ref()
            .is_some_and(|b| b.protocol == BackendProtocol::H2c)
        {
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
        proxy
            .edit_upstream_request(self.request, self.client, &mut head, ctx, Some(ctx.backend))
            .map_err(|e| Failure::new(500, e.to_string()))?;
        let mut outgoing = request_head(&head);
        outgoing.extend_from_slice(&self.early);
        tokio::time::timeout(write_timeout, upstream.write_all(&outgoing))
            .await
            .map_err(|_| Failure::new(504, "sending the request head timed out"))?
            .map_err(|e| Failure::new(502, format!("sending the request head: {e}")))?;

        let (mut response, rest) = read_response_head(&mut upstream, read_timeout).await?;
        let status = response.status.as_u16();
        proxy.edit_response(&mut response, ctx);
        if status != 101 {
            let _ = response.insert_header(http::header::CONNECTION, "close");
        }
        let mut answer = response_head(&response);
        answer.extend_from_slice(&rest);
        if downstream.write_all(&answer).await.is_err() || downstream.flush().await.is_err() {
            return Ok(status);
        }
        let mut stopped = self.drain.stopped();
        let idle = Activity::new();
        let copying = async {
            if status == 101 {
                let (mut from_client, mut to_client) = tokio::io::split(downstream);
                let (mut from_endpoint, mut to_endpoint) = tokio::io::split(upstream);
                let _ = tokio::join!(
                    pump(&mut from_client, &mut to_endpoint, &idle),
                    pump(&mut from_endpoint, &mut to_client, &idle),
                );
            } else {
                // A refused upgrade: the rest of its body, as long as its head says (or until
                // the endpoint closes when it does not say).
                let declared = body_length(&response);
                let left = declared.map(|n| n.saturating_sub(rest.len() as u64));
                let _ = match left {
                    Some(left) => pump(&mut (&mut upstream).take(left), downstream, &idle).await,
                    None => pump(&mut upstream, downstream, &idle).await,
                };
            }
        };
        tokio::select! {
            () = copying => {}
            () = idle.expired(read_timeout) => {
                tracing::debug!(?read_timeout, "upgraded connection idle; closing");
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
    ) -> Result<TcpStream, Failure> {
        let proxy = self.proxy;
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
            let error = match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
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

/// How long the body of a non-`101` `response` is, when its head says.
fn body_length(response: &ResponseHeader) -> Option<u64> {
    let status = response.status;
    if status.is_informational()
        || status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED
    {
        return Some(0);
    }
    if response
        .headers
        .contains_key(http::header::TRANSFER_ENCODING)
    {
        return None;
    }
    response
        .headers
        .get(http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Read an HTTP/1 response head from `upstream`, each read within `timeout`: the response and
/// the bytes read after its head.
async fn read_response_head(
    upstream: &mut TcpStream,
    timeout: Duration,
) -> Result<(ResponseHeader, Bytes), Failure> {
    let mut received = BytesMut::with_capacity(4096);
    loop {
        let read = tokio::time::timeout(timeout, upstream.read_buf(&mut received))
            .await
            .map_err(|_| Failure::new(504, "the endpoint did not answer in time"))?
            .map_err(|e| Failure::new(502, format!("reading the answer: {e}")))?;
        if read == 0 {
            return Err(Failure::new(502, "the endpoint closed the connection"));
        }
        let mut fields = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut parsed = httparse::Response::new(&mut fields);
        match parsed.parse(&received) {
            Ok(httparse::Status::Complete(length)) => {
                let status = parsed.code.unwrap_or(502);
                let mut response = ResponseHeader::build(status, Some(parsed.headers.len()))
                    .map_err(|e| Failure::new(502, format!("bad status {status}: {e}")))?;
                for field in parsed.headers.iter() {
                    response
                        .append_header(field.name.to_string(), field.value)
                        .map_err(|e| Failure::new(502, format!("bad header: {e}")))?;
                }
                return Ok((response, received.freeze().slice(length..)));
            }
            Ok(httparse::Status::Partial) if received.len() < MAX_RESPONSE_HEAD => {}
            Ok(httparse::Status::Partial) => {
                return Err(Failure::new(502, "the answer's head is too large"));
            }
            Err(e) => return Err(Failure::new(502, format!("bad answer: {e}"))),
        }
    }
}

/// `request`'s head as HTTP/1.1 bytes.
fn request_head(request: &RequestHeader) -> Vec<u8> {
    let target = request.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut head = format!("{} {target} HTTP/1.1\r\n", request.method).into_bytes();
    append_fields(&mut head, &request.headers);
    head
}

/// `response`'s head as HTTP/1.1 bytes.
fn response_head(response: &ResponseHeader) -> Vec<u8> {
    let status = response.status;
    let reason = status.canonical_reason().unwrap_or("");
    let mut head = format!("HTTP/1.1 {} {reason}\r\n", status.as_u16()).into_bytes();
    append_fields(&mut head, &response.headers);
    head
}

fn append_fields(head: &mut Vec<u8>, fields: &http::HeaderMap) {
    for (name, value) in fields {
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");
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
    fn only_http11_heads_with_an_upgrade_named_in_connection_are_upgrades() {
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
        ] {
            assert!(
                upgrade_request(not_upgrade, 100).is_none(),
                "{}",
                String::from_utf8_lossy(not_upgrade)
            );
        }
    }

    #[test]
    fn heads_are_written_back_as_http11() {
        let mut request = RequestHeader::build("GET", b"/a?b=c", None).expect("request");
        request.append_header("host", "x").expect("header");
        assert_eq!(
            request_head(&request),
            b"GET /a?b=c HTTP/1.1\r\nhost: x\r\n\r\n"
        );
        let mut response = ResponseHeader::build(101, None).expect("response");
        response
            .append_header("upgrade", "websocket")
            .expect("header");
        assert_eq!(
            response_head(&response),
            b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n"
        );
    }
}
