//! Translation with a [`RouteMemo`]: a change recompiles only the routes it can affect, and the
//! output is always exactly what a translation from scratch gives.

use portico_translate::{
    Options, Parsed, Resources, RouteMemo, parse_documents, translate, translate_with,
};

/// A Gateway with `routes` HTTPRoutes, each sending to its own Service, as an API server would
/// hand them out (with `uid`, `generation` and `resourceVersion`).
fn cluster(routes: usize) -> Resources {
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
             apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n\
             metadata: {{name: svc-{i}-x, namespace: default, resourceVersion: '1', labels: {{kubernetes.io/service-name: svc-{i}}}}}\n\
             addressType: IPv4\nports: [{{name: http, port: 8080}}]\nendpoints: [{{addresses: [10.0.0.{i}]}}]\n---\n\
             apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
             metadata: {{name: route-{i}, namespace: default, uid: uid-{i}, generation: 1}}\n\
             spec:\n  parentRefs: [{{name: gw, namespace: default}}]\n  hostnames: [host-{i}.example.com]\n\
             \x20 rules: [{{backendRefs: [{{name: svc-{i}, port: 80}}]}}]\n",
        ));
    }
    let mut parsed = Parsed::default();
    parse_documents(&yaml, &mut parsed);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    parsed.resources
}

fn route<'a>(
    resources: &'a mut Resources,
    name: &str,
) -> &'a mut portico_translate::route_kinds::httproutes::HttpRoute {
    resources
        .http_routes
        .iter_mut()
        .find(|r| r.metadata.name.as_deref() == Some(name))
        .expect("route")
}

/// Translate with the memo, check the output against a translation from scratch, and return
/// how many routes were compiled.
fn recompiled(resources: &Resources, memo: &mut RouteMemo) -> usize {
    let options = Options::default();
    let remembered = translate_with(resources, &options, memo);
    assert_eq!(
        remembered,
        translate(resources, &options),
        "memo changed the output"
    );
    memo.compiled_last()
}

#[test]
fn a_change_recompiles_only_the_routes_it_can_affect() {
    let mut resources = cluster(50);
    let mut memo = RouteMemo::default();
    assert_eq!(recompiled(&resources, &mut memo), 50);
    assert_eq!(recompiled(&resources, &mut memo), 0, "nothing changed");

    let edited = route(&mut resources, "route-7");
    edited.spec.rules.as_mut().expect("rules")[0]
        .backend_refs
        .as_mut()
        .expect("backendRefs")[0]
        .name = "svc-8".into();
    edited.metadata.generation = Some(2);
    assert_eq!(
        recompiled(&resources, &mut memo),
        1,
        "one route's spec changed"
    );

    let slice = resources
        .endpoint_slices
        .iter_mut()
        .find(|s| s.metadata.name.as_deref() == Some("svc-8-x"))
        .expect("slice");
    slice.endpoints[0].addresses = vec!["10.9.9.9".into()];
    slice.metadata.resource_version = Some("2".into());
    assert_eq!(
        recompiled(&resources, &mut memo),
        2,
        "route-7 and route-8 both send to svc-8"
    );

    resources
        .services
        .retain(|s| s.metadata.name.as_deref() != Some("svc-3"));
    assert_eq!(recompiled(&resources, &mut memo), 1, "svc-3 was deleted");

    resources
        .http_routes
        .retain(|r| r.metadata.name.as_deref() != Some("route-4"));
    assert_eq!(
        recompiled(&resources, &mut memo),
        0,
        "a deleted route needs no work"
    );
}

#[test]
fn a_reference_grant_recompiles_the_routes_it_permits() {
    let mut resources = cluster(3);
    let moved = route(&mut resources, "route-1");
    moved.metadata.namespace = Some("apps".into());
    moved.spec.rules.as_mut().expect("rules")[0]
        .backend_refs
        .as_mut()
        .expect("backendRefs")[0]
        .namespace = Some("default".into());
    let mut memo = RouteMemo::default();
    assert_eq!(recompiled(&resources, &mut memo), 3);

    let mut grant = Parsed::default();
    parse_documents(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: ReferenceGrant\n\
         metadata: {name: apps-to-default, namespace: default}\n\
         spec:\n  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: apps}]\n\
         \x20 to: [{group: '', kind: Service}]\n",
        &mut grant,
    );
    resources.reference_grants = grant.resources.reference_grants;
    assert_eq!(
        recompiled(&resources, &mut memo),
        1,
        "only route-1 crosses namespaces"
    );
}

#[test]
fn objects_without_server_metadata_are_always_compiled() {
    let mut resources = cluster(5);
    for route in &mut resources.http_routes {
        route.metadata.uid = None;
    }
    let mut memo = RouteMemo::default();
    assert_eq!(recompiled(&resources, &mut memo), 5);
    assert_eq!(recompiled(&resources, &mut memo), 5);
}
