//! The routing table of a data plane: one [`SocketRouter`] per bound address and port.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use http::{HeaderMap, HeaderName, HeaderValue};
use portico_snapshot::{ClusterName, HttpFilter, PathMatch, Protocol, RequestRedirect, Snapshot};

use crate::hosts::HostMap;
use crate::paths::{PathKind, PathTable};

/// What a snapshot's routes compile to. Cheap to share; immutable once built.
#[derive(Debug, Default)]
pub struct Router {
    sockets: HashMap<(IpAddr, u16), SocketRouter>,
}

/// Routing for one socket: which listener a host belongs to, and that listener's routes.
#[derive(Debug)]
pub struct SocketRouter {
    /// Protocol of the socket's listeners.
    pub protocol: Protocol,
    /// The socket's port (used to derive redirect ports).
    pub port: u16,
    listeners: HostMap<Option<usize>>,
    tables: Vec<ListenerTable>,
}

#[derive(Debug)]
struct ListenerTable {
    key: Arc<str>,
    hosts: HostMap<PathTable<Arc<RouteAction>>>,
}

/// What to do with a request that matched a rule.
#[derive(Debug)]
pub struct RouteAction {
    /// `namespace/name` of the HTTPRoute, for logs and metrics.
    pub route: Arc<str>,
    /// Header edits to apply before proxying, in order.
    pub header_modifiers: Vec<CompiledHeaderModifier>,
    /// When set, answer with this redirect instead of proxying.
    pub redirect: Option<RequestRedirect>,
    /// Where to send the request.
    pub backends: WeightedBackends,
}

/// A RequestHeaderModifier with names and values parsed once.
#[derive(Debug, Default)]
pub struct CompiledHeaderModifier {
    /// Replace these headers.
    pub set: Vec<(HeaderName, HeaderValue)>,
    /// Append these headers.
    pub add: Vec<(HeaderName, HeaderValue)>,
    /// Remove these headers.
    pub remove: Vec<HeaderName>,
}

/// A weighted choice between clusters. Invalid backendRefs keep their share of traffic and
/// yield no cluster, so that share is answered with 500 as the spec requires.
#[derive(Debug, Default)]
pub struct WeightedBackends {
    clusters: Vec<Option<ClusterName>>,
    cumulative: Vec<u64>,
}

impl WeightedBackends {
    /// The cluster for a uniformly random `random`; `None` means answer 500.
    pub fn pick(&self, random: u64) -> Option<&str> {
        let total = *self.cumulative.last()?;
        if total == 0 {
            return None;
        }
        let point = random % total;
        let index = self.cumulative.partition_point(|&c| c <= point);
        self.clusters.get(index)?.as_ref().map(ClusterName::as_str)
    }
}

/// The parts of a request routing looks at.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Normalized host (see [`crate::hosts::normalize_host`]).
    pub host: &'a str,
    /// Path without query.
    pub path: &'a str,
    /// Query string without the `?`, if the request has one.
    pub query: Option<&'a str>,
    /// Request headers.
    pub headers: &'a HeaderMap,
}

/// The outcome of a successful lookup.
#[derive(Debug, Clone, Copy)]
pub struct RouteMatch<'a> {
    /// Key of the listener that took the request.
    pub listener: &'a Arc<str>,
    /// The matched rule's action (shared, so the proxy may keep it for later phases).
    pub action: &'a Arc<RouteAction>,
}

/// A snapshot value the data plane cannot turn into a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError(pub String);

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BuildError {}

impl Router {
    /// Compile every listener of `snapshot`. Fails on a header name or value that HTTP forbids.
    pub fn build(snapshot: &Snapshot) -> Result<Self, BuildError> {
        let mut sockets: HashMap<(IpAddr, u16), SocketRouter> = HashMap::new();
        for listener in snapshot.gateways.iter().flat_map(|g| &g.listeners) {
            let socket = sockets
                .entry((listener.address, listener.port))
                .or_insert_with(|| SocketRouter {
                    protocol: listener.protocol.protocol(),
                    port: listener.port,
                    listeners: HostMap::default(),
                    tables: Vec::new(),
                });
            let index = socket.tables.len();
            socket
                .listeners
                .entry(listener.hostname.as_deref())
                .get_or_insert(index);
            let mut table = ListenerTable {
                key: Arc::from(listener.key.as_str()),
                hosts: HostMap::default(),
            };
            for route in &listener.routes {
                for rule in &route.rules {
                    let action = Arc::new(compile_action(&route.key, rule)?);
                    let hostnames: Vec<Option<&str>> = if route.hostnames.is_empty() {
                        vec![None]
                    } else {
                        route.hostnames.iter().map(|h| Some(h.as_str())).collect()
                    };
                    for hostname in hostnames {
                        let paths = table.hosts.entry(hostname);
                        for m in &rule.matches {
                            let kind = match m.path_match {
                                PathMatch::Exact => PathKind::Exact,
                                PathMatch::PathPrefix => PathKind::Prefix,
                            };
                            let headers = m
                                .headers
                                .iter()
                                .map(|h| header_pair(&route.key, &h.name, Some(&h.value)))
                                .collect::<Result<_, _>>()?;
                            paths.insert(kind, &m.path, headers, action.clone());
                        }
                    }
                }
            }
            socket.tables.push(table);
        }
        Ok(Self { sockets })
    }

    /// The table for one socket.
    pub fn socket(&self, address: IpAddr, port: u16) -> Option<&SocketRouter> {
        self.sockets.get(&(address, port))
    }
}

impl SocketRouter {
    /// Route a request: pick the most specific listener for its host, then the best rule.
    pub fn route<'a>(&'a self, request: &Request<'_>) -> Option<RouteMatch<'a>> {
        let index = self.listeners.matching(request.host).flatten().next()?;
        let table = self.tables.get(*index)?;
        table
            .hosts
            .matching(request.host)
            .find_map(|paths| paths.lookup(request.path, request.headers))
            .map(|action| RouteMatch {
                listener: &table.key,
                action,
            })
    }
}

/// The `http` crate's form of a header. The snapshot's values are already valid HTTP, so this
/// only fails for a value the `http` crate is stricter about than HTTP itself.
fn header_pair(
    route: &str,
    name: &portico_snapshot::HeaderName,
    value: Option<&portico_snapshot::HeaderValue>,
) -> Result<(HeaderName, HeaderValue), BuildError> {
    let name = HeaderName::from_bytes(name.as_str().as_bytes())
        .map_err(|_| BuildError(format!("route {route}: invalid header name {name:?}")))?;
    let value = HeaderValue::from_bytes(value.map_or(&[][..], |v| v.as_str().as_bytes()))
        .map_err(|_| BuildError(format!("route {route}: invalid value for header {name}")))?;
    Ok((name, value))
}

fn compile_action(
    route: &str,
    rule: &portico_snapshot::HttpRule,
) -> Result<RouteAction, BuildError> {
    let mut header_modifiers = Vec::new();
    let mut redirect = None;
    for filter in &rule.filters {
        match filter {
            HttpFilter::RequestHeaderModifier(m) => {
                let pairs = |headers: &[portico_snapshot::Header]| {
                    headers
                        .iter()
                        .map(|h| header_pair(route, &h.name, Some(&h.value)))
                        .collect::<Result<Vec<_>, _>>()
                };
                header_modifiers.push(CompiledHeaderModifier {
                    set: pairs(&m.set)?,
                    add: pairs(&m.add)?,
                    remove: m
                        .remove
                        .iter()
                        .map(|n| header_pair(route, n, None).map(|(name, _)| name))
                        .collect::<Result<_, _>>()?,
                });
            }
            HttpFilter::RequestRedirect(r) => redirect = Some(r.clone()),
        }
    }
    let mut total = 0u64;
    let (clusters, cumulative) = rule
        .backends
        .iter()
        .map(|b| {
            total += u64::from(b.weight);
            (b.cluster.clone(), total)
        })
        .unzip();
    Ok(RouteAction {
        route: Arc::from(route),
        header_modifiers,
        redirect,
        backends: WeightedBackends {
            clusters,
            cumulative,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_snapshot::*;

    fn rule(path_match: PathMatch, path: &str, cluster: &str) -> HttpRule {
        HttpRule {
            matches: vec![HttpMatch {
                path_match,
                path: path.into(),
                headers: vec![],
            }],
            filters: vec![],
            backends: vec![WeightedBackend {
                cluster: Some(cluster.into()),
                weight: 1,
            }],
        }
    }

    fn route(key: &str, hostnames: &[&str], rules: Vec<HttpRule>) -> HttpRoute {
        HttpRoute {
            key: key.into(),
            hostnames: hostnames.iter().map(|h| h.to_string()).collect(),
            rules,
        }
    }

    fn listener(key: &str, hostname: Option<&str>, routes: Vec<HttpRoute>) -> Listener {
        Listener {
            key: key.into(),
            address: [0, 0, 0, 0].into(),
            port: 80,
            hostname: hostname.map(Into::into),
            routes,
            ..Default::default()
        }
    }

    fn router(listeners: Vec<Listener>) -> Router {
        let snapshot = Snapshot {
            version: 1,
            gateways: vec![GatewayConfig {
                listeners,
                ..Default::default()
            }],
            clusters: vec![],
        };
        Router::build(&snapshot).expect("valid snapshot")
    }

    fn cluster_for(router: &Router, host: &str, path: &str) -> Option<String> {
        let headers = HeaderMap::new();
        let request = Request {
            host,
            path,
            query: None,
            headers: &headers,
        };
        let m = router
            .socket(IpAddr::from([0, 0, 0, 0]), 80)?
            .route(&request)?;
        m.action.backends.pick(0).map(str::to_string)
    }

    #[test]
    fn exact_route_hostname_beats_wildcard_even_with_a_longer_path() {
        let r = router(vec![listener(
            "ns/gw/http",
            None,
            vec![
                route(
                    "ns/wild",
                    &["*.example.com"],
                    vec![rule(PathMatch::PathPrefix, "/long/path", "wild")],
                ),
                route(
                    "ns/exact",
                    &["a.example.com"],
                    vec![rule(PathMatch::PathPrefix, "/", "exact")],
                ),
            ],
        )]);
        assert_eq!(
            cluster_for(&r, "a.example.com", "/long/path").as_deref(),
            Some("exact")
        );
        assert_eq!(
            cluster_for(&r, "b.example.com", "/long/path").as_deref(),
            Some("wild")
        );
        assert_eq!(cluster_for(&r, "b.example.com", "/other"), None);
    }

    #[test]
    fn falls_through_to_less_specific_hostnames_when_paths_do_not_match() {
        let r = router(vec![listener(
            "ns/gw/http",
            None,
            vec![
                route(
                    "ns/a",
                    &["a.example.com"],
                    vec![rule(PathMatch::Exact, "/a", "a")],
                ),
                route("ns/any", &[], vec![rule(PathMatch::PathPrefix, "/", "any")]),
            ],
        )]);
        assert_eq!(cluster_for(&r, "a.example.com", "/a").as_deref(), Some("a"));
        assert_eq!(
            cluster_for(&r, "a.example.com", "/b").as_deref(),
            Some("any")
        );
    }

    #[test]
    fn the_most_specific_listener_owns_the_host() {
        let r = router(vec![
            listener(
                "ns/gw/wild",
                Some("*.example.com"),
                vec![route(
                    "ns/w",
                    &["*.example.com"],
                    vec![rule(PathMatch::PathPrefix, "/", "wild")],
                )],
            ),
            listener(
                "ns/gw/exact",
                Some("a.example.com"),
                vec![route(
                    "ns/e",
                    &["a.example.com"],
                    vec![rule(PathMatch::Exact, "/only", "exact")],
                )],
            ),
        ]);
        assert_eq!(
            cluster_for(&r, "a.example.com", "/only").as_deref(),
            Some("exact")
        );
        // The exact listener owns a.example.com: the wildcard listener's routes do not apply.
        assert_eq!(cluster_for(&r, "a.example.com", "/other"), None);
        assert_eq!(
            cluster_for(&r, "b.example.com", "/other").as_deref(),
            Some("wild")
        );
        assert_eq!(cluster_for(&r, "example.org", "/"), None);
    }

    #[test]
    fn older_route_wins_a_tie() {
        let r = router(vec![listener(
            "ns/gw/http",
            None,
            vec![
                route("ns/old", &[], vec![rule(PathMatch::PathPrefix, "/", "old")]),
                route("ns/new", &[], vec![rule(PathMatch::PathPrefix, "/", "new")]),
            ],
        )]);
        assert_eq!(cluster_for(&r, "x", "/").as_deref(), Some("old"));
    }

    #[test]
    fn weights_split_by_cumulative_share_and_invalid_refs_keep_theirs() {
        let backends = WeightedBackends {
            clusters: vec![Some("a".into()), None, Some("c".into())],
            cumulative: vec![70, 80, 100],
        };
        assert_eq!(backends.pick(0), Some("a"));
        assert_eq!(backends.pick(69), Some("a"));
        assert_eq!(backends.pick(70), None);
        assert_eq!(backends.pick(80), Some("c"));
        assert_eq!(backends.pick(199), Some("c"));
        assert_eq!(WeightedBackends::default().pick(3), None);
    }

    #[test]
    fn zero_weight_backend_is_never_picked() {
        let backends = WeightedBackends {
            clusters: vec![Some("zero".into()), Some("all".into())],
            cumulative: vec![0, 5],
        };
        assert!((0..100).all(|r| backends.pick(r) == Some("all")));
    }
}
