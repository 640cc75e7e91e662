//! TCPRoute, TLSRoute and UDPRoute through the gateway in standalone mode, with real clients
//! and backends on loopback: a TCP backend that speaks first and answers the client's
//! half-close; TLS passthrough by server name to two TLS backends (the client verifies each
//! backend's own certificate, so the stream was never decrypted on the way); TLS terminated
//! with the listener's certificate and forwarded in clear; UDP replies returned to each
//! client, oversized datagrams dropped; a stream that survives an unrelated snapshot swap and is closed once its route is
//! removed and the drain timeout has passed.

mod support;

use std::time::Duration;

use rcgen::ExtendedKeyUsagePurpose;
use support::authority::{Authority, indented_pem};
use support::streams::*;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// Ports of the gateway's layer-4 listeners.
struct Listeners {
    /// TCP (TCPRoute `db`) and UDP (UDPRoute `dns`) on the same port number.
    tcp_and_udp: u16,
    /// TLS: `*.pass.example` passed through, `term.example` terminated.
    tls: u16,
}

/// Backend ports.
struct Backends {
    plain: u16,
    tls_a: u16,
    tls_b: u16,
    udp: u16,
}

fn configuration(
    listeners: &Listeners,
    backends: &Backends,
    term_cert: &(String, String),
) -> String {
    let Listeners { tcp_and_udp, tls } = listeners;
    let (cert, key) = term_cert;
    format!(
        r#"{GATEWAY_PREAMBLE}  - {{name: tcp, protocol: TCP, port: {tcp_and_udp}}}
  - {{name: udp, protocol: UDP, port: {tcp_and_udp}}}
  - name: pass
    protocol: TLS
    port: {tls}
    hostname: "*.pass.example"
    tls: {{mode: Passthrough}}
  - name: term
    protocol: TLS
    port: {tls}
    hostname: term.example
    tls: {{mode: Terminate, certificateRefs: [{{name: term-cert}}]}}
---
apiVersion: v1
kind: Secret
metadata: {{name: term-cert, namespace: default}}
type: kubernetes.io/tls
stringData:
  tls.crt: |
{cert}  tls.key: |
{key}---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {{name: db, namespace: default}}
spec:
  parentRefs: [{{name: gw, sectionName: tcp}}]
  rules: [{{backendRefs: [{{name: plain, port: 5432}}]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: UDPRoute
metadata: {{name: dns, namespace: default}}
spec:
  parentRefs: [{{name: gw, sectionName: udp}}]
  rules: [{{backendRefs: [{{name: resolver, port: 53}}]}}]
---
{tls_routes}---
{plain}---
{tls_a}---
{tls_b}---
{resolver}"#,
        cert = indented_pem(cert),
        key = indented_pem(key),
        tls_routes = tls_routes(true),
        plain = stream_backend_yaml("plain", 5432, "TCP", backends.plain),
        tls_a = stream_backend_yaml("tls-a", 443, "TCP", backends.tls_a),
        tls_b = stream_backend_yaml("tls-b", 443, "TCP", backends.tls_b),
        resolver = stream_backend_yaml("resolver", 53, "UDP", backends.udp),
    )
}

/// TLSRoutes `a` and `b` (passed through) and, with `terminate`, `t` (terminated).
fn tls_routes(terminate: bool) -> String {
    let route = |name: &str, hostname: &str, service: &str, port: u16| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: TLSRoute\n\
             metadata: {{name: {name}, namespace: default}}\nspec:\n  parentRefs: [{{name: gw}}]\n  \
             hostnames: [{hostname}]\n  rules: [{{backendRefs: [{{name: {service}, port: {port}}}]}}]\n"
        )
    };
    let mut routes = route("a", "a.pass.example", "tls-a", 443)
        + "---\n"
        + &route("b", "b.pass.example", "tls-b", 443);
    if terminate {
        routes += "---\n";
        routes += &route("t", "term.example", "plain", 5432);
    }
    routes
}

struct Gateway {
    deployment: Deployment,
    listeners: Listeners,
    backends: Backends,
    /// Signs the passthrough backends' certificates.
    backend_ca: Authority,
    /// The terminating listener's certificate and key.
    term_cert: (String, String),
    /// Signs the terminating listener's certificate.
    term_ca: String,
}

impl Gateway {
    fn write(&self, content: &str) {
        self.deployment.write("config.yaml", content);
    }
}

/// The gateway serving [`configuration`], once every listener forwards; the data plane runs
/// apart, with `dataplane_flags`.
async fn gateway(dataplane_flags: &[&str]) -> (Gateway, Process) {
    let backend_ca = Authority::new();
    let (a_cert, a_key) =
        backend_ca.issue(&["a.pass.example"], ExtendedKeyUsagePurpose::ServerAuth);
    let (b_cert, b_key) =
        backend_ca.issue(&["b.pass.example"], ExtendedKeyUsagePurpose::ServerAuth);
    let term_authority = Authority::new();
    let term_cert = term_authority.issue(&["term.example"], ExtendedKeyUsagePurpose::ServerAuth);
    let backends = Backends {
        plain: tcp_backend("plain").await,
        tls_a: tls_backend("tls-a", &a_cert, &a_key).await,
        tls_b: tls_backend("tls-b", &b_cert, &b_key).await,
        udp: udp_backend("udp").await,
    };
    let listeners = Listeners {
        tcp_and_udp: free_port(),
        tls: free_port(),
    };
    let config = configuration(&listeners, &backends, &term_cert);
    let mut deployment = Deployment::new(&[("config.yaml", &config)]);
    deployment.start_controller(&["--external-dataplane"]);
    let dataplane = deployment.start_dataplane("dataplane", dataplane_flags);
    let gateway = Gateway {
        deployment,
        listeners,
        backends,
        backend_ca,
        term_cert,
        term_ca: term_authority.pem(),
    };
    let port = gateway.listeners.tcp_and_udp;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while udp_ask(port, "ready?").await.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the UDP listener never answered\n{}\n{}",
            gateway.deployment.controller_log(),
            dataplane.log()
        );
    }
    (gateway, dataplane)
}

#[tokio::test]
async fn a_tcp_route_forwards_a_connection_whose_backend_speaks_first_and_passes_half_closes_on() {
    let (gateway, _dataplane) = gateway(&[]).await;
    let mut stream = TcpStream::connect(("127.0.0.1", gateway.listeners.tcp_and_udp))
        .await
        .expect("connect");
    // The backend's greeting arrives before the client has sent a byte.
    assert_eq!(line(&mut stream).await, "hello from plain");
    stream.write_all(b"ping\n").await.expect("write");
    assert_eq!(line(&mut stream).await, "ping");
    // The client is done sending; the backend still answers, then closes.
    stream.shutdown().await.expect("half-close");
    let mut rest = String::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut rest));
    read.await.expect("closed in time").expect("read");
    assert_eq!(rest, "bye from plain\n");
}

#[tokio::test]
async fn tls_passthrough_routes_by_server_name_and_never_decrypts() {
    let (gateway, _dataplane) = gateway(&[]).await;
    let ca = gateway.backend_ca.pem();
    for (name, backend) in [("a.pass.example", "tls-a"), ("b.pass.example", "tls-b")] {
        // Only the backend's own certificate (signed by its CA) satisfies the client.
        let mut tls = tls_connect(gateway.listeners.tls, name, &ca)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            line(&mut tls).await,
            format!("hello from {backend} for {name}")
        );
        tls.write_all(b"over tls\n").await.expect("write");
        assert_eq!(line(&mut tls).await, "over tls");
    }
    // A name the wildcard listener takes but no route names, and a name no listener takes: the
    // connection ends, no TLS is spoken back (nor to plain HTTP below).
    for refused in ["c.pass.example", "other.example"] {
        let refused_connection = tls_connect(gateway.listeners.tls, refused, &ca).await;
        assert!(refused_connection.is_err(), "{refused} was served");
    }
    let mut raw = TcpStream::connect(("127.0.0.1", gateway.listeners.tls))
        .await
        .expect("connect");
    raw.write_all(b"GET / HTTP/1.1\r\nHost: a.pass.example\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut answer));
    let _ = read.await.expect("closed in time");
    assert!(
        answer.is_empty(),
        "something answered plain HTTP: {answer:?}"
    );
}

#[tokio::test]
async fn tls_terminate_serves_the_listener_certificate_and_forwards_in_clear() {
    let (gateway, _dataplane) = gateway(&[]).await;
    let term_ca = &gateway.term_ca;
    let mut tls = tls_connect(gateway.listeners.tls, "term.example", term_ca)
        .await
        .expect("the listener's certificate is served for term.example");
    assert_eq!(line(&mut tls).await, "hello from plain");
    tls.write_all(b"decrypted\n").await.expect("write");
    assert_eq!(line(&mut tls).await, "decrypted");
    // Passthrough names on the same port still reach their backends (Mixed mode).
    let ca = gateway.backend_ca.pem();
    let mut passed = tls_connect(gateway.listeners.tls, "a.pass.example", &ca)
        .await
        .expect("passthrough beside terminate");
    assert_eq!(
        line(&mut passed).await,
        "hello from tls-a for a.pass.example"
    );
}

#[tokio::test]
async fn a_udp_route_returns_each_clients_replies_to_that_client_and_drops_oversized_datagrams() {
    let (gateway, _dataplane) = gateway(&["--udp-max-datagram-bytes", "1024"]).await;
    let port = gateway.listeners.tcp_and_udp;
    let first = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let second = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    for round in 0..3 {
        let one = udp_ask_on(&first, port, &format!("one {round}")).await;
        let two = udp_ask_on(&second, port, &format!("two {round}")).await;
        assert_eq!(one.as_deref(), Some(format!("udp: one {round}").as_str()));
        assert_eq!(two.as_deref(), Some(format!("udp: two {round}").as_str()));
    }
    // Past the limit a datagram is dropped (and counted), not cut short; the flow carries on.
    let oversized = "x".repeat(1025);
    assert_eq!(udp_ask_on(&first, port, &oversized).await, None);
    let fits = "y".repeat(1000);
    let reply = udp_ask_on(&first, port, &fits).await;
    assert_eq!(reply, Some(format!("udp: {fits}")));
    let admin = gateway.deployment.ports.dataplane_admin;
    let metrics = reqwest::get(format!("http://127.0.0.1:{admin}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("body");
    let value = |series: &str| {
        metrics
            .lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
    };
    let refused = "portico_dataplane_refused_requests_total{reason=\"udp_datagram_too_large\"}";
    assert_eq!(value(refused), 1);
    let labels = "listener=\"default/gw/udp\",route=\"default/dns\"";
    // The two clients' six datagrams and the one that fit (the readiness probe came before).
    let sent = 2 * "one 0".len() * 3 + fits.len();
    let from_clients = value(&format!(
        "portico_dataplane_stream_bytes_total{{direction=\"from_clients\",{labels}}}"
    ));
    assert!(from_clients >= sent as u64, "{from_clients} < {sent}");
    let forwarded = "portico_dataplane_streams_total{listener=\"default/gw/udp\",\
                     outcome=\"forwarded\",route=\"default/dns\"}";
    assert!(value(forwarded) >= 2, "a flow per client");
}

#[tokio::test]
async fn a_stream_outlives_an_unrelated_swap_and_closes_after_its_route_is_removed() {
    let (gateway, dataplane) = gateway(&["--stream-drain-timeout-ms", "500"]).await;
    let term_ca = &gateway.term_ca;
    let mut terminated = tls_connect(gateway.listeners.tls, "term.example", term_ca)
        .await
        .expect("connect");
    assert_eq!(line(&mut terminated).await, "hello from plain");
    let ca = gateway.backend_ca.pem();
    let mut passed = tls_connect(gateway.listeners.tls, "a.pass.example", &ca)
        .await
        .expect("connect");
    assert_eq!(
        line(&mut passed).await,
        "hello from tls-a for a.pass.example"
    );

    // Remove TLSRoute `t`: the passthrough stream is unrelated and keeps flowing; the
    // terminated one is closed once the drain timeout has passed.
    let without_t = configuration(&gateway.listeners, &gateway.backends, &gateway.term_cert)
        .replace(&tls_routes(true), &tls_routes(false));
    gateway.write(&without_t);
    wait_until(Duration::from_secs(30), || {
        dataplane.log().matches("snapshot applied").count() >= 2
    });
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), terminated.read_to_end(&mut rest));
    let _ = closed
        .await
        .expect("the stream of the removed route was closed");
    passed.write_all(b"still here\n").await.expect("write");
    assert_eq!(line(&mut passed).await, "still here");
    // New connections for the removed name are refused.
    assert!(
        tls_connect(gateway.listeners.tls, "term.example", term_ca)
            .await
            .is_err()
    );
}
