//! Configurations larger than gRPC's usual 4 MiB message: a Gateway with 10,000 routes on
//! four listeners (a snapshot of about 6 MiB) is served end to end; a snapshot over the configured limit is not sent,
//! and its Gateway says why in `Programmed`. Real controller, data plane, backend and sockets.

mod support;
use support::*;

/// A Gateway `gw` with one HTTP listener per port in `ports`.
fn gateway(ports: &[u16]) -> String {
    let listeners: String = ports
        .iter()
        .map(|port| format!("  - {{name: http-{port}, protocol: HTTP, port: {port}}}\n"))
        .collect();
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: portico}}\n\
         spec: {{controllerName: portico.dev/gateway-controller}}\n---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n\
         metadata: {{name: gw, namespace: default, generation: 1}}\n\
         spec:\n  gatewayClassName: portico\n  listeners:\n{listeners}"
    )
}

/// `count` HTTPRoutes, each with its own hostname and two rules (one adding a request header),
/// all sent to Service `web`.
fn routes(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
                 metadata: {{name: route-{i}, namespace: default}}\n\
                 spec:\n  parentRefs: [{{name: gw}}]\n  hostnames: [route-{i}.tenant-{i}.apps.example.com]\n  rules:\n\
                 \x20 - matches: [{{path: {{type: PathPrefix, value: /api/v1/orders}}}}]\n    backendRefs: [{{name: web, port: 80}}]\n\
                 \x20   filters: [{{type: RequestHeaderModifier, requestHeaderModifier: {{set: [{{name: x-tenant, value: tenant-{i}}}]}}}}]\n\
                 \x20 - matches: [{{path: {{type: Exact, value: /healthz/ready}}}}]\n    backendRefs: [{{name: web, port: 80}}]\n"
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_routes_on_four_listeners_are_served() {
    let ports = [free_port(), free_port(), free_port(), free_port()];
    let web = free_port();
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway(&ports)),
        ("web.yaml", &backend_yaml("web", web)),
        ("routes.yaml", &routes(10_000)),
    ]);
    deployment.start_echo("web", web);
    deployment.start_controller(&[]);
    for port in ports {
        for host in ["route-0.tenant-0", "route-9999.tenant-9999"] {
            wait_for_backend(
                port,
                &format!("{host}.apps.example.com"),
                "/api/v1/orders/7",
                "web",
                || deployment.controller_log(),
            )
            .await;
        }
    }
    let answer = get(
        &client(),
        ports[3],
        "route-9999.tenant-9999.apps.example.com",
        "/api/v1/orders",
        &[],
    )
    .await
    .expect("request");
    assert_eq!(answer.body["headers"]["x-tenant"], "tenant-9999");
    let programmed = deployment.programmed_when(|c| c["status"] == "True").await;
    assert_eq!(programmed["reason"], "Programmed", "{programmed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_over_the_limit_is_not_sent_and_the_gateway_says_why() {
    let port = free_port();
    let web = free_port();
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway(&[port])),
        ("web.yaml", &backend_yaml("web", web)),
        ("routes.yaml", &routes(50)),
    ]);
    deployment.start_controller(&["--max-snapshot-bytes", "4096"]);
    let programmed = deployment
        .programmed_when(|c| c["reason"] == "Invalid")
        .await;
    assert_eq!(programmed["status"], "False");
    let message = programmed["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("over the limit of 4096 (--max-snapshot-bytes)"),
        "{message}"
    );
}
