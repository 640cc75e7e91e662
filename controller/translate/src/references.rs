//! What the current Gateways, routes and policies refer to, resolved or not: the Services
//! behind backendRefs, the Secrets behind certificateRefs and the ConfigMaps behind CA
//! certificate refs. A provider uses it to ignore changes to
//! objects nothing refers to, so translation work does not grow with unrelated objects.

use std::collections::HashSet;

use crate::grpc_route::GrpcRouteKind;
use crate::http_route::HttpRouteKind;
use crate::names::namespace_of;
use crate::resources::Resources;
use crate::route_kind::RouteKind;
use crate::stream_routes::{TcpRouteKind, TlsRouteKind, UdpRouteKind};

/// Namespaced names (`namespace`, `name`) that translation depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// Services named by routes' backendRefs.
    pub services: HashSet<(String, String)>,
    /// Secrets named by listener certificateRefs (of Gateways and ListenerSets) and Gateways'
    /// backend client certificates.
    pub secrets: HashSet<(String, String)>,
    /// ConfigMaps named by BackendTLSPolicies' and Gateways' frontend caCertificateRefs.
    pub config_maps: HashSet<(String, String)>,
}

/// Collect every reference in `resources`, whether or not its target exists yet.
pub fn references(resources: &Resources) -> References {
    let mut found = References::default();
    services_of::<HttpRouteKind>(resources, &mut found.services);
    services_of::<GrpcRouteKind>(resources, &mut found.services);
    services_of::<TlsRouteKind>(resources, &mut found.services);
    services_of::<TcpRouteKind>(resources, &mut found.services);
    services_of::<UdpRouteKind>(resources, &mut found.services);
    let gateway_refs = resources.gateways.iter().flat_map(|gateway| {
        let namespace = namespace_of(gateway);
        gateway
            .spec
            .listeners
            .iter()
            .filter_map(|l| l.tls.as_ref())
            .flat_map(|tls| tls.certificate_refs.iter().flatten())
            .map(move |r| (namespace.clone(), &r.kind, &r.namespace, &r.name))
    });
    let listener_set_refs = resources.listener_sets.iter().flat_map(|set| {
        let namespace = namespace_of(set);
        set.spec
            .listeners
            .iter()
            .filter_map(|l| l.tls.as_ref())
            .flat_map(|tls| tls.certificate_refs.iter().flatten())
            .map(move |r| (namespace.clone(), &r.kind, &r.namespace, &r.name))
    });
    for (namespace, kind, target, name) in gateway_refs.chain(listener_set_refs) {
        if kind.as_deref().unwrap_or("Secret") == "Secret" {
            let target = target.clone().unwrap_or(namespace);
            found.secrets.insert((target, name.clone()));
        }
    }
    for gateway in &resources.gateways {
        let namespace = namespace_of(gateway);
        let client_certificate = gateway
            .spec
            .tls
            .as_ref()
            .and_then(|tls| tls.backend.as_ref())
            .and_then(|backend| backend.client_certificate_ref.as_ref());
        if let Some(reference) = client_certificate {
            let target = reference.namespace.clone().unwrap_or(namespace.clone());
            found.secrets.insert((target, reference.name.clone()));
        }
        let frontend = gateway.spec.tls.as_ref().and_then(|t| t.frontend.as_ref());
        let default = frontend
            .and_then(|f| f.default.validation.as_ref())
            .into_iter()
            .flat_map(|v| &v.ca_certificate_refs)
            .map(|r| (&r.name, &r.namespace));
        let per_port = frontend
            .and_then(|f| f.per_port.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|p| p.tls.validation.as_ref())
            .flat_map(|v| &v.ca_certificate_refs)
            .map(|r| (&r.name, &r.namespace));
        for (name, target) in default.chain(per_port) {
            let target = target.clone().unwrap_or_else(|| namespace.clone());
            found.config_maps.insert((target, name.clone()));
        }
    }
    for policy in &resources.backend_tls_policies {
        let namespace = namespace_of(policy);
        let refs = policy.spec.validation.ca_certificate_refs.iter().flatten();
        for reference in refs.filter(|r| r.group.is_empty() && r.kind == "ConfigMap") {
            found
                .config_maps
                .insert((namespace.clone(), reference.name.clone()));
        }
    }
    found
}

/// Services named by the backendRefs of every route of kind `K`.
fn services_of<K: RouteKind>(resources: &Resources, services: &mut HashSet<(String, String)>) {
    for route in K::objects(resources) {
        let namespace = namespace_of(route);
        for reference in K::backend_refs(route)
            .into_iter()
            .filter(|r| r.is_service())
        {
            let target = reference.target_namespace(&namespace).to_string();
            services.insert((target, reference.name.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::documents::{Parsed, parse_documents};

    #[test]
    fn collects_resolved_and_unresolved_references_with_default_namespaces() {
        let mut parsed = Parsed::default();
        parse_documents(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: apps}\n\
             spec:\n  rules:\n  - backendRefs:\n    - {name: web, port: 80}\n    - {name: far, namespace: other, port: 80}\n\
             \x20   - {name: cm, kind: ConfigMap, group: '', port: 80}\n---\n\
             apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g, namespace: infra}\n\
             spec:\n  gatewayClassName: c\n  listeners:\n  - name: https\n    port: 443\n    protocol: HTTPS\n\
             \x20   tls: {certificateRefs: [{name: cert}, {name: shared, namespace: certs}]}\n---\n\
             apiVersion: gateway.networking.k8s.io/v1\nkind: ListenerSet\nmetadata: {name: s, namespace: team}\n\
             spec:\n  parentRef: {name: g, namespace: infra}\n  listeners:\n  - name: https\n    port: 443\n    protocol: HTTPS\n\
             \x20   tls: {certificateRefs: [{name: team-cert}]}\n",
            &mut parsed,
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let found = references(&parsed.resources);
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            found.services,
            HashSet::from([pair("apps", "web"), pair("other", "far")])
        );
        assert_eq!(
            found.secrets,
            HashSet::from([
                pair("infra", "cert"),
                pair("certs", "shared"),
                pair("team", "team-cert")
            ])
        );
    }
}
