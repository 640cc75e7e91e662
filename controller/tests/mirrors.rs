//! RequestMirror in standalone mode, over real sockets with real echo backends: copies reach
//! the mirror with their method, path, query and body; several mirrors each get one; a
//! fraction copies about that share; and a mirror that stalls or cannot be reached never
//! delays or fails the request it copies, even one with a body larger than a copy may queue.

mod support;

use std::time::{Duration, Instant};

use support::*;

const ROUTE: &str = r#"apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mirrored, namespace: default}
spec:
  parentRefs: [{name: gw}]
  hostnames: ["shop.example.com"]
  rules:
  - matches: [{path: {type: PathPrefix, value: /all}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 80}}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /two}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 80}}
    - type: RequestMirror
      requestMirror: {backendRef: {name: second, port: 80}}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /half}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: shadow, port: 80}, fraction: {numerator: 1, denominator: 2}}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /stalled}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: stalled, port: 80}}
    backendRefs: [{name: web, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /unreachable}}]
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: down, port: 80}}
    backendRefs: [{name: web, port: 80}]
"#;

/// Lines of the echo backend's `log` recording a request to `path`.
fn logged(log: &str, path: &str) -> usize {
    let field = format!("path=\"{path}\"");
    log.lines().filter(|line| line.contains(&field)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_reach_mirrors_and_never_hold_up_the_request() {
    let proxy = free_port();
    let (web, shadow, second, down) = (free_port(), free_port(), free_port(), free_port());
    // Accepts connections and never answers.
    let stalled = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let stalled_port = stalled.local_addr().expect("address").port();
    let backends = [
        ("web", web),
        ("shadow", shadow),
        ("second", second),
        ("stalled", stalled_port),
        ("down", down),
    ]
    .iter()
    .map(|(name, port)| backend_yaml(name, *port))
    .collect::<Vec<_>>()
    .join("---\n");
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &gateway_yaml(proxy)),
        ("route.yaml", ROUTE),
        ("backends.yaml", &backends),
    ]);
    for (name, port) in [("web", web), ("shadow", shadow), ("second", second)] {
        deployment.start_echo(name, port);
    }
    deployment.start_controller(&[]);
    wait_for_backend(proxy, "shop.example.com", "/all/ready", "web", || {
        deployment.controller_log()
    })
    .await;
    let client = client();
    let url = |path: &str| format!("http://127.0.0.1:{proxy}{path}");
    let eventually = |what: &str, done: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(
                Instant::now() < deadline,
                "{what}\nshadow:\n{}\nsecond:\n{}\n{}",
                deployment.echo_log("shadow"),
                deployment.echo_log("second"),
                deployment.controller_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };

    // The copy carries the method, path, query and body; the answer is the main backend's.
    let answer = client
        .post(url("/all/order?id=7"))
        .header("host", "shop.example.com")
        .body("hello")
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    let seen: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(seen["name"], "web");
    eventually("the copy reaches shadow", &|| {
        deployment.echo_log("shadow").lines().any(|l| {
            l.contains("method=POST")
                && l.contains("path=\"/all/order\"")
                && l.contains("query=\"id=7\"")
                && l.contains("body_bytes=5")
        })
    });

    // Two mirrors: one copy each.
    get(&client, proxy, "shop.example.com", "/two", &[])
        .await
        .expect("answer");
    eventually("copies reach both mirrors", &|| {
        logged(&deployment.echo_log("shadow"), "/two") == 1
            && logged(&deployment.echo_log("second"), "/two") == 1
    });

    // A fraction of 1/2 copies about half of 200 requests.
    for _ in 0..200 {
        let answer = get(&client, proxy, "shop.example.com", "/half", &[])
            .await
            .expect("answer");
        assert_eq!(answer.backend.as_deref(), Some("web"));
    }
    std::thread::sleep(Duration::from_millis(500));
    let copies = logged(&deployment.echo_log("shadow"), "/half");
    assert!(
        (60..=140).contains(&copies),
        "{copies} of 200 requests copied at 1/2"
    );

    // A mirror that never answers, or cannot be reached, changes nothing for the request.
    for path in ["/stalled", "/unreachable"] {
        let started = Instant::now();
        for _ in 0..20 {
            let answer = get(&client, proxy, "shop.example.com", path, &[])
                .await
                .expect("answer");
            assert_eq!(answer.status, 200, "{path}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path}: 20 requests took {:?}",
            started.elapsed()
        );
    }
    assert_eq!(logged(&deployment.echo_log("web"), "/unreachable"), 20);
    // Nor does a large body the stalled mirror cannot take: its copy is abandoned.
    let started = Instant::now();
    let answer = client
        .post(url("/stalled/upload"))
        .header("host", "shop.example.com")
        .body(vec![b'x'; 4 * 1024 * 1024])
        .send()
        .await
        .expect("answer");
    assert_eq!(answer.status(), 200);
    let seen: serde_json::Value = answer.json().await.expect("json");
    assert_eq!(seen["bodyBytes"], 4 * 1024 * 1024);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(stalled);
}
