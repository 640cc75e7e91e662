//! HTTPRoute's extended matches, filters and timeouts in standalone mode, over real sockets
//! with real echo backends: method, query parameter and regular expression matches with the
//! spec's precedence; URLRewrite of host and path; path redirects; response header edits;
//! a backendRef's own header edits; and request and backendRequest timeouts answering 504.

mod support;

use std::time::Duration;

use support::*;

const ROUTE: &str = r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: extended, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: ["shop.example.com"]
  rules:
  - matches: [{method: POST}]
    backendRefs: [{name: writes, port: 80}]
  - matches: [{queryParams: [{name: animal, value: whale}]}]
    backendRefs: [{name: whales, port: 80}]
  - matches: [{headers: [{name: version, value: two}]}]
    backendRefs: [{name: headers, port: 80}]
  - matches:
    - path: {type: RegularExpression, value: "/items/[0-9]+"}
      headers: [{name: x-tenant, type: RegularExpression, value: "t-[a-z]+"}]
    backendRefs: [{name: items, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /app}}]
    filters:
    - type: URLRewrite
      urlRewrite:
        hostname: internal.example.com
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /}
    - type: ResponseHeaderModifier
      responseHeaderModifier:
        set: [{name: Cache-Control, value: no-store}]
        add: [{name: X-Served-By, value: portico}]
    backendRefs:
    - name: web
      port: 80
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:
          add: [{name: X-Backend, value: web}]
  - matches: [{path: {type: PathPrefix, value: /full}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplaceFullPath, replaceFullPath: /replaced}}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /docs}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /documentation}, statusCode: 301}
  - matches: [{path: {type: PathPrefix, value: /slow}}]
    timeouts: {request: 500ms}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /slow-backend}}]
    timeouts: {backendRequest: 500ms}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /patient}}]
    timeouts: {request: 0s}
    backendRefs: [{name: web, port: 80}]
  - backendRefs: [{name: web, port: 80}]
"#;

const BACKENDS: [&str; 5] = ["writes", "whales", "headers", "items", "web"];

/// A deployment serving [`ROUTE`], programmed and ready.
async fn deployment() -> (Deployment, u16) {
    let proxy = free_port();
    let ports: Vec<(&str, u16)> = BACKENDS.iter().map(|b| (*b, free_port())).collect();
    let backends: String = ports
        .iter()
        .map(|(name, port)| format!("---\n{}", backend_yaml(name, *port)))
        .collect();
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway_yaml(proxy)),
        ("route.yaml", ROUTE),
        ("backends.yaml", &backends),
    ]);
    for (name, port) in &ports {
        deployment.start_echo(name, *port);
    }
    deployment.start_controller(&[]);
    wait_for_backend(proxy, "shop.example.com", "/", "web", || {
        deployment.controller_log()
    })
    .await;
    (deployment, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_matches_pick_backends_by_the_specs_precedence() {
    let (_deployment, proxy) = deployment().await;
    let client = client();
    let backend =
        |method: reqwest::Method, path: &'static str, headers: &'static [(&str, &str)]| {
            let client = client.clone();
            async move {
                let mut request = client
                    .request(method, format!("http://127.0.0.1:{proxy}{path}"))
                    .header("host", "shop.example.com");
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                let response = request.send().await.expect("answer");
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                body["name"].as_str().unwrap_or("none").to_string()
            }
        };
    use reqwest::Method;
    assert_eq!(backend(Method::POST, "/", &[]).await, "writes");
    assert_eq!(backend(Method::GET, "/?animal=whale", &[]).await, "whales");
    assert_eq!(
        backend(Method::GET, "/?ANIMAL=whale", &[]).await,
        "web",
        "names are exact"
    );
    assert_eq!(
        backend(Method::GET, "/?animal=whale&animal=dolphin", &[]).await,
        "whales"
    );
    assert_eq!(
        backend(Method::POST, "/?animal=whale", &[("version", "two")]).await,
        "writes",
        "a method match outranks header and query matches"
    );
    assert_eq!(
        backend(Method::GET, "/?animal=whale", &[("version", "two")]).await,
        "headers",
        "a header match outranks a query match"
    );
    assert_eq!(
        backend(Method::GET, "/items/42", &[("x-tenant", "t-abc")]).await,
        "items"
    );
    assert_eq!(
        backend(Method::GET, "/items/42", &[("x-tenant", "T-ABC")]).await,
        "web"
    );
    assert_eq!(
        backend(Method::GET, "/items/42/x", &[("x-tenant", "t-abc")]).await,
        "web"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rewrites_redirects_and_header_edits_reach_backend_and_client() {
    let (_deployment, proxy) = deployment().await;
    let client = client();

    let response = client
        .get(format!("http://127.0.0.1:{proxy}/app/cart/1?x=2"))
        .header("host", "shop.example.com")
        .send()
        .await
        .expect("answer");
    let headers = response.headers().clone();
    let echoed: serde_json::Value = response.json().await.expect("echo body");
    assert_eq!(echoed["path"], "/cart/1", "the matched prefix is replaced");
    assert_eq!(echoed["query"], "x=2");
    assert_eq!(echoed["host"], "internal.example.com");
    assert_eq!(
        echoed["headers"]["x-backend"], "web",
        "the backendRef's own edit"
    );
    assert_eq!(
        echoed["headers"]["x-forwarded-host"], "shop.example.com",
        "the client's host is still told"
    );
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-served-by"], "portico");

    let full = get(&client, proxy, "shop.example.com", "/full/a/b", &[]).await;
    assert_eq!(full.expect("answer").body["path"], "/replaced");

    let moved = get(&client, proxy, "shop.example.com", "/docs/guide?v=1", &[]).await;
    let moved = moved.expect("answer");
    assert_eq!(moved.status, 301);
    let expected = format!("http://shop.example.com:{proxy}/documentation/guide?v=1");
    assert_eq!(
        moved.location.as_deref(),
        Some(expected.as_str()),
        "the path is replaced; scheme, host, listener port and query are kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_past_their_routes_timeout_are_answered_504() {
    let (_deployment, proxy) = deployment().await;
    let client = client();
    let status = |path: &'static str| {
        let client = client.clone();
        async move {
            let started = std::time::Instant::now();
            let answer = get(&client, proxy, "shop.example.com", path, &[]).await;
            (answer.expect("answer").status, started.elapsed())
        }
    };
    let (fast, _) = status("/slow?delay=10ms").await;
    assert_eq!(fast, 200);
    let (slow, waited) = status("/slow?delay=2s").await;
    assert_eq!(slow, 504);
    assert!(
        waited < Duration::from_millis(1500),
        "answered after {waited:?}"
    );
    let (slow_backend, _) = status("/slow-backend?delay=2s").await;
    assert_eq!(slow_backend, 504);
    let (patient, waited) = status("/patient?delay=1s").await;
    assert_eq!(patient, 200, "0s turns the route's timeout off");
    assert!(waited >= Duration::from_secs(1));
}
