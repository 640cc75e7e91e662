//! End-to-end tests of listeners: TLS termination with per-SNI certificates (and 421 for a
//! request whose Host another listener owns than its connection's SNI), and a port that
//! cannot be bound showing up in status without harming its neighbours.

mod support;

use std::net::SocketAddr;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_listeners_present_the_certificate_chosen_by_sni() {
    let (web, port) = (free_port(), free_port());
    let (secret_a, cert_a) = tls_secret("cert-a", "a.example.com");
    let (secret_b, cert_b) = tls_secret("cert-b", "x.b.example.com");
    let gateway = format!(
        r#"{GATEWAY_PREAMBLE}  - name: a
    protocol: HTTPS
    port: {port}
    hostname: a.example.com
    tls: {{certificateRefs: [{{name: cert-a}}]}}
  - name: b
    protocol: HTTPS
    port: {port}
    hostname: "*.b.example.com"
    tls: {{certificateRefs: [{{name: cert-b}}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: secure, namespace: default}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - backendRefs: [{{name: web, port: 80}}]
"#
    );
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway),
        ("secrets.yaml", &format!("{secret_a}---\n{secret_b}")),
        ("backend.yaml", &backend_yaml("web", web)),
    ]);
    deployment.start_echo("web", web);
    deployment.start_controller(&[]);

    let client_a = https_client(&cert_a, "a.example.com");
    let url_a = format!("https://a.example.com:{port}/hello");
    wait_until_ok(&client_a, &url_a, || deployment.controller_log()).await;
    let answer: serde_json::Value = client_a
        .get(&url_a)
        .send()
        .await
        .expect("https")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["name"], "web");
    assert_eq!(answer["host"], format!("a.example.com:{port}"));

    let client_b = https_client(&cert_b, "x.b.example.com");
    let url_b = format!("https://x.b.example.com:{port}/");
    let status = client_b
        .get(&url_b)
        .send()
        .await
        .expect("https with cert-b")
        .status();
    assert_eq!(status, 200);

    // A request for a name of the other listener, on a connection opened for a.example.com,
    // was misdirected: 421, so the client opens a connection for that name.
    let http1_a = https_client_builder(&cert_a, "a.example.com")
        .http1_only()
        .build()
        .expect("client");
    let misdirected = http1_a
        .get(&url_a)
        .header("host", format!("x.b.example.com:{port}"))
        .send()
        .await
        .expect("an answer")
        .status();
    assert_eq!(misdirected, 421);

    // Each name got its own listener's certificate: the clients above trust only that one. A
    // name no listener serves gets no certificate at all, even from a client that would accept
    // any.
    let any_certificate = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .resolve("other.example.org", SocketAddr::from(([127, 0, 0, 1], 0)))
        .build()
        .expect("client");
    let unserved = any_certificate
        .get(format!("https://other.example.org:{port}/"))
        .send()
        .await;
    assert!(
        unserved.is_err(),
        "other.example.org, which no listener serves, was given a certificate"
    );
}

async fn wait_until_ok(client: &reqwest::Client, url: &str, log: impl Fn() -> String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if let Ok(response) = client.get(url).send().await
            && response.status() == 200
        {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{url} never answered 200; log:\n{}",
            log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_fails_only_its_listener() {
    let (web, free, taken) = (free_port(), free_port(), free_port());
    let _occupant = std::net::TcpListener::bind(("127.0.0.1", taken)).expect("occupy a port");
    let gateway = format!(
        "{}  - name: blocked\n    protocol: HTTP\n    port: {taken}\n",
        gateway_yaml(free)
    );
    let route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: default}\n\
                 spec:\n  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: web, port: 80}]\n";
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway),
        ("backend.yaml", &backend_yaml("web", web)),
        ("route.yaml", route),
    ]);
    deployment.start_echo("web", web);
    deployment.start_controller(&[]);
    wait_for_backend(free, "any.example.com", "/", "web", || {
        deployment.controller_log()
    })
    .await;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = deployment.status().await;
        let listeners = status["gateways"][0]["status"]["listeners"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let programmed = |name: &str| {
            listeners
                .iter()
                .find(|l| l["name"] == name)
                .and_then(|l| l["conditions"].as_array())
                .and_then(|c| c.iter().find(|c| c["type"] == "Programmed").cloned())
                .unwrap_or_default()
        };
        let (blocked, http) = (programmed("blocked"), programmed("http"));
        if blocked["status"] == "False" && blocked["reason"] == "Invalid" {
            let message = blocked["message"].as_str().unwrap_or_default();
            assert!(
                message.contains(&taken.to_string()),
                "the message should name the port: {message}"
            );
            assert_eq!(
                http["status"], "True",
                "the neighbour listener stays programmed: {status:#}"
            );
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "blocked listener never reported; status: {status:#}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_address_decides_where_its_listeners_bind() {
    let (web, port) = (free_port(), free_port());
    let gateway = gateway_yaml(port).replace(
        "  gatewayClassName: portico\n",
        "  gatewayClassName: portico\n  addresses: [{type: IPAddress, value: 127.0.0.2}]\n",
    );
    let route = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: default}\n\
                 spec:\n  parentRefs: [{name: gw}]\n  rules:\n  - backendRefs: [{name: web, port: 80}]\n";
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway),
        ("backend.yaml", &backend_yaml("web", web)),
        ("route.yaml", route),
    ]);
    deployment.start_echo("web", web);
    deployment.start_controller(&[]);

    let client = client();
    let url = format!("http://127.0.0.2:{port}/");
    wait_until_ok(&client, &url, || deployment.controller_log()).await;
    let other = std::net::TcpStream::connect(("127.0.0.1", port));
    assert!(
        other.is_err(),
        "the listener must bind the Gateway's address only, not --listen-address"
    );
    let status = deployment.status().await;
    assert_eq!(
        status["gateways"][0]["status"]["addresses"][0]["value"],
        "127.0.0.2"
    );
}
