//! Routes of kinds Portico does not serve yet: TLSRoute, TCPRoute and UDPRoute.
//!
//! No listener of ours accepts these kinds (listeners' `supportedKinds` say so too), so every
//! parentRef naming one of our Gateways is refused with `Accepted=False`,
//! `NotAllowedByListeners` and a message naming the kind. Users see why such a route does
//! nothing instead of silence.

use kube::Resource;
use portico_snapshot::ObjectRef;

use crate::conditions::{condition, reasons, types};
use crate::gateways::GatewayState;
use crate::names::object_ref;
use crate::options::Options;
use crate::output::UnservedRouteStatus;
use crate::parents::{Parents, parent_references};
use crate::resources::Resources;
use crate::route_kinds::{ParentReference, RouteParentStatus, RouteStatus};

/// Statuses for every unserved route with a parentRef to one of `gateways` (or a ListenerSet
/// naming one), sorted by kind,
/// namespace and name.
pub(crate) fn refuse_unserved_routes(
    resources: &Resources,
    options: &Options,
    gateways: &[GatewayState<'_>],
) -> Vec<UnservedRouteStatus> {
    let ours = Parents::new(gateways);
    let mut statuses = Vec::new();
    let mut refuse = |route: &dyn RouteMeta, parents: Vec<ParentReference>| {
        if let Some(status) = refuse(route, &parents, &ours, options) {
            statuses.push(status);
        }
    };
    for route in &resources.tls_routes {
        refuse(route, parent_references!(route));
    }
    for route in &resources.tcp_routes {
        refuse(route, route.spec.parent_refs.clone().unwrap_or_default());
    }
    for route in &resources.udp_routes {
        refuse(route, route.spec.parent_refs.clone().unwrap_or_default());
    }
    statuses.sort_by(|a, b| (&a.kind, &a.object).cmp(&(&b.kind, &b.object)));
    statuses
}

/// What refusing needs to know of a route, whatever its kind.
trait RouteMeta {
    fn kind(&self) -> String;
    fn key(&self) -> ObjectRef;
    fn generation(&self) -> Option<i64>;
}

impl<K: Resource<DynamicType = ()>> RouteMeta for K {
    fn kind(&self) -> String {
        K::kind(&()).into_owned()
    }
    fn key(&self) -> ObjectRef {
        object_ref(self)
    }
    fn generation(&self) -> Option<i64> {
        self.meta().generation
    }
}

fn refuse(
    route: &dyn RouteMeta,
    parents: &[ParentReference],
    ours: &Parents<'_, '_>,
    options: &Options,
) -> Option<UnservedRouteStatus> {
    let object = route.key();
    let kind = route.kind();
    let parents: Vec<_> = parents
        .iter()
        .filter(|p| ours.named(p, &object.namespace).is_some())
        .map(|p| RouteParentStatus {
            parent_ref: p.clone(),
            controller_name: options.controller_name.clone(),
            conditions: vec![condition(
                types::ACCEPTED,
                false,
                reasons::NOT_ALLOWED_BY_LISTENERS,
                format!("no listener accepts {kind}: Portico does not serve {kind} yet"),
                route.generation(),
            )],
        })
        .collect();
    (!parents.is_empty()).then_some(UnservedRouteStatus {
        kind,
        object,
        status: RouteStatus { parents },
    })
}
