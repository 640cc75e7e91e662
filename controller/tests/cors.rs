//! CORS in standalone mode, over real sockets with a real echo backend, as a browser exercises
//! it: preflights answered by the gateway (never reaching the backend) with the allowed
//! methods, headers and max age for an allowed origin and without them for another; actual
//! requests forwarded, their responses telling an allowed origin it may read them.

mod support;

use support::*;

const ROUTE: &str = r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: api, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: ["api.example.com"]
  rules:
  - matches: [{path: {type: PathPrefix, value: /app}}]
    filters:
    - type: CORS
      cors:
        allowOrigins: ["https://www.foo.com", "https://*.bar.com"]
        allowMethods: [GET, PUT]
        allowHeaders: [x-header-1, x-header-2]
        exposeHeaders: [x-header-3]
        allowCredentials: true
        maxAge: 3600
    backendRefs: [{name: web, port: 80}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflights_are_answered_and_allowed_origins_may_read_responses() {
    let (proxy, web) = (free_port(), free_port());
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway_yaml(proxy)),
        ("route.yaml", ROUTE),
        ("backend.yaml", &backend_yaml("web", web)),
    ]);
    deployment.start_echo("web", web);
    deployment.start_controller(&[]);
    wait_for_backend(proxy, "api.example.com", "/app", "web", || {
        deployment.controller_log()
    })
    .await;
    let client = client();
    let request = |method: reqwest::Method, origin: &str| {
        client
            .request(method, format!("http://127.0.0.1:{proxy}/app/items"))
            .header("host", "api.example.com")
            .header("origin", origin)
    };
    let header = |response: &reqwest::Response, name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };

    // A preflight from an origin matching the wildcard: answered here, with every list.
    let preflight = request(reqwest::Method::OPTIONS, "https://shop.bar.com")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "x-header-1")
        .send()
        .await
        .expect("answer");
    assert_eq!(preflight.status(), 204);
    let expected = [
        ("access-control-allow-origin", "https://shop.bar.com"),
        ("access-control-allow-methods", "GET, PUT"),
        ("access-control-allow-headers", "x-header-1, x-header-2"),
        ("access-control-expose-headers", "x-header-3"),
        ("access-control-max-age", "3600"),
        ("access-control-allow-credentials", "true"),
        ("vary", "Origin"),
    ];
    for (name, value) in expected {
        assert_eq!(header(&preflight, name).as_deref(), Some(value), "{name}");
    }
    // A preflight from another origin: answered, but without permission.
    let refused = request(reqwest::Method::OPTIONS, "https://evil.example")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .expect("answer");
    assert!(refused.status().is_success());
    assert_eq!(header(&refused, "access-control-allow-origin"), None);
    assert_eq!(header(&refused, "access-control-allow-methods"), None);
    assert!(
        !deployment.echo_log("web").contains("method=OPTIONS"),
        "preflights never reach the backend:\n{}",
        deployment.echo_log("web")
    );

    // Actual requests are forwarded; only an allowed origin is told it may read the answer.
    let allowed = request(reqwest::Method::PUT, "https://www.foo.com")
        .send()
        .await
        .expect("answer");
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some("https://www.foo.com")
    );
    assert_eq!(
        header(&allowed, "access-control-allow-credentials").as_deref(),
        Some("true")
    );
    assert_eq!(
        header(&allowed, "access-control-expose-headers").as_deref(),
        Some("x-header-3")
    );
    // Answers differ by origin, so every response of the rule says so, with or without one.
    let no_origin = client
        .get(format!("http://127.0.0.1:{proxy}/app/items"))
        .header("host", "api.example.com")
        .send()
        .await
        .expect("answer");
    assert_eq!(header(&no_origin, "vary").as_deref(), Some("Origin"));
    assert_eq!(header(&no_origin, "access-control-allow-origin"), None);
    let other = request(reqwest::Method::GET, "https://evil.example")
        .send()
        .await
        .expect("answer");
    assert_eq!(other.status(), 200, "the backend still answers");
    assert_eq!(header(&other, "access-control-allow-origin"), None);
    // A plain OPTIONS request (no Access-Control-Request-Method) is not a preflight.
    let options = request(reqwest::Method::OPTIONS, "https://www.foo.com")
        .send()
        .await
        .expect("answer");
    assert_eq!(options.status(), 200);
    assert!(deployment.echo_log("web").contains("method=OPTIONS"));
}
