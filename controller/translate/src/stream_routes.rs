//! TCPRoute, TLSRoute and UDPRoute as route kinds: whole connections (or a client's datagrams)
//! forwarded to weighted backends. One rule each (Gateway API v1 allows no more); a TLSRoute's
//! hostnames are the server names it answers, matched against the client's ClientHello.
//!
//! Their clusters are named apart from HTTP ones (`namespace/service:port/tcp`, `…/udp`): a
//! stream is forwarded as it comes, so no HTTP version or backend TLS applies to it, and a
//! UDP backend is the Service port of protocol UDP.

use gateway_api::tlsroutes::{TlsRoute, TlsRouteRulesBackendRefs};
use portico_snapshot::StreamBackend;

use crate::backends::{self, BackendRef, Resolver};
use crate::conditions::{Problem, reasons};
use crate::names;
use crate::parents::parent_references;
use crate::resources::Resources;
use crate::route_kind::RouteKind;
use crate::route_kinds::{ParentReference, StreamBackendRef, TcpRoute, UdpRoute};

/// The TCPRoute kind.
pub(crate) struct TcpRouteKind;

/// The UDPRoute kind.
pub(crate) struct UdpRouteKind;

/// The TLSRoute kind.
pub(crate) struct TlsRouteKind;

/// Implements [`RouteKind`] for a layer-4 kind from how to reach its spec's parts.
macro_rules! stream_route_kind {
    ($kind:ty, $name:ident, $object:ty, $objects:ident, $hostnames:expr, $parents:expr, $reference:ty) => {
        impl RouteKind for $kind {
            const KIND: names::RouteKind = names::RouteKind::$name;
            type Object = $object;
            type Rules = Vec<StreamBackend>;

            fn objects(resources: &Resources) -> &[$object] {
                &resources.$objects
            }

            fn parent_refs(route: &$object) -> Vec<ParentReference> {
                $parents(route)
            }

            fn hostnames(route: &$object) -> &[String] {
                $hostnames(route)
            }

            fn backend_refs(route: &$object) -> Vec<BackendRef<'_>> {
                route
                    .spec
                    .rules
                    .iter()
                    .flat_map(|rule| &rule.backend_refs)
                    .map(|reference: &$reference| backends::backend_ref!(reference))
                    .collect()
            }

            fn compile(
                route: &$object,
                resolver: &mut Resolver<'_, '_>,
            ) -> Result<Vec<StreamBackend>, Problem> {
                let rules: Vec<Vec<(BackendRef<'_>, Option<i32>)>> = route
                    .spec
                    .rules
                    .iter()
                    .map(|rule| {
                        rule.backend_refs
                            .iter()
                            .map(|r: &$reference| (backends::backend_ref!(r), r.weight))
                            .collect()
                    })
                    .collect();
                compile_rules(Self::KIND, &rules, resolver)
            }
        }
    };
}

stream_route_kind!(
    TcpRouteKind,
    Tcp,
    TcpRoute,
    tcp_routes,
    no_hostnames,
    |route: &TcpRoute| route.spec.parent_refs.clone().unwrap_or_default(),
    StreamBackendRef
);

stream_route_kind!(
    UdpRouteKind,
    Udp,
    UdpRoute,
    udp_routes,
    no_hostnames,
    |route: &UdpRoute| route.spec.parent_refs.clone().unwrap_or_default(),
    StreamBackendRef
);

stream_route_kind!(
    TlsRouteKind,
    Tls,
    TlsRoute,
    tls_routes,
    tls_hostnames,
    |route: &TlsRoute| parent_references!(route),
    TlsRouteRulesBackendRefs
);

/// TCPRoutes and UDPRoutes name no server.
fn no_hostnames<T>(_: &T) -> &[String] {
    &[]
}

/// A TLSRoute's server names.
fn tls_hostnames(route: &TlsRoute) -> &[String] {
    &route.spec.hostnames
}

/// The weighted backends of a route's one rule.
fn compile_rules(
    kind: names::RouteKind,
    rules: &[Vec<(BackendRef<'_>, Option<i32>)>],
    resolver: &mut Resolver<'_, '_>,
) -> Result<Vec<StreamBackend>, Problem> {
    let [rule] = rules else {
        return Err(Problem::new(
            reasons::UNSUPPORTED_VALUE,
            format!(
                "a {kind} has exactly one rule; this one has {}",
                rules.len()
            ),
        ));
    };
    Ok(rule
        .iter()
        .map(|(reference, weight)| StreamBackend {
            cluster: resolver.resolve(reference),
            weight: u32::try_from(weight.unwrap_or(1)).unwrap_or(0),
        })
        .collect())
}
