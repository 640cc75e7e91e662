//! How the data plane treats endpoints that misbehave: one that refuses connections is skipped
//! for another endpoint of the cluster, and one that accepts and then stalls is given up on
//! after the read timeout, with 504. Real controller, data plane, backends and sockets.

mod support;

use std::time::{Duration, Instant};

use support::*;

/// A Service `name` (port 80) whose endpoints are `addresses` on `port`.
fn service(name: &str, addresses: &[&str], port: u16) -> String {
    let addresses = addresses.join(", ");
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\n\
         spec: {{ports: [{{name: http, port: 80}}]}}\n---\n\
         apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
         metadata: {{name: {name}, namespace: default, labels: {{kubernetes.io/service-name: {name}}}}}\n\
         addressType: IPv4\nports: [{{name: http, port: {port}}}]\n\
         endpoints: [{{addresses: [{addresses}]}}]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_connections_move_on_and_stalled_endpoints_time_out_with_504() {
    let (proxy, web, stalled_port) = (free_port(), free_port(), free_port());
    // Accepts connections and never answers.
    let stalled = std::net::TcpListener::bind(("127.0.0.1", stalled_port)).expect("bind");
    let _hold = std::thread::spawn(move || {
        let mut held = Vec::new();
        for connection in stalled.incoming().flatten() {
            held.push(connection);
        }
    });
    let config = [
        gateway_yaml(proxy),
        // Nothing listens on 127.0.0.2: every other connection attempt is refused.
        service("web", &["127.0.0.2", "127.0.0.1"], web),
        service("stalled", &["127.0.0.1"], stalled_port),
        route_yaml("web.example.com", "web"),
        route_yaml("stalled.example.com", "stalled"),
    ]
    .join("---\n");
    let mut deployment = Deployment::new(&[("config.yaml", &config)]);
    deployment.start_echo("web", web);
    deployment.start_controller(&["--external-dataplane"]);
    let dataplane = deployment.start_dataplane("dataplane", &["--upstream-read-timeout-ms", "300"]);
    wait_for_backend(proxy, "web.example.com", "/", "web", || dataplane.log()).await;

    let client = client();
    for _ in 0..20 {
        let answer = get(&client, proxy, "web.example.com", "/", &[])
            .await
            .expect("request");
        assert_eq!(
            (answer.status, answer.backend.as_deref()),
            (200, Some("web")),
            "a refused connection must move on to the next endpoint; log:\n{}",
            dataplane.log()
        );
    }

    let started = Instant::now();
    let answer = get(&client, proxy, "stalled.example.com", "/", &[])
        .await
        .expect("an answer, not a hang");
    assert_eq!(answer.status, 504, "log:\n{}", dataplane.log());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "gave up after {:?}",
        started.elapsed()
    );
}
