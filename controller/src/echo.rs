//! `portico echo`: a demo backend. Every request is logged and answered with 200 and a JSON
//! description of what arrived (which backend, HTTP version, method, path, host, headers, body
//! size), so routing is easy to see. A `delay` query parameter (`250ms`, `2s`; at most 30 s) makes it wait that
//! long first, to show timeouts. It speaks HTTP/1.1 and HTTP/2 with prior knowledge on one
//! port, and a WebSocket handshake gets a connection that sends every message back. With
//! `--tls-cert` and `--tls-key` it serves TLS instead, reporting the server name the client
//! asked for and the client certificate it presented (checked against `--client-ca` if given).
//! With `--grpc` it is a gRPC server instead ([`crate::echo_grpc`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use futures::{SinkExt, StreamExt};
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::http_server::{Limits, Protocols, TlsInfo, respond, serve, serve_tls};

/// A demo backend takes what a gateway may forward (heads up to 1 MiB, 1,000 fields), so the
/// gateway's own limits are what tests see.
const ECHO_LIMITS: Limits = Limits {
    head_timeout: std::time::Duration::from_secs(30),
    max_head_bytes: 1024 * 1024,
    max_headers: 1000,
    max_connections: 4096,
    protocols: Protocols::Http1UpgradesAndH2c,
};

/// Options of `portico echo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Port to listen on.
    #[arg(long)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    address: String,
    /// Name reported in every answer (defaults to echo-PORT).
    #[arg(long)]
    name: Option<String>,
    /// PEM certificate chain to serve TLS with (with `--tls-key`).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// PEM CA certificates a client certificate must chain to; clients may also present none.
    #[arg(long, requires = "tls_cert")]
    client_ca: Option<PathBuf>,
    /// Serve the gRPC service `portico.echo.v1.Echo` instead of HTTP: HTTP/2 in cleartext, or
    /// over TLS (ALPN `h2`) with `--tls-cert` and `--tls-key`.
    #[arg(long, conflicts_with = "client_ca")]
    grpc: bool,
}

/// The longest `delay` the echo backend honours.
const MAX_DELAY: std::time::Duration = std::time::Duration::from_secs(30);

/// The `delay` query parameter: a whole number of `ms` or `s`.
fn delay(query: Option<&str>) -> Option<std::time::Duration> {
    let value = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("delay="))?;
    let duration = if let Some(ms) = value.strip_suffix("ms") {
        std::time::Duration::from_millis(ms.parse().ok()?)
    } else {
        std::time::Duration::from_secs(value.strip_suffix('s')?.parse().ok()?)
    };
    Some(duration.min(MAX_DELAY))
}

/// Serve until interrupted.
pub async fn run(args: Args) -> anyhow::Result<()> {
    if args.grpc {
        let ip: std::net::IpAddr = args
            .address
            .parse()
            .with_context(|| format!("--address {:?} is not an IP address", args.address))?;
        let name = args
            .name
            .clone()
            .unwrap_or_else(|| format!("echo-{}", args.port));
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(crate::echo_grpc::identity(cert, key)?),
            _ => None,
        };
        return crate::echo_grpc::run((ip, args.port).into(), name, tls).await;
    }
    let listener = TcpListener::bind((args.address.as_str(), args.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", args.address, args.port))?;
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("echo-{}", args.port));
    let tls = tls_acceptor(&args)?;
    tracing::info!(%name, address = %args.address, port = args.port, tls = tls.is_some(), "echo backend listening");
    let handler = move |request| answer(name.clone(), request);
    let serving = async move {
        match tls {
            Some(tls) => serve_tls(listener, ECHO_LIMITS, tls, handler).await,
            None => serve(listener, ECHO_LIMITS, handler).await,
        }
    };
    tokio::select! {
        () = serving => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

/// The TLS acceptor `--tls-cert`, `--tls-key` and `--client-ca` ask for, if any.
fn tls_acceptor(args: &Args) -> anyhow::Result<Option<TlsAcceptor>> {
    let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) else {
        return Ok(None);
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .with_context(|| format!("cannot read certificates from {}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read a private key from {}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &args.client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in CertificateDer::pem_file_iter(path)
                .with_context(|| format!("cannot read {}", path.display()))?
            {
                roots.add(ca?)?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not go together")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Some(TlsAcceptor::from(Arc::new(config))))
}

/// The largest request body the echo backend reads; larger is answered 413.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Describe `request` (logged, and answered as JSON), after its `delay` if it has one.
async fn answer(name: String, mut request: Request<Incoming>) -> Response<Full<Bytes>> {
    if let Some(switching) = websocket_echo(&mut request) {
        return switching;
    }
    if let Some(delay) = delay(request.uri().query()) {
        tokio::time::sleep(delay).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
        return respond(413, "text/plain", "request body too large or cut short\n");
    };
    let body_bytes = body.to_bytes().len();
    let query = parts.uri.query().unwrap_or_default();
    tracing::info!(method = %parts.method, path = parts.uri.path(), query, body_bytes, "request");
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let description = serde_json::json!({
        "name": name,
        "version": format!("{:?}", parts.version),
        "method": parts.method.as_str(),
        "path": parts.uri.path(),
        "query": parts.uri.query(),
        "host": headers.get("host"),
        "headers": headers,
        "bodyBytes": body_bytes,
        "tls": parts.extensions.get::<TlsInfo>().map(|tls| serde_json::json!({
            "serverName": tls.server_name,
            "peerCertificates": tls.peer_certificates.iter().map(|der| pem(der)).collect::<Vec<_>>(),
        })),
    });
    respond(200, "application/json", description.to_string())
}

/// A DER certificate as PEM.
fn pem(der: &[u8]) -> String {
    use base64::Engine as _;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Answer a WebSocket handshake (RFC 6455) with 101 and, once the connection is switched,
/// send every text and binary message back. `None`: not a WebSocket handshake.
fn websocket_echo(request: &mut Request<Incoming>) -> Option<Response<Full<Bytes>>> {
    let headers = request.headers();
    let wants_websocket = headers
        .get(http::header::UPGRADE)
        .is_some_and(|u| u.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let key = headers.get(http::header::SEC_WEBSOCKET_KEY)?;
    if !wants_websocket {
        return None;
    }
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        let Ok(upgraded) = upgrade.await else { return };
        let mut socket =
            WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        while let Some(Ok(message)) = socket.next().await {
            if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err() {
                break;
            }
        }
    });
    let mut response = respond(101, "text/plain", "");
    let headers = response.headers_mut();
    headers.insert(
        http::header::UPGRADE,
        http::HeaderValue::from_static("websocket"),
    );
    headers.insert(
        http::header::CONNECTION,
        http::HeaderValue::from_static("Upgrade"),
    );
    if let Ok(accept) = http::HeaderValue::from_str(&accept) {
        headers.insert(http::header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    headers.remove(http::header::CONTENT_TYPE);
    Some(response)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn delay_is_read_in_milliseconds_or_seconds_and_capped() {
        assert_eq!(
            delay(Some("a=1&delay=250ms")),
            Some(Duration::from_millis(250))
        );
        assert_eq!(delay(Some("delay=2s")), Some(Duration::from_secs(2)));
        assert_eq!(delay(Some("delay=1h")), None);
        assert_eq!(delay(Some("delay=99999s")), Some(MAX_DELAY));
        assert_eq!(delay(None), None);
    }
}
