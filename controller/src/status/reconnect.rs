//! After a controller (re)start, data planes take a few seconds to reconnect and report; until
//! then `Programmed` would read Pending although they serve. Meanwhile the `Programmed=True`
//! already shown for the same generation is kept.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use portico_translate::conditions::{reasons, types};
use portico_translate::{ObjectStatus, Statuses};

use super::listener_owners::ListenerOwnerStatus;

/// Replace every Pending `Programmed` of `desired` by `shown`'s `Programmed=True` of the same
/// generation, on Gateways, ListenerSets and their listeners.
pub fn keep_programmed(desired: &mut Statuses, shown: &Statuses) {
    keep_all(&mut desired.gateways, &shown.gateways);
    keep_all(&mut desired.listener_sets, &shown.listener_sets);
}

fn keep_all<S: ListenerOwnerStatus>(desired: &mut [ObjectStatus<S>], shown: &[ObjectStatus<S>]) {
    for object in desired {
        let Some(before) = shown
            .iter()
            .find(|o| o.object == object.object)
            .map(|o| &o.status)
        else {
            continue;
        };
        keep(object.status.conditions_mut(), before.conditions());
        for (name, conditions) in object.status.listeners_mut() {
            keep(conditions, before.listener(name).unwrap_or_default());
        }
    }
}

fn keep(conditions: &mut [Condition], before: &[Condition]) {
    let pending = |c: &Condition| c.type_ == types::PROGRAMMED && c.reason == reasons::PENDING;
    for condition in conditions.iter_mut().filter(|c| pending(c)) {
        let kept = before.iter().find(|b| {
            b.type_ == types::PROGRAMMED
                && b.status == "True"
                && b.observed_generation == condition.observed_generation
        });
        if let Some(kept) = kept {
            *condition = kept.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway_api::gateways::GatewayStatus;
    use portico_snapshot::ObjectRef;
    use portico_translate::conditions::condition;

    fn gateway(programmed: Condition) -> Statuses {
        Statuses {
            gateways: vec![ObjectStatus {
                object: ObjectRef {
                    namespace: "ns".into(),
                    name: "gw".into(),
                },
                status: GatewayStatus {
                    conditions: Some(vec![programmed]),
                    ..GatewayStatus::default()
                },
            }],
            ..Statuses::default()
        }
    }

    fn programmed(statuses: &Statuses) -> &Condition {
        &statuses.gateways[0]
            .status
            .conditions
            .as_deref()
            .unwrap_or_default()[0]
    }

    #[test]
    fn pending_keeps_the_shown_programmed_of_the_same_generation_only() {
        let pending = condition(types::PROGRAMMED, false, reasons::PENDING, "wait", Some(2));
        let shown = gateway(condition(
            types::PROGRAMMED,
            true,
            reasons::PROGRAMMED,
            "ok",
            Some(2),
        ));
        let mut desired = gateway(pending.clone());
        keep_programmed(&mut desired, &shown);
        assert_eq!(programmed(&desired).status, "True");

        let older = gateway(condition(
            types::PROGRAMMED,
            true,
            reasons::PROGRAMMED,
            "ok",
            Some(1),
        ));
        let mut desired = gateway(pending);
        keep_programmed(&mut desired, &older);
        assert_eq!(
            programmed(&desired).reason,
            reasons::PENDING,
            "a new generation is not programmed until a data plane says so"
        );
    }
}
