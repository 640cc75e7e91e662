//! GRPCRoute through the gateway in standalone mode, with real tonic clients calling real gRPC
//! backends (`portico echo --grpc`) over loopback: h2c and TLS (ALPN `h2`) on listeners shared
//! with HTTPRoutes; matches on service, method and headers; header filters; unary and
//! streaming calls of every kind proxied intact with their statuses and deadlines; calls
//! nothing serves answered `UNIMPLEMENTED`, calls without a backend `UNAVAILABLE`; a stream
//! kept up across a snapshot swap; HTTP/2 over TLS (ALPN `h2`) to a backend behind a
//! BackendTLSPolicy.

mod support;

use std::time::Duration;

use rcgen::ExtendedKeyUsagePurpose;
use support::authority::{Authority, indented_pem};
use support::grpc::proto::{EchoRequest, RepeatRequest};
use support::grpc::*;
use support::*;
use tokio_stream::StreamExt;

/// A Gateway with an HTTP listener on `http` and an HTTPS one on `https` for
/// grpc.example.com; GRPCRoute `echo` sending `Say` with `version: two` to backend `v2` (with
/// header filters) and every other Echo call to `v1`; GRPCRoute `broken` for
/// broken.example.com naming a Service that does not exist; HTTPRoute `web` for
/// web.example.com on the same listeners. Service `v1` declares no appProtocol (gRPC makes
/// it HTTP/2 anyway), `v2` declares `kubernetes.io/h2c`.
fn configuration(http: u16, https: u16, v1: u16, v2: u16, web: u16) -> String {
    format!(
        r#"{GATEWAY_PREAMBLE}  - {{name: http, protocol: HTTP, port: {http}}}
  - name: https
    protocol: HTTPS
    port: {https}
    hostname: grpc.example.com
    tls: {{certificateRefs: [{{name: grpc-cert}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {{name: echo, namespace: default}}
spec:
  parentRefs: [{{name: gw}}]
  hostnames: [grpc.example.com]
  rules:
  - matches:
    - method: {{service: portico.echo.v1.Echo, method: Say}}
      headers: [{{name: version, value: two}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {{set: [{{name: x-route, value: say-two}}]}}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {{add: [{{name: x-served-by, value: portico}}]}}
    backendRefs: [{{name: v2, port: 80}}]
  - matches: [{{method: {{service: portico.echo.v1.Echo}}}}]
    backendRefs: [{{name: v1, port: 80}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {{name: broken, namespace: default}}
spec:
  parentRefs: [{{name: gw, sectionName: http}}]
  hostnames: [broken.example.com]
  rules: [{{backendRefs: [{{name: nowhere, port: 80}}]}}]
---
{web_route}---
{v1_backend}---
{v2_backend}---
{web_backend}"#,
        web_route = route_yaml("web.example.com", "web"),
        v1_backend = backend_yaml("v1", v1),
        v2_backend = backend_yaml("v2", v2).replace(
            "- name: http\n    port: 80",
            "- name: http\n    port: 80\n    appProtocol: kubernetes.io/h2c"
        ),
        web_backend = backend_yaml("web", web),
    )
}

struct Gateway {
    deployment: Deployment,
    http: u16,
    https: u16,
    certificate: String,
}

async fn gateway() -> Gateway {
    let (http, https, v1, v2, web) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let (secret, certificate) = tls_secret("grpc-cert", "grpc.example.com");
    let config = configuration(http, https, v1, v2, web);
    let mut deployment = Deployment::new(&[("gateway.yaml", &config), ("secret.yaml", &secret)]);
    deployment.start_echo_with("v1", v1, &["--grpc"]);
    deployment.start_echo_with("v2", v2, &["--grpc"]);
    deployment.start_echo("web", web);
    deployment.start_controller(&[]);
    let mut echo = echo_client(http, "grpc.example.com");
    let reply = first_reply(&mut echo).await;
    assert_eq!(reply.backend, "v1", "{}", deployment.controller_log());
    Gateway {
        deployment,
        http,
        https,
        certificate,
    }
}

#[tokio::test]
async fn grpc_routes_match_service_method_and_headers_and_apply_filters() {
    let gateway = gateway().await;
    let mut echo = echo_client(gateway.http, "grpc.example.com");

    let reply = echo.say(say("hello")).await.expect("Say").into_inner();
    assert_eq!(reply.backend, "v1");
    assert_eq!(reply.message, "hello");
    assert_eq!(reply.method, "/portico.echo.v1.Echo/Say");
    assert!(!reply.metadata.contains_key("x-route"));

    let mut two = say("hello");
    two.metadata_mut()
        .insert("version", "two".parse().expect("value"));
    let response = echo.say(two).await.expect("Say version two");
    assert_eq!(
        response
            .metadata()
            .get("x-served-by")
            .map(|v| v.to_str().ok()),
        Some(Some("portico"))
    );
    let reply = response.into_inner();
    assert_eq!(reply.backend, "v2", "the rule with the header match wins");
    assert_eq!(
        reply.metadata.get("x-route").map(String::as_str),
        Some("say-two")
    );

    // A method the header rule does not name goes by the service rule, header or not.
    let mut other = tonic::Request::new(RepeatRequest {
        message: "m".into(),
        count: 1,
        interval_ms: 0,
    });
    other
        .metadata_mut()
        .insert("version", "two".parse().expect("value"));
    let mut replies = echo.repeat(other).await.expect("Repeat").into_inner();
    let first = replies.next().await.expect("a reply").expect("ok");
    assert_eq!(first.backend, "v1");

    // HTTPRoutes keep serving their own hostname on the same listener.
    let answer = get(
        &support::client(),
        gateway.http,
        "web.example.com",
        "/",
        &[],
    )
    .await
    .expect("HTTP answer");
    assert_eq!(answer.backend.as_deref(), Some("web"), "{answer:?}");
}

#[tokio::test]
async fn every_kind_of_call_is_proxied_intact_with_statuses_and_deadlines() {
    let gateway = gateway().await;
    let mut echo = echo_client(gateway.http, "grpc.example.com");

    let repeat = RepeatRequest {
        message: "tick".into(),
        count: 5,
        interval_ms: 10,
    };
    let replies: Vec<_> = echo
        .repeat(repeat)
        .await
        .expect("Repeat")
        .into_inner()
        .collect::<Result<_, _>>()
        .await
        .expect("every reply");
    let messages: Vec<_> = replies.iter().map(|r| r.message.as_str()).collect();
    assert_eq!(messages, ["tick 0", "tick 1", "tick 2", "tick 3", "tick 4"]);

    let requests = ["a", "b", "c"].map(|m| EchoRequest {
        message: m.into(),
        fail_with_code: 0,
    });
    let collected = echo
        .collect(tokio_stream::iter(requests))
        .await
        .expect("Collect")
        .into_inner();
    assert_eq!(collected.message, "a b c");

    // Bidirectional: each reply arrives before the next request is sent.
    let (sender, receiver) = tokio::sync::mpsc::channel(1);
    let outgoing = tokio_stream::wrappers::ReceiverStream::new(receiver);
    let mut incoming = echo.chat(outgoing).await.expect("Chat").into_inner();
    for message in ["one", "two", "three"] {
        let request = EchoRequest {
            message: message.into(),
            fail_with_code: 0,
        };
        sender.send(request).await.expect("send");
        let reply = tokio::time::timeout(Duration::from_secs(5), incoming.next())
            .await
            .expect("a reply before the next request")
            .expect("stream open")
            .expect("ok");
        assert_eq!(reply.message, message);
    }
    drop(sender);
    assert!(incoming.next().await.is_none(), "the stream ends with OK");

    // A backend's status and message reach the client.
    let failing = tonic::Request::new(EchoRequest {
        message: "x".into(),
        fail_with_code: 5,
    });
    let status = echo.say(failing).await.expect_err("NOT_FOUND");
    assert_eq!(status.code(), tonic::Code::NotFound);
    assert_eq!(status.message(), "failed on purpose by v1");

    // The deadline travels with the call.
    let mut timed = say("soon");
    timed.set_timeout(Duration::from_secs(5));
    let reply = echo.say(timed).await.expect("Say").into_inner();
    assert!(
        reply.metadata.contains_key("grpc-timeout"),
        "{:?}",
        reply.metadata
    );
    let te = reply.metadata.get("te").map(String::as_str);
    assert_eq!(
        te,
        Some("trailers"),
        "clients' te: trailers reaches the backend"
    );
}

#[tokio::test]
async fn calls_nothing_serves_are_unimplemented_and_calls_without_backends_unavailable() {
    let gateway = gateway().await;
    let mut unknown = echo_client(gateway.http, "nothing.example.com");
    let status = unknown.say(say("x")).await.expect_err("no route");
    assert_eq!(status.code(), tonic::Code::Unimplemented, "{status}");
    let message = status.message();
    assert_eq!(
        message, "portico: 404 Not Found",
        "a gRPC answer of Portico's own"
    );
    let (headers, ended) = raw_call(gateway.http, "nothing.example.com").await;
    assert!(
        ended,
        "a trailers-only answer: one HEADERS frame that ends the stream"
    );
    assert_eq!(
        headers.get("grpc-status").map(|v| v.as_bytes()),
        Some(&b"12"[..])
    );

    let mut broken = echo_client(gateway.http, "broken.example.com");
    let status = broken.say(say("x")).await.expect_err("no backend");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status}");
    assert_eq!(status.message(), "portico: 503 Service Unavailable");

    let status = gateway.deployment.status().await;
    let broken_route = status["grpcRoutes"]
        .as_array()
        .and_then(|routes| routes.iter().find(|r| r["name"] == "broken"))
        .cloned()
        .unwrap_or_default();
    let conditions = broken_route["status"]["parents"][0]["conditions"].to_string();
    assert!(conditions.contains("BackendNotFound"), "{status}");
}

/// A unary call made frame by frame with the `h2` crate, as strict gRPC clients read it: the
/// response's headers and whether the stream ended with them.
async fn raw_call(port: u16, authority: &str) -> (http::HeaderMap, bool) {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let (mut client, connection) = h2::client::handshake(tcp).await.expect("handshake");
    tokio::spawn(connection);
    let request = http::Request::post(format!("http://{authority}/portico.echo.v1.Echo/Say"))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(())
        .expect("request");
    let (response, mut body) = client.send_request(request, false).expect("send");
    // An empty message: no compression flag, zero length.
    body.send_data(bytes::Bytes::from_static(&[0; 5]), true)
        .expect("message");
    let response = response.await.expect("response");
    (response.headers().clone(), response.body().is_end_stream())
}

#[tokio::test]
async fn calls_over_tls_negotiate_http2_by_alpn() {
    let gateway = gateway().await;
    let mut echo = tls_echo_client(gateway.https, "grpc.example.com", &gateway.certificate);
    let reply = first_reply(&mut echo).await;
    assert_eq!(reply.backend, "v1");
    let requests = ["x", "y"].map(|m| EchoRequest {
        message: m.into(),
        fail_with_code: 0,
    });
    let collected = echo
        .collect(tokio_stream::iter(requests))
        .await
        .expect("Collect");
    assert_eq!(collected.into_inner().message, "x y");
}

#[tokio::test]
async fn a_stream_stays_up_across_an_unrelated_snapshot_swap() {
    let gateway = gateway().await;
    let mut echo = echo_client(gateway.http, "grpc.example.com");
    let repeat = RepeatRequest {
        message: "tick".into(),
        count: 30,
        interval_ms: 50,
    };
    let mut replies = echo.repeat(repeat).await.expect("Repeat").into_inner();
    let first = replies.next().await.expect("a reply").expect("ok");
    assert_eq!(first.message, "tick 0");

    // Add a route while the stream runs, and wait until it is served.
    let extra = route_yaml("extra.example.com", "web");
    gateway.deployment.write("extra.yaml", &extra);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let answer = get(
            &support::client(),
            gateway.http,
            "extra.example.com",
            "/",
            &[],
        )
        .await;
        if answer.is_ok_and(|a| a.status == 200) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new route was never served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut received = 1;
    while let Some(reply) = replies.next().await {
        let reply = reply.expect("no error across the swap");
        assert_eq!(reply.message, format!("tick {received}"));
        received += 1;
    }
    assert_eq!(received, 30);
}

#[tokio::test]
async fn calls_reach_backends_behind_a_backend_tls_policy_over_http2() {
    let authority = Authority::new();
    let (cert, key) = authority.issue(&["secure.example.com"], ExtendedKeyUsagePurpose::ServerAuth);
    let (http, backend) = (free_port(), free_port());
    let configuration = format!(
        r#"{gateway}---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {{name: secure, namespace: default}}
spec:
  parentRefs: [{{name: gw}}]
  hostnames: [grpc.example.com]
  rules: [{{backendRefs: [{{name: secure, port: 443}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: secure, namespace: default}}
spec:
  ports: [{{name: https, port: 443}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: secure
  namespace: default
  labels: {{kubernetes.io/service-name: secure}}
addressType: IPv4
ports: [{{name: https, port: {backend}}}]
endpoints: [{{addresses: ["127.0.0.1"]}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: backend-ca, namespace: default}}
data:
  ca.crt: |
{ca}---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {{name: secure, namespace: default}}
spec:
  targetRefs: [{{group: '', kind: Service, name: secure}}]
  validation:
    caCertificateRefs: [{{group: '', kind: ConfigMap, name: backend-ca}}]
    hostname: secure.example.com
"#,
        gateway = gateway_yaml(http),
        ca = indented_pem(&authority.pem()),
    );
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &configuration),
        ("server.crt", &cert),
        ("server.key", &key),
    ]);
    let dir = deployment.path().to_path_buf();
    let cert_file = dir.join("server.crt").display().to_string();
    let key_file = dir.join("server.key").display().to_string();
    deployment.start_echo_with(
        "secure",
        backend,
        &["--grpc", "--tls-cert", &cert_file, "--tls-key", &key_file],
    );
    deployment.start_controller(&[]);
    let mut echo = echo_client(http, "grpc.example.com");
    let reply = first_reply(&mut echo).await;
    assert_eq!(reply.backend, "secure", "{}", deployment.controller_log());
    let requests = ["over", "tls"].map(|m| EchoRequest {
        message: m.into(),
        fail_with_code: 0,
    });
    let collected = echo
        .collect(tokio_stream::iter(requests))
        .await
        .expect("Collect");
    assert_eq!(collected.into_inner().message, "over tls");
}
