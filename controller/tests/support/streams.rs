//! Backends and clients for layer-4 tests: a TCP backend that greets first and says goodbye
//! after the client's half-close, a TLS backend that names itself and the server name it was
//! asked for, a UDP backend answering each datagram, and a TLS client trusting one CA.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// Serve `stream` as `name`: greet, echo every chunk, and after the client's end of data say
/// goodbye and close.
async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    greeting: String,
    name: String,
) {
    if stream.write_all(greeting.as_bytes()).await.is_err() {
        return;
    }
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if stream.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
    let _ = stream
        .write_all(format!("bye from {name}\n").as_bytes())
        .await;
    let _ = stream.shutdown().await;
}

/// A TCP backend named `name` on a free loopback port; its port.
pub async fn tcp_backend(name: &str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let name = name.to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let greeting = format!("hello from {name}\n");
            tokio::spawn(converse(stream, greeting, name.clone()));
        }
    });
    port
}

/// A TLS backend named `name` with `certificate` and `key` (PEM); it greets with its name and
/// the server name the client asked for.
pub async fn tls_backend(name: &str, certificate: &str, key: &str) -> u16 {
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(certificate.as_bytes())
            .collect::<Result<_, _>>()
            .expect("certificate");
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key");
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("address").port();
    let name = name.to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let name = name.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let asked = tls.get_ref().1.server_name().unwrap_or("-").to_string();
                let greeting = format!("hello from {name} for {asked}\n");
                converse(tls, greeting, name).await;
            });
        }
    });
    port
}

/// A UDP backend named `name` answering each datagram with `name: ` and the datagram.
pub async fn udp_backend(name: &str) -> u16 {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let port = socket.local_addr().expect("address").port();
    let name = name.to_string();
    tokio::spawn(async move {
        let mut buffer = [0u8; 2048];
        while let Ok((n, from)) = socket.recv_from(&mut buffer).await {
            let mut reply = format!("{name}: ").into_bytes();
            reply.extend_from_slice(&buffer[..n]);
            let _ = socket.send_to(&reply, from).await;
        }
    });
    port
}

/// A TLS connection to `port` on loopback asking for `server_name`, trusting only `ca_pem`.
pub async fn tls_connect(
    port: u16,
    server_name: &str,
    ca_pem: &str,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(certificate.expect("CA")).expect("root");
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from(server_name.to_string()).expect("server name");
    connector.connect(name, tcp).await
}

/// The first line `stream` sends (within 5 s).
pub async fn line<S: AsyncRead + Unpin>(stream: &mut S) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    let read = async {
        while stream.read_exact(&mut byte).await.is_ok() && byte[0] != b'\n' {
            line.push(byte[0]);
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .expect("a line in time");
    String::from_utf8_lossy(&line).into_owned()
}

/// Send `payload` from a fresh UDP socket to `port` and wait for one reply (1 s).
pub async fn udp_ask(port: u16, payload: &str) -> Option<String> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.ok()?;
    udp_ask_on(&socket, port, payload).await
}

/// [`udp_ask`] from `socket`.
pub async fn udp_ask_on(socket: &UdpSocket, port: u16, payload: &str) -> Option<String> {
    let to: SocketAddr = ([127, 0, 0, 1], port).into();
    socket.send_to(payload.as_bytes(), to).await.ok()?;
    let mut buffer = [0u8; 2048];
    let received = tokio::time::timeout(Duration::from_secs(1), socket.recv(&mut buffer)).await;
    let n = received.ok()?.ok()?;
    Some(String::from_utf8_lossy(&buffer[..n]).into_owned())
}

/// YAML for a Service `name` with one port `port` of `protocol` whose endpoint is
/// 127.0.0.1:`target`.
pub fn stream_backend_yaml(name: &str, port: u16, protocol: &str, target: u16) -> String {
    format!(
        r#"apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: default}}
spec:
  ports: [{{name: main, port: {port}, protocol: {protocol}}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}
  namespace: default
  labels: {{kubernetes.io/service-name: {name}}}
addressType: IPv4
ports: [{{name: main, port: {target}, protocol: {protocol}}}]
endpoints: [{{addresses: ["127.0.0.1"]}}]
"#
    )
}
