//! A layer-4 route as a listener carries it: a TCPRoute, TLSRoute or UDPRoute forwarding whole
//! connections (or a client's datagrams) to weighted backends. TLSRoutes are told apart by the
//! server name of the client's TLS ClientHello; on TCP and UDP listeners the first route (the
//! oldest) carries the traffic.

use serde::{Deserialize, Serialize};

use crate::names::ClusterName;

/// A layer-4 route as attached to one listener.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamRoute {
    /// `namespace/name` of the route.
    pub key: String,
    /// Server names (SNI) served, already intersected with the listener's hostname; TLS
    /// listeners only. Empty means any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// Weighted backends. A connection given to one without a cluster (or to a route without
    /// backends) is closed.
    pub backends: Vec<StreamBackend>,
}

/// A weighted backend of a [`StreamRoute`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamBackend {
    /// Name of a [`crate::Cluster`] in the same snapshot; `None` when the backendRef is
    /// invalid, in which case connections given to it are closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterName>,
    /// Relative weight; 0 means never chosen.
    pub weight: u32,
}
