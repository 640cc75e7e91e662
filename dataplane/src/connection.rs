//! One client connection, from accept to close: the TLS handshake on HTTPS sockets, then one
//! request after another, each head read here within [`DownstreamSettings`] and handed to the
//! socket's Pingora proxy application in one piece. HTTP/2 connections (ALPN `h2`, or the
//! HTTP/2 preface on a cleartext socket) are handed to the application whole: its HTTP/2
//! server bounds header lists, concurrent streams and idle time with the listener's limits.
//! HTTP/1.1 upgrade requests go to [`crate::upgrade`] instead.
//!
//! Pingora reads request heads itself with fixed limits (1 MiB, re-parsing the whole buffer on
//! every read) and no deadline. Reading the head first, through [`HeadScanner`], bounds its
//! size and the time it may take, costs time linear in its length, and refuses an oversized
//! head with 414 or 431 before it has all arrived. Pingora then parses the complete head in a
//! single pass (it is handed over as already-read bytes) and proxies the request.

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use pingora_core::apps::{HttpPersistentSettings, HttpServerApp, ServerApp};
use pingora_core::listeners::tls::Acceptor;
use pingora_core::protocols::http::ServerSession;
use pingora_core::protocols::l4::socket::SocketAddr;
use pingora_core::protocols::l4::stream::Stream as L4Stream;
use pingora_core::protocols::tls::ALPN;
use pingora_core::protocols::tls::server::handshake_with_callback;
use pingora_core::protocols::{GetSocketDigest, SocketDigest, Stream};
use pingora_core::server::ShutdownWatch;
use pingora_proxy::HttpProxy;
use portico_edge::proxy_protocol::{self, Parse};
use portico_edge::request_head::{HeadScanner, Refusal, Scan};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::bare_answer::answer_and_close;
use crate::downstream::DownstreamSettings;
use crate::drain::Drain;
use crate::metrics::Metrics;
use crate::proxy::PorticoProxy;
use crate::replay::Replay;
use crate::tls::RecordServerName;
use crate::upgrade;

/// A client that does not finish its handshake in this time is disconnected, so idle
/// connections cannot pile up and exhaust file descriptors.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes read from a client at a time while its head is incomplete.
const READ_CHUNK: usize = 4096;

/// The HTTP/2 connection preface (RFC 9113, section 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The start of [`H2_PREFACE`] that reads as a complete HTTP/1 head.
const H2_PREFACE_HEAD: &[u8] = b"PRI * HTTP/2.0\r\n\r\n";

/// What a connection needs besides its stream.
#[derive(Clone)]
pub struct ConnectionContext {
    /// The socket's proxy application.
    pub app: Arc<HttpProxy<PorticoProxy>>,
    /// The socket's routing and request edits, for upgrade requests (which bypass `app`).
    pub proxy: PorticoProxy,
    /// Limits on what the client may send.
    pub settings: DownstreamSettings,
    /// Where refusals are counted.
    pub metrics: Arc<Metrics>,
    /// Set on SIGTERM (Pingora's signal): responses carry `Connection: close`.
    pub shutdown: ShutdownWatch,
    /// The drain: counts the connection; its end closes idle keep-alive connections.
    pub drain: Drain,
}

/// Serve `tcp` until the client or the data plane is done with it. `tls` is `None` for plain
/// HTTP, `Some(None)` when an HTTPS socket has no TLS configuration yet.
pub async fn serve(tcp: TcpStream, tls: Option<Option<Acceptor>>, context: ConnectionContext) {
    let _open = context.drain.connection();
    let _ = tcp.set_nodelay(true);
    let mut client = tcp.peer_addr().ok();
    let digest = SocketDigest::from_raw_fd(tcp.as_raw_fd());
    let mut l4 = L4Stream::from(tcp);
    if context.settings.proxy_protocol {
        let deadline = Instant::now() + context.settings.request_head_timeout;
        match read_proxy_header(&mut l4, deadline).await {
            Some(source) => client = source.or(client),
            None => {
                tracing::debug!(?client, "connection without a valid PROXY protocol header");
                context.metrics.record_refusal("proxy_protocol");
                return;
            }
        }
    }
    with_client(&mut l4, digest, client);
    let stream: Stream = match tls {
        None => return serve_cleartext(l4, &context).await,
        Some(None) => return,
        Some(Some(acceptor)) => {
            let handshake = handshake_with_callback(&acceptor, l4, &RecordServerName);
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, handshake).await {
                Ok(Ok(tls)) => Box::new(tls),
                Ok(Err(error)) => {
                    tracing::debug!(%error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake timed out");
                    return;
                }
            }
        }
    };
    if stream.selected_alpn_proto() == Some(ALPN::H2) {
        serve_http2(stream, BytesMut::new(), &context).await;
    } else {
        serve_http1(stream, None, &context).await;
    }
}

/// A cleartext connection: HTTP/2 when it opens with the HTTP/2 preface (prior knowledge, as
/// gRPC clients and `curl --http2-prior-knowledge` send), else HTTP/1.
async fn serve_cleartext(l4: L4Stream, context: &ConnectionContext) {
    let mut stream: Stream = Box::new(l4);
    let mut stopped = context.drain.stopped();
    let wait = first_head_wait(&context.settings);
    let first = read_head(&mut stream, &context.settings, wait, &mut stopped).await;
    match first {
        HeadRead::Complete(head) if head.starts_with(H2_PREFACE_HEAD) => {
            serve_http2(stream, head, context).await;
        }
        first => serve_http1(stream, Some(first), context).await,
    }
}

/// An HTTP/2 connection whose first bytes, `read`, were already read: the rest of the preface
/// must arrive within the head timeout. The connection is then served by the socket's Pingora
/// application with the listener's HTTP/2 limits, and told to stop (GOAWAY, then in-flight
/// streams finish) when the drain's grace period ends, as HTTP/1 connections stop between
/// requests.
async fn serve_http2(mut stream: Stream, mut read: BytesMut, context: &ConnectionContext) {
    let deadline = Instant::now() + context.settings.request_head_timeout;
    while read.len() < H2_PREFACE.len() {
        let more = tokio::time::timeout_at(deadline, stream.read_buf(&mut read)).await;
        if !matches!(more, Ok(Ok(n)) if n > 0) {
            tracing::debug!("HTTP/2 preface not received in time");
            return;
        }
    }
    if !read.starts_with(H2_PREFACE) {
        tracing::debug!("not an HTTP/2 preface");
        context.metrics.record_refusal("bad_preface");
        return;
    }
    // Pingora's HTTP/2 handshake reads the preface again, from the start.
    let stream: Stream = Box::new(Replay::new(read.freeze(), stream));
    let stopped = context.drain.stopped();
    let _ = ServerApp::process_new(&context.app, stream, &stopped).await;
}

/// `tcp` as Pingora's stream, with the client's address where Pingora's sessions look for it.
pub fn pingora_stream(tcp: TcpStream) -> Stream {
    let client = tcp.peer_addr().ok();
    let digest = SocketDigest::from_raw_fd(tcp.as_raw_fd());
    let mut l4 = L4Stream::from(tcp);
    with_client(&mut l4, digest, client);
    Box::new(l4)
}

/// Give `l4` its socket digest naming `client`, the address requests report (Pingora's
/// `client_addr`, hence `X-Forwarded-For`); streams built from a `TcpStream` have none.
fn with_client(l4: &mut L4Stream, digest: SocketDigest, client: Option<std::net::SocketAddr>) {
    let _ = digest.peer_addr.set(client.map(SocketAddr::Inet));
    l4.set_socket_digest(digest);
}

/// Read the PROXY protocol header at the start of `l4` by `deadline`; the client it names
/// (`Some(None)`: none named). Bytes read past the header are put back. `None`: no valid
/// header in time.
async fn read_proxy_header(
    l4: &mut L4Stream,
    deadline: Instant,
) -> Option<Option<std::net::SocketAddr>> {
    let mut received = BytesMut::with_capacity(256);
    loop {
        let read = tokio::time::timeout_at(deadline, l4.read_buf(&mut received)).await;
        if !matches!(read, Ok(Ok(n)) if n > 0) {
            return None;
        }
        match proxy_protocol::parse(&received) {
            Parse::Incomplete => {}
            Parse::Invalid => return None,
            Parse::Complete { length, source } => {
                if let Some(rest) = received.get(length..).filter(|rest| !rest.is_empty()) {
                    l4.rewind(rest);
                }
                return Some(source);
            }
        }
    }
}

/// The deadlines of a connection's first head: complete within the head timeout of the
/// connection's start.
fn first_head_wait(settings: &DownstreamSettings) -> Wait {
    let first_head_by = Instant::now() + settings.request_head_timeout;
    Wait {
        first_byte: first_head_by,
        whole_head: Some(first_head_by),
        ends_when_stopping: false,
    }
}

/// Requests one after another on a keep-alive connection; `first` is the first head when it
/// was already read.
async fn serve_http1(mut stream: Stream, mut first: Option<HeadRead>, context: &ConnectionContext) {
    let settings = &context.settings;
    let mut persistent: Option<HttpPersistentSettings> = None;
    let mut wait = first_head_wait(settings);
    let mut stopped = context.drain.stopped();
    loop {
        let read = match first.take() {
            Some(read) => read,
            None => read_head(&mut stream, settings, wait, &mut stopped).await,
        };
        let head = match read {
            HeadRead::Complete(head) => head,
            HeadRead::Closed => return,
            HeadRead::Refused(refusal) => {
                tracing::debug!(reason = refusal.reason(), "request head refused");
                context.metrics.record_refusal(refusal.reason());
                answer_and_close(stream, refusal.status(), None).await;
                return;
            }
            HeadRead::TimedOut => {
                tracing::debug!("request head not received in time");
                context.metrics.record_refusal("head_timeout");
                answer_and_close(stream, 408, None).await;
                return;
            }
        };
        let max_headers = settings.head_limits().header_count;
        if let Some((request, length)) = upgrade::upgrade_request(&head, max_headers) {
            let client = upgrade::client_of(&stream);
            let server_name = stream
                .get_ssl_digest()
                .and_then(|d| crate::tls::server_name(&d).map(str::to_string));
            let upgrade = upgrade::Upgrade {
                request,
                read: head,
                head_length: length,
                client,
                server_name,
            };
            upgrade::serve(stream, upgrade, &context.proxy, &context.drain).await;
            return;
        }
        let mut session = ServerSession::new_http1(stream);
        match persistent.take() {
            Some(previous) => previous.apply_to_session(&mut session),
            None => session.set_keepalive(Some(settings.keepalive_timeout_seconds)),
        }
        session.set_pipelined_prefix(head);
        let Some(reused) = context
            .app
            .process_new_http(session, &context.shutdown)
            .await
        else {
            return;
        };
        (stream, persistent) = reused.consume();
        wait = Wait {
            first_byte: Instant::now() + settings.keepalive_timeout(),
            whole_head: None,
            ends_when_stopping: true,
        };
    }
}

/// Deadlines of one head.
#[derive(Debug, Clone, Copy)]
struct Wait {
    /// The client must have started its head by then.
    first_byte: Instant,
    /// The client must have finished its head by then; `None`: the head timeout after its
    /// first byte.
    whole_head: Option<Instant>,
    /// Whether waiting for the head's first byte ends when the drain stops the data plane:
    /// yes between requests of a kept-alive connection (its client may retry elsewhere), not
    /// for a new connection's first request, which its client may already have sent.
    ends_when_stopping: bool,
}

/// How reading a head ended.
enum HeadRead {
    /// The whole head, possibly followed by the start of the body.
    Complete(BytesMut),
    /// The client closed the connection (or stayed idle, or the data plane is stopping)
    /// before sending anything.
    Closed,
    /// The head broke a limit.
    Refused(Refusal),
    /// The head started but did not complete in time.
    TimedOut,
}

/// Read one request head within `wait`'s deadlines. A kept-alive connection that has not
/// started its next head closes when the drain's grace period ends.
async fn read_head(
    stream: &mut Stream,
    settings: &DownstreamSettings,
    wait: Wait,
    stopped: &mut watch::Receiver<bool>,
) -> HeadRead {
    let mut scanner = HeadScanner::new(settings.head_limits());
    let mut head = BytesMut::with_capacity(READ_CHUNK);
    let mut head_deadline = wait.whole_head;
    loop {
        head.reserve(READ_CHUNK);
        let deadline = head_deadline.unwrap_or(wait.first_byte);
        let read = tokio::select! {
            // Bytes already there are read before the stop is looked at.
            biased;
            read = tokio::time::timeout_at(deadline, stream.read_buf(&mut head)) => read,
            Ok(_) = stopped.wait_for(|&stop| stop), if head.is_empty() && wait.ends_when_stopping => {
                return HeadRead::Closed;
            }
        };
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => return HeadRead::Closed,
            Err(_) if head.is_empty() => return HeadRead::Closed,
            Err(_) => return HeadRead::TimedOut,
            Ok(Ok(_)) => {}
        }
        head_deadline.get_or_insert_with(|| Instant::now() + settings.request_head_timeout);
        match scanner.scan(&head) {
            Scan::Incomplete => {}
            Scan::Complete(_) => return HeadRead::Complete(head),
            Scan::Refused(refusal) => return HeadRead::Refused(refusal),
        }
    }
}
