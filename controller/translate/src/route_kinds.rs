//! Route shapes every kind shares (`ParentReference`, `RouteStatus`), TCPRoute and UDPRoute
//! as Gateway API v1.6 serves them (`gateway.networking.k8s.io/v1`), and the HTTPRoute type
//! Portico reads.
//!
//! The `gateway-api` crate generates one copy of the shared shapes per kind, and only carries
//! TCPRoute and UDPRoute in their older `v1alpha2` form, which v1.6 no longer serves. Statuses
//! of every route kind are built and written in the one shape here.

/// HTTPRoute as the experimental channel of Gateway API v1.6 spells it: the standard HTTPRoute
/// plus `rules[].retry` (standard from v1.7, when this becomes the standard module). Routes
/// written against the standard CRDs read the same, without retries.
pub use gateway_api::experimental::httproutes;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// Desired state of a TCPRoute: Gateways to attach to, and rules forwarding connections.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "gateway.networking.k8s.io",
    version = "v1",
    kind = "TCPRoute",
    root = "TcpRoute",
    plural = "tcproutes",
    namespaced,
    status = "RouteStatus",
    schema = "disabled",
    derive = "Default",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct TcpRouteSpec {
    /// Gateways (and their listeners) the route wants to attach to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_refs: Option<Vec<ParentReference>>,
    /// Forwarding rules.
    pub rules: Vec<StreamRouteRule>,
}

/// Desired state of a UDPRoute: Gateways to attach to, and rules forwarding datagrams.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "gateway.networking.k8s.io",
    version = "v1",
    kind = "UDPRoute",
    root = "UdpRoute",
    plural = "udproutes",
    namespaced,
    status = "RouteStatus",
    schema = "disabled",
    derive = "Default",
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct UdpRouteSpec {
    /// Gateways (and their listeners) the route wants to attach to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_refs: Option<Vec<ParentReference>>,
    /// Forwarding rules.
    pub rules: Vec<StreamRouteRule>,
}

/// A route's `parentRefs` entry (`ParentReference` in the Gateway API).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ParentReference {
    /// API group of the parent; `gateway.networking.k8s.io` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind of the parent; `Gateway` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the parent.
    pub name: String,
    /// Namespace of the parent; the route's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Listener port to attach to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Listener name to attach to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section_name: Option<String>,
}

/// One rule: where to forward.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StreamRouteRule {
    /// Backends sharing the traffic by weight.
    pub backend_refs: Vec<StreamBackendRef>,
    /// Optional name of the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A weighted backend (`BackendRef` in the Gateway API).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StreamBackendRef {
    /// API group; the core group when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Kind; `Service` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name of the backend.
    pub name: String,
    /// Namespace of the backend; the route's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Service port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i32>,
    /// Relative share of traffic; 1 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<i32>,
}

/// The shared [`ParentReference`] of a parentRef of any generated route type, in its spec or
/// its status: the `gateway-api` crate generates one identical type per route kind, so this
/// copies the fields by name.
#[macro_export]
macro_rules! parent_reference {
    ($reference:expr) => {{
        let reference = &$reference;
        $crate::route_kinds::ParentReference {
            group: reference.group.clone(),
            kind: reference.kind.clone(),
            name: reference.name.clone(),
            namespace: reference.namespace.clone(),
            port: reference.port,
            section_name: reference.section_name.clone(),
        }
    }};
}

/// Status of a route of any kind (`RouteStatus` in the Gateway API): one entry per parent,
/// per controller.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct RouteStatus {
    /// Parents' conditions.
    pub parents: Vec<RouteParentStatus>,
}

/// Conditions one controller reports for one parent.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteParentStatus {
    /// Accepted, ResolvedRefs, ...
    pub conditions: Vec<Condition>,
    /// The controller reporting them.
    pub controller_name: String,
    /// The parent these conditions are about.
    pub parent_ref: ParentReference,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    #[test]
    fn speaks_the_version_gateway_api_1_6_serves() {
        assert_eq!(TcpRoute::api_version(&()), "gateway.networking.k8s.io/v1");
        assert_eq!(UdpRoute::plural(&()), "udproutes");
        let route: TcpRoute = yaml_serde::from_str(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: TCPRoute\n\
             metadata: {name: db}\nspec:\n  parentRefs: [{name: gw, sectionName: tcp}]\n  \
             rules: [{backendRefs: [{name: postgres, port: 5432}]}]\n",
        )
        .unwrap();
        let parents = route.spec.parent_refs.unwrap_or_default();
        assert_eq!(parents[0].section_name.as_deref(), Some("tcp"));
        assert_eq!(route.spec.rules[0].backend_refs[0].port, Some(5432));
    }
}
