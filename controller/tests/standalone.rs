//! End-to-end tests of `portico standalone`: real controller, data plane and echo backend
//! processes on loopback, real HTTP requests.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::*;

const ROUTES: &str = r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: app
  namespace: default
spec:
  parentRefs:
  - name: gw
  hostnames: ["app.example.com"]
  rules:
  - matches:
    - path: {type: PathPrefix, value: /api}
    backendRefs:
    - {name: api, port: 80}
  - matches:
    - path: {type: Exact, value: /exact}
    backendRefs:
    - {name: exact, port: 80}
  - matches:
    - path: {type: PathPrefix, value: /api}
      headers:
      - {name: x-version, value: "2"}
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{name: x-routed-by, value: portico}]
        remove: [x-remove-me]
    backendRefs:
    - {name: exact, port: 80}
  - matches:
    - path: {type: PathPrefix, value: /old}
    filters:
    - type: RequestRedirect
      requestRedirect: {hostname: new.example.com, statusCode: 301}
  - matches:
    - path: {type: PathPrefix, value: /broken}
    backendRefs:
    - {name: missing, port: 80}
  - backendRefs:
    - {name: web, port: 80}
"#;

fn three_backends() -> (Deployment, u16) {
    let (api, exact, web, proxy) = (free_port(), free_port(), free_port(), free_port());
    let backends = format!(
        "{}---\n{}---\n{}",
        backend_yaml("api", api),
        backend_yaml("exact", exact),
        backend_yaml("web", web)
    );
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway_yaml(proxy)),
        ("backends.yaml", &backends),
        ("routes.yaml", ROUTES),
    ]);
    deployment.start_echo("api", api);
    deployment.start_echo("exact", exact);
    deployment.start_echo("web", web);
    (deployment, proxy)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_routed_by_host_path_and_header() {
    let (mut deployment, proxy) = three_backends();
    deployment.start_controller(&[]);
    wait_for_backend(proxy, "app.example.com", "/", "web", || {
        deployment.controller_log()
    })
    .await;
    let client = client();
    let route = |path: &'static str, headers: &'static [(&'static str, &'static str)]| {
        let client = client.clone();
        async move {
            get(&client, proxy, "app.example.com", path, headers)
                .await
                .expect("request")
        }
    };

    assert_eq!(
        route("/api/users", &[]).await.backend.as_deref(),
        Some("api")
    );
    assert_eq!(route("/exact", &[]).await.backend.as_deref(), Some("exact"));
    assert_eq!(
        route("/exact/more", &[]).await.backend.as_deref(),
        Some("web")
    );
    assert_eq!(route("/apiary", &[]).await.backend.as_deref(), Some("web"));

    let with_header = route("/api/users", &[("x-version", "2"), ("x-remove-me", "x")]).await;
    assert_eq!(with_header.backend.as_deref(), Some("exact"));
    assert_eq!(with_header.body["headers"]["x-routed-by"], "portico");
    assert!(with_header.body["headers"].get("x-remove-me").is_none());

    let redirect = route("/old/page?q=1", &[]).await;
    assert_eq!(redirect.status, 301);
    let expected = format!("http://new.example.com:{proxy}/old/page?q=1");
    assert_eq!(redirect.location.as_deref(), Some(expected.as_str()));

    assert_eq!(
        route("/broken", &[]).await.status,
        500,
        "a route whose backend is missing answers 500"
    );
    let unknown_host = get(&client, proxy, "unknown.example.com", "/", &[])
        .await
        .expect("request");
    assert_eq!(unknown_host.status, 404);

    let metrics_url = format!(
        "http://127.0.0.1:{}/metrics",
        deployment.ports.dataplane_admin
    );
    // A request is counted after its response is sent: poll until the last one shows.
    let counter = |metrics: &str, labels: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(&format!("portico_dataplane_requests_total{{{labels}}}")))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let metrics = reqwest::get(&metrics_url)
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        let counted = counter(&metrics, r#"class="2xx",listener="default/gw/http""#) >= 5
            && counter(&metrics, r#"class="5xx",listener="default/gw/http""#) >= 1
            && counter(&metrics, r#"class="4xx",listener="""#) >= 1;
        if counted {
            break;
        }
        assert!(Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let status = deployment.status().await;
    let route_status = &status["httpRoutes"][0]["status"]["parents"][0]["conditions"];
    let resolved = route_status
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "ResolvedRefs"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(resolved["status"], "False");
    assert_eq!(resolved["reason"], "BackendNotFound");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_are_honoured_over_a_thousand_requests() {
    let (heavy, light, proxy) = (free_port(), free_port(), free_port());
    let route = r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: split, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs:
    - {name: heavy, port: 80, weight: 3}
    - {name: light, port: 80, weight: 1}
    - {name: never, port: 80, weight: 0}
"#;
    let backends = format!(
        "{}---\n{}---\n{}",
        backend_yaml("heavy", heavy),
        backend_yaml("light", light),
        backend_yaml("never", free_port())
    );
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway_yaml(proxy)),
        ("backends.yaml", &backends),
        ("route.yaml", route),
    ]);
    deployment.start_echo("heavy", heavy);
    deployment.start_echo("light", light);
    deployment.start_controller(&[]);
    wait_for_backend(proxy, "any.example.com", "/", "heavy", || {
        deployment.controller_log()
    })
    .await;

    let client = client();
    let mut heavy_count = 0;
    for _ in 0..1000 {
        let answer = get(&client, proxy, "any.example.com", "/", &[])
            .await
            .expect("request");
        match answer.backend.as_deref() {
            Some("heavy") => heavy_count += 1,
            Some("light") => {}
            other => panic!("unexpected answer {other:?} (status {})", answer.status),
        }
    }
    // Binomial(1000, 0.75): mean 750, standard deviation ~13.7; allow five deviations.
    assert!(
        (680..=820).contains(&heavy_count),
        "heavy got {heavy_count} of 1000"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_edits_under_load_fail_no_request() {
    let (stable, moving, proxy) = (free_port(), free_port(), free_port());
    let backends = format!(
        "{}---\n{}",
        backend_yaml("stable", stable),
        backend_yaml("moving", moving)
    );
    let stable_route = r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: stable, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [stable.example.com]
  rules:
  - backendRefs: [{name: stable, port: 80}]
"#;
    let moving_route = |i: usize| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: moving, namespace: default}}\n\
             spec:\n  parentRefs: [{{name: gw}}]\n  hostnames: [moving.example.com]\n  rules:\n\
             \x20 - matches: [{{path: {{type: PathPrefix, value: /v{i}}}}}]\n    backendRefs: [{{name: moving, port: 80}}]\n"
        )
    };
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway_yaml(proxy)),
        ("backends.yaml", &backends),
        ("stable.yaml", stable_route),
        ("moving.yaml", &moving_route(0)),
    ]);
    deployment.start_echo("stable", stable);
    deployment.start_echo("moving", moving);
    deployment.start_controller(&[]);
    wait_for_backend(proxy, "stable.example.com", "/", "stable", || {
        deployment.controller_log()
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicUsize::new(0));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (stop, served) = (stop.clone(), served.clone());
        clients.push(tokio::spawn(async move {
            let client = client();
            let mut failures = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                match get(&client, proxy, "stable.example.com", "/", &[]).await {
                    Ok(answer) if answer.backend.as_deref() == Some("stable") => {
                        served.fetch_add(1, Ordering::Relaxed);
                    }
                    other => failures.push(format!("{other:?}")),
                }
            }
            failures
        }));
    }
    for i in 1..=100 {
        deployment.write("moving.yaml", &moving_route(i));
        let path = format!("/v{i}");
        wait_for_backend(proxy, "moving.example.com", &path, "moving", || {
            deployment.controller_log()
        })
        .await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for task in clients {
        failures.extend(task.await.expect("client task"));
    }
    assert!(
        failures.is_empty(),
        "{} failed or wrong responses, e.g. {:?}",
        failures.len(),
        failures.first()
    );
    assert!(
        served.load(Ordering::Relaxed) > 100,
        "the clients barely ran"
    );
    let old = get(&client(), proxy, "moving.example.com", "/v1", &[])
        .await
        .expect("request");
    assert_eq!(old.status, 404, "the edited-away path must no longer route");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_plane_outlives_its_controller_and_resubscribes() {
    let (web, proxy) = (free_port(), free_port());
    let route = |backend: &str| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: r, namespace: default}}\n\
             spec:\n  parentRefs: [{{name: gw}}]\n  rules:\n  - backendRefs: [{{name: {backend}, port: 80}}]\n"
        )
    };
    let other = free_port();
    let backends = format!(
        "{}---\n{}",
        backend_yaml("web", web),
        backend_yaml("other", other)
    );
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway_yaml(proxy)),
        ("backends.yaml", &backends),
        ("route.yaml", &route("web")),
    ]);
    deployment.start_echo("web", web);
    deployment.start_echo("other", other);
    deployment.start_controller(&["--external-dataplane"]);
    let dataplane = deployment.start_dataplane("e2e", &[]);
    wait_for_backend(proxy, "x.example.com", "/", "web", || dataplane.log()).await;

    if let Some(controller) = deployment.controller.as_mut() {
        controller.kill();
    }
    let client = client();
    for _ in 0..50 {
        let answer = get(&client, proxy, "x.example.com", "/", &[])
            .await
            .expect("served without a controller");
        assert_eq!(answer.backend.as_deref(), Some("web"));
    }

    deployment.write("route.yaml", &route("other"));
    deployment.start_controller(&["--external-dataplane"]);
    wait_for_backend(proxy, "x.example.com", "/", "other", || dataplane.log()).await;
    let subscriptions = dataplane.log().matches(" subscribed").count();
    assert!(
        subscriptions >= 2,
        "the data plane should log its resubscription (logged {subscriptions} subscription(s))"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_reported_and_spares_its_neighbours() {
    let (web, proxy) = (free_port(), free_port());
    let good = r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: good, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: web, port: 80}]
"#;
    let broken = "apiVersion: v1\nkind: Service\nmetadata: [this is not\n";
    let unsupported = r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: regex, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: [regex.example.com]
  rules:
  - matches: [{path: {type: RegularExpression, value: "/a(.*"}}]
    backendRefs: [{name: web, port: 80}]
"#;
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway_yaml(proxy)),
        ("backend.yaml", &backend_yaml("web", web)),
        ("good.yaml", good),
        ("broken.yaml", broken),
        ("unsupported.yaml", unsupported),
    ]);
    deployment.start_echo("web", web);
    deployment.start_controller(&[]);
    wait_for_backend(proxy, "any.example.com", "/", "web", || {
        deployment.controller_log()
    })
    .await;

    let log = deployment.controller_log();
    assert!(
        log.contains("broken.yaml") && log.contains("line"),
        "the parse error must name file and line:\n{log}"
    );
    let status = deployment.status().await;
    let regex = status["httpRoutes"]
        .as_array()
        .and_then(|routes| routes.iter().find(|r| r["name"] == "regex"))
        .cloned()
        .unwrap_or_default();
    let accepted = &regex["status"]["parents"][0]["conditions"][0];
    assert_eq!(accepted["type"], "Accepted");
    assert_eq!(accepted["status"], "False");
    assert_eq!(accepted["reason"], "UnsupportedValue");
    assert!(
        accepted["message"]
            .as_str()
            .is_some_and(|m| m.contains("/a(.*") && m.contains("unclosed group")),
        "the message names the bad expression: {accepted}"
    );
    let programmed = deployment
        .programmed_when(|c| c["status"] != "False" || c["reason"] != "Pending")
        .await;
    assert_eq!(programmed["status"], "True", "{programmed:#}");
    assert_eq!(
        programmed["observedGeneration"], 1,
        "files get generations as from an API server"
    );
    assert!(
        deployment
            .controller
            .as_mut()
            .is_some_and(Process::is_running)
    );
}
