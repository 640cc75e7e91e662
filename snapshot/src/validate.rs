//! Checks a data plane runs on a snapshot before swapping it in.
//!
//! Everything here is about internal consistency and well-formed values; the translator is
//! expected never to produce a snapshot that fails, so a failure points at a bug or at a
//! controller/data-plane version skew. Certificates are checked where they are parsed, in the
//! data plane's TLS module.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use crate::model::{HttpFilter, Protocol, Snapshot};

/// Why a snapshot cannot be applied. The message is sent back to the controller in the NACK.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// Two listeners share a key.
    #[error("listener key {0:?} appears more than once")]
    DuplicateListener(String),
    /// Two clusters share a name.
    #[error("cluster {0:?} appears more than once")]
    DuplicateCluster(String),
    /// An address is not an IP address.
    #[error("{what} has invalid IP address {address:?}")]
    InvalidAddress {
        /// The listener or cluster concerned.
        what: String,
        /// The offending value.
        address: String,
    },
    /// A port is zero.
    #[error("{0} has port 0")]
    ZeroPort(String),
    /// Two listeners bind the same socket with different protocols.
    #[error("listeners on {socket} disagree on protocol ({first} vs {second})")]
    ProtocolClash {
        /// `address:port`.
        socket: String,
        /// One listener key.
        first: String,
        /// The other listener key.
        second: String,
    },
    /// An HTTPS listener has no certificate.
    #[error("HTTPS listener {0} has no certificate")]
    MissingCertificate(String),
    /// A path match value does not start with `/`.
    #[error("route {route} has path {path:?} that does not start with '/'")]
    InvalidPath {
        /// Route key.
        route: String,
        /// The offending path.
        path: String,
    },
    /// A header name is empty or not a valid HTTP token.
    #[error("route {route} uses invalid header name {name:?}")]
    InvalidHeaderName {
        /// Route key.
        route: String,
        /// The offending name.
        name: String,
    },
    /// A redirect has an unsupported status code or scheme.
    #[error("route {route} has an invalid redirect: {reason}")]
    InvalidRedirect {
        /// Route key.
        route: String,
        /// What is wrong.
        reason: String,
    },
    /// A backend names a cluster the snapshot does not carry.
    #[error("route {route} references unknown cluster {cluster:?}")]
    UnknownCluster {
        /// Route key.
        route: String,
        /// The missing cluster.
        cluster: String,
    },
}

/// Check `snapshot` for consistency. Returns the first problem found.
pub fn validate(snapshot: &Snapshot) -> Result<(), ValidationError> {
    let mut clusters = HashSet::new();
    for cluster in &snapshot.clusters {
        if !clusters.insert(cluster.name.as_str()) {
            return Err(ValidationError::DuplicateCluster(cluster.name.clone()));
        }
        for endpoint in &cluster.endpoints {
            let what = format!("cluster {}", cluster.name);
            check_address(&what, &endpoint.address)?;
            if endpoint.port == 0 {
                return Err(ValidationError::ZeroPort(what));
            }
        }
    }

    let mut keys = HashSet::new();
    let mut sockets: HashMap<(String, u16), (Protocol, &str)> = HashMap::new();
    for listener in snapshot.gateways.iter().flat_map(|g| &g.listeners) {
        if !keys.insert(listener.key.as_str()) {
            return Err(ValidationError::DuplicateListener(listener.key.clone()));
        }
        let what = format!("listener {}", listener.key);
        check_address(&what, &listener.address)?;
        if listener.port == 0 {
            return Err(ValidationError::ZeroPort(what));
        }
        let socket = (listener.address.clone(), listener.port);
        match sockets.get(&socket) {
            Some((protocol, first)) if *protocol != listener.protocol => {
                return Err(ValidationError::ProtocolClash {
                    socket: format!("{}:{}", socket.0, socket.1),
                    first: (*first).to_string(),
                    second: listener.key.clone(),
                });
            }
            Some(_) => {}
            None => {
                sockets.insert(socket, (listener.protocol, &listener.key));
            }
        }
        if listener.protocol == Protocol::Https && listener.certificates.is_empty() {
            return Err(ValidationError::MissingCertificate(listener.key.clone()));
        }
        for route in &listener.routes {
            check_route(route, &clusters)?;
        }
    }
    Ok(())
}

fn check_address(what: &str, address: &str) -> Result<(), ValidationError> {
    address
        .parse::<IpAddr>()
        .map(|_| ())
        .map_err(|_| ValidationError::InvalidAddress {
            what: what.to_string(),
            address: address.to_string(),
        })
}

fn check_route(
    route: &crate::model::HttpRoute,
    clusters: &HashSet<&str>,
) -> Result<(), ValidationError> {
    let key = &route.key;
    for rule in &route.rules {
        for m in &rule.matches {
            if !m.path.starts_with('/') {
                return Err(ValidationError::InvalidPath {
                    route: key.clone(),
                    path: m.path.clone(),
                });
            }
            for header in &m.headers {
                check_header_name(key, &header.name)?;
            }
        }
        for filter in &rule.filters {
            match filter {
                HttpFilter::RequestHeaderModifier(modifier) => {
                    let names = modifier.set.iter().chain(&modifier.add).map(|h| &h.name);
                    for name in names.chain(&modifier.remove) {
                        check_header_name(key, name)?;
                    }
                }
                HttpFilter::RequestRedirect(redirect) => {
                    let reason = if !matches!(redirect.status_code, 301 | 302 | 303 | 307 | 308) {
                        Some(format!("status code {}", redirect.status_code))
                    } else {
                        redirect
                            .scheme
                            .as_deref()
                            .filter(|s| !matches!(*s, "http" | "https"))
                            .map(|scheme| format!("scheme {scheme:?}"))
                    };
                    if let Some(reason) = reason {
                        return Err(ValidationError::InvalidRedirect {
                            route: key.clone(),
                            reason,
                        });
                    }
                }
            }
        }
        for backend in &rule.backends {
            if let Some(cluster) = &backend.cluster
                && !clusters.contains(cluster.as_str())
            {
                return Err(ValidationError::UnknownCluster {
                    route: key.clone(),
                    cluster: cluster.clone(),
                });
            }
        }
    }
    Ok(())
}

/// RFC 9110 token characters.
fn check_header_name(route: &str, name: &str) -> Result<(), ValidationError> {
    let is_token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(is_token) {
        return Err(ValidationError::InvalidHeaderName {
            route: route.to_string(),
            name: name.to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn listener(key: &str, port: u16, protocol: Protocol) -> Listener {
        Listener {
            key: key.into(),
            address: "127.0.0.1".into(),
            port,
            protocol,
            ..Default::default()
        }
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
                filters: vec![],
                backends: vec![WeightedBackend {
                    cluster: Some(cluster.into()),
                    weight: 1,
                }],
            }],
        }
    }

    #[test]
    fn accepts_a_consistent_snapshot() {
        let mut l = listener("a/g/http", 8080, Protocol::Http);
        l.routes.push(route_to("a/svc:80"));
        let cluster = Cluster {
            name: "a/svc:80".into(),
            version: 0,
            endpoints: vec![Endpoint {
                address: "10.0.0.1".into(),
                port: 8080,
            }],
        };
        assert_eq!(validate(&snapshot(vec![l], vec![cluster])), Ok(()));
    }

    #[test]
    fn rejects_a_route_to_a_missing_cluster() {
        let mut l = listener("a/g/http", 8080, Protocol::Http);
        l.routes.push(route_to("a/missing:80"));
        let err = validate(&snapshot(vec![l], vec![])).unwrap_err();
        assert!(err.to_string().contains("a/missing:80"), "{err}");
    }

    #[test]
    fn rejects_protocol_clash_on_one_socket() {
        let http = listener("a/g/http", 8443, Protocol::Http);
        let mut https = listener("a/g/https", 8443, Protocol::Https);
        https.certificates.push(Certificate::default());
        let err = validate(&snapshot(vec![http, https], vec![])).unwrap_err();
        assert!(
            matches!(err, ValidationError::ProtocolClash { .. }),
            "{err}"
        );
    }

    #[test]
    fn rejects_https_without_certificate() {
        let err = validate(&snapshot(
            vec![listener("a/g/s", 443, Protocol::Https)],
            vec![],
        ));
        assert_eq!(
            err,
            Err(ValidationError::MissingCertificate("a/g/s".into()))
        );
    }

    #[test]
    fn rejects_bad_addresses_and_header_names() {
        let mut l = listener("a/g/http", 80, Protocol::Http);
        l.address = "not-an-ip".into();
        assert!(matches!(
            validate(&snapshot(vec![l], vec![])),
            Err(ValidationError::InvalidAddress { .. })
        ));
        let mut l = listener("a/g/http", 80, Protocol::Http);
        let mut route = route_to("x");
        route.rules[0].backends.clear();
        route.rules[0].matches[0].headers.push(HeaderMatch {
            name: "bad header".into(),
            value: "v".into(),
        });
        l.routes.push(route);
        assert!(matches!(
            validate(&snapshot(vec![l], vec![])),
            Err(ValidationError::InvalidHeaderName { .. })
        ));
    }
}
