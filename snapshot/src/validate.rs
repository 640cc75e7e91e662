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
use crate::model::{ListenerProtocol, Protocol, Snapshot};
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
    /// An HTTPS listener has no certificate.
    #[error("HTTPS listener {0} has no certificate")]
    MissingCertificate(ListenerKey),
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
    let mut sockets: HashMap<SocketAddr, (Protocol, &ListenerKey)> = HashMap::new();
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
        match sockets.get(&socket) {
            Some((first_protocol, first)) if *first_protocol != protocol => {
                return Err(ValidationError::ProtocolClash {
                    socket,
                    first: (*first).clone(),
                    second: listener.key.clone(),
                });
            }
            Some(_) => {}
            None => {
                sockets.insert(socket, (protocol, &listener.key));
            }
        }
        if let ListenerProtocol::Https(tls) = &listener.protocol
            && tls.certificates.is_empty()
        {
            return Err(ValidationError::MissingCertificate(listener.key.clone()));
        }
        for route in &listener.routes {
            check_route(route, &clusters)?;
        }
        for route in &listener.grpc_routes {
            check_grpc_route(route, &clusters)?;
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
mod tests {
    use super::*;
    use crate::model::*;
    use crate::route::*;

    fn listener(key: &str, port: u16, protocol: ListenerProtocol) -> Listener {
        Listener {
            key: key.into(),
            address: [127, 0, 0, 1].into(),
            port,
            protocol,
            ..Default::default()
        }
    }

    fn https(certificates: Vec<Certificate>) -> ListenerProtocol {
        ListenerProtocol::Https(TlsTermination {
            certificates,
            client_validation: None,
        })
    }

    fn snapshot(listeners: Vec<Listener>, clusters: Vec<Cluster>) -> Snapshot {
        Snapshot {
            version: 1,
            gateways: vec![GatewayConfig {
                listeners,
                ..Default::default()
            }],
            clusters,
        }
    }

    fn route_to(cluster: &str) -> HttpRoute {
        HttpRoute {
            key: "default/r".into(),
            hostnames: vec![],
            rules: vec![HttpRule {
                matches: vec![HttpMatch {
                    path: "/".into(),
                    ..Default::default()
                }],
                backends: vec![WeightedBackend {
                    cluster: Some(cluster.into()),
                    weight: 1,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn accepts_a_consistent_snapshot() {
        let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
        l.routes.push(route_to("a/svc:80"));
        let cluster = Cluster {
            name: "a/svc:80".into(),
            version: 0,
            protocol: BackendProtocol::Http1,
            tls: None,
            endpoints: vec![Endpoint {
                address: [10, 0, 0, 1].into(),
                port: 8080,
            }],
        };
        assert_eq!(validate(&snapshot(vec![l], vec![cluster])), Ok(()));
    }

    #[test]
    fn rejects_a_route_to_a_missing_cluster() {
        let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
        l.routes.push(route_to("a/missing:80"));
        let err = validate(&snapshot(vec![l], vec![])).unwrap_err();
        assert!(err.to_string().contains("a/missing:80"), "{err}");
    }

    #[test]
    fn rejects_protocol_clash_on_one_socket() {
        let http = listener("a/g/http", 8443, ListenerProtocol::Http);
        let https = listener("a/g/https", 8443, https(vec![Certificate::default()]));
        let err = validate(&snapshot(vec![http, https], vec![])).unwrap_err();
        assert!(
            matches!(err, ValidationError::ProtocolClash { .. }),
            "{err}"
        );
    }

    #[test]
    fn rejects_https_without_certificate() {
        let err = validate(&snapshot(
            vec![listener("a/g/s", 443, https(vec![]))],
            vec![],
        ));
        assert_eq!(
            err,
            Err(ValidationError::MissingCertificate("a/g/s".into()))
        );
    }

    #[test]
    fn rejects_duplicate_keys_and_zero_ports() {
        let twice = vec![
            listener("a/g/l", 80, ListenerProtocol::Http),
            listener("a/g/l", 81, ListenerProtocol::Http),
        ];
        assert_eq!(
            validate(&snapshot(twice, vec![])),
            Err(ValidationError::DuplicateListener("a/g/l".into()))
        );
        let zero = vec![listener("a/g/l", 0, ListenerProtocol::Http)];
        assert!(matches!(
            validate(&snapshot(zero, vec![])),
            Err(ValidationError::ZeroPort(_))
        ));
    }

    #[test]
    fn rejects_bad_regex_paths_and_backend_filters_that_do_more_than_edit_headers() {
        let cluster = Cluster {
            name: "a/svc:80".into(),
            ..Default::default()
        };
        let mut regex = route_to("a/svc:80");
        regex.rules[0].matches[0] = HttpMatch {
            path_match: PathMatch::RegularExpression,
            path: "/v[0-9]+".into(),
            ..Default::default()
        };
        let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
        l.routes.push(regex.clone());
        assert_eq!(validate(&snapshot(vec![l], vec![cluster.clone()])), Ok(()));

        regex.rules[0].matches[0].path = "/v[0-9".into();
        let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
        l.routes.push(regex);
        assert!(matches!(
            validate(&snapshot(vec![l], vec![cluster.clone()])),
            Err(ValidationError::InvalidPath { .. })
        ));

        let mut redirecting = route_to("a/svc:80");
        redirecting.rules[0].backends[0].filters =
            vec![HttpFilter::RequestRedirect(RequestRedirect::default())];
        let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
        l.routes.push(redirecting);
        assert_eq!(
            validate(&snapshot(vec![l], vec![cluster])),
            Err(ValidationError::BackendFilter {
                route: "default/r".into()
            })
        );
    }

    #[test]
    fn rejects_mirrors_to_unknown_clusters_or_of_more_than_every_request() {
        let cluster = Cluster {
            name: "a/svc:80".into(),
            ..Default::default()
        };
        let mirrored = |to: &str, numerator: u32, denominator: u32| {
            let mut route = route_to("a/svc:80");
            route.rules[0].filters = vec![HttpFilter::RequestMirror(RequestMirror {
                cluster: to.into(),
                fraction: Fraction {
                    numerator,
                    denominator,
                },
            })];
            let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
            l.routes.push(route);
            validate(&snapshot(vec![l], vec![cluster.clone()]))
        };
        assert_eq!(mirrored("a/svc:80", 1, 2), Ok(()));
        assert!(matches!(
            mirrored("a/other:80", 1, 1),
            Err(ValidationError::UnknownCluster { .. })
        ));
        assert!(matches!(
            mirrored("a/svc:80", 3, 2),
            Err(ValidationError::InvalidMirrorFraction { .. })
        ));
        assert!(matches!(
            mirrored("a/svc:80", 0, 0),
            Err(ValidationError::InvalidMirrorFraction { .. })
        ));
    }

    #[test]
    fn rejects_grpc_rules_with_malformed_names_redirects_or_unknown_clusters() {
        let cluster = Cluster {
            name: "a/svc:80".into(),
            ..Default::default()
        };
        let check = |service: &str, filters: Vec<HttpFilter>, to: &str| {
            let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
            l.grpc_routes.push(crate::GrpcRoute {
                key: "a/g".into(),
                hostnames: vec![],
                rules: vec![crate::GrpcRule {
                    matches: vec![crate::GrpcMatch {
                        service: Some(ValueMatch::Exact(service.into())),
                        ..Default::default()
                    }],
                    filters,
                    backends: vec![WeightedBackend {
                        cluster: Some(to.into()),
                        weight: 1,
                        ..Default::default()
                    }],
                }],
            });
            validate(&snapshot(vec![l], vec![cluster.clone()]))
        };
        assert_eq!(check("pkg.Echo", vec![], "a/svc:80"), Ok(()));
        assert_eq!(
            check("pkg/Echo", vec![], "a/svc:80"),
            Err(ValidationError::InvalidGrpcName {
                route: "a/g".into()
            })
        );
        let redirect = vec![HttpFilter::RequestRedirect(RequestRedirect::default())];
        assert_eq!(
            check("pkg.Echo", redirect, "a/svc:80"),
            Err(ValidationError::GrpcFilter {
                route: "a/g".into()
            })
        );
        assert!(matches!(
            check("pkg.Echo", vec![], "a/other:80"),
            Err(ValidationError::UnknownCluster { .. })
        ));
    }

    #[test]
    fn rejects_clusters_whose_protocol_contradicts_their_tls() {
        let cluster = |protocol, tls: Option<crate::BackendTls>| Cluster {
            name: "a/svc:443".into(),
            protocol,
            tls,
            ..Default::default()
        };
        let tls = Some(crate::BackendTls::default());
        for fine in [
            cluster(BackendProtocol::H2, tls.clone()),
            cluster(BackendProtocol::H2c, None),
            cluster(BackendProtocol::Http1, tls.clone()),
            cluster(BackendProtocol::Http1, None),
        ] {
            assert_eq!(validate(&snapshot(vec![], vec![fine])), Ok(()));
        }
        for contradiction in [
            cluster(BackendProtocol::H2, None),
            cluster(BackendProtocol::H2c, tls),
        ] {
            assert_eq!(
                validate(&snapshot(vec![], vec![contradiction])),
                Err(ValidationError::ClusterProtocol("a/svc:443".into()))
            );
        }
    }
}
