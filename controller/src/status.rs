//! Object statuses as users see them: translation's statuses, with `Programmed` filled in from
//! what data planes reported, and `lastTransitionTime` kept while a condition stays the same.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use portico_translate::Statuses;
use portico_translate::conditions::{reasons, types};

use crate::acks::Acks;

/// Fill in `Programmed` on Gateways and their listeners from data-plane reports.
pub fn apply_progress(statuses: &mut Statuses, acks: &Acks) {
    for gateway in &mut statuses.gateways {
        let progress = acks.progress(&gateway.object);
        let status = &mut gateway.status;
        let accepted = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == types::ACCEPTED && c.status == "True");
        let generation = status
            .conditions
            .iter()
            .flatten()
            .find_map(|c| c.observed_generation)
            .unwrap_or_default();
        if !accepted {
            continue;
        }
        let applied = progress.applied_generation.is_some_and(|g| g >= generation);
        // A rejection is newer than anything its instance applied (an ACK clears it), so it wins:
        // the data plane is still serving an older configuration.
        let programmed = if let Some((instance, version, reason)) = &progress.rejection {
            Some((
                false,
                reasons::INVALID,
                format!("data plane {instance} rejected snapshot {version}: {reason}"),
            ))
        } else if applied {
            Some((
                true,
                reasons::PROGRAMMED,
                format!("applied by {} data-plane instance(s)", progress.instances),
            ))
        } else {
            None
        };
        let Some((ok, reason, message)) = programmed else {
            continue;
        };
        set(
            status.conditions.get_or_insert_default(),
            types::PROGRAMMED,
            ok,
            reason,
            &message,
        );
        for listener in status.listeners.iter_mut().flatten() {
            let key = format!(
                "{}/{}/{}",
                gateway.object.namespace, gateway.object.name, listener.name
            );
            let pending = listener
                .conditions
                .iter()
                .any(|c| c.type_ == types::PROGRAMMED && c.reason == reasons::PENDING);
            if !pending {
                continue;
            }
            match progress.listener_failures.get(&key) {
                Some(failure) if applied => set(
                    &mut listener.conditions,
                    types::PROGRAMMED,
                    false,
                    reasons::INVALID,
                    failure,
                ),
                _ => set(
                    &mut listener.conditions,
                    types::PROGRAMMED,
                    ok,
                    reason,
                    &message,
                ),
            }
        }
    }
}

fn set(conditions: &mut [Condition], type_: &str, ok: bool, reason: &str, message: &str) {
    if let Some(condition) = conditions.iter_mut().find(|c| c.type_ == type_) {
        condition.status = if ok { "True" } else { "False" }.to_string();
        condition.reason = reason.to_string();
        condition.message = message.to_string();
    }
}

/// Remembers when each condition last changed status.
#[derive(Default)]
pub struct TransitionClock {
    seen: HashMap<String, (String, Timestamp)>,
}

impl TransitionClock {
    /// Stamp every condition in `statuses`: unchanged status keeps its time, a change gets `now`.
    pub fn stamp(&mut self, statuses: &mut Statuses, now: Timestamp) {
        let mut seen = HashMap::new();
        let mut stamp = |key: String, condition: &mut Condition| {
            let time = match self.seen.get(&key) {
                Some((status, time)) if *status == condition.status => *time,
                _ => now,
            };
            condition.last_transition_time = Time(time);
            seen.insert(key, (condition.status.clone(), time));
        };
        for class in &mut statuses.gateway_classes {
            for c in class.status.conditions.iter_mut().flatten() {
                stamp(format!("GatewayClass/{}/{}", class.object.name, c.type_), c);
            }
        }
        for gateway in &mut statuses.gateways {
            let id = format!("Gateway/{}", gateway.object);
            for c in gateway.status.conditions.iter_mut().flatten() {
                stamp(format!("{id}/{}", c.type_), c);
            }
            for listener in gateway.status.listeners.iter_mut().flatten() {
                for c in &mut listener.conditions {
                    stamp(format!("{id}/listener/{}/{}", listener.name, c.type_), c);
                }
            }
        }
        for route in &mut statuses.http_routes {
            for parent in &mut route.status.parents {
                let p = &parent.parent_ref;
                let id = format!(
                    "HTTPRoute/{}/parent/{:?}/{}/{:?}/{:?}",
                    route.object, p.namespace, p.name, p.section_name, p.port
                );
                for c in &mut parent.conditions {
                    stamp(format!("{id}/{}", c.type_), c);
                }
            }
        }
        self.seen = seen;
    }
}
