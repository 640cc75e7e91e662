//! `portico migrate` end to end: Ingresses as an ingress-nginx user writes them go through the
//! real binary, its output is served by `portico standalone` with real echo backends, and
//! requests are answered as ingress-nginx would answer them: host and path routing, the older
//! Ingress keeping a path two claim, a canary by header, `from-to-www-redirect`, `rewrite-target` with the
//! rest-of-path idiom, `permanent-redirect`, `app-root`; the report names what could not be
//! carried over. Ingresses are also read from a real API server (`--kubeconfig`, `-n`, `-A`).

mod support;

use std::process::Stdio;

use support::*;

const INGRESSES: &str = r#"apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  namespace: default
  creationTimestamp: '2026-01-01T00:00:00Z'
  annotations:
    nginx.ingress.kubernetes.io/app-root: /home
    nginx.ingress.kubernetes.io/from-to-www-redirect: "true"
spec:
  ingressClassName: nginx
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
      - {path: /cart, pathType: Exact, backend: {service: {name: cart, port: {name: http}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop-next
  namespace: default
  creationTimestamp: '2026-02-01T00:00:00Z'
spec:
  ingressClassName: nginx
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /cart, pathType: Exact, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop-canary
  namespace: default
  creationTimestamp: '2026-03-01T00:00:00Z'
  annotations:
    nginx.ingress.kubernetes.io/canary: "true"
    nginx.ingress.kubernetes.io/canary-by-header: X-Canary
spec:
  ingressClassName: nginx
  rules:
  - host: shop.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: canary, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  namespace: default
  annotations:
    nginx.ingress.kubernetes.io/rewrite-target: /$2
    nginx.ingress.kubernetes.io/limit-rps: "5"
spec:
  ingressClassName: nginx
  rules:
  - host: api.example.com
    http:
      paths:
      - {path: "/v1(/|$)(.*)", pathType: ImplementationSpecific, backend: {service: {name: api, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: moved
  namespace: default
  annotations:
    nginx.ingress.kubernetes.io/permanent-redirect: https://www.example.org/new
spec:
  ingressClassName: nginx
  rules:
  - host: old.example.com
    http:
      paths:
      - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
"#;

/// Run `portico migrate -f -` on `input`: (stdout, stderr).
fn migrate(input: &str) -> (String, String) {
    use std::io::Write;
    let mut child = portico()
        .args(["migrate", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("portico migrate");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("migrate ran");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "portico migrate failed:\n{stderr}");
    (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
}

#[tokio::test]
async fn migrated_ingresses_answer_as_ingress_nginx_would() {
    let (web, cart, api, canary) = (free_port(), free_port(), free_port(), free_port());
    let backends = [
        backend_yaml("web", web),
        backend_yaml("cart", cart),
        backend_yaml("api", api),
        backend_yaml("canary", canary),
    ]
    .join("---\n");
    // The Services go in too: a named port is looked up there.
    let (objects, report) = migrate(&format!("{INGRESSES}---\n{backends}"));
    assert!(
        report.contains("default/api: limit-rps: not translated"),
        "{report}"
    );
    assert!(
        report.contains("default/shop-next: rules: approximated"),
        "{report}"
    );
    // The Gateway listens on 80; the test serves it on a free port instead.
    let port = free_port();
    let objects = objects.replacen("    port: 80\n", &format!("    port: {port}\n"), 1);
    let class = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n\
                 metadata: {name: portico}\nspec: {controllerName: portico.dev/gateway-controller}\n";
    let config = format!("{class}---\n{objects}---\n{backends}");
    let mut deployment = Deployment::new(&[("config.yaml", &config)]);
    deployment.start_echo("web", web);
    deployment.start_echo("cart", cart);
    deployment.start_echo("api", api);
    deployment.start_echo("canary", canary);
    deployment.start_controller(&[]);
    wait_for_backend(port, "shop.example.com", "/products", "web", || {
        deployment.controller_log()
    })
    .await;
    let client = client();
    let ask = |host: &'static str, path: &'static str| get(&client, port, host, path, &[]);

    let cart_answer = ask("shop.example.com", "/cart").await.expect("cart");
    assert_eq!(
        cart_answer.backend.as_deref(),
        Some("cart"),
        "the older Ingress keeps /cart, through the Service's named port"
    );
    let root = ask("shop.example.com", "/").await.expect("root");
    // The redirect keeps the listener's port, as ingress-nginx keeps `$http_host`.
    let home = format!("http://shop.example.com:{port}/home");
    assert_eq!((root.status, root.location), (302, Some(home)));

    let www = ask("www.shop.example.com", "/products?id=1")
        .await
        .expect("www");
    let bare = format!("http://shop.example.com:{port}/products?id=1");
    assert_eq!(
        (www.status, www.location),
        (308, Some(bare)),
        "from-to-www-redirect"
    );

    // The canary Ingress takes requests saying `X-Canary: always`, and only those.
    let canary_header = [("x-canary", "always")];
    let to_canary = get(
        &client,
        port,
        "shop.example.com",
        "/products",
        &canary_header,
    )
    .await;
    assert_eq!(
        to_canary.expect("canary").backend.as_deref(),
        Some("canary")
    );
    let never = [("x-canary", "never")];
    let to_main = get(&client, port, "shop.example.com", "/products", &never).await;
    assert_eq!(to_main.expect("main").backend.as_deref(), Some("web"));

    let api_answer = ask("api.example.com", "/v1/items/7").await.expect("api");
    assert_eq!(api_answer.backend.as_deref(), Some("api"));
    assert_eq!(api_answer.body["path"], "/items/7", "{:?}", api_answer.body);
    let bare = ask("api.example.com", "/v1").await.expect("api root");
    assert_eq!(bare.body["path"], "/");

    let moved = ask("old.example.com", "/anything").await.expect("moved");
    assert_eq!(
        (moved.status, moved.location.as_deref()),
        (301, Some("https://www.example.org/new"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingresses_are_read_from_a_cluster_by_namespace() {
    use k8s_openapi::api::networking::v1::Ingress;
    use kube::Api;
    use support::cluster::{Cluster, create};

    let cluster = Cluster::start();
    let client = cluster.client().await;
    create(
        &Api::<Ingress>::namespaced(client, "default"),
        "metadata: {name: web}\nspec:\n  rules:\n  - host: web.example.com\n    http:\n      paths:\n      \
         - {path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}\n",
    )
    .await;
    let kubeconfig = cluster.kubeconfig();
    let run = |scope: &[&str]| {
        portico()
            .args(["migrate", "--kubeconfig"])
            .arg(&kubeconfig)
            .args(scope)
            .output()
            .expect("portico migrate")
    };
    for scope in [&["-A"][..], &["-n", "default"]] {
        let output = run(scope);
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{scope:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("name: web-web.example.com"),
            "{scope:?}:\n{stdout}"
        );
        assert!(stdout.contains("- web.example.com"), "{scope:?}:\n{stdout}");
    }
    let elsewhere = run(&["-n", "other"]);
    assert!(!elsewhere.status.success(), "an empty namespace migrated");
    assert!(String::from_utf8_lossy(&elsewhere.stderr).contains("no Ingress found"));
}
