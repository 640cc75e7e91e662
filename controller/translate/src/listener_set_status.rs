//! A ListenerSet's status as translation sees it: `Accepted` and `Programmed` for the set
//! (`Programmed` Pending until its Gateway's data plane reports), and an entry per listener
//! with the conditions a Gateway's listeners carry, a conflicted listener being refused.

use gateway_api::gateways::GatewayStatusListeners;
use gateway_api::listenersets::{
    ListenerSetStatus, ListenerSetStatusListeners, ListenerSetStatusListenersSupportedKinds,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::conditions::{condition, reasons, types};
use crate::gateway_status::{
    AttachedCounts, Conflicts, awaiting_dataplane, listener_status, listeners_accepted,
};
use crate::listener_sets::ListenerSetState;
use crate::output::ObjectStatus;

/// The status of `set`.
pub(crate) fn status(
    set: &ListenerSetState<'_>,
    attached: &AttachedCounts<'_>,
) -> ObjectStatus<ListenerSetStatus> {
    let generation = set.generation;
    let listeners = (set.refused.is_none()).then(|| {
        set.listeners
            .iter()
            .map(|l| listener_status(l, attached, generation, Conflicts::Reject))
            .map(entry)
            .collect()
    });
    ObjectStatus {
        object: set.key.clone(),
        status: ListenerSetStatus {
            conditions: Some(conditions(set)),
            listeners,
        },
    }
}

/// `Accepted` and `Programmed` of the set as a whole.
fn conditions(set: &ListenerSetState<'_>) -> Vec<Condition> {
    let generation = set.generation;
    let refused = |reason: &str, message: &str| {
        vec![
            condition(types::ACCEPTED, false, reason, message, generation),
            condition(types::PROGRAMMED, false, reason, message, generation),
        ]
    };
    if let Some(problem) = &set.refused {
        return refused(problem.reason, &problem.message);
    }
    let total = set.listeners.len();
    let invalid = set.invalid_listeners();
    if invalid == total {
        return refused(reasons::LISTENERS_NOT_VALID, "no listener is valid");
    }
    // Some listener is valid here: the set is accepted.
    let accepted = listeners_accepted(invalid, total, true, generation);
    vec![accepted, awaiting_dataplane(generation)]
}

/// A listener's entry in the ListenerSet's type, which has the same fields as the Gateway's.
fn entry(listener: GatewayStatusListeners) -> ListenerSetStatusListeners {
    ListenerSetStatusListeners {
        attached_routes: listener.attached_routes,
        conditions: listener.conditions,
        name: listener.name,
        supported_kinds: listener.supported_kinds.map(|kinds| {
            kinds
                .into_iter()
                .map(|k| ListenerSetStatusListenersSupportedKinds {
                    group: k.group,
                    kind: k.kind,
                })
                .collect()
        }),
    }
}
