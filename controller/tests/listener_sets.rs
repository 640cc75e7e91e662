//! End-to-end tests of ListenerSets in standalone mode: listeners a ListenerSet adds to a
//! Gateway are served beside the Gateway's own (on its ports and on new ones), routes attach to
//! the object they name, and a set the Gateway does not allow serves nothing and says why.

mod support;

use std::time::{Duration, Instant};

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listener_sets_add_listeners_their_gateway_allows() {
    let (web, team, port, extra_port) = (free_port(), free_port(), free_port(), free_port());
    let config = format!(
        r#"apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: portico}}
spec: {{controllerName: portico.dev/gateway-controller}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: default}}
spec:
  gatewayClassName: portico
  allowedListeners: {{namespaces: {{from: Same}}}}
  listeners:
  - {{name: http, protocol: HTTP, port: {port}, hostname: gw.example.com}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {{name: team, namespace: default}}
spec:
  parentRef: {{name: gw}}
  listeners:
  - {{name: http, protocol: HTTP, port: {port}, hostname: team.example.com}}
  - {{name: extra, protocol: HTTP, port: {extra_port}, hostname: team.example.com}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {{name: outsider, namespace: other}}
spec:
  parentRef: {{name: gw, namespace: default}}
  listeners:
  - {{name: http, protocol: HTTP, port: {port}, hostname: outsider.example.com}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: platform, namespace: default}}
spec:
  parentRefs: [{{name: gw}}]
  rules:
  - backendRefs: [{{name: web, port: 80}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: team, namespace: default}}
spec:
  parentRefs: [{{kind: ListenerSet, group: gateway.networking.k8s.io, name: team}}]
  rules:
  - backendRefs: [{{name: team, port: 80}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: outsider, namespace: other}}
spec:
  parentRefs: [{{kind: ListenerSet, group: gateway.networking.k8s.io, name: outsider}}]
  rules:
  - backendRefs: [{{name: team, namespace: default, port: 80}}]
"#
    );
    let mut deployment = Deployment::new(&[
        ("config.yaml", &config),
        (
            "backends.yaml",
            &format!(
                "{}---\n{}",
                backend_yaml("web", web),
                backend_yaml("team", team)
            ),
        ),
    ]);
    deployment.start_echo("web", web);
    deployment.start_echo("team", team);
    deployment.start_controller(&[]);
    let log = || deployment.controller_log();

    wait_for_backend(port, "gw.example.com", "/", "web", log).await;
    wait_for_backend(port, "team.example.com", "/", "team", log).await;
    wait_for_backend(extra_port, "team.example.com", "/", "team", log).await;
    let client = client();
    for (port, host) in [
        (extra_port, "gw.example.com"),
        (port, "outsider.example.com"),
    ] {
        let answer = get(&client, port, host, "/", &[]).await.expect("an answer");
        assert_eq!(
            answer.status, 404,
            "{host} on port {port} is served by no listener routes attach to: {answer:?}"
        );
    }

    // Once the data plane applied the configuration, the admitted set is programmed and the
    // one from a namespace the Gateway does not allow says so.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = deployment.status().await;
        let set = |name: &str| {
            status["listenerSets"]
                .as_array()
                .and_then(|sets| sets.iter().find(|s| s["name"] == name))
                .cloned()
                .unwrap_or_default()
        };
        let condition = |set: &serde_json::Value, type_: &str| {
            set["status"]["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == type_))
                .map(|c| (c["status"].clone(), c["reason"].clone()))
                .unwrap_or_default()
        };
        let (team, outsider) = (set("team"), set("outsider"));
        if condition(&team, "Programmed") == ("True".into(), "Programmed".into()) {
            assert_eq!(
                condition(&team, "Accepted"),
                ("True".into(), "Accepted".into())
            );
            let attached: Vec<_> = team["status"]["listeners"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| (l["name"].clone(), l["attachedRoutes"].clone()))
                .collect();
            assert_eq!(
                attached,
                [("http".into(), 1.into()), ("extra".into(), 1.into())]
            );
            assert_eq!(
                condition(&outsider, "Accepted"),
                ("False".into(), "NotAllowed".into())
            );
            let gateway = &status["gateways"][0]["status"];
            assert_eq!(gateway["attachedListenerSets"], 1, "{gateway:#}");
            let own: Vec<_> = gateway["listeners"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|l| l["name"].clone())
                .collect();
            assert_eq!(own, ["http"], "the Gateway lists only its own listeners");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the ListenerSet was never programmed: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
