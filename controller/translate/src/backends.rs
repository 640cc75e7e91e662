//! backendRefs of any route kind: resolve a reference to a Service port, and the Service's
//! ready endpoints (from its EndpointSlices) into a [`Cluster`].

use std::collections::BTreeSet;

use portico_snapshot::{BackendProtocol, Cluster, ClusterName, Endpoint};

use crate::conditions::{Problem, reasons};
use crate::hash;
use crate::names::{
    GATEWAY_GROUP, RouteKind, cluster_name, grpc_cluster_name, stream_cluster_name,
};
use crate::refgrant;
use crate::resources::Index;

/// A `backendRef` as every route kind spells it (`BackendRef` in the Gateway API), borrowed
/// from the kind's generated type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BackendRef<'a> {
    /// API group; the core group when unset.
    pub group: Option<&'a str>,
    /// Kind; `Service` when unset.
    pub kind: Option<&'a str>,
    /// Name of the backend.
    pub name: &'a str,
    /// Namespace of the backend; the route's own when unset.
    pub namespace: Option<&'a str>,
    /// Service port.
    pub port: Option<i32>,
}

impl BackendRef<'_> {
    /// Namespace of the target, given the route's.
    pub fn target_namespace<'n>(&'n self, route_namespace: &'n str) -> &'n str {
        self.namespace.unwrap_or(route_namespace)
    }

    /// Whether the reference names a Service (the only backend kind served).
    pub fn is_service(&self) -> bool {
        refgrant::core_group(self.group.unwrap_or("")).is_empty()
            && self.kind.unwrap_or("Service") == "Service"
    }
}

/// A [`BackendRef`] borrowed from any of the API's generated backendRef types (a rule's, a
/// mirror's), which share these fields but not a type.
macro_rules! backend_ref {
    ($reference:expr) => {{
        let reference = $reference;
        $crate::backends::BackendRef {
            group: reference.group.as_deref(),
            kind: reference.kind.as_deref(),
            name: &reference.name,
            namespace: reference.namespace.as_deref(),
            port: reference.port,
        }
    }};
}
pub(crate) use backend_ref;

/// Resolves the backendRefs of one route, collecting the clusters they name (once each) and
/// the first problem found.
pub(crate) struct Resolver<'i, 'a> {
    index: &'i Index<'a>,
    kind: RouteKind,
    route_namespace: &'i str,
    /// Clusters named so far, in first-reference order.
    pub clusters: Vec<Cluster>,
    /// The first reference that did not resolve (the route stays accepted; that share of its
    /// traffic answers 500).
    pub unresolved: Option<Problem>,
}

impl<'i, 'a> Resolver<'i, 'a> {
    /// A resolver for a route of `kind` in `route_namespace`.
    pub fn new(index: &'i Index<'a>, kind: RouteKind, route_namespace: &'i str) -> Self {
        Self {
            index,
            kind,
            route_namespace,
            clusters: Vec::new(),
            unresolved: None,
        }
    }

    /// The cluster name `reference` resolves to, or `None` (remembering the problem).
    pub fn resolve(&mut self, reference: &BackendRef<'_>) -> Option<ClusterName> {
        match resolve(self.index, self.kind, self.route_namespace, reference) {
            Ok(cluster) => {
                let name = cluster.name.clone();
                if !self.clusters.iter().any(|c| c.name == name) {
                    self.clusters.push(cluster);
                }
                Some(name)
            }
            Err(problem) => {
                self.unresolved.get_or_insert(problem);
                None
            }
        }
    }
}

/// Whether a route of `kind` in `route_namespace` may refer to `reference`'s namespace.
pub(crate) fn permitted(
    index: &Index<'_>,
    kind: RouteKind,
    route_namespace: &str,
    reference: &BackendRef<'_>,
) -> bool {
    refgrant::permitted(
        &index.resources.reference_grants,
        from(kind, route_namespace),
        service(reference, route_namespace),
    )
}

fn from(kind: RouteKind, namespace: &str) -> refgrant::From<'_> {
    refgrant::From {
        group: GATEWAY_GROUP,
        kind: kind.name(),
        namespace,
    }
}

fn service<'r>(reference: &BackendRef<'r>, route_namespace: &'r str) -> refgrant::To<'r> {
    refgrant::To {
        group: "",
        kind: "Service",
        namespace: reference.namespace.unwrap_or(route_namespace),
        name: reference.name,
    }
}

/// Resolve one backendRef of a route of `kind` in `route_namespace`.
fn resolve(
    index: &Index<'_>,
    kind: RouteKind,
    route_namespace: &str,
    reference: &BackendRef<'_>,
) -> Result<Cluster, Problem> {
    let name = reference.name;
    if !reference.is_service() {
        let group = refgrant::core_group(reference.group.unwrap_or(""));
        let kind = reference.kind.unwrap_or("Service");
        return Err(Problem::new(
            reasons::INVALID_KIND,
            format!(
                "backendRef {name:?} has unsupported kind {group}/{kind}; only Service is supported"
            ),
        ));
    }
    let namespace = reference.target_namespace(route_namespace);
    refgrant::check(
        &index.resources.reference_grants,
        from(kind, route_namespace),
        service(reference, route_namespace),
    )?;
    let not_found = |what: String| Problem::new(reasons::BACKEND_NOT_FOUND, what);
    let service = index
        .service(namespace, name)
        .ok_or_else(|| not_found(format!("Service {namespace}/{name} does not exist")))?;
    let port = reference.port.ok_or_else(|| {
        not_found(format!(
            "backendRef to Service {namespace}/{name} needs a port"
        ))
    })?;
    let transport = Transport::of(kind);
    let service_port = service
        .spec
        .as_ref()
        .and_then(|s| s.ports.as_ref())
        .and_then(|ports| {
            ports
                .iter()
                .find(|p| p.port == port && transport.carries(p.protocol.as_deref()))
        })
        .ok_or_else(|| {
            let udp = if transport == Transport::Udp {
                "UDP "
            } else {
                ""
            };
            not_found(format!(
                "Service {namespace}/{name} has no {udp}port {port}"
            ))
        })?;
    let cluster = cluster_name(namespace, name, port);
    let (cluster, protocol, tls) = match kind {
        // A stream is forwarded as it came: no HTTP version, no backend TLS.
        RouteKind::Tcp | RouteKind::Tls | RouteKind::Udp => (
            stream_cluster_name(&cluster, transport.name()),
            BackendProtocol::Http1,
            None,
        ),
        RouteKind::Http | RouteKind::Grpc => {
            let tls = index.backend_tls.for_cluster(&cluster).cloned();
            let unsupported_protocol = |reason: String| {
                Problem::new(
                    reasons::UNSUPPORTED_PROTOCOL,
                    format!("Service {namespace}/{name} port {port}: {reason}"),
                )
            };
            let protocol = backend_protocol(service_port.app_protocol.as_deref(), tls.is_some())
                .map_err(unsupported_protocol)?;
            let (cluster, protocol) = match kind {
                RouteKind::Grpc => grpc_cluster(cluster, protocol, tls.is_some()),
                _ => (cluster, protocol),
            };
            (cluster, protocol, tls)
        }
    };
    let port_name = service_port.name.as_deref().unwrap_or("");

    // Ready endpoints serve; when there are none, endpoints that still serve while
    // terminating take the traffic (as kube-proxy does), so a rollout's last pods drain
    // instead of the route answering 500.
    let mut ready = BTreeSet::new();
    let mut terminating = BTreeSet::new();
    // Only IP endpoints can be dialled; FQDN slices are not supported.
    let slices = index
        .endpoint_slices(namespace, name)
        .iter()
        .filter(|s| matches!(s.address_type.as_str(), "IPv4" | "IPv6"));
    for slice in slices {
        let Some(target) = slice
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref().unwrap_or("") == port_name)
            .and_then(|p| p.port)
            .and_then(|p| u16::try_from(p).ok())
        else {
            continue;
        };
        for endpoint in &slice.endpoints {
            let conditions = endpoint.conditions.as_ref();
            let set = if conditions.and_then(|c| c.ready) != Some(false) {
                &mut ready
            } else if conditions
                .is_some_and(|c| c.serving == Some(true) && c.terminating == Some(true))
            {
                &mut terminating
            } else {
                continue;
            };
            for address in endpoint.addresses.iter().filter_map(|a| a.parse().ok()) {
                set.insert(Endpoint {
                    address,
                    port: target,
                });
            }
        }
    }
    let endpoints = if ready.is_empty() { terminating } else { ready };
    let endpoints: Vec<Endpoint> = endpoints.into_iter().collect();
    Ok(Cluster {
        name: cluster,
        version: hash::content_version(&endpoints),
        protocol,
        tls,
        endpoints,
    })
}

/// The transport protocol of the Service port a route kind forwards to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    Udp,
}

impl Transport {
    fn of(kind: RouteKind) -> Self {
        match kind {
            RouteKind::Udp => Self::Udp,
            _ => Self::Tcp,
        }
    }

    /// Whether a Service port of `protocol` (TCP when unset) is one of this transport.
    fn carries(self, protocol: Option<&str>) -> bool {
        match (self, protocol.unwrap_or("TCP")) {
            (Self::Tcp, "TCP") | (Self::Udp, "UDP") => true,
            // SCTP and the rest are not forwarded.
            _ => false,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Tcp => "tcp",
            Self::Udp => "udp",
        }
    }
}

/// The cluster a GRPCRoute sends calls to: gRPC is HTTP/2, so a port declared otherwise (or not
/// at all) is spoken to in HTTP/2 (`H2` over the TLS a BackendTLSPolicy asks for, `H2c`
/// otherwise) under a cluster of its own, apart from the HTTP/1.1 cluster HTTPRoutes to the
/// same port use.
fn grpc_cluster(
    cluster: ClusterName,
    declared: BackendProtocol,
    with_tls: bool,
) -> (ClusterName, BackendProtocol) {
    let protocol = if with_tls {
        BackendProtocol::H2
    } else {
        BackendProtocol::H2c
    };
    if declared == protocol {
        (cluster, protocol)
    } else {
        (grpc_cluster_name(&cluster, protocol), protocol)
    }
}

/// How to speak to a Service port with `app_protocol` (KEP-3726's standard names, or an IANA
/// service name). Unknown names are spoken to as HTTP/1.1, the protocol the route implies. A
/// port asking for TLS needs a BackendTLSPolicy saying how to trust it (`with_tls`).
fn backend_protocol(app_protocol: Option<&str>, with_tls: bool) -> Result<BackendProtocol, String> {
    match app_protocol {
        Some("kubernetes.io/h2c") if with_tls => Err(
            "appProtocol kubernetes.io/h2c is cleartext HTTP/2, but a BackendTLSPolicy asks for TLS"
                .to_string(),
        ),
        Some("kubernetes.io/h2c") => Ok(BackendProtocol::H2c),
        Some(tls) if !with_tls && (tls == "kubernetes.io/wss" || tls.eq_ignore_ascii_case("https")) => {
            Err(format!(
                "appProtocol {tls:?} asks for TLS to the backend; a BackendTLSPolicy targeting \
                 the Service must say how to verify it"
            ))
        }
        _ => Ok(BackendProtocol::Http1),
    }
}
