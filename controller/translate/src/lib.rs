//! # portico-translate
//!
//! The pure heart of Portico's controller: Gateway API objects in, per-Gateway snapshots and
//! object statuses out. No Kubernetes client, no async runtime, no clock: the caller supplies
//! [`Resources`] (from the API server or from YAML files) and stamps condition times itself.
//!
//! Pipeline, one module each, run in this order by [`translate_with`]:
//! 1. `classes`: which GatewayClasses are ours.
//! 2. `gateways`: which Gateways we own, their address and `listeners` (protocol, route kinds,
//!    certificates via [`tls`], conflicts within a Gateway), and the `listener_sets` adding
//!    listeners to them; then `conflicts` between Gateways sharing sockets.
//! 3. `attach`: the route pipeline every kind shares, parameterised by the `RouteKind` trait
//!    (`route_kind`): compile (or reuse from the [`memo`]) a route's rules, resolve its
//!    [`backends`], attach it to listeners ([`hostnames`], allowedRoutes, [`refgrant`]), report
//!    its parents' status. `http_route` is the HTTPRoute kind, `grpc_route` the GRPCRoute kind
//!    (`cross_serving` settles the two sharing a hostname), `stream_routes` the TCPRoute,
//!    TLSRoute and UDPRoute kinds. docs/architecture.md says how to add a kind.
//! 4. `assemble`, `gateway_status` and `listener_set_status`: each Gateway's snapshot and
//!    status (and its ListenerSets'), with typed
//!    [`GatewayFacts`] for the stages after translation.
//!
//! Beside the pipeline, [`ingress`] migrates Ingresses to Gateway API objects (`portico
//! migrate`).
//!
//! ```no_run
//! use portico_translate::{translate, Options, Resources};
//! let output = translate(&Resources::default(), &Options::default());
//! for gateway in &output.gateways {
//!     println!("{} has {} listeners", gateway.config.gateway, gateway.config.listeners.len());
//! }
//! ```

pub mod addresses;
mod assemble;
mod attach;
pub mod backend_tls;
pub mod backends;
pub mod ca_bundles;
mod classes;
pub mod conditions;
mod conflicts;
mod cross_serving;
pub mod documents;
mod frontend_tls;
mod gateway_status;
mod gateways;
mod grpc_route;
mod hash;
pub mod hostnames;
mod http_filters;
mod http_matches;
mod http_route;
pub mod ingress;
mod listener_set_status;
mod listener_sets;
mod listeners;
pub mod memo;
pub mod names;
mod namespace_selectors;
mod options;
pub mod output;
pub mod parameters;
mod parents;
pub mod references;
pub mod refgrant;
pub mod resources;
mod route_kind;
pub mod route_kinds;
mod stream_routes;
pub mod tls;

pub use classes::SUPPORTED_FEATURES;
pub use documents::{DocumentError, Parsed, parse_documents};
pub use memo::RouteMemo;
pub use options::{CONTROLLER_NAME, Options};
pub use output::{
    GatewayFacts, GatewaySnapshot, ListenerFacts, ListenerSetFacts, ObjectStatus, Output,
    ServedPort, Statuses, merge,
};
pub use references::{References, references};
pub use resources::Resources;

/// Translate `resources` into one snapshot per owned Gateway plus the status of every object
/// we are responsible for. Invalid objects produce status conditions, never errors.
pub fn translate(resources: &Resources, options: &Options) -> Output {
    translate_with(resources, options, &mut RouteMemo::default())
}

/// [`translate`], reusing routes `memo` compiled before whose inputs did not change, and
/// remembering this translation's for the next. The output is the same as [`translate`]'s.
pub fn translate_with(resources: &Resources, options: &Options, memo: &mut RouteMemo) -> Output {
    let index = resources::Index::new(resources);
    let mut statuses = Statuses::default();
    let classes = classes::accept_classes(resources, options, &mut statuses);
    let mut gateways = gateways::accept_gateways(&index, &classes, options);
    if options.shared_dataplanes {
        conflicts::mark_cross_gateway_conflicts(&mut gateways);
        for gateway in &mut gateways {
            gateway.refuse_listener_sets_unless_accepted();
        }
    }
    let mut http = attach::attach_routes::<http_route::HttpRouteKind>(
        &index,
        options,
        &gateways,
        &mut memo.http,
    );
    let mut grpc = attach::attach_routes::<grpc_route::GrpcRouteKind>(
        &index,
        options,
        &gateways,
        &mut memo.grpc,
    );
    cross_serving::resolve(&mut http, &mut grpc);
    let tls = attach::attach_routes::<stream_routes::TlsRouteKind>(
        &index,
        options,
        &gateways,
        &mut memo.tls,
    );
    let tcp = attach::attach_routes::<stream_routes::TcpRouteKind>(
        &index,
        options,
        &gateways,
        &mut memo.tcp,
    );
    let udp = attach::attach_routes::<stream_routes::UdpRouteKind>(
        &index,
        options,
        &gateways,
        &mut memo.udp,
    );
    statuses.http_routes = http.statuses;
    statuses.grpc_routes = grpc.statuses;
    statuses.tls_routes = tls.statuses;
    statuses.tcp_routes = tcp.statuses;
    statuses.udp_routes = udp.statuses;
    let mut attached = gateway_status::AttachedCounts::new();
    let counts = http
        .attachments
        .counts()
        .chain(grpc.attachments.counts())
        .chain(tls.attachments.counts())
        .chain(tcp.attachments.counts())
        .chain(udp.attachments.counts());
    for (listener, count) in counts {
        *attached.entry(listener).or_default() += i32::try_from(count).unwrap_or(i32::MAX);
    }
    let routes = assemble::Routes {
        http: &http.attachments,
        grpc: &grpc.attachments,
        streams: [&tls.attachments, &tcp.attachments, &udp.attachments],
    };
    let mut output = Output {
        gateways: Vec::new(),
        statuses,
        facts: gateways.iter().map(gateways::GatewayState::facts).collect(),
    };
    for gateway in &gateways {
        output
            .statuses
            .gateways
            .push(gateway_status::status(gateway, &attached));
        output.statuses.listener_sets.extend(
            gateway
                .listener_sets
                .iter()
                .map(|set| listener_set_status::status(set, &attached)),
        );
        if let Ok(address) = &gateway.address {
            output
                .gateways
                .push(assemble::snapshot(gateway, address.bind, &routes));
        }
    }
    output.statuses.backend_tls_policies = backend_tls::statuses(
        &index.backend_tls,
        &output.gateways,
        &options.controller_name,
    );
    output
        .statuses
        .listener_sets
        .sort_by(|a, b| a.object.cmp(&b.object));
    output
}
