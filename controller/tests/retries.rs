//! End-to-end tests of HTTPRoute retries in standalone mode: each Service has a healthy echo
//! endpoint and a failing one (answering 503, dropping the connection, or never answering),
//! and a rule's `retry` makes every request land on the healthy one, while the same pool
//! without retries lets failures through.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How a failing endpoint treats every request it reads.
#[derive(Clone, Copy)]
enum Failure {
    /// Answer `503 Service Unavailable`.
    Unavailable,
    /// Close the connection without answering.
    Drop,
    /// Keep the connection open and never answer.
    Silence,
}

/// Serve `failure` on `port`; returns how many requests arrived.
async fn failing_endpoint(port: u16, failure: Failure) -> Arc<AtomicUsize> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind the failing endpoint");
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 16 * 1024];
                let mut head = Vec::new();
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                counter.fetch_add(1, Ordering::SeqCst);
                match failure {
                    Failure::Unavailable => {
                        let answer = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                        let _ = stream.write_all(answer).await;
                    }
                    Failure::Drop => drop(stream),
                    Failure::Silence => tokio::time::sleep(Duration::from_secs(60)).await,
                }
            });
        }
    });
    seen
}

/// A Service `name` whose two endpoints (EndpointSlices) are on `healthy` and `failing`.
fn pool_yaml(name: &str, healthy: u16, failing: u16) -> String {
    let slice = |suffix: &str, port: u16| {
        format!(
            "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: {name}-{suffix}\n  \
             namespace: default\n  labels: {{kubernetes.io/service-name: {name}}}\naddressType: IPv4\n\
             ports: [{{name: http, port: {port}}}]\nendpoints: [{{addresses: [127.0.0.1]}}]\n"
        )
    };
    format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: default}}\n\
         spec: {{ports: [{{name: http, port: 80}}]}}\n---\n{}---\n{}",
        slice("healthy", healthy),
        slice("failing", failing)
    )
}

/// A rule for `path` to `service`, with `extra` (retry, timeouts) indented under it.
fn rule(path: &str, service: &str, extra: &str) -> String {
    format!(
        "  - matches: [{{path: {{type: PathPrefix, value: {path}}}}}]\n    \
         backendRefs: [{{name: {service}, port: 80}}]\n{extra}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_attempts_are_retried_on_the_next_endpoint() {
    let (port, web) = (free_port(), free_port());
    let (unavailable, dropping, silent) = (free_port(), free_port(), free_port());
    let served_503 = failing_endpoint(unavailable, Failure::Unavailable).await;
    let dropped = failing_endpoint(dropping, Failure::Drop).await;
    let ignored = failing_endpoint(silent, Failure::Silence).await;
    let retry = "    retry: {codes: [503], attempts: 2, backoff: 10ms}\n";
    let route = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r, namespace: default}}\n\
         spec:\n  parentRefs: [{{name: gw}}]\n  rules:\n{}{}{}{}",
        rule("/status", "unavailable", retry),
        rule("/unretried", "unavailable", ""),
        rule("/dropped", "dropping", "    retry: {attempts: 2}\n"),
        rule(
            "/slow",
            "silent",
            "    retry: {attempts: 1}\n    timeouts: {backendRequest: 300ms}\n"
        ),
    );
    let pools = [
        pool_yaml("unavailable", web, unavailable),
        pool_yaml("dropping", web, dropping),
        pool_yaml("silent", web, silent),
    ]
    .join("---\n");
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway_yaml(port)),
        ("route.yaml", &route),
        ("pools.yaml", &pools),
    ]);
    deployment.start_echo("web", web);
    deployment.start_controller(&[]);
    let log = || deployment.controller_log();
    wait_for_backend(port, "example.com", "/status", "web", log).await;

    let client = client();
    for path in ["/status", "/dropped", "/slow"] {
        for i in 0..6 {
            let started = Instant::now();
            let answer = get(&client, port, "example.com", &format!("{path}?n={i}"), &[])
                .await
                .expect("an answer");
            assert_eq!(
                (answer.status, answer.backend.as_deref()),
                (200, Some("web")),
                "{path}: a failed attempt is retried on the healthy endpoint: {answer:?}\n{}",
                log()
            );
            assert_eq!(
                (answer.body["path"].as_str(), answer.body["query"].as_str()),
                (Some(path), Some(format!("n={i}").as_str())),
                "the retry carries the same request"
            );
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{path} took too long"
            );
        }
    }
    for (what, seen) in [
        ("503s", &served_503),
        ("dropped connections", &dropped),
        ("unanswered requests", &ignored),
    ] {
        assert!(
            seen.load(Ordering::SeqCst) > 0,
            "round robin sent no request to the endpoint whose {what} were retried"
        );
    }

    // The data plane counts the retries by cause.
    let metrics = reqwest::get(format!(
        "http://127.0.0.1:{}/metrics",
        deployment.ports.dataplane_admin
    ))
    .await
    .expect("data-plane metrics")
    .text()
    .await
    .expect("metrics text");
    for cause in ["status", "error"] {
        let counted = metrics
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "portico_dataplane_retries_total{{cause=\"{cause}\"}}"
                ))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or_default();
        assert!(counted >= 1.0, "no {cause} retry counted:\n{metrics}");
    }

    // The same endpoints without retries: the failing one's answers reach the client.
    let mut statuses = Vec::new();
    for i in 0..6 {
        let answer = get(
            &client,
            port,
            "example.com",
            &format!("/unretried?n={i}"),
            &[],
        )
        .await
        .expect("an answer");
        statuses.push(answer.status);
    }
    assert!(statuses.contains(&503), "{statuses:?}");
}
