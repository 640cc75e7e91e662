//! backendRefs: resolve a reference to a Service port, and the Service's ready endpoints (from
//! its EndpointSlices) into a [`Cluster`].

use std::collections::BTreeSet;
use std::net::IpAddr;

use gateway_api::httproutes::HttpRouteRulesBackendRefs;
use portico_snapshot::{Cluster, Endpoint};

use crate::conditions::{Problem, reasons};
use crate::resources::Index;
use crate::{hash, refgrant};

/// Resolve one backendRef of an HTTPRoute in `route_namespace`.
pub(crate) fn resolve(
    index: &Index<'_>,
    route_namespace: &str,
    reference: &HttpRouteRulesBackendRefs,
) -> Result<Cluster, Problem> {
    let group = refgrant::core_group(reference.group.as_deref().unwrap_or(""));
    let kind = reference.kind.as_deref().unwrap_or("Service");
    let name = &reference.name;
    if !group.is_empty() || kind != "Service" {
        return Err(Problem::new(
            reasons::INVALID_KIND,
            format!(
                "backendRef {name:?} has unsupported kind {group}/{kind}; only Service is supported"
            ),
        ));
    }
    let namespace = reference.namespace.as_deref().unwrap_or(route_namespace);
    let from = refgrant::From {
        group: crate::gateway::GATEWAY_GROUP,
        kind: "HTTPRoute",
        namespace: route_namespace,
    };
    let to = refgrant::To {
        group: "",
        kind: "Service",
        namespace,
        name,
    };
    refgrant::check(&index.resources.reference_grants, from, to)?;
    let not_found = |what: String| Problem::new(reasons::BACKEND_NOT_FOUND, what);
    let service = index
        .service(namespace, name)
        .ok_or_else(|| not_found(format!("Service {namespace}/{name} does not exist")))?;
    let port = reference.port.ok_or_else(|| {
        not_found(format!(
            "backendRef to Service {namespace}/{name} needs a port"
        ))
    })?;
    let service_port = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .and_then(|ports| ports.iter().find(|p| p.port == port))
        .ok_or_else(|| not_found(format!("Service {namespace}/{name} has no port {port}")))?;
    let port_name = service_port.name.as_deref().unwrap_or("");

    // Ready endpoints serve; when there are none, endpoints that still serve while
    // terminating take the traffic (as kube-proxy does), so a rollout's last pods drain
    // instead of the route answering 500.
    let mut ready = BTreeSet::new();
    let mut terminating = BTreeSet::new();
    // Only IP endpoints can be dialled; FQDN slices are not supported.
    let slices = index
        .endpoint_slices(namespace, name)
        .iter()
        .filter(|s| matches!(s.address_type.as_str(), "IPv4" | "IPv6"));
    for slice in slices {
        let Some(target) = slice
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref().unwrap_or("") == port_name)
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok())
        else {
            continue;
        };
        for endpoint in &slice.endpoints {
            let conditions = endpoint.conditions.as_ref();
            let set = if conditions.and_then(|c| c.ready) != Some(false) {
                &mut ready
            } else if conditions
                .is_some_and(|c| c.serving == Some(true) && c.terminating == Some(true))
            {
                &mut terminating
            } else {
                continue;
            };
            for address in endpoint
                .addresses
                .iter()
                .filter(|a| a.parse::<IpAddr>().is_ok())
            {
                set.insert(Endpoint {
                    address: address.clone(),
                    port: target,
                });
            }
        }
    }
    let endpoints = if ready.is_empty() { terminating } else { ready };
    let endpoints: Vec<Endpoint> = endpoints.into_iter().collect();
    Ok(Cluster {
        name: format!("{namespace}/{name}:{port}"),
        version: hash::content_version(&endpoints),
        endpoints,
    })
}
