//! The applied configuration: a snapshot compiled into everything the request path needs
//! (HTTP and layer-4 routing tables, load balancers, TLS configs, counters), swapped
//! atomically as a whole.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use pingora_core::tls::ServerConfig;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_load_balancing::LoadBalancer;
use pingora_load_balancing::selection::RoundRobin;
use portico_router::Router;
use portico_router::streams::{Pick, StreamRouter, StreamTarget};
use portico_snapshot::{
    BackendProtocol, BackendTls, Endpoint, ListenerProtocol, Protocol, Snapshot,
};

use crate::backend_tls::BackendTlsConnector;
use crate::metrics::{ListenerCounters, Metrics, StreamCounters};
use crate::tls;

/// One bound socket as the snapshot describes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketSpec {
    /// Address to bind.
    pub address: IpAddr,
    /// Port to bind.
    pub port: u16,
    /// What it speaks (a UDP socket is apart from the TCP socket of the same port).
    pub protocol: Protocol,
}

/// One cluster's load balancer, and the content version of the endpoints it balances over.
pub struct Balancer {
    /// The cluster's `version` in the snapshot the balancer was built from.
    pub version: u64,
    /// The endpoints it was built from (a peer's version is not trusted alone).
    pub from: Vec<Endpoint>,
    /// The HTTP version the endpoints speak.
    pub protocol: BackendProtocol,
    /// The TLS the endpoints are spoken to with, as the snapshot says.
    pub tls: Option<BackendTls>,
    /// Dials the endpoints over that TLS.
    pub tls_connector: Option<Arc<BackendTlsConnector>>,
    /// Round-robin over the cluster's endpoints.
    pub endpoints: LoadBalancer<RoundRobin>,
}

/// Requests multiplexed on one HTTP/2 connection to an endpoint before another is opened.
const H2_STREAMS_PER_CONNECTION: usize = 100;

impl Balancer {
    /// A peer for one of the cluster's endpoints, speaking its protocol (and TLS, through the
    /// cluster's connector).
    pub fn peer(&self, address: pingora_core::protocols::l4::socket::SocketAddr) -> HttpPeer {
        let mut peer = HttpPeer::new(address, false, String::new());
        if self.protocol.is_http2() {
            // Prior knowledge over cleartext (no ALPN there); over TLS the connector has
            // negotiated `h2` before Pingora sees the stream.
            peer.options.set_http_version(2, 2);
            peer.options.max_h2_streams = H2_STREAMS_PER_CONNECTION;
        }
        if let Some(connector) = &self.tls_connector {
            peer.group_key = connector.group_key();
            peer.options.custom_l4 = Some(connector.clone());
        }
        peer
    }
}

/// A snapshot compiled for serving.
pub struct Applied {
    /// The snapshot as received (served on `/config`).
    pub snapshot: Snapshot,
    /// Routing tables per socket.
    pub router: Router,
    /// A round-robin balancer per cluster name.
    pub clusters: HashMap<String, Arc<Balancer>>,
    /// rustls configuration per HTTPS socket, with SNI certificate selection built in.
    pub tls: HashMap<(IpAddr, u16), Arc<ServerConfig>>,
    /// Listener keys per socket, to report bind failures against listeners.
    pub listeners: HashMap<SocketSpec, Vec<String>>,
    /// Request counters per listener key.
    pub counters: HashMap<String, Arc<ListenerCounters>>,
    /// Layer-4 routing tables (TCP, TLS and UDP sockets).
    pub streams: StreamRouter,
    /// rustls configuration per TLS listener that terminates (by listener key).
    pub stream_tls: HashMap<String, Arc<ServerConfig>>,
    /// Connection and byte counters per layer-4 listener key, then route key.
    stream_counters: HashMap<String, HashMap<String, Arc<StreamCounters>>>,
}

impl Applied {
    /// The balancer of the backend `target` picks for one stream (by weight); `None` when it
    /// picks an invalid backend, or every weight is 0: the stream is refused.
    pub fn stream_backend(&self, target: &StreamTarget) -> Option<Arc<Balancer>> {
        match target.pick(rand::random()) {
            Pick::Cluster(cluster) => self.clusters.get(cluster.as_str()).cloned(),
            Pick::Refuse => None,
        }
    }

    /// The counters of layer-4 `route` on `listener`.
    pub fn stream_counters(&self, listener: &str, route: &str) -> Option<&Arc<StreamCounters>> {
        self.stream_counters.get(listener)?.get(route)
    }

    /// Validate and compile `snapshot`. Balancers of clusters whose content version and
    /// endpoints are the ones `previous` served are kept, with their round-robin position. The error is the NACK
    /// reason.
    pub fn build(
        snapshot: Snapshot,
        metrics: &Metrics,
        previous: Option<&Applied>,
    ) -> Result<Self, String> {
        portico_snapshot::validate(&snapshot).map_err(|e| e.to_string())?;
        let router = Router::build(&snapshot).map_err(|e| e.to_string())?;
        let mut clusters = HashMap::new();
        for cluster in &snapshot.clusters {
            let unchanged = previous
                .and_then(|p| p.clusters.get(cluster.name.as_str()))
                .filter(|b| {
                    b.version == cluster.version
                        && b.from == cluster.endpoints
                        && b.protocol == cluster.protocol
                        && b.tls == cluster.tls
                });
            if let Some(balancer) = unchanged {
                clusters.insert(cluster.name.to_string(), balancer.clone());
                continue;
            }
            let addresses = cluster.endpoints.iter().map(Endpoint::socket);
            let endpoints = LoadBalancer::try_from_iter(addresses)
                .map_err(|e| format!("cluster {}: {e}", cluster.name))?;
            let tls_connector = cluster
                .tls
                .as_ref()
                .map(|tls| BackendTlsConnector::new(tls, cluster.protocol).map(Arc::new))
                .transpose()
                .map_err(|e| format!("cluster {}: {e}", cluster.name))?;
            let balancer = Balancer {
                version: cluster.version,
                from: cluster.endpoints.clone(),
                protocol: cluster.protocol,
                tls: cluster.tls.clone(),
                tls_connector,
                endpoints,
            };
            clusters.insert(cluster.name.to_string(), Arc::new(balancer));
        }
        let mut listeners: HashMap<SocketSpec, Vec<String>> = HashMap::new();
        let mut counters = HashMap::new();
        let mut https: HashMap<(IpAddr, u16), Vec<&portico_snapshot::Listener>> = HashMap::new();
        let mut stream_tls = HashMap::new();
        let mut stream_counters = HashMap::new();
        for listener in snapshot.gateways.iter().flat_map(|g| &g.listeners) {
            let spec = SocketSpec {
                address: listener.address,
                port: listener.port,
                protocol: listener.protocol.protocol(),
            };
            listeners
                .entry(spec)
                .or_default()
                .push(listener.key.to_string());
            counters.insert(
                listener.key.to_string(),
                metrics.listener_counters(listener.key.as_str()),
            );
            match &listener.protocol {
                ListenerProtocol::Https(_) => https
                    .entry((listener.address, listener.port))
                    .or_default()
                    .push(listener),
                ListenerProtocol::TlsTerminate(_) => {
                    let config = tls::stream_server_config(listener)?;
                    stream_tls.insert(listener.key.to_string(), config);
                }
                _ => {}
            }
            let routes = listener.stream_routes.iter().map(|route| {
                let counters = metrics.stream_counters(listener.key.as_str(), &route.key);
                (route.key.clone(), counters)
            });
            stream_counters.insert(listener.key.to_string(), routes.collect());
        }
        let tls = https
            .into_iter()
            .map(|(socket, listeners)| Ok((socket, tls::server_config(&listeners)?)))
            .collect::<Result<_, String>>()?;
        let streams = StreamRouter::build(&snapshot);
        Ok(Self {
            snapshot,
            router,
            clusters,
            tls,
            listeners,
            counters,
            streams,
            stream_tls,
            stream_counters,
        })
    }
}

/// The configuration currently served. Readers take a cheap snapshot of the pointer per
/// request; the subscriber replaces it whole.
pub type Current = Arc<ArcSwapOption<Applied>>;

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use portico_snapshot::*;

    use super::*;

    fn snapshot(endpoint_port: u16, cluster: &str) -> Snapshot {
        let endpoints = vec![Endpoint {
            address: [127, 0, 0, 1].into(),
            port: endpoint_port,
        }];
        Snapshot {
            version: 1,
            gateways: vec![GatewayConfig {
                listeners: vec![Listener {
                    key: "ns/gw/http".into(),
                    address: [127, 0, 0, 1].into(),
                    port: 8080,
                    routes: vec![HttpRoute {
                        key: "ns/r".into(),
                        hostnames: vec![],
                        rules: vec![HttpRule {
                            matches: vec![HttpMatch {
                                path: "/".into(),
                                ..HttpMatch::default()
                            }],
                            backends: vec![WeightedBackend {
                                cluster: Some(cluster.into()),
                                weight: 1,
                                ..WeightedBackend::default()
                            }],
                            ..HttpRule::default()
                        }],
                    }],
                    ..Listener::default()
                }],
                ..GatewayConfig::default()
            }],
            clusters: vec![Cluster {
                name: "ns/svc:80".into(),
                version: u64::from(endpoint_port),
                endpoints,
                ..Cluster::default()
            }],
        }
    }

    fn metrics() -> Metrics {
        Metrics::new().expect("metrics")
    }

    #[test]
    fn an_inconsistent_snapshot_is_refused_with_a_reason() {
        let Err(reason) = Applied::build(snapshot(3000, "ns/missing:80"), &metrics(), None) else {
            panic!("a route to a missing cluster was applied");
        };
        assert!(reason.contains("ns/missing:80"), "{reason}");
    }

    #[test]
    fn balancers_of_unchanged_clusters_are_kept_and_changed_ones_rebuilt() {
        let metrics = metrics();
        let first = Applied::build(snapshot(3000, "ns/svc:80"), &metrics, None).expect("first");
        let same = Applied::build(snapshot(3000, "ns/svc:80"), &metrics, Some(&first))
            .expect("same endpoints");
        let moved = Applied::build(snapshot(3001, "ns/svc:80"), &metrics, Some(&same))
            .expect("other endpoints");
        let balancer = |applied: &Applied| applied.clusters["ns/svc:80"].clone();
        assert!(Arc::ptr_eq(&balancer(&first), &balancer(&same)));
        assert!(!Arc::ptr_eq(&balancer(&same), &balancer(&moved)));
        let endpoint = balancer(&moved).endpoints.select(b"", 1).map(|b| b.addr);
        assert_eq!(
            endpoint.map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:3001")
        );
    }
}
