//! Checks a data plane runs on a snapshot before swapping it in.
//!
//! Values are already typed (addresses, header names, redirect codes were checked where they
//! entered the model); what is left is consistency across the snapshot: unique keys, sockets
//! whose listeners agree, references that resolve. The translator is expected never to produce
//! a snapshot that fails, so a failure points at a bug or at a controller/data-plane version
//! skew. Certificates are checked where they are parsed, in the data plane's TLS module.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;

use crate::grpc_route::{GrpcMatch, GrpcRoute};
use crate::http_values::RegexPattern;
use crate::model::{Protocol, Snapshot};
use crate::names::{ClusterName, ListenerKey};
use crate::route::{HttpFilter, HttpMatch, PathMatch, Retry, WeightedBackend};

/// Why a snapshot cannot be applied. The message is sent back to the controller in the NACK.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Two listeners share a key.
    #[error("listener key {0:?} appears more than once")]
    DuplicateListener(ListenerKey),
    /// Two clusters share a name.
    #[error("cluster {0:?} appears more than once")]
    DuplicateCluster(ClusterName),
    /// A cluster's protocol and TLS disagree (`H2` without TLS, `H2c` with it).
    #[error("cluster {0} has a protocol its TLS settings contradict")]
    ClusterProtocol(ClusterName),
    /// A port is zero.
    #[error("{0} has port 0")]
    ZeroPort(String),
    /// Two listeners bind the same socket with different protocols.
    #[error("listeners on {socket} disagree on protocol ({first} vs {second})")]
    ProtocolClash {
        /// The shared socket.
        socket: SocketAddr,
        /// One listener key.
        first: ListenerKey,
        /// The other listener key.
        second: ListenerKey,
    },
    /// A listener terminating TLS has no certificate.
    #[error("listener {0} terminates TLS but has no certificate")]
    MissingCertificate(ListenerKey),
    /// A listener carries routes its protocol does not serve (HTTP routes on a layer-4
    /// listener, layer-4 routes on an HTTP one, server names on a TCP or UDP one).
    #[error("listener {0} carries routes its protocol does not serve")]
    RoutesOfAnotherKind(ListenerKey),
    /// A path match value does not start with `/`, or is not a valid regular expression.
    #[error("route {route} has path {path:?} that does not start with '/' or does not compile")]
    InvalidPath {
        /// Route key.
        route: String,
        /// The offending path.
        path: String,
    },
    /// A backend's filter does more than edit headers.
    #[error("route {route} has a backend filter that does more than edit headers")]
    BackendFilter {
        /// Route key.
        route: String,
    },
    /// A mirror's fraction has no denominator or is above 1.
    #[error("route {route} mirrors {numerator}/{denominator} of its requests")]
    InvalidMirrorFraction {
        /// Route key.
        route: String,
        /// The fraction's numerator.
        numerator: u32,
        /// The fraction's denominator.
        denominator: u32,
    },
    /// A retry names a status that is not an error, or asks for too many attempts.
    #[error("route {route} retries on statuses outside 400-599 or more than the allowed attempts")]
    InvalidRetry {
        /// Route key.
        route: String,
    },
    /// A gRPC match names a malformed exact service or method.
    #[error("route {route} matches a gRPC service or method name that is not well formed")]
    InvalidGrpcName {
        /// Route key.
        route: String,
    },
    /// A gRPC rule has a filter other than a header modifier or a mirror.
    #[error("route {route} has a gRPC rule filter that is neither a header modifier nor a mirror")]
    GrpcFilter {
        /// Route key.
        route: String,
    },
    /// A backend or mirror names a cluster the snapshot does not carry.
    #[error("route {route} references unknown cluster {cluster:?}")]
    UnknownCluster {
        /// Route key.
        route: String,
        /// The missing cluster.
        cluster: ClusterName,
    },
}

/// Check `snapshot` for consistency. Returns the first problem found.
pub fn validate(snapshot: &Snapshot) -> Result<(), ValidationError> {
    let mut clusters = HashSet::new();
    for cluster in &snapshot.clusters {
        if !clusters.insert(&cluster.name) {
            return Err(ValidationError::DuplicateCluster(cluster.name.clone()));
        }
        if cluster
            .protocol
            .needs_tls()
            .is_some_and(|tls| tls != cluster.tls.is_some())
        {
            return Err(ValidationError::ClusterProtocol(cluster.name.clone()));
        }
        if cluster.endpoints.iter().any(|e| e.port == 0) {
            return Err(ValidationError::ZeroPort(format!(
                "cluster {}",
                cluster.name
            )));
        }
    }

    let mut keys = HashSet::new();
    // A TCP and a UDP socket may share an address and port.
    let mut sockets: HashMap<(SocketAddr, bool), (Protocol, &ListenerKey)> = HashMap::new();
    for listener in snapshot.gateways.iter().flat_map(|g| &g.listeners) {
        if !keys.insert(&listener.key) {
            return Err(ValidationError::DuplicateListener(listener.key.clone()));
        }
        if listener.port == 0 {
            return Err(ValidationError::ZeroPort(format!(
                "listener {}",
                listener.key
            )));
        }
        let protocol = listener.protocol.protocol();
        let socket = listener.socket();
        match sockets.get(&(socket, protocol.is_udp())) {
            Some((first_protocol, first)) if *first_protocol != protocol => {
                return Err(ValidationError::ProtocolClash {
                    socket,
                    first: (*first).clone(),
                    second: listener.key.clone(),
                });
            }
            Some(_) => {}
            None => {
                sockets.insert((socket, protocol.is_udp()), (protocol, &listener.key));
            }
        }
        if listener
            .protocol
            .termination()
            .is_some_and(|tls| tls.certificates.is_empty())
        {
            return Err(ValidationError::MissingCertificate(listener.key.clone()));
        }
        let http_routes = !listener.routes.is_empty() || !listener.grpc_routes.is_empty();
        let named_streams = listener
            .stream_routes
            .iter()
            .any(|r| !r.hostnames.is_empty());
        let fits = if protocol.serves_http() {
            listener.stream_routes.is_empty()
        } else {
            !http_routes && (protocol == Protocol::Tls || !named_streams)
        };
        if !fits {
            return Err(ValidationError::RoutesOfAnotherKind(listener.key.clone()));
        }
        for route in &listener.routes {
            check_route(route, &clusters)?;
        }
        for route in &listener.grpc_routes {
            check_grpc_route(route, &clusters)?;
        }
        for route in &listener.stream_routes {
            let unknown = route
                .backends
                .iter()
                .filter_map(|b| b.cluster.as_ref())
                .find(|c| !clusters.contains(c));
            if let Some(cluster) = unknown {
                return Err(ValidationError::UnknownCluster {
                    route: route.key.clone(),
                    cluster: cluster.clone(),
                });
            }
        }
    }
    Ok(())
}

fn check_route(
    route: &crate::route::HttpRoute,
    clusters: &HashSet<&ClusterName>,
) -> Result<(), ValidationError> {
    let key = &route.key;
    for rule in &route.rules {
        if let Some(m) = rule.matches.iter().find(|m| !valid_path(m)) {
            return Err(ValidationError::InvalidPath {
                route: key.clone(),
                path: m.path.clone(),
            });
        }
        if let Some(retry) = &rule.retry
            && (retry.attempts > Retry::MAX_ATTEMPTS
                || retry.codes.iter().any(|c| !(400..=599).contains(c)))
        {
            return Err(ValidationError::InvalidRetry { route: key.clone() });
        }
        check_forwarding(key, &rule.filters, &rule.backends, clusters)?;
    }
    Ok(())
}

fn check_grpc_route(
    route: &GrpcRoute,
    clusters: &HashSet<&ClusterName>,
) -> Result<(), ValidationError> {
    let key = &route.key;
    for rule in &route.rules {
        if !rule.matches.iter().all(GrpcMatch::names_are_valid) {
            return Err(ValidationError::InvalidGrpcName { route: key.clone() });
        }
        let grpc_filter =
            |f: &HttpFilter| f.edits_headers_only() || matches!(f, HttpFilter::RequestMirror(_));
        if !rule.filters.iter().all(grpc_filter) {
            return Err(ValidationError::GrpcFilter { route: key.clone() });
        }
        check_forwarding(key, &rule.filters, &rule.backends, clusters)?;
    }
    Ok(())
}

/// What every rule shares: backends' filters only edit headers, mirrors copy a valid
/// fraction, and backends and mirrors name clusters the snapshot carries.
fn check_forwarding(
    key: &str,
    filters: &[HttpFilter],
    backends: &[WeightedBackend],
    clusters: &HashSet<&ClusterName>,
) -> Result<(), ValidationError> {
    let mut backend_filters = backends.iter().flat_map(|b| &b.filters);
    if !backend_filters.all(HttpFilter::edits_headers_only) {
        return Err(ValidationError::BackendFilter {
            route: key.to_string(),
        });
    }
    let mut mirrored = Vec::new();
    for filter in filters {
        let HttpFilter::RequestMirror(mirror) = filter else {
            continue;
        };
        if !mirror.fraction.is_valid() {
            return Err(ValidationError::InvalidMirrorFraction {
                route: key.to_string(),
                numerator: mirror.fraction.numerator,
                denominator: mirror.fraction.denominator,
            });
        }
        mirrored.push(&mirror.cluster);
    }
    let unknown = backends
        .iter()
        .filter_map(|b| b.cluster.as_ref())
        .chain(mirrored)
        .find(|c| !clusters.contains(c));
    match unknown {
        Some(cluster) => Err(ValidationError::UnknownCluster {
            route: key.to_string(),
            cluster: cluster.clone(),
        }),
        None => Ok(()),
    }
}

fn valid_path(m: &HttpMatch) -> bool {
    match m.path_match {
        PathMatch::Exact | PathMatch::PathPrefix => m.path.starts_with('/'),
        PathMatch::RegularExpression => RegexPattern::try_from(m.path.as_str()).is_ok(),
    }
}

#[cfg(test)]
mod tests;
