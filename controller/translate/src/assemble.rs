//! A Gateway's snapshot: its programmable listeners with the routes attached to each, and the
//! clusters those routes use.

use std::collections::BTreeMap;
use std::net::IpAddr;

use portico_snapshot::{
    Certificate, Cluster, ClusterName, GatewayConfig, GrpcRoute, GrpcRule, HttpRoute, HttpRule,
    Listener, Protocol, StreamBackend, StreamRoute,
};

use crate::attach::{Attached, Attachments};
use crate::gateways::GatewayState;
use crate::hash;
use crate::output::GatewaySnapshot;

/// The routes of every served kind, by listener.
pub(crate) struct Routes<'r> {
    /// HTTPRoutes.
    pub http: &'r Attachments<Vec<HttpRule>>,
    /// GRPCRoutes.
    pub grpc: &'r Attachments<Vec<GrpcRule>>,
    /// TLSRoutes, TCPRoutes and UDPRoutes (each listener takes one kind of them).
    pub streams: [&'r Attachments<Vec<StreamBackend>>; 3],
}

/// The snapshot of `gateway`, whose listeners bind `address`.
pub(crate) fn snapshot(
    gateway: &GatewayState<'_>,
    address: IpAddr,
    routes: &Routes<'_>,
) -> GatewaySnapshot {
    let mut clusters: BTreeMap<ClusterName, Cluster> = BTreeMap::new();
    let client_certificate = gateway
        .backend_client_certificate
        .as_ref()
        .and_then(|c| c.as_ref().ok());
    let listeners = gateway
        .programmable_listeners()
        .filter_map(|l| Some((l, l.snapshot_protocol()?)))
        .map(|(l, protocol)| {
            // Only TLS streams carry a server name to route by.
            let protocol_names_servers = protocol.protocol() == Protocol::Tls;
            let http = routes.http.routes_for(&l.key);
            let grpc = routes.grpc.routes_for(&l.key);
            let streams: Vec<_> = routes
                .streams
                .iter()
                .flat_map(|kind| kind.routes_for(&l.key))
                .collect();
            let used = http
                .iter()
                .flat_map(|r| &r.compiled.clusters)
                .chain(grpc.iter().flat_map(|r| &r.compiled.clusters))
                .chain(streams.iter().flat_map(|r| &r.compiled.clusters));
            for cluster in used {
                clusters
                    .entry(cluster.name.clone())
                    .or_insert_with(|| with_client_certificate(cluster, client_certificate));
            }
            let mut listener = Listener {
                key: l.key.clone(),
                version: 0,
                address,
                port: l.port,
                protocol,
                hostname: l.matched_hostname().map(str::to_string),
                routes: http.into_iter().map(http_route).collect(),
                grpc_routes: grpc.into_iter().map(grpc_route).collect(),
                stream_routes: streams
                    .into_iter()
                    .map(|r| stream_route(r, protocol_names_servers))
                    .collect(),
            };
            listener.version =
                hash::content_version(&(&listener, listener.protocol.certificates()));
            listener
        })
        .collect();
    GatewaySnapshot {
        config: GatewayConfig {
            gateway: gateway.key.clone(),
            generation: gateway.generation.unwrap_or_default(),
            listeners,
        },
        clusters: clusters.into_values().collect(),
    }
}

/// A cluster as this Gateway speaks to it: a TLS cluster gets the Gateway's client certificate.
fn with_client_certificate(cluster: &Cluster, certificate: Option<&Certificate>) -> Cluster {
    let mut cluster = cluster.clone();
    if let Some(tls) = cluster.tls.as_mut() {
        tls.client_certificate = certificate.cloned();
    }
    cluster
}

/// An HTTPRoute as one listener's snapshot carries it.
fn http_route(attached: &Attached<Vec<HttpRule>>) -> HttpRoute {
    HttpRoute {
        key: attached.route.to_string(),
        hostnames: attached.hostnames.clone(),
        rules: attached.compiled.rules.clone(),
    }
}

/// A GRPCRoute as one listener's snapshot carries it.
fn grpc_route(attached: &Attached<Vec<GrpcRule>>) -> GrpcRoute {
    GrpcRoute {
        key: attached.route.to_string(),
        hostnames: attached.hostnames.clone(),
        rules: attached.compiled.rules.clone(),
    }
}

/// A TLSRoute, TCPRoute or UDPRoute as one listener's snapshot carries it; hostnames only
/// where the listener routes by server name.
fn stream_route(attached: &Attached<Vec<StreamBackend>>, names_servers: bool) -> StreamRoute {
    StreamRoute {
        key: attached.route.to_string(),
        hostnames: if names_servers {
            attached.hostnames.clone()
        } else {
            Vec::new()
        },
        backends: attached.compiled.rules.clone(),
    }
}
