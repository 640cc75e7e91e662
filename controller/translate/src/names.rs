//! Names every translation stage shares: API groups and kinds, how objects are identified, and
//! the age order that decides precedence between Gateways and between routes.
//!
//! A leaf module: it imports no other module of this crate, so any stage may use it.

use k8s_openapi::jiff::Timestamp;
use kube::{Resource, ResourceExt};
use portico_snapshot::{BackendProtocol, ClusterName, ListenerKey, ObjectRef};

/// API group of Gateway API kinds.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// Kind of the parent routes attach to, and of the parent ListenerSets attach to.
pub const GATEWAY_KIND: &str = "Gateway";

/// Kind of the objects contributing listeners to a Gateway, which routes may attach to too.
pub const LISTENER_SET_KIND: &str = "ListenerSet";

/// The route kinds of Gateway API. Which of them a listener serves depends on its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteKind {
    /// `HTTPRoute`.
    Http,
    /// `GRPCRoute`.
    Grpc,
    /// `TLSRoute`.
    Tls,
    /// `TCPRoute`.
    Tcp,
    /// `UDPRoute`.
    Udp,
}

impl RouteKind {
    /// The kind as Kubernetes spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Http => "HTTPRoute",
            Self::Grpc => "GRPCRoute",
            Self::Tls => "TLSRoute",
            Self::Tcp => "TCPRoute",
            Self::Udp => "UDPRoute",
        }
    }

    /// The kind named `name` in the Gateway API group, if it is a route kind.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Http, Self::Grpc, Self::Tls, Self::Tcp, Self::Udp]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

impl std::fmt::Display for RouteKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Namespace of a namespaced object; objects without one count as `default`, as kubectl does.
pub fn namespace_of<K: Resource>(object: &K) -> String {
    object.namespace().unwrap_or_else(|| "default".to_string())
}

/// Namespace and name of a namespaced object.
pub fn object_ref<K: Resource>(object: &K) -> ObjectRef {
    ObjectRef {
        namespace: namespace_of(object),
        name: object.name_any(),
    }
}

/// `namespace/gateway/listener`: how a listener is keyed in snapshots and data-plane reports.
pub fn listener_key(gateway: &ObjectRef, listener: &str) -> ListenerKey {
    ListenerKey(format!("{gateway}/{listener}"))
}

/// `namespace/gateway/set-namespace/set/listener`: the key of a listener a ListenerSet adds to
/// a Gateway (listener names are unique only within the object declaring them).
pub fn listener_set_listener_key(
    gateway: &ObjectRef,
    listener_set: &ObjectRef,
    listener: &str,
) -> ListenerKey {
    ListenerKey(format!("{gateway}/{listener_set}/{listener}"))
}

/// Precedence by age, as Gateway API breaks ties: the older object first, then the one first
/// in alphabetical order of `{namespace}/{name}`. Objects without a creation time (read from
/// files) count as oldest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Age {
    created: Option<Timestamp>,
    object: ObjectRef,
}

impl Age {
    /// The age of `object`.
    pub fn of<K: Resource>(object: &K) -> Self {
        Self {
            created: object.meta().creation_timestamp.as_ref().map(|t| t.0),
            object: object_ref(object),
        }
    }

    /// The bytes of `{namespace}/{name}`, compared without building the string.
    fn alphabetical(&self) -> impl Iterator<Item = u8> + '_ {
        let ObjectRef { namespace, name } = &self.object;
        namespace.bytes().chain([b'/']).chain(name.bytes())
    }
}

impl Ord for Age {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.created
            .cmp(&other.created)
            .then_with(|| self.alphabetical().cmp(other.alphabetical()))
    }
}

impl PartialOrd for Age {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The name of the cluster of a Service port: `namespace/service:port`.
pub(crate) fn cluster_name(namespace: &str, service: &str, port: i32) -> ClusterName {
    ClusterName(format!("{namespace}/{service}:{port}"))
}

/// The name of the cluster speaking HTTP/2 (`protocol`) to a Service port whose own protocol
/// is another, as gRPC needs: `namespace/service:port/h2c`, or `…/h2` over TLS.
pub(crate) fn grpc_cluster_name(cluster: &ClusterName, protocol: BackendProtocol) -> ClusterName {
    let suffix = match protocol {
        BackendProtocol::H2 => "h2",
        BackendProtocol::H2c | BackendProtocol::Http1 => "h2c",
    };
    ClusterName(format!("{cluster}/{suffix}"))
}

/// The name of the cluster layer-4 routes forward `transport` (`tcp` or `udp`) streams to:
/// `namespace/service:port/tcp`.
pub(crate) fn stream_cluster_name(cluster: &ClusterName, transport: &str) -> ClusterName {
    ClusterName(format!("{cluster}/{transport}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Service;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn service(namespace: &str, name: &str, created: Option<i64>) -> Service {
        let mut service = Service::default();
        service.metadata.namespace = Some(namespace.into());
        service.metadata.name = Some(name.into());
        service.metadata.creation_timestamp =
            created.map(|s| Time(Timestamp::from_second(s).expect("valid time")));
        service
    }

    #[test]
    fn older_first_then_namespace_and_name() {
        let old = Age::of(&service("b", "z", Some(10)));
        let young = Age::of(&service("a", "a", Some(20)));
        assert!(old < young, "age decides before names");
        let a = Age::of(&service("a", "y", Some(10)));
        assert!(a < old, "same age: namespace decides");
        let unknown = Age::of(&service("z", "z", None));
        assert!(unknown < a, "no creation time counts as oldest");
        let dashed = Age::of(&service("a-b", "x", Some(10)));
        let plain = Age::of(&service("a", "x", Some(10)));
        assert!(
            dashed < plain,
            "\"a-b/x\" comes before \"a/x\" alphabetically"
        );
    }

    #[test]
    fn route_kinds_round_trip_their_names() {
        for kind in [
            RouteKind::Http,
            RouteKind::Grpc,
            RouteKind::Tls,
            RouteKind::Tcp,
            RouteKind::Udp,
        ] {
            assert_eq!(RouteKind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(RouteKind::from_name("Gateway"), None);
    }
}
