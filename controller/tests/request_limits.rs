//! What the data plane does with request heads that are too large, too many or too slow, as a
//! client on a raw socket sees it: 414 for a long request line, 431 for a large head or too
//! many header fields, 408 for a head that does not arrive in time, each before the head has
//! all been sent; requests within the limits (at the limit, long deep paths, keep-alive,
//! bodies) are proxied as before; HTTP/2 connections are held to the same head timeout for
//! their preface and to the keep-alive timeout when idle. Real controller, data plane, backend
//! and sockets.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use support::raw::{closed, connect, exchange, read_response};
use support::*;

/// The data plane's documented defaults.
const MAX_REQUEST_LINE: usize = 16 * 1024;
const MAX_REQUEST_HEAD: usize = 60 * 1024;
const MAX_HEADERS: usize = 100;

fn request_with(target: &str, fields: &str) -> Vec<u8> {
    format!("GET {target} HTTP/1.1\r\nHost: web.example.com\r\n{fields}\r\n").into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_slow_heads_are_refused_and_the_rest_served() {
    let (proxy, web) = (free_port(), free_port());
    let config = [
        gateway_yaml(proxy),
        backend_yaml("web", web),
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
         metadata: {name: web, namespace: default}\n\
         spec:\n  parentRefs: [{name: gw}]\n  hostnames: [web.example.com, '*.example.com']\n  \
         rules: [{matches: [{path: {type: PathPrefix, value: /public}}], backendRefs: [{name: web, port: 80}]}]\n"
            .to_string(),
    ]
    .join("---\n");
    let mut deployment = Deployment::new(&[("config.yaml", &config)]);
    deployment.start_echo("web", web);
    deployment.start_controller(&["--external-dataplane"]);
    let dataplane = deployment.start_dataplane("dataplane", &["--request-head-timeout-ms", "1000"]);
    wait_for_backend(proxy, "web.example.com", "/public", "web", || {
        dataplane.log()
    })
    .await;

    // A request line at the limit is served; one byte more is 414.
    let fixed = "GET  HTTP/1.1".len();
    let deep = format!("/public{}", "/a".repeat((MAX_REQUEST_LINE - fixed - 7) / 2));
    assert_eq!(fixed + deep.len(), MAX_REQUEST_LINE);
    let (status, _, body) = exchange(proxy, &request_with(&deep, ""));
    assert_eq!(
        status,
        200,
        "a request line at the limit; log:\n{}",
        dataplane.log()
    );
    assert!(body.contains("\"web\""), "{body}");
    let (status, head, _) = exchange(proxy, &request_with(&format!("{deep}a"), ""));
    assert_eq!(status, 414, "{head}");

    // The 414 comes before the request line has all been sent.
    let mut stream = connect(proxy);
    let endless = format!("GET /public/{}", "a".repeat(MAX_REQUEST_LINE + 10));
    stream.write_all(endless.as_bytes()).expect("send");
    assert_eq!(read_response(&mut stream).0, 414);

    // A head at the limit is served; larger is 431, and so is a Host of many labels.
    let padding = |total: usize| {
        let base = request_with("/public", "Cookie: \r\n").len();
        format!("Cookie: {}\r\n", "c".repeat(total - base))
    };
    let at_limit = request_with("/public", &padding(MAX_REQUEST_HEAD));
    assert_eq!(at_limit.len(), MAX_REQUEST_HEAD);
    assert_eq!(
        exchange(proxy, &at_limit).0,
        200,
        "log:\n{}",
        dataplane.log()
    );
    let over = request_with("/public", &padding(MAX_REQUEST_HEAD + 1));
    assert_eq!(exchange(proxy, &over).0, 431);
    let host = format!("{}example.com", "a.".repeat(MAX_REQUEST_HEAD / 2));
    let request = format!("GET /public HTTP/1.1\r\nHost: {host}\r\n\r\n");
    assert_eq!(exchange(proxy, request.as_bytes()).0, 431);

    // Too many header fields: 431 (the Host field counts as one).
    let fields = |n: usize| (1..n).map(|i| format!("X-{i}: v\r\n")).collect::<String>();
    assert_eq!(
        exchange(proxy, &request_with("/public", &fields(MAX_HEADERS))).0,
        200
    );
    assert_eq!(
        exchange(proxy, &request_with("/public", &fields(MAX_HEADERS + 1))).0,
        431
    );

    // A head that keeps trickling in past the head timeout gets 408 and the connection closes.
    let mut stream = connect(proxy);
    let mut writer = stream.try_clone().expect("clone");
    let trickle = std::thread::spawn(move || {
        let _ = writer.write_all(b"GET /public HTTP/1.1\r\n");
        for _ in 0..50 {
            if writer.write_all(b"X-Slow: 1\r\n").is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let started = Instant::now();
    assert_eq!(read_response(&mut stream).0, 408);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "408 after {:?}",
        started.elapsed()
    );
    assert!(closed(&mut stream));
    trickle.join().expect("trickle");

    // Keep-alive and request bodies work as before: two requests on one connection, the
    // second a POST whose body arrives in the same packets as its head.
    let mut stream = connect(proxy);
    stream
        .write_all(&request_with("/public/1", ""))
        .expect("send");
    assert_eq!(read_response(&mut stream).0, 200);
    let post = "POST /public/2 HTTP/1.1\r\nHost: web.example.com\r\nContent-Length: 5\r\n\r\nhello";
    stream.write_all(post.as_bytes()).expect("send");
    let (status, _, body) = read_response(&mut stream);
    assert_eq!(status, 200, "{body}");

    let metrics = reqwest::get(format!(
        "http://127.0.0.1:{}/metrics",
        deployment.ports.dataplane_admin
    ))
    .await
    .expect("metrics")
    .text()
    .await
    .expect("metrics text");
    for reason in [
        "request_line_too_long",
        "head_too_large",
        "too_many_headers",
        "head_timeout",
    ] {
        assert!(
            metrics.contains(&format!(
                "portico_dataplane_refused_requests_total{{reason=\"{reason}\"}}"
            )),
            "{reason} not counted:\n{metrics}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_connections_are_held_to_the_head_and_idle_timeouts() {
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
    let dataplane = deployment.start_dataplane(
        "dataplane",
        &[
            "--request-head-timeout-ms",
            "1000",
            "--keepalive-timeout-seconds",
            "1",
        ],
    );
    wait_for_backend(proxy, "web.example.com", "/", "web", || dataplane.log()).await;

    // How long the data plane takes to close a connection that sent `bytes` and nothing more
    // (answers it may send first, such as its HTTP/2 SETTINGS, are read and dropped).
    let closes_after = |bytes: &'static [u8]| {
        let mut stream = connect(proxy);
        stream.write_all(bytes).expect("send");
        let started = Instant::now();
        let mut rest = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stream, &mut rest);
        started.elapsed()
    };
    // Half a preface, then silence: closed at the head timeout, as a slow HTTP/1 head is.
    let stalled = closes_after(b"PRI * HTTP/2.0\r\n\r\n");
    assert!(
        stalled >= Duration::from_millis(500) && stalled < Duration::from_secs(4),
        "a stalled preface was closed after {stalled:?}"
    );
    // Something that starts like the preface but is not: closed at once.
    let wrong = closes_after(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n");
    assert!(wrong < Duration::from_millis(500), "{wrong:?}");
    // A whole preface and SETTINGS, then no request: closed once idle for the keep-alive time.
    let idle = closes_after(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0");
    assert!(
        idle >= Duration::from_millis(500) && idle < Duration::from_secs(4),
        "an idle HTTP/2 connection was closed after {idle:?}"
    );

    // Real HTTP/2 clients are served meanwhile.
    let h2c = reqwest::Client::builder()
        .resolve(
            "web.example.com",
            std::net::SocketAddr::from(([127, 0, 0, 1], proxy)),
        )
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let response = h2c
        .get(format!("http://web.example.com:{proxy}/"))
        .send()
        .await
        .expect("an HTTP/2 answer");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.status(), 200);
}
