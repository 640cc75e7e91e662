//! What translation produces: per-Gateway snapshots and per-object statuses.

use gateway_api::gatewayclasses::GatewayClassStatus;
use gateway_api::gateways::GatewayStatus;
use gateway_api::httproutes::HttpRouteStatus;
use portico_snapshot::{Cluster, GatewayConfig, ObjectRef};
use serde::{Deserialize, Serialize};

/// The result of one translation.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// One entry per accepted Gateway, sorted by namespace and name.
    pub gateways: Vec<GatewaySnapshot>,
    /// Status of every object Portico is responsible for.
    pub statuses: Statuses,
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
    /// HTTPRoutes with at least one parentRef to one of our Gateways.
    #[serde(rename = "httpRoutes")]
    pub http_routes: Vec<ObjectStatus<HttpRouteStatus>>,
}
