//! The routing table of a data plane: one [`SocketRouter`] per bound address and port.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use http::{HeaderMap, Method};
use portico_snapshot::{HttpMatch, PathMatch, Protocol, QueryParamMatch, Snapshot, ValueMatch};

pub use crate::error::BuildError;

use crate::conditions::{
    Conditions, RequestParts, ValueCondition, compile_regex, header_conditions,
};
use crate::grpc;
use crate::hosts::HostMap;
use crate::paths::{PathKind, PathTable};
use crate::rule::{RouteAction, compile_action, compile_grpc_action};

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

/// The parts of a request routing looks at.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Normalized host (see [`crate::hosts::normalize_host`]).
    pub host: &'a str,
    /// The request's method.
    pub method: &'a Method,
    /// Normalised path without query.
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
    /// The prefix the request's path matched, for a `PathPrefix` match.
    pub prefix: Option<&'a str>,
}

impl Router {
    /// Compile every listener of `snapshot`. Fails on a header name or value that HTTP forbids.
    pub fn build(snapshot: &Snapshot) -> Result<Self, BuildError> {
        let mut sockets: HashMap<(IpAddr, u16), SocketRouter> = HashMap::new();
        let listeners = snapshot.gateways.iter().flat_map(|g| &g.listeners);
        // Layer-4 listeners are the [`crate::streams::StreamRouter`]'s.
        for listener in listeners.filter(|l| l.protocol.protocol().serves_http()) {
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
                    for hostname in hostnames_of(&route.hostnames) {
                        let paths = table.hosts.entry(hostname);
                        for m in &rule.matches {
                            let (kind, conditions) = match_parts(&route.key, m)?;
                            paths.insert(kind, &m.path, conditions, action.clone());
                        }
                    }
                }
            }
            for route in &listener.grpc_routes {
                for rule in &route.rules {
                    let action = Arc::new(compile_grpc_action(&route.key, rule)?);
                    for hostname in hostnames_of(&route.hostnames) {
                        let paths = table.hosts.entry(hostname);
                        for m in &rule.matches {
                            let (kind, path, conditions) = grpc::filed(&route.key, m)?;
                            paths.insert(kind, &path, conditions, action.clone());
                        }
                    }
                }
            }
            table.hosts.try_for_each_mut(|paths| {
                paths.seal().map_err(|e| {
                    BuildError(format!(
                        "listener {}: invalid path regular expression: {}",
                        listener.key, e.0
                    ))
                })
            })?;
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
    /// Whether a request for `host` arrived on a TLS connection for `server_name` (its SNI)
    /// that another listener of the socket owns: such a request was misdirected (a client
    /// reusing a connection for a name it should not have, answered 421).
    pub fn misdirected(&self, server_name: &str, host: &str) -> bool {
        self.listener_for(server_name) != self.listener_for(host)
    }

    /// The most specific listener for `host`.
    fn listener_for(&self, host: &str) -> Option<usize> {
        self.listeners.matching(host).flatten().next().copied()
    }

    /// Route a request: pick the most specific listener for its host, then the best rule.
    pub fn route<'a>(&'a self, request: &Request<'_>) -> Option<RouteMatch<'a>> {
        let index = self.listener_for(request.host)?;
        let table = self.tables.get(index)?;
        let parts = RequestParts {
            path: request.path,
            method: request.method,
            headers: request.headers,
            query: request.query,
        };
        table
            .hosts
            .matching(request.host)
            .find_map(|paths| paths.lookup(request.path, &parts))
            .map(|found| RouteMatch {
                listener: &table.key,
                action: found.action,
                prefix: found.prefix,
            })
    }
}

/// The host tables a route's rules go in: one per hostname, or the any-host table.
fn hostnames_of(hostnames: &[String]) -> Vec<Option<&str>> {
    if hostnames.is_empty() {
        vec![None]
    } else {
        hostnames.iter().map(|h| Some(h.as_str())).collect()
    }
}

/// How a snapshot match is filed in a path table.
fn match_parts(route: &str, m: &HttpMatch) -> Result<(PathKind, Conditions), BuildError> {
    let kind = match m.path_match {
        PathMatch::Exact => PathKind::Exact,
        PathMatch::PathPrefix => PathKind::Prefix,
        PathMatch::RegularExpression => PathKind::Regex,
    };
    let headers = header_conditions(route, &m.headers)?;
    let query = m
        .query_params
        .iter()
        .map(|QueryParamMatch { name, value }| {
            let condition = match value {
                ValueMatch::Exact(value) => ValueCondition::Exact(value.clone()),
                ValueMatch::RegularExpression(pattern) => {
                    ValueCondition::Regex(compile_regex(route, pattern)?)
                }
            };
            Ok((name.clone(), condition))
        })
        .collect::<Result<_, BuildError>>()?;
    let method = m
        .method
        .map(|method| Method::from_bytes(method.as_str().as_bytes()))
        .transpose()
        .map_err(|e| BuildError(format!("route {route}: {e}")))?;
    Ok((
        kind,
        Conditions {
            method,
            headers,
            query,
            ..Default::default()
        },
    ))
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
                ..Default::default()
            }],
            backends: vec![WeightedBackend {
                cluster: Some(cluster.into()),
                weight: 1,
                ..Default::default()
            }],
            ..Default::default()
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
            method: &http::Method::GET,
            path,
            query: None,
            headers: &headers,
        };
        let m = router
            .socket(IpAddr::from([0, 0, 0, 0]), 80)?
            .route(&request)?;
        let index = m.action.backends.pick(0)?;
        let cluster = m.action.backends.get(index)?.cluster.as_ref()?;
        Some(cluster.as_str().to_string())
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
    fn method_query_and_regex_conditions_come_from_the_snapshot() {
        let mut special = rule(PathMatch::RegularExpression, "/items/[0-9]+", "regex");
        special.matches[0].method = Some(portico_snapshot::Method::Delete);
        special.matches[0].headers = vec![HeaderMatch {
            name: "tenant".try_into().expect("valid name"),
            value: ValueMatch::RegularExpression("t-[a-z]+".try_into().expect("valid regex")),
        }];
        special.matches[0].query_params = vec![QueryParamMatch {
            name: "force".into(),
            value: ValueMatch::Exact("yes".into()),
        }];
        let r = router(vec![listener(
            "ns/gw/http",
            None,
            vec![route(
                "ns/r",
                &[],
                vec![special, rule(PathMatch::PathPrefix, "/", "fallback")],
            )],
        )]);
        let mut headers = HeaderMap::new();
        headers.insert("tenant", http::HeaderValue::from_static("t-abc"));
        let routed = |method: &http::Method, path: &str, query: Option<&str>| {
            let request = Request {
                host: "x",
                method,
                path,
                query,
                headers: &headers,
            };
            let m = r.socket(IpAddr::from([0, 0, 0, 0]), 80)?.route(&request)?;
            let index = m.action.backends.pick(0)?;
            m.action
                .backends
                .get(index)?
                .cluster
                .as_ref()
                .map(|c| c.as_str().to_string())
        };
        let delete = &http::Method::DELETE;
        assert_eq!(
            routed(delete, "/items/7", Some("force=yes")).as_deref(),
            Some("regex")
        );
        assert_eq!(
            routed(delete, "/items/7", Some("force=no")).as_deref(),
            Some("fallback")
        );
        assert_eq!(
            routed(&http::Method::GET, "/items/7", Some("force=yes")).as_deref(),
            Some("fallback")
        );
        assert_eq!(
            routed(delete, "/items/x", Some("force=yes")).as_deref(),
            Some("fallback")
        );
    }

    #[test]
    fn a_host_owned_by_another_listener_than_the_server_name_is_misdirected() {
        let listeners = [
            ("ns/gw/any", None),
            ("ns/gw/second", Some("second.example.org")),
            ("ns/gw/wild", Some("*.wildcard.org")),
            ("ns/gw/fourth", Some("fourth.wildcard.org")),
        ];
        let r = router(
            listeners
                .iter()
                .map(|(key, hostname)| listener(key, *hostname, vec![]))
                .collect(),
        );
        let socket = r.socket(IpAddr::from([0, 0, 0, 0]), 80).expect("socket");
        assert!(
            !socket.misdirected("example.org", "unknown.org"),
            "both the catch-all"
        );
        assert!(socket.misdirected("example.org", "second.example.org"));
        assert!(socket.misdirected("second.example.org", "example.org"));
        assert!(!socket.misdirected("third.wildcard.org", "fifth.wildcard.org"));
        assert!(socket.misdirected("third.wildcard.org", "fourth.wildcard.org"));
        assert!(socket.misdirected("fourth.wildcard.org", "fifth.wildcard.org"));
    }
}
