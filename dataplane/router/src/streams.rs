//! Layer-4 routing tables: which route, and which backend, a TCP connection, a TLS stream (by
//! the server name of its ClientHello) or a UDP client's datagrams go to. Compiled once per
//! snapshot; a lookup is a few hash probes, whatever the number of routes.
//!
//! A TLS socket picks its listener by server name as HTTPS does (exact, then the longest
//! wildcard, then the listener without a hostname), then that listener's route by the same
//! rule; among routes claiming the same name the oldest wins. A TCP or UDP socket has one
//! listener, and its oldest route carries the traffic.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use portico_snapshot::{ClusterName, Listener, Snapshot, StreamRoute, TlsMode};

use crate::hosts::HostMap;

/// Layer-4 routing for every TCP, TLS and UDP socket of a snapshot.
#[derive(Debug, Default)]
pub struct StreamRouter {
    /// By address, port and whether the socket is a UDP one.
    sockets: HashMap<(IpAddr, u16, bool), StreamSocket>,
}

/// Routing for one socket.
#[derive(Debug, Default)]
pub struct StreamSocket {
    listeners: HostMap<Option<usize>>,
    entries: Vec<StreamListener>,
}

/// One listener of a socket and its routes by server name.
#[derive(Debug)]
pub struct StreamListener {
    /// The listener's key, for metrics and logs.
    pub key: Arc<str>,
    /// How a TLS listener treats streams (`None` on TCP and UDP sockets).
    pub tls_mode: Option<TlsMode>,
    routes: HostMap<Option<Arc<StreamTarget>>>,
}

/// A route's weighted backends.
#[derive(Debug)]
pub struct StreamTarget {
    /// `namespace/name` of the route.
    pub route: Arc<str>,
    clusters: Vec<Option<ClusterName>>,
    /// Running totals of the backends' weights.
    cumulative: Vec<u64>,
}

/// The route a stream belongs to.
#[derive(Debug, Clone, Copy)]
pub struct StreamMatch<'a> {
    /// The listener that took it.
    pub listener: &'a StreamListener,
    /// The route it goes to.
    pub target: &'a Arc<StreamTarget>,
}

/// Where a stream goes, as [`StreamTarget::pick`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick<'a> {
    /// To an endpoint of this cluster.
    Cluster(&'a ClusterName),
    /// Nowhere: the backend chosen is invalid, or every weight is 0; the stream is refused.
    Refuse,
}

impl StreamRouter {
    /// Compile the layer-4 listeners of `snapshot` (HTTP ones are the [`crate::Router`]'s).
    pub fn build(snapshot: &Snapshot) -> Self {
        let mut sockets: HashMap<(IpAddr, u16, bool), StreamSocket> = HashMap::new();
        let listeners = snapshot.gateways.iter().flat_map(|g| &g.listeners);
        for listener in listeners.filter(|l| !l.protocol.protocol().serves_http()) {
            let protocol = listener.protocol.protocol();
            let socket = sockets
                .entry((listener.address, listener.port, protocol.is_udp()))
                .or_default();
            let index = socket.entries.len();
            let hostname = listener
                .protocol
                .tls_mode()
                .and(listener.hostname.as_deref());
            socket.listeners.entry(hostname).get_or_insert(index);
            socket.entries.push(compile_listener(listener));
        }
        Self { sockets }
    }

    /// The table of a TCP or TLS socket (`udp` false) or a UDP one.
    pub fn socket(&self, address: IpAddr, port: u16, udp: bool) -> Option<&StreamSocket> {
        self.sockets.get(&(address, port, udp))
    }
}

fn compile_listener(listener: &Listener) -> StreamListener {
    let mut routes: HostMap<Option<Arc<StreamTarget>>> = HostMap::default();
    // Routes come oldest first: the first to claim a name keeps it.
    for route in &listener.stream_routes {
        let target = Arc::new(compile_target(route));
        if route.hostnames.is_empty() {
            routes.entry(None).get_or_insert_with(|| target.clone());
        }
        for hostname in &route.hostnames {
            routes
                .entry(Some(hostname))
                .get_or_insert_with(|| target.clone());
        }
    }
    StreamListener {
        key: Arc::from(listener.key.as_str()),
        tls_mode: listener.protocol.tls_mode(),
        routes,
    }
}

fn compile_target(route: &StreamRoute) -> StreamTarget {
    let mut total = 0u64;
    let cumulative = route
        .backends
        .iter()
        .map(|b| {
            total += u64::from(b.weight);
            total
        })
        .collect();
    StreamTarget {
        route: Arc::from(route.key.as_str()),
        clusters: route.backends.iter().map(|b| b.cluster.clone()).collect(),
        cumulative,
    }
}

impl StreamSocket {
    /// The listener and route for a stream with `server_name` (a TLS ClientHello's SNI,
    /// lowercase; `None` without one, and always on TCP and UDP sockets). `None` when no
    /// listener or no route takes it: the stream is refused.
    pub fn route(&self, server_name: Option<&str>) -> Option<StreamMatch<'_>> {
        let name = server_name.unwrap_or("");
        let index = self.listeners.matching(name).flatten().next()?;
        let listener = self.entries.get(*index)?;
        let target = listener.routes.matching(name).flatten().next()?;
        Some(StreamMatch { listener, target })
    }
}

impl StreamTarget {
    /// The backend for a uniformly random `random`, by weight.
    pub fn pick(&self, random: u64) -> Pick<'_> {
        let total = self.cumulative.last().copied().unwrap_or(0);
        if total == 0 {
            return Pick::Refuse;
        }
        let point = random % total;
        let index = self.cumulative.partition_point(|&c| c <= point);
        match self.clusters.get(index) {
            Some(Some(cluster)) => Pick::Cluster(cluster),
            _ => Pick::Refuse,
        }
    }
}

#[cfg(test)]
mod tests {
    use portico_snapshot::*;

    use super::*;

    fn route(key: &str, hostnames: &[&str], backends: &[(Option<&str>, u32)]) -> StreamRoute {
        StreamRoute {
            key: key.into(),
            hostnames: hostnames.iter().map(|h| h.to_string()).collect(),
            backends: backends
                .iter()
                .map(|(cluster, weight)| StreamBackend {
                    cluster: cluster.map(ClusterName::from),
                    weight: *weight,
                })
                .collect(),
        }
    }

    fn listener(
        key: &str,
        protocol: ListenerProtocol,
        hostname: Option<&str>,
        routes: Vec<StreamRoute>,
    ) -> Listener {
        Listener {
            key: key.into(),
            address: [0, 0, 0, 0].into(),
            port: 443,
            protocol,
            hostname: hostname.map(str::to_string),
            stream_routes: routes,
            ..Default::default()
        }
    }

    fn router(listeners: Vec<Listener>) -> StreamRouter {
        StreamRouter::build(&Snapshot {
            gateways: vec![GatewayConfig {
                listeners,
                ..Default::default()
            }],
            ..Default::default()
        })
    }

    fn routed<'a>(socket: &'a StreamSocket, name: Option<&str>) -> Option<(&'a str, &'a str)> {
        socket
            .route(name)
            .map(|m| (&*m.listener.key, &*m.target.route))
    }

    #[test]
    fn tls_streams_go_to_the_most_specific_listener_then_the_oldest_route_naming_them() {
        let terminate = ListenerProtocol::TlsTerminate(TlsTermination::default());
        let router = router(vec![
            listener(
                "gw/pass",
                ListenerProtocol::TlsPassthrough,
                Some("*.example.com"),
                vec![
                    route("ns/old", &["a.example.com"], &[(Some("c"), 1)]),
                    route(
                        "ns/new",
                        &["a.example.com", "*.example.com"],
                        &[(Some("c"), 1)],
                    ),
                ],
            ),
            listener(
                "gw/term",
                terminate,
                Some("secure.example.com"),
                vec![route("ns/t", &["secure.example.com"], &[(Some("c"), 1)])],
            ),
        ]);
        let socket = router
            .socket([0, 0, 0, 0].into(), 443, false)
            .expect("socket");
        assert_eq!(
            routed(socket, Some("a.example.com")),
            Some(("gw/pass", "ns/old"))
        );
        assert_eq!(
            routed(socket, Some("b.example.com")),
            Some(("gw/pass", "ns/new"))
        );
        assert_eq!(
            routed(socket, Some("secure.example.com")),
            Some(("gw/term", "ns/t"))
        );
        let mode = socket
            .route(Some("secure.example.com"))
            .map(|m| m.listener.tls_mode);
        assert_eq!(mode, Some(Some(TlsMode::Terminate)));
        // No listener for the name, or no SNI at all: refused.
        assert_eq!(routed(socket, Some("example.org")), None);
        assert_eq!(routed(socket, None), None);
    }

    #[test]
    fn a_tcp_socket_sends_everything_to_its_oldest_route_and_weights_split_it() {
        let router = router(vec![listener(
            "gw/tcp",
            ListenerProtocol::Tcp,
            None,
            vec![
                route(
                    "ns/first",
                    &[],
                    &[(Some("a"), 3), (None, 1), (Some("b"), 0)],
                ),
                route("ns/second", &[], &[(Some("z"), 1)]),
            ],
        )]);
        assert!(router.socket([0, 0, 0, 0].into(), 443, true).is_none());
        let socket = router
            .socket([0, 0, 0, 0].into(), 443, false)
            .expect("socket");
        let matched = socket.route(None).expect("routed");
        assert_eq!(&*matched.target.route, "ns/first");
        let a = ClusterName::from("a");
        let picks: Vec<_> = (0..4).map(|r| matched.target.pick(r)).collect();
        assert_eq!(
            picks,
            [
                Pick::Cluster(&a),
                Pick::Cluster(&a),
                Pick::Cluster(&a),
                Pick::Refuse
            ]
        );
    }

    #[test]
    fn a_route_whose_weights_are_all_zero_refuses() {
        let target = compile_target(&route("ns/r", &[], &[(Some("a"), 0)]));
        assert_eq!(target.pick(7), Pick::Refuse);
    }
}
