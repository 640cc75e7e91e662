//! What translation produces: per-Gateway snapshots and per-object statuses.

use gateway_api::backendtlspolicies::BackendTlsPolicyStatus;
use gateway_api::gatewayclasses::GatewayClassStatus;
use gateway_api::gateways::GatewayStatus;
use gateway_api::listenersets::ListenerSetStatus;
use std::collections::BTreeMap;

use portico_snapshot::{Cluster, GatewayConfig, ListenerKey, ObjectRef, Snapshot};
use serde::{Deserialize, Serialize};

use crate::route_kinds::RouteStatus;

/// The result of one translation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// One entry per accepted Gateway, sorted by namespace and name.
    pub gateways: Vec<GatewaySnapshot>,
    /// Status of every object Portico is responsible for.
    pub statuses: Statuses,
    /// What translation decided about each Gateway of ours, sorted by namespace and name.
    /// Typed, so later stages (data-plane progress, provisioning) never re-derive it from
    /// condition strings. Not serialised: the statuses say the same to users.
    #[serde(skip)]
    pub facts: Vec<GatewayFacts>,
}

/// What translation decided about one Gateway of one of our classes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GatewayFacts {
    /// Namespace and name.
    pub gateway: ObjectRef,
    /// The `metadata.generation` translated.
    pub generation: i64,
    /// Whether the Gateway is accepted (its status says `Accepted=True`).
    pub accepted: bool,
    /// Every listener of its own, in the Gateway's order.
    pub listeners: Vec<ListenerFacts>,
    /// ListenerSets naming it as their parent, in precedence order.
    pub listener_sets: Vec<ListenerSetFacts>,
}

impl GatewayFacts {
    /// Ports the Gateway's accepted ListenerSets serve (some may be the Gateway's own too).
    pub fn listener_set_ports(&self) -> std::collections::BTreeSet<ServedPort> {
        self.listener_sets
            .iter()
            .filter(|s| s.accepted)
            .flat_map(|s| &s.listeners)
            .filter(|l| l.programmable)
            .map(|l| ServedPort {
                port: l.port,
                udp: l.udp,
            })
            .collect()
    }
}

/// A port a data plane serves, and whether it is a UDP one (a UDP and a TCP port may share a
/// number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServedPort {
    /// The port number.
    pub port: u16,
    /// UDP rather than TCP.
    pub udp: bool,
}

/// What translation decided about one ListenerSet naming a Gateway of ours.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerSetFacts {
    /// Namespace and name.
    pub listener_set: ObjectRef,
    /// The `metadata.generation` translated.
    pub generation: i64,
    /// Whether its Gateway serves some of its listeners (its status says `Accepted=True`).
    pub accepted: bool,
    /// Every listener, in the set's order.
    pub listeners: Vec<ListenerFacts>,
}

/// What translation decided about one listener.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerFacts {
    /// The listener's name.
    pub name: String,
    /// As snapshots and data-plane reports key it.
    pub key: ListenerKey,
    /// Its port (0 when out of range).
    pub port: u16,
    /// Whether the port is a UDP one.
    pub udp: bool,
    /// Whether it is in the snapshot (its `Programmed` waits for a data plane).
    pub programmable: bool,
}

/// Everything one Gateway needs: its listeners and the clusters its routes use.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySnapshot {
    /// Listeners and routes.
    pub config: GatewayConfig,
    /// Clusters referenced by the routes, sorted by name.
    pub clusters: Vec<Cluster>,
}

/// The snapshot one data plane receives for `parts`: their configurations, and each cluster
/// they use once (Gateways sharing a backend share its cluster), sorted by name.
pub fn merge<'a>(version: u64, parts: impl IntoIterator<Item = &'a GatewaySnapshot>) -> Snapshot {
    let mut clusters = BTreeMap::new();
    let mut gateways = Vec::new();
    for part in parts {
        for cluster in &part.clusters {
            clusters
                .entry(cluster.name.clone())
                .or_insert_with(|| cluster.clone());
        }
        gateways.push(part.config.clone());
    }
    Snapshot {
        version,
        gateways,
        clusters: clusters.into_values().collect(),
    }
}

/// An object's identity with the status it should carry.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ObjectStatus<S> {
    /// Namespace (empty for cluster-scoped objects) and name.
    #[serde(flatten)]
    pub object: ObjectRef,
    /// The status, exactly as it would be written to the API server.
    pub status: S,
}

/// Statuses by kind, each sorted by namespace and name.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Statuses {
    /// GatewayClasses naming our controller.
    pub gateway_classes: Vec<ObjectStatus<GatewayClassStatus>>,
    /// Gateways of our classes.
    pub gateways: Vec<ObjectStatus<GatewayStatus>>,
    /// ListenerSets naming one of our Gateways as their parent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listener_sets: Vec<ObjectStatus<ListenerSetStatus>>,
    /// HTTPRoutes with at least one parentRef to one of our Gateways.
    #[serde(rename = "httpRoutes")]
    pub http_routes: Vec<ObjectStatus<RouteStatus>>,
    /// GRPCRoutes with at least one parentRef to one of our Gateways.
    #[serde(rename = "grpcRoutes", default, skip_serializing_if = "Vec::is_empty")]
    pub grpc_routes: Vec<ObjectStatus<RouteStatus>>,
    /// TLSRoutes with at least one parentRef to one of our Gateways.
    #[serde(rename = "tlsRoutes", default, skip_serializing_if = "Vec::is_empty")]
    pub tls_routes: Vec<ObjectStatus<RouteStatus>>,
    /// TCPRoutes with at least one parentRef to one of our Gateways.
    #[serde(rename = "tcpRoutes", default, skip_serializing_if = "Vec::is_empty")]
    pub tcp_routes: Vec<ObjectStatus<RouteStatus>>,
    /// UDPRoutes with at least one parentRef to one of our Gateways.
    #[serde(rename = "udpRoutes", default, skip_serializing_if = "Vec::is_empty")]
    pub udp_routes: Vec<ObjectStatus<RouteStatus>>,
    /// BackendTLSPolicies used by our Gateways, with our ancestors' entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backend_tls_policies: Vec<ObjectStatus<BackendTlsPolicyStatus>>,
}
