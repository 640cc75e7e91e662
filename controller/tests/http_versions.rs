//! HTTP versions and upgrades through the gateway in standalone mode, over real sockets with
//! real echo backends: clients speaking HTTP/2 (ALPN `h2` on an HTTPS listener, prior
//! knowledge on an HTTP one) next to HTTP/1.1 clients; backends spoken to in HTTP/2 when their
//! Service port says `appProtocol: kubernetes.io/h2c`; WebSocket connections proxied both ways
//! and kept open across a snapshot swap.

mod support;

use futures::{SinkExt, StreamExt};
use reqwest::Version;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use support::*;

/// A Gateway with an HTTP listener on `http` and an HTTPS one on `https` for
/// app.example.com; an HTTPRoute sending `/h2c` to port 8081 of Service `app` and the rest to
/// port 80; Service `app` whose two ports (80, and 8081 with `appProtocol: kubernetes.io/h2c`)
/// both lead to the echo backend on `echo`.
fn configuration(http: u16, https: u16, echo: u16) -> String {
    format!(
        r#"{GATEWAY_PREAMBLE}  - {{name: http, protocol: HTTP, port: {http}}}
  - name: https
    protocol: HTTPS
    port: {https}
    hostname: app.example.com
    tls: {{certificateRefs: [{{name: app-cert}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app, namespace: default}}
spec:
  parentRefs: [{{name: gw}}]
  hostnames: [app.example.com]
  rules:
  - matches: [{{path: {{type: PathPrefix, value: /h2c}}}}]
    backendRefs: [{{name: app, port: 8081}}]
  - backendRefs: [{{name: app, port: 80}}]
---
apiVersion: v1
kind: Service
metadata: {{name: app, namespace: default}}
spec:
  ports:
  - {{name: http, port: 80, appProtocol: kubernetes.io/ws}}
  - {{name: h2c, port: 8081, appProtocol: kubernetes.io/h2c}}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: app
  namespace: default
  labels: {{kubernetes.io/service-name: app}}
addressType: IPv4
ports:
- {{name: http, port: {echo}}}
- {{name: h2c, port: {echo}}}
endpoints:
- addresses: ["127.0.0.1"]
"#
    )
}

/// A deployment serving [`configuration`], ready; its HTTP and HTTPS ports and the PEM of the
/// HTTPS listener's certificate.
async fn deployment() -> (Deployment, u16, u16, String) {
    let (http, https, echo) = (free_port(), free_port(), free_port());
    let (secret, certificate) = tls_secret("app-cert", "app.example.com");
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &configuration(http, https, echo)),
        ("secret.yaml", &secret),
    ]);
    deployment.start_echo("app", echo);
    deployment.start_controller(&[]);
    wait_for_backend(http, "app.example.com", "/", "app", || {
        deployment.controller_log()
    })
    .await;
    (deployment, http, https, certificate)
}

/// GET `url` with `client`: the response's HTTP version and the echo backend's account of the
/// request (which carries the version the backend was spoken to in).
async fn exchange(client: &reqwest::Client, url: &str) -> (Version, serde_json::Value) {
    let response = client.get(url).send().await.expect("a response");
    assert_eq!(response.status(), 200, "{url}");
    let version = response.version();
    (version, response.json().await.expect("the echo's JSON"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_may_speak_http2_and_h2c_backends_are_spoken_to_in_http2() {
    let (deployment, http, https, certificate) = deployment().await;
    let loopback = |port| std::net::SocketAddr::from(([127, 0, 0, 1], port));

    // HTTP/1.1 in, HTTP/1.1 to a backend without appProtocol h2c.
    let url = format!("http://app.example.com:{http}/");
    let http1 = reqwest::Client::builder()
        .resolve("app.example.com", loopback(http))
        .http1_only()
        .build()
        .expect("client");
    let (version, seen) = exchange(&http1, &url).await;
    assert_eq!(version, Version::HTTP_11);
    assert_eq!(seen["version"], "HTTP/1.1");

    // HTTP/2 with prior knowledge on the cleartext listener, same socket.
    let h2c = reqwest::Client::builder()
        .resolve("app.example.com", loopback(http))
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let (version, seen) = exchange(&h2c, &url).await;
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(seen["version"], "HTTP/1.1", "{seen}");
    assert_eq!(seen["host"], format!("app.example.com:{http}"), "{seen}");

    // The h2c port is spoken to in HTTP/2, whatever the client spoke.
    for client in [&http1, &h2c] {
        let (_, seen) = exchange(client, &format!("http://app.example.com:{http}/h2c/x")).await;
        assert_eq!(seen["version"], "HTTP/2.0", "{seen}");
        assert_eq!(seen["path"], "/h2c/x");
    }

    // ALPN picks HTTP/2 on the HTTPS listener; a client offering only HTTP/1.1 keeps it.
    let url = format!("https://app.example.com:{https}/");
    let alpn_h2 = https_client(&certificate, "app.example.com");
    let (version, seen) = exchange(&alpn_h2, &url).await;
    assert_eq!(version, Version::HTTP_2);
    assert_eq!(seen["headers"]["x-forwarded-proto"], "https", "{seen}");
    let alpn_http1 = https_client_builder(&certificate, "app.example.com")
        .http1_only()
        .build()
        .expect("client");
    let (version, _) = exchange(&alpn_http1, &url).await;
    assert_eq!(version, Version::HTTP_11);

    // Many streams at once on one HTTP/2 connection.
    let answers = futures::future::join_all((0..20).map(|i| {
        h2c.get(format!("http://app.example.com:{http}/h2c/{i}"))
            .send()
    }))
    .await;
    assert!(
        answers
            .iter()
            .all(|a| a.as_ref().is_ok_and(|r| r.status() == 200)),
        "{answers:?}\n{}",
        deployment.controller_log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_messages_flow_both_ways_and_outlive_a_snapshot_swap() {
    let (mut deployment, http, _, _) = deployment().await;
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", http))
        .await
        .expect("connect");
    let request = format!("ws://app.example.com:{http}/chat")
        .into_client_request()
        .expect("request");
    let (mut socket, response) = tokio_tungstenite::client_async(request, tcp)
        .await
        .expect("the WebSocket handshake through the gateway");
    assert_eq!(response.status(), 101);

    // Send `message`; what came back, or why nothing did.
    let mut echo = async |message: Message| {
        socket.send(message).await.map_err(|e| e.to_string())?;
        match tokio::time::timeout(std::time::Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(reply))) => Ok(reply),
            Ok(Some(Err(error))) => Err(error.to_string()),
            Ok(None) => Err("connection closed".to_string()),
            Err(_) => Err("no reply within 10 s".to_string()),
        }
    };
    for message in [
        Message::text("Websocket Support!"),
        Message::binary(vec![1, 2, 3, 4, 5, 6, 7]),
    ] {
        let reply = echo(message.clone()).await;
        assert_eq!(reply, Ok(message), "{}", deployment.controller_log());
    }

    // An unrelated route is added: the data plane swaps its snapshot, the connection stays.
    let other = free_port();
    deployment.write("other.yaml", &route_yaml("other.example.com", "other"));
    deployment.write("other-backend.yaml", &backend_yaml("other", other));
    deployment.start_echo("other", other);
    wait_for_backend(http, "other.example.com", "/", "other", || {
        deployment.controller_log()
    })
    .await;
    let message = Message::text("still here");
    let reply = echo(message.clone()).await;
    assert_eq!(reply, Ok(message), "{}", deployment.controller_log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_unrouted_and_other_upgrades_are_answered_like_other_requests() {
    let (deployment, http, _, _) = deployment().await;
    // A WebSocket upgrade the backend does not take (no Sec-WebSocket-Key, so the echo answers
    // 200), with a second request pipelined behind it: the answer comes back, the connection
    // closes, and the second request never reaches the backend.
    let upgrade = |host: &str, protocol: &str| {
        format!(
            "GET /chat HTTP/1.1\r\nHost: {host}\r\nUpgrade: {protocol}\r\nConnection: Upgrade\r\n\r\n"
        )
    };
    let smuggled = "GET /smuggled HTTP/1.1\r\nHost: app.example.com\r\n\r\n";
    let mut stream = support::raw::connect(http);
    let sent = format!("{}{smuggled}", upgrade("app.example.com", "websocket"));
    std::io::Write::write_all(&mut stream, sent.as_bytes()).expect("send");
    let (status, head, body) = support::raw::read_response(&mut stream);
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    let seen: serde_json::Value = serde_json::from_str(&body).expect("the echo's JSON");
    assert_eq!(seen["headers"]["upgrade"], "websocket", "{seen}");
    assert_eq!(seen["headers"]["x-forwarded-for"], "127.0.0.1", "{seen}");
    assert!(support::raw::closed(&mut stream));
    assert!(
        !deployment.echo_log("app").contains("/smuggled"),
        "{}",
        deployment.echo_log("app")
    );

    // No route for the host: 404, as for any request.
    let (status, _, _) =
        support::raw::exchange(http, upgrade("nowhere.example.com", "websocket").as_bytes());
    assert_eq!(status, 404);

    // Other upgrades (h2c here) are not offered: the request is served as a plain one.
    let (status, _, body) =
        support::raw::exchange(http, upgrade("app.example.com", "h2c").as_bytes());
    assert_eq!(status, 200);
    let seen: serde_json::Value = serde_json::from_str(&body).expect("the echo's JSON");
    assert!(seen["headers"].get("upgrade").is_none(), "{seen}");
}
