//! `lastTransitionTime`: a condition keeps the time it had where the statuses are shown while
//! its status stays the same; any other condition gets the current time.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use portico_translate::Statuses;

use super::listener_owners::ListenerOwnerStatus;

/// Stamp `lastTransitionTime` on every condition of `current`: a condition whose status is the
/// same as in `previous` keeps its time there, any other gets `now`.
pub fn stamp(current: &mut Statuses, previous: &Statuses, now: Timestamp) {
    let mut times = HashMap::new();
    visit(previous, |key, condition| {
        times.insert(
            key,
            (condition.status.clone(), condition.last_transition_time.0),
        );
    });
    visit_mut(current, |key, condition| {
        let time = match times.get(&key) {
            Some((status, time)) if *status == condition.status => *time,
            _ => now,
        };
        condition.last_transition_time = Time(time);
    });
}

/// Every condition with a key naming where it sits (object, listener or parent, type).
fn visit(statuses: &Statuses, mut f: impl FnMut(String, &Condition)) {
    let mut copy = statuses.clone();
    visit_mut(&mut copy, |key, condition| f(key, condition));
}

fn visit_mut(statuses: &mut Statuses, mut f: impl FnMut(String, &mut Condition)) {
    for class in &mut statuses.gateway_classes {
        for c in class.status.conditions.iter_mut().flatten() {
            f(format!("GatewayClass/{}/{}", class.object.name, c.type_), c);
        }
    }
    let gateways = statuses.gateways.iter_mut().map(|g| {
        let id = format!("Gateway/{}", g.object);
        (id, &mut g.status as &mut dyn ListenerOwnerStatus)
    });
    let listener_sets = statuses.listener_sets.iter_mut().map(|s| {
        let id = format!("ListenerSet/{}", s.object);
        (id, &mut s.status as &mut dyn ListenerOwnerStatus)
    });
    for (id, status) in gateways.chain(listener_sets) {
        for c in status.conditions_mut() {
            f(format!("{id}/{}", c.type_), c);
        }
        for (name, conditions) in status.listeners_mut() {
            for c in conditions {
                f(format!("{id}/listener/{name}/{}", c.type_), c);
            }
        }
    }
    let routes = [
        ("HTTPRoute", &mut statuses.http_routes),
        ("GRPCRoute", &mut statuses.grpc_routes),
        ("TLSRoute", &mut statuses.tls_routes),
        ("TCPRoute", &mut statuses.tcp_routes),
        ("UDPRoute", &mut statuses.udp_routes),
    ];
    let routes = routes.into_iter().flat_map(|(kind, routes)| {
        routes
            .iter_mut()
            .map(move |r| (kind, &r.object, &mut r.status))
    });
    for (kind, object, status) in routes {
        for parent in &mut status.parents {
            let p = &parent.parent_ref;
            let id = format!(
                "{kind}/{object}/parent/{}/{:?}/{}/{:?}/{:?}",
                parent.controller_name, p.namespace, p.name, p.section_name, p.port
            );
            for c in &mut parent.conditions {
                f(format!("{id}/{}", c.type_), c);
            }
        }
    }
    for policy in &mut statuses.backend_tls_policies {
        for ancestor in &mut policy.status.ancestors {
            let a = &ancestor.ancestor_ref;
            let id = format!(
                "BackendTLSPolicy/{}/ancestor/{}/{:?}/{}",
                policy.object, ancestor.controller_name, a.namespace, a.name
            );
            for c in &mut ancestor.conditions {
                f(format!("{id}/{}", c.type_), c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_snapshot::ObjectRef;
    use portico_translate::ObjectStatus;
    use portico_translate::conditions::{condition, types};

    fn statuses(accepted: bool) -> Statuses {
        let mut statuses = Statuses::default();
        statuses.gateway_classes.push(ObjectStatus {
            object: ObjectRef {
                namespace: String::new(),
                name: "portico".into(),
            },
            status: gateway_api::gatewayclasses::GatewayClassStatus {
                conditions: Some(vec![condition(
                    types::ACCEPTED,
                    accepted,
                    "R",
                    "m",
                    Some(1),
                )]),
                supported_features: None,
            },
        });
        statuses
    }

    fn time(statuses: &Statuses) -> Timestamp {
        statuses.gateway_classes[0]
            .status
            .conditions
            .as_ref()
            .map_or(Timestamp::UNIX_EPOCH, |c| c[0].last_transition_time.0)
    }

    #[test]
    fn transition_time_moves_only_when_status_changes() {
        let t1 = Timestamp::from_second(1_000).unwrap();
        let t2 = Timestamp::from_second(2_000).unwrap();
        let mut first = statuses(true);
        stamp(&mut first, &Statuses::default(), t1);
        assert_eq!(time(&first), t1);
        let mut same = statuses(true);
        stamp(&mut same, &first, t2);
        assert_eq!(time(&same), t1, "an unchanged condition keeps its time");
        let mut flipped = statuses(false);
        stamp(&mut flipped, &same, t2);
        assert_eq!(time(&flipped), t2, "a changed condition gets the new time");
    }
}
