//! `Programmed` on Gateways and their listeners, from what data planes reported about the
//! generation translation produced, unless the Gateway's data plane could not be provisioned.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use portico_translate::conditions::{reasons, types};
use portico_translate::{GatewayFacts, Statuses};

use crate::acks::Acks;
use crate::infrastructure::InfrastructureProblems;

/// Fill in `Programmed` on accepted Gateways (described by `facts`) and their programmable
/// listeners from data-plane reports and provisioning problems.
pub fn apply_progress(
    statuses: &mut Statuses,
    facts: &[GatewayFacts],
    acks: &Acks,
    infrastructure: &InfrastructureProblems,
) {
    for facts in facts.iter().filter(|f| f.accepted) {
        let Some(gateway) = statuses
            .gateways
            .iter_mut()
            .find(|g| g.object == facts.gateway)
        else {
            continue;
        };
        let progress = acks.progress(&facts.gateway);
        let status = &mut gateway.status;
        let applied = progress
            .applied_generation
            .is_some_and(|g| g >= facts.generation);
        // A data plane that cannot be provisioned serves nothing new, whatever older instances
        // report. A rejection is newer than anything its instance applied (an ACK clears it), so
        // it wins next: the data plane is still serving an older configuration.
        let programmed = if let Some(message) = infrastructure.get(&facts.gateway) {
            Some((false, reasons::NO_RESOURCES, message))
        } else if let Some(message) = &progress.rejection {
            Some((false, reasons::INVALID, message.clone()))
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
        let listeners = status.listeners.as_deref_mut().unwrap_or_default();
        for facts in facts.listeners.iter().filter(|l| l.programmable) {
            let Some(listener) = listeners.iter_mut().find(|l| l.name == facts.name) else {
                continue;
            };
            match progress.listener_failures.get(facts.key.as_str()) {
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
