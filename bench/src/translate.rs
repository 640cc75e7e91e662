//! Times translation and route lookup for a Gateway with N HTTPRoutes (each with its own
//! hostname, two path rules and a backend Service), in-process and single-threaded: from
//! scratch, and again after one route changed with the others remembered ([`RouteMemo`]).
//!
//! `cargo run --release -p portico-bench --bin translate-bench -- 5000`

use std::time::Instant;

use portico_router::{Request, Router};
use portico_translate::{Options, Parsed, RouteMemo, parse_documents, translate, translate_with};

fn objects(routes: usize) -> String {
    let mut yaml = String::from(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: portico}\n\
         spec: {controllerName: portico.dev/gateway-controller}\n---\n\
         apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: default}\n\
         spec:\n  gatewayClassName: portico\n  listeners: [{name: http, protocol: HTTP, port: 8080, allowedRoutes: {namespaces: {from: All}}}]\n",
    );
    for i in 0..routes {
        yaml.push_str(&format!(
            "---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc-{i}, namespace: default, resourceVersion: '1'}}\n\
             spec: {{ports: [{{name: http, port: 80}}]}}\n---\n\
             apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: svc-{i}, namespace: default, resourceVersion: '1', labels: {{kubernetes.io/service-name: svc-{i}}}}}\n\
             addressType: IPv4\nports: [{{name: http, port: 8080}}]\nendpoints: [{{addresses: [10.{}.{}.{}]}}]\n---\n\
             apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {{name: route-{i}, namespace: default, uid: route-{i}, generation: 1}}\n\
             spec:\n  parentRefs: [{{name: gw}}]\n  hostnames: [host-{i}.example.com]\n  rules:\n\
             \x20 - matches: [{{path: {{type: PathPrefix, value: /api}}}}]\n    backendRefs: [{{name: svc-{i}, port: 80}}]\n\
             \x20 - matches: [{{path: {{type: Exact, value: /health}}}}]\n    backendRefs: [{{name: svc-{i}, port: 80}}]\n",
            i / 65536 % 256,
            i / 256 % 256,
            i % 256
        ));
    }
    yaml
}

fn main() {
    let routes: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    let mut parsed = Parsed::default();
    parse_documents(&objects(routes), &mut parsed);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors.first());

    let runs = 5;
    let mut best = f64::MAX;
    let mut output = None;
    for _ in 0..runs {
        let start = Instant::now();
        output = Some(translate(&parsed.resources, &Options::default()));
        best = best.min(start.elapsed().as_secs_f64());
    }
    let Some(output) = output else { return };
    println!("routes: {routes}");
    println!("translate: best of {runs}: {:.1} ms", best * 1e3);

    // One route's spec changes (its generation goes up); the memo holds every other route.
    let mut resources = parsed.resources.clone();
    let mut memo = RouteMemo::default();
    translate_with(&resources, &Options::default(), &mut memo);
    let mut best_one = f64::MAX;
    for generation in 2..2 + runs {
        resources.http_routes[0].metadata.generation = Some(generation);
        let start = Instant::now();
        translate_with(&resources, &Options::default(), &mut memo);
        best_one = best_one.min(start.elapsed().as_secs_f64());
        assert_eq!(memo.compiled_last(), 1);
    }
    println!(
        "translate after one route changed: best of {runs}: {:.1} ms",
        best_one * 1e3
    );

    let snapshot = portico_snapshot_for(&output);
    let start = Instant::now();
    let router = Router::build(&snapshot).expect("router");
    println!(
        "router build: {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );

    let socket = router
        .socket([0, 0, 0, 0].into(), 8080)
        .expect("socket table");
    let headers = http::HeaderMap::new();
    let hosts: Vec<String> = (0..routes)
        .map(|i| format!("host-{i}.example.com"))
        .collect();
    let lookups = 1_000_000;
    let start = Instant::now();
    let mut found = 0usize;
    for n in 0..lookups {
        let request = Request {
            host: &hosts[n % routes],
            method: &http::Method::GET,
            path: "/api/users/42",
            query: None,
            headers: &headers,
        };
        found += usize::from(socket.route(&request).is_some());
    }
    let per_lookup = start.elapsed().as_secs_f64() * 1e9 / lookups as f64;
    assert_eq!(found, lookups);
    println!("route lookup: {per_lookup:.0} ns per request ({lookups} lookups)");
    hostile_lookups();
}

/// Lookups of the longest path and Host a request may carry (`--max-request-line-bytes` and
/// `--max-request-head-bytes` defaults), made of one-byte segments and labels: the inputs that
/// cost time quadratic in their length when every ancestor is hashed on its own.
fn hostile_lookups() {
    use portico_router::conditions::{Conditions, RequestParts};
    use portico_router::hosts::HostMap;
    use portico_router::paths::{PathKind, PathTable};

    let headers = http::HeaderMap::new();
    let path = format!("/public{}", "/a".repeat(8 * 1024));
    let request = RequestParts {
        path: &path,
        method: &http::Method::GET,
        headers: &headers,
        query: None,
    };
    let mut paths = PathTable::default();
    paths.insert(PathKind::Prefix, "/public", Conditions::default(), "public");
    paths.insert(
        PathKind::Prefix,
        "/public/a/b",
        Conditions::default(),
        "deeper",
    );
    let mut hosts = HostMap::<&str>::default();
    *hosts.entry(Some("*.example.com")) = "wildcard";
    *hosts.entry(Some("*.a.example.com")) = "deeper";
    let host = format!("{}example.org", "a.".repeat(30 * 1024));

    let runs = 100;
    let start = Instant::now();
    for _ in 0..runs {
        let found = paths.lookup(&path, &request).map(|found| *found.action);
        assert_eq!(found, Some("public"));
    }
    let per_path = start.elapsed().as_secs_f64() * 1e6 / f64::from(runs);
    let start = Instant::now();
    for _ in 0..runs {
        assert_eq!(hosts.matching(&host).next(), None);
    }
    let per_host = start.elapsed().as_secs_f64() * 1e6 / f64::from(runs);
    println!(
        "hostile lookups: {} B path of 1-byte segments {per_path:.1} us, {} B Host of 1-byte labels {per_host:.1} us",
        path.len(),
        host.len()
    );
}

fn portico_snapshot_for(output: &portico_translate::Output) -> portico_snapshot::Snapshot {
    portico_snapshot::Snapshot {
        version: 1,
        gateways: output.gateways.iter().map(|g| g.config.clone()).collect(),
        clusters: output
            .gateways
            .iter()
            .flat_map(|g| g.clusters.clone())
            .collect(),
    }
}
