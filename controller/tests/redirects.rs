//! RequestRedirect's extended features in standalone mode, over real sockets: a redirect to
//! another scheme or port, with the spec's default-port rules (no `:80` for http, no `:443` for
//! https; a new scheme without a port takes that scheme's port), and the 303, 307 and 308
//! status codes.

mod support;

use support::*;

const ROUTE: &str = r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: moves, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: ["old.example.com"]
  rules:
  - matches: [{path: {type: PathPrefix, value: /scheme}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https}}]
  - matches: [{path: {type: PathPrefix, value: /port}}]
    filters: [{type: RequestRedirect, requestRedirect: {port: 8443}}]
  - matches: [{path: {type: PathPrefix, value: /both}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, port: 9443, hostname: new.example.com}}]
  - matches: [{path: {type: PathPrefix, value: /plain}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: http, port: 80}}]
  - matches: [{path: {type: PathPrefix, value: /see-other}}]
    filters: [{type: RequestRedirect, requestRedirect: {statusCode: 303}}]
  - matches: [{path: {type: PathPrefix, value: /temporary}}]
    filters: [{type: RequestRedirect, requestRedirect: {statusCode: 307}}]
  - matches: [{path: {type: PathPrefix, value: /permanent}}]
    filters: [{type: RequestRedirect, requestRedirect: {statusCode: 308, scheme: https}}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_change_scheme_port_and_status_code() {
    let proxy = free_port();
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway_yaml(proxy)),
        ("route.yaml", ROUTE),
    ]);
    deployment.start_controller(&[]);
    let client = client();
    let redirect = |path: &'static str| {
        let client = client.clone();
        async move {
            get(&client, proxy, "old.example.com", path, &[])
                .await
                .map(|answer| (answer.status, answer.location.unwrap_or_default()))
        }
    };
    // Wait until the data plane is programmed.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !redirect("/scheme")
        .await
        .is_ok_and(|(status, _)| status == 302)
    {
        assert!(
            std::time::Instant::now() < deadline,
            "never programmed:\n{}",
            deployment.controller_log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let cases = [
        (
            "/scheme?a=1",
            302,
            "https://old.example.com/scheme?a=1".to_string(),
        ),
        (
            "/port/x",
            302,
            "http://old.example.com:8443/port/x".to_string(),
        ),
        (
            "/both",
            302,
            "https://new.example.com:9443/both".to_string(),
        ),
        ("/plain", 302, "http://old.example.com/plain".to_string()),
        (
            "/see-other",
            303,
            format!("http://old.example.com:{proxy}/see-other"),
        ),
        (
            "/temporary",
            307,
            format!("http://old.example.com:{proxy}/temporary"),
        ),
        (
            "/permanent",
            308,
            "https://old.example.com/permanent".to_string(),
        ),
    ];
    for (path, status, location) in cases {
        let answer = redirect(path).await.expect("request");
        assert_eq!(answer, (status, location), "{path}");
    }
}
