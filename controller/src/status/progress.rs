//! `Programmed` on Gateways, their ListenerSets and the listeners of both, from what data
//! planes reported about the generation translation produced, unless the Gateway's data plane
//! could not be provisioned.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use portico_translate::conditions::{reasons, types};
use portico_translate::{GatewayFacts, ListenerFacts, Statuses};

use super::listener_owners::ListenerOwnerStatus;
use crate::acks::{Acks, GatewayProgress};
use crate::infrastructure::InfrastructureProblems;

/// Fill in `Programmed` on accepted Gateways (described by `facts`), their accepted
/// ListenerSets and the programmable listeners of both, from data-plane reports and
/// provisioning problems.
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
        let outcome = Outcome {
            progress: &progress,
            applied,
            ok,
            reason,
            message: &message,
        };
        outcome.set(&mut gateway.status, &facts.listeners);
        for set in facts.listener_sets.iter().filter(|s| s.accepted) {
            let Some(status) = statuses
                .listener_sets
                .iter_mut()
                .find(|s| s.object == set.listener_set)
                .map(|s| &mut s.status)
            else {
                continue;
            };
            outcome.set(status, &set.listeners);
        }
    }
}

/// What the data planes made of a Gateway's configuration.
struct Outcome<'a> {
    progress: &'a GatewayProgress,
    /// They applied the generation translated.
    applied: bool,
    ok: bool,
    reason: &'a str,
    message: &'a str,
}

impl Outcome<'_> {
    /// `Programmed` of a Gateway or ListenerSet, and of each programmable listener (`facts`) of
    /// it: the Gateway's, unless a data plane that applied it failed that listener.
    fn set(&self, status: &mut impl ListenerOwnerStatus, facts: &[ListenerFacts]) {
        set(
            status.conditions_mut(),
            types::PROGRAMMED,
            self.ok,
            self.reason,
            self.message,
        );
        for (name, conditions) in status.listeners_mut() {
            let Some(facts) = facts.iter().find(|f| f.programmable && f.name == name) else {
                continue;
            };
            match self.progress.listener_failures.get(facts.key.as_str()) {
                Some(failure) if self.applied => set(
                    conditions,
                    types::PROGRAMMED,
                    false,
                    reasons::INVALID,
                    failure,
                ),
                _ => set(
                    conditions,
                    types::PROGRAMMED,
                    self.ok,
                    self.reason,
                    self.message,
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
