//! What a backend learns about the client: `X-Forwarded-For` gets the client's address
//! appended (never replaced by what the client claims), `X-Forwarded-Proto`, `-Host` and
//! `-Port` describe the listener unless trusted proxies set them, and behind a load balancer
//! speaking the PROXY protocol the client is the one the header names. Raw HTTP on sockets;
//! real controller, data plane, backend.

mod support;

use std::io::Write;

use support::raw::{closed, connect, read_response};
use support::*;

/// The headers the echo backend received for `request` sent on a new connection after
/// `preamble`.
fn headers_seen(proxy: u16, preamble: &[u8], request: &str) -> serde_json::Value {
    let mut stream = connect(proxy);
    stream.write_all(preamble).expect("send");
    stream.write_all(request.as_bytes()).expect("send");
    let (status, head, body) = read_response(&mut stream);
    assert_eq!(status, 200, "{head}{body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("echo JSON");
    json["headers"].clone()
}

const FORGED: &str = "GET /x HTTP/1.1\r\nHost: web.example.com\r\nX-Forwarded-For: 6.6.6.6\r\n\
                      X-Forwarded-Proto: https\r\nX-Forwarded-Port: 443\r\n\r\n";

/// A deployment whose data plane takes `flags`, with web.example.com routed to an echo.
async fn deployment(flags: &[&str]) -> (Deployment, Process, u16) {
    let (proxy, web) = (free_port(), free_port());
    let config = [
        gateway_yaml(proxy),
        backend_yaml("web", web),
        route_yaml("web.example.com", "web"),
    ]
    .join("---\n");
    let mut deployment = Deployment::new(&[("config.yaml", &config)]);
    deployment.start_echo("web", web);
    deployment.start_controller(&["--external-dataplane"]);
    let dataplane = deployment.start_dataplane("dataplane", flags);
    support::wait_until(std::time::Duration::from_secs(30), || {
        dataplane.log().contains("snapshot applied")
    });
    (deployment, dataplane, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_is_appended_and_the_listener_described() {
    let (_deployment, dataplane, proxy) = deployment(&[]).await;
    let headers = headers_seen(proxy, b"", FORGED);
    assert_eq!(
        headers["x-forwarded-for"],
        "6.6.6.6, 127.0.0.1",
        "log:\n{}",
        dataplane.log()
    );
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-host"], "web.example.com");
    assert_eq!(headers["x-forwarded-port"], proxy.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_proxy_protocol_balancer_the_client_is_the_one_it_names() {
    let (_deployment, dataplane, proxy) =
        deployment(&["--proxy-protocol", "--trusted-hops", "1"]).await;

    let v1 = format!("PROXY TCP4 203.0.113.9 127.0.0.1 40000 {proxy}\r\n");
    let headers = headers_seen(proxy, v1.as_bytes(), FORGED);
    assert_eq!(
        headers["x-forwarded-for"],
        "6.6.6.6, 203.0.113.9",
        "log:\n{}",
        dataplane.log()
    );
    // The balancer in front is trusted: what it says about the scheme and port is kept.
    assert_eq!(headers["x-forwarded-proto"], "https");
    assert_eq!(headers["x-forwarded-port"], "443");

    let mut v2 = b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c".to_vec();
    v2.extend([198, 51, 100, 20, 127, 0, 0, 1]);
    v2.extend(5555u16.to_be_bytes());
    v2.extend(proxy.to_be_bytes());
    let request = "GET /x HTTP/1.1\r\nHost: web.example.com\r\n\r\n";
    let headers = headers_seen(proxy, &v2, request);
    assert_eq!(headers["x-forwarded-for"], "198.51.100.20");
    assert_eq!(headers["x-forwarded-proto"], "http");

    // A connection without the header is closed unanswered.
    let mut stream = connect(proxy);
    stream.write_all(request.as_bytes()).expect("send");
    assert!(closed(&mut stream));
}
