//! Why a Gateway's provisioned infrastructure could not be put in place (an object with the
//! name its data plane needs belongs to someone else). The provisioner records it; status
//! rendering turns it into `Programmed=False` on the Gateway.

use std::collections::HashMap;
use std::sync::Mutex;

use portico_snapshot::ObjectRef;
use tokio::sync::Notify;

/// Per Gateway, the message explaining why its data plane could not be provisioned.
#[derive(Default)]
pub struct InfrastructureProblems {
    problems: Mutex<HashMap<ObjectRef, String>>,
    /// Notified whenever a Gateway's problem appears, changes or goes away.
    pub changed: Notify,
}

impl InfrastructureProblems {
    /// Record `problem` for `gateway`, or that it has none.
    pub fn set(&self, gateway: &ObjectRef, problem: Option<String>) {
        let changed = {
            let mut problems = self
                .problems
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match problem {
                Some(message) => problems.insert(gateway.clone(), message.clone()) != Some(message),
                None => problems.remove(gateway).is_some(),
            }
        };
        if changed {
            self.changed.notify_one();
        }
    }

    /// The problem recorded for `gateway`, if any.
    pub fn get(&self, gateway: &ObjectRef) -> Option<String> {
        self.problems
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(gateway)
            .cloned()
    }
}
