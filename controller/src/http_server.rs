//! A minimal HTTP server for the controller's admin endpoint (HTTP/1.1) and the echo backend
//! (also WebSocket upgrades, HTTP/2 with prior knowledge, and TLS).
//!
//! Bounded like the data plane's listeners ([`Limits`]): a client has a deadline to send a
//! request head (and an idle keep-alive connection is closed after it), heads have a size
//! limit, connections served at once are capped, and a failed accept (out of file
//! descriptors, say) pauses the loop with a growing pause instead of spinning.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use portico_dataplane::backoff::Backoff;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// The client's address, in every request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// Whether `request` came from a client on loopback.
pub fn from_loopback<B>(request: &Request<B>) -> bool {
    request
        .extensions()
        .get::<Peer>()
        .is_some_and(|Peer(peer)| peer.ip().is_loopback())
}

/// What one server allows its clients.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time a client has to send a request head.
    pub head_timeout: Duration,
    /// Largest request head accepted (at least hyper's smallest buffer, 8 KiB).
    pub max_head_bytes: usize,
    /// Most header fields in a request.
    pub max_headers: usize,
    /// Connections served at once; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// What clients may speak.
    pub protocols: Protocols,
}

/// The protocols a server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocols {
    /// HTTP/1.1 only.
    Http1,
    /// HTTP/1.1 with connection upgrades (WebSocket), and HTTP/2 with prior knowledge.
    Http1UpgradesAndH2c,
}

impl Limits {
    /// The controller's admin endpoint: small requests from a few scrapers and operators.
    pub const ADMIN: Self = Self {
        head_timeout: Duration::from_secs(10),
        max_head_bytes: 8192,
        max_headers: 100,
        max_connections: 256,
        protocols: Protocols::Http1,
    };
}

/// Serve `handler` on `listener` until the task is dropped. Each connection gets its own task.
pub async fn serve<H, F>(listener: TcpListener, limits: Limits, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    serve_with(listener, limits, None, handler).await;
}

/// [`serve`] over TLS: the handshake must finish within the head timeout, and each request
/// carries the connection's [`TlsInfo`].
pub async fn serve_tls<H, F>(listener: TcpListener, limits: Limits, tls: TlsAcceptor, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    serve_with(listener, limits, Some(tls), handler).await;
}

/// What a TLS connection's handshake established, in each of its requests' extensions.
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    /// The server name the client sent (SNI).
    pub server_name: Option<String>,
    /// The client's certificate chain (DER), leaf first, when it presented one.
    pub peer_certificates: Vec<Vec<u8>>,
}

async fn serve_with<H, F>(
    listener: TcpListener,
    limits: Limits,
    tls: Option<TlsAcceptor>,
    handler: H,
) where
    H: Fn(Request<Incoming>) -> F + Send + Sync + 'static,
    F: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    let handler = Arc::new(handler);
    let connections = Arc::new(Semaphore::new(limits.max_connections));
    let mut pauses = Backoff::for_accept_errors();
    loop {
        let Ok(permit) = connections.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                let pause = pauses.next_delay();
                tracing::warn!(%error, pause_ms = pause.as_millis(), "accept failed; pausing");
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        pauses.reset();
        let handler = handler.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let service = move |info: Option<TlsInfo>| {
                hyper::service::service_fn(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(Peer(peer));
                    if let Some(info) = &info {
                        request.extensions_mut().insert(info.clone());
                    }
                    let response = handler(request);
                    async move { Ok::<_, Infallible>(response.await) }
                })
            };
            match tls {
                None => serve_connection(TokioIo::new(stream), limits, service(None)).await,
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(limits.head_timeout, acceptor.accept(stream));
                    let Ok(Ok(stream)) = handshake.await else {
                        return;
                    };
                    let (_, session) = stream.get_ref();
                    let info = TlsInfo {
                        server_name: session.server_name().map(str::to_string),
                        peer_certificates: session
                            .peer_certificates()
                            .unwrap_or_default()
                            .iter()
                            .map(|c| c.to_vec())
                            .collect(),
                    };
                    serve_connection(TokioIo::new(stream), limits, service(Some(info))).await;
                }
            }
            drop(permit);
        });
    }
}

/// Serve one connection's requests with `service`, speaking what `limits` allow.
async fn serve_connection<I, S>(io: TokioIo<I>, limits: Limits, service: S)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            Request<Incoming>,
            Response = Response<Full<Bytes>>,
            Error = Infallible,
        > + Send
        + 'static,
    S::Future: Send + 'static,
{
    let max_buf_size = limits.max_head_bytes.max(8192);
    match limits.protocols {
        Protocols::Http1 => {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head_timeout)
                .max_buf_size(max_buf_size)
                .max_headers(limits.max_headers)
                .serve_connection(io, service)
                .await;
        }
        Protocols::Http1UpgradesAndH2c => {
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.head_timeout)
                .max_buf_size(max_buf_size)
                .max_headers(limits.max_headers);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_header_list_size(u32::try_from(limits.max_head_bytes).unwrap_or(u32::MAX));
            let _ = builder.serve_connection_with_upgrades(io, service).await;
        }
    }
}

/// A response with a body and content type.
pub fn respond(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(value) = http::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(http::header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[tokio::test]
    async fn a_head_larger_than_the_limit_is_refused_and_a_normal_one_served() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let server = tokio::spawn(serve(listener, Limits::ADMIN, |_request| async {
            respond(200, "text/plain", "ok")
        }));
        let exchange = move |head: String| {
            let mut stream = std::net::TcpStream::connect(address).expect("connect");
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .expect("timeout");
            stream.write_all(head.as_bytes()).expect("send");
            let mut answer = [0u8; 12];
            stream.read_exact(&mut answer).expect("an answer");
            String::from_utf8_lossy(&answer).into_owned()
        };
        let normal = "GET / HTTP/1.1\r\nHost: a\r\n\r\n".to_string();
        let large = format!(
            "GET / HTTP/1.1\r\nCookie: {}\r\n\r\n",
            "c".repeat(Limits::ADMIN.max_head_bytes)
        );
        let answers = tokio::task::spawn_blocking(move || (exchange(normal), exchange(large)))
            .await
            .expect("client");
        assert_eq!(answers.0, "HTTP/1.1 200");
        assert_eq!(answers.1, "HTTP/1.1 431");
        server.abort();
    }
}
