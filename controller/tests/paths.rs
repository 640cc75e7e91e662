//! Request paths are normalised before routing, and the normalised path is what the backend
//! receives: a client cannot reach `/admin` through a `/public` route with dot segments,
//! encoded dots or doubled slashes. Raw HTTP on a socket (client libraries normalise paths
//! themselves); real controller, data plane, backends and sockets.

mod support;

use support::raw::exchange;
use support::*;

/// The backend's name and the path and query it received, for `target` on web.example.com.
fn reached(proxy: u16, target: &str) -> (u16, String, String, String) {
    let request = format!("GET {target} HTTP/1.1\r\nHost: web.example.com\r\n\r\n");
    let (status, head, body) = exchange(proxy, request.as_bytes());
    let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let field = |name: &str| json[name].as_str().unwrap_or_default().to_string();
    assert!(status != 200 || !body.is_empty(), "{head}");
    (status, field("name"), field("path"), field("query"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_encodings_and_slashes_cannot_escape_a_prefix() {
    let (proxy, public, admin) = (free_port(), free_port(), free_port());
    let route = |name: &str, prefix: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
             metadata: {{name: {name}, namespace: default}}\n\
             spec:\n  parentRefs: [{{name: gw}}]\n  hostnames: [web.example.com]\n  \
             rules: [{{matches: [{{path: {{type: PathPrefix, value: {prefix}}}}}], \
             backendRefs: [{{name: {name}, port: 80}}]}}]\n"
        )
    };
    let config = [
        gateway_yaml(proxy),
        backend_yaml("public", public),
        backend_yaml("admin", admin),
        route("public", "/public"),
        route("admin", "/admin"),
    ]
    .join("---\n");
    let mut deployment = Deployment::new(&[("config.yaml", &config)]);
    deployment.start_echo("public", public);
    deployment.start_echo("admin", admin);
    deployment.start_controller(&[]);
    wait_for_backend(proxy, "web.example.com", "/public", "public", || {
        deployment.controller_log()
    })
    .await;

    let admin_secret = |backend: &str| (200, backend.to_string(), "/admin/secret".to_string());
    for target in [
        "/public/../admin/secret",
        "/public/%2e%2e/admin/secret",
        "/public/%2E%2e/./admin/secret",
        "/public/x/../../admin/secret",
        "//admin//secret",
        "/../../admin/secret",
    ] {
        let (status, backend, path, _) = reached(proxy, target);
        assert_eq!((status, backend, path), admin_secret("admin"), "{target}");
    }

    // What stays under /public is forwarded normalised, query untouched; encoded slashes are
    // data, kept as they were sent.
    let (status, backend, path, query) = reached(proxy, "/public/a/./b/%7Euser?x=/../y");
    assert_eq!(
        (status, backend.as_str(), path.as_str(), query.as_str()),
        (200, "public", "/public/a/b/~user", "x=/../y")
    );
    let (_, backend, path, _) = reached(proxy, "/public/..%2Fadmin");
    assert_eq!(
        (backend.as_str(), path.as_str()),
        ("public", "/public/..%2Fadmin")
    );
}
