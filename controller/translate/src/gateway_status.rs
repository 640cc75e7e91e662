//! A Gateway's status as translation sees it: Accepted, Programmed (Pending until a data plane
//! reports), addresses, and per-listener conditions with attached-route counts.

use std::collections::HashMap;

use gateway_api::gateways::{GatewayStatus, GatewayStatusAddresses, GatewayStatusListeners};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use portico_snapshot::ListenerKey;

use crate::conditions::{Problem, condition, outcome, reasons, types};
use crate::gateways::GatewayState;
use crate::listeners::ListenerState;
use crate::output::ObjectStatus;

/// Routes of every kind attached per listener key.
pub(crate) type AttachedCounts<'a> = HashMap<&'a ListenerKey, i32>;

/// The status of `gateway`.
pub(crate) fn status(
    gateway: &GatewayState<'_>,
    attached: &AttachedCounts<'_>,
) -> ObjectStatus<GatewayStatus> {
    let generation = gateway.generation;
    let listeners = gateway
        .listeners
        .iter()
        .map(|l| listener_status(l, attached, generation, Conflicts::KeepAccepted))
        .collect();
    let (conditions, addresses) = match &gateway.address {
        Err(problem) => (not_accepted(problem, generation), None),
        Ok(address) => {
            let addresses = vec![GatewayStatusAddresses {
                r#type: Some("IPAddress".to_string()),
                value: address.bind.to_string(),
            }];
            (accepted(gateway, generation), Some(addresses))
        }
    };
    let mut conditions = conditions;
    if gateway.insecure_frontend_validation {
        conditions.push(condition(
            types::INSECURE_FRONTEND_VALIDATION_MODE,
            true,
            reasons::CONFIGURATION_CHANGED,
            "a port serves clients without a valid client certificate (AllowInsecureFallback)",
            generation,
        ));
    }
    if let Some(certificate) = &gateway.backend_client_certificate {
        conditions.push(outcome(
            types::RESOLVED_REFS,
            certificate.as_ref().err(),
            reasons::RESOLVED_REFS,
            "the backend client certificate resolved",
            generation,
        ));
    }
    ObjectStatus {
        object: gateway.key.clone(),
        status: GatewayStatus {
            addresses,
            attached_listener_sets: attached_listener_sets(gateway),
            conditions: Some(conditions),
            listeners: Some(listeners),
        },
    }
}

/// How many ListenerSets the Gateway serves listeners of; reported once some set names it.
fn attached_listener_sets(gateway: &GatewayState<'_>) -> Option<i32> {
    if gateway.listener_sets.is_empty() {
        return None;
    }
    let accepted = gateway
        .listener_sets
        .iter()
        .filter(|s| s.accepted())
        .count();
    Some(i32::try_from(accepted).unwrap_or(i32::MAX))
}

/// Conditions of a Gateway that cannot be served at all (no usable address or parameters).
fn not_accepted(problem: &Problem, generation: Option<i64>) -> Vec<Condition> {
    let programmed = if problem.reason == reasons::INVALID_PARAMETERS {
        condition(
            types::PROGRAMMED,
            false,
            reasons::INVALID,
            "the Gateway's parameters are not valid",
            generation,
        )
    } else {
        condition(
            types::PROGRAMMED,
            false,
            reasons::ADDRESS_NOT_ASSIGNED,
            "the Gateway has no usable address",
            generation,
        )
    };
    let accepted = condition(
        types::ACCEPTED,
        false,
        problem.reason,
        &problem.message,
        generation,
    );
    vec![accepted, programmed]
}

/// Conditions of a Gateway with an address: accepted unless every listener is invalid.
fn accepted(gateway: &GatewayState<'_>, generation: Option<i64>) -> Vec<Condition> {
    let total = gateway.listeners.len();
    let invalid = gateway.invalid_listeners();
    let accepted = listeners_accepted(invalid, total, gateway.accepted(), generation);
    let programmed = if invalid > 0 && invalid == total {
        condition(
            types::PROGRAMMED,
            false,
            reasons::INVALID,
            "the Gateway has no valid listener",
            generation,
        )
    } else {
        awaiting_dataplane(generation)
    };
    vec![accepted, programmed]
}

/// `Accepted` of a Gateway or ListenerSet whose `invalid` of `total` listeners cannot be
/// programmed: `Accepted` when none, else `ListenersNotValid` with status `accepted`.
pub(crate) fn listeners_accepted(
    invalid: usize,
    total: usize,
    accepted: bool,
    generation: Option<i64>,
) -> Condition {
    if invalid == 0 {
        condition(
            types::ACCEPTED,
            true,
            reasons::ACCEPTED,
            "Accepted by Portico",
            generation,
        )
    } else {
        condition(
            types::ACCEPTED,
            accepted,
            reasons::LISTENERS_NOT_VALID,
            format!("{invalid} of {total} listeners are not valid"),
            generation,
        )
    }
}

/// `Programmed=False`, `Pending`: what translation says until a data plane reports.
pub(crate) fn awaiting_dataplane(generation: Option<i64>) -> Condition {
    condition(
        types::PROGRAMMED,
        false,
        reasons::PENDING,
        "waiting for a data plane to apply the configuration",
        generation,
    )
}

/// What a conflict does to a listener's `Accepted` and `Programmed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conflicts {
    /// A Gateway's own listeners: every one of a clashing pair is refused, so neither wins;
    /// `Accepted` speaks of the listener alone.
    KeepAccepted,
    /// A ListenerSet's: the earlier listener wins, and the conflicted one is neither accepted
    /// nor programmed, for the conflict's reason.
    Reject,
}

/// The status entry of one listener, its own or a ListenerSet's (which carries the same fields).
pub(crate) fn listener_status(
    l: &ListenerState<'_>,
    attached: &AttachedCounts<'_>,
    generation: Option<i64>,
    conflicts: Conflicts,
) -> GatewayStatusListeners {
    let rejecting_conflict = l
        .conflict
        .as_ref()
        .filter(|_| conflicts == Conflicts::Reject);
    let accepted = outcome(
        types::ACCEPTED,
        rejecting_conflict.or(l.protocol.as_ref().err()),
        reasons::ACCEPTED,
        "Listener accepted",
        generation,
    );
    let resolved = outcome(
        types::RESOLVED_REFS,
        l.resolved.as_ref(),
        reasons::RESOLVED_REFS,
        "All references resolved",
        generation,
    );
    let conflicted = match &l.conflict {
        None => condition(
            types::CONFLICTED,
            false,
            reasons::NO_CONFLICTS,
            "No conflicts",
            generation,
        ),
        Some(p) => condition(types::CONFLICTED, true, p.reason, &p.message, generation),
    };
    let programmed = if let Some(conflict) = rejecting_conflict {
        condition(
            types::PROGRAMMED,
            false,
            conflict.reason,
            &conflict.message,
            generation,
        )
    } else if l.programmable() {
        awaiting_dataplane(generation)
    } else {
        condition(
            types::PROGRAMMED,
            false,
            reasons::INVALID,
            "the listener is not valid",
            generation,
        )
    };
    let conditions: Vec<Condition> = vec![accepted, conflicted, programmed, resolved];
    GatewayStatusListeners {
        attached_routes: attached.get(&l.key).copied().unwrap_or_default(),
        conditions,
        name: l.spec.name.clone(),
        supported_kinds: Some(l.supported_kinds()),
    }
}
