//! What each data-plane stream was sent and what it applied (ACK) or rejected (NACK). Streams
//! are keyed `instance#n`, one entry per open stream.
//!
//! The status writer asks, per Gateway, whether some instance applied its current generation,
//! whether one rejected it, and which of its listeners could not be bound.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use portico_snapshot::ObjectRef;
use portico_snapshot::wire::proto;
use tokio::sync::Notify;

/// Gateways and generations contained in one sent snapshot.
pub type Contents = Vec<(ObjectRef, i64)>;

/// How many sent versions are remembered per instance while waiting for their report.
const REMEMBERED_VERSIONS: usize = 32;

#[derive(Debug, Default)]
struct Instance {
    sent: BTreeMap<u64, Contents>,
    applied: HashMap<ObjectRef, i64>,
    /// Why the Gateway's newest snapshot is not served, as a status message.
    rejected: HashMap<ObjectRef, String>,
    /// Bind failures of the last ACK, by Gateway: only Gateways the ACKed snapshot carried
    /// for this instance, so a data plane cannot fail another tenant's listeners.
    listener_failures: HashMap<ObjectRef, HashMap<String, String>>,
}

/// The data-plane view of one Gateway, aggregated over instances.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GatewayProgress {
    /// Highest generation any instance applied.
    pub applied_generation: Option<i64>,
    /// Instances that applied that generation or later.
    pub instances: usize,
    /// Why an instance does not serve this Gateway's newest snapshot (it rejected it, or the
    /// controller could not send it), as a status message. An instance's later ACK clears it.
    pub rejection: Option<String>,
    /// Listener key to bind error, as reported by instances.
    pub listener_failures: HashMap<String, String>,
}

/// Shared record of every connected instance; `changed` fires on every report and disconnect.
#[derive(Default)]
pub struct Acks {
    instances: Mutex<HashMap<String, Instance>>,
    /// Notified whenever a report arrives or an instance disconnects.
    pub changed: Notify,
}

impl Acks {
    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Instance>) -> R) -> R {
        let mut guard = self
            .instances
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Forget an instance whose stream ended: only connected data planes vouch for a Gateway.
    pub fn forget(&self, instance: &str) {
        self.with(|all| all.remove(instance));
        self.changed.notify_one();
    }

    /// Remember what `version` carried for `instance`.
    pub fn record_sent(&self, instance: &str, version: u64, contents: Contents) {
        self.with(|all| {
            let entry = all.entry(instance.to_string()).or_default();
            entry.sent.insert(version, contents);
            while entry.sent.len() > REMEMBERED_VERSIONS {
                entry.sent.pop_first();
            }
        });
    }

    /// Record an ACK or NACK. Returns what the reported snapshot contained.
    pub fn record_report(&self, instance: &str, report: &proto::Report) -> Contents {
        let contents = self.with(|all| {
            let entry = all.entry(instance.to_string()).or_default();
            let Some(contents) = entry.sent.get(&report.version).cloned() else {
                tracing::warn!(
                    instance,
                    version = report.version,
                    "report for a version this controller did not send"
                );
                return Vec::new();
            };
            if report.applied {
                entry.applied = contents.iter().cloned().collect();
                for (gateway, _) in &contents {
                    entry.rejected.remove(gateway);
                }
                entry.listener_failures = failures_by_gateway(instance, &contents, report);
            } else {
                let message = format!(
                    "data plane {instance} rejected snapshot {}: {}",
                    report.version, report.reason
                );
                for (gateway, _) in &contents {
                    entry.rejected.insert(gateway.clone(), message.clone());
                }
            }
            contents
        });
        self.changed.notify_one();
        contents
    }

    /// Record that `version`, carrying `contents`, could not be sent to `instance`.
    pub fn record_unsent(&self, instance: &str, version: u64, contents: &Contents, reason: &str) {
        let message = format!("snapshot {version} was not sent to data plane {instance}: {reason}");
        self.with(|all| {
            let entry = all.entry(instance.to_string()).or_default();
            for (gateway, _) in contents {
                entry.rejected.insert(gateway.clone(), message.clone());
            }
        });
        self.changed.notify_one();
    }

    /// The aggregated view of `gateway`.
    pub fn progress(&self, gateway: &ObjectRef) -> GatewayProgress {
        self.with(|all| {
            let mut progress = GatewayProgress::default();
            for instance in all.values() {
                if let Some(&generation) = instance.applied.get(gateway) {
                    match progress.applied_generation {
                        Some(best) if best > generation => {}
                        Some(best) if best == generation => progress.instances += 1,
                        _ => {
                            progress.applied_generation = Some(generation);
                            progress.instances = 1;
                        }
                    }
                }
                if let Some(message) = instance.rejected.get(gateway) {
                    progress.rejection = Some(message.clone());
                }
                if let Some(failures) = instance.listener_failures.get(gateway) {
                    progress
                        .listener_failures
                        .extend(failures.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            progress
        })
    }
}

/// The listener failures of `report` grouped by the Gateway they belong to, keeping only
/// Gateways in `contents` (what was sent to this instance); the rest are logged and dropped.
fn failures_by_gateway(
    instance: &str,
    contents: &Contents,
    report: &proto::Report,
) -> HashMap<ObjectRef, HashMap<String, String>> {
    let mut by_gateway: HashMap<ObjectRef, HashMap<String, String>> = HashMap::new();
    for failure in &report.listener_failures {
        // Listener keys are `namespace/gateway/listener`; neither name can hold a `/`.
        let owner = contents
            .iter()
            .map(|(gateway, _)| gateway)
            .find(|g| failure.listener.starts_with(&format!("{g}/")));
        match owner {
            Some(gateway) => {
                by_gateway
                    .entry(gateway.clone())
                    .or_default()
                    .insert(failure.listener.clone(), failure.reason.clone());
            }
            None => tracing::warn!(
                instance,
                listener = %failure.listener,
                "ignoring a failure reported for a listener this data plane was not sent"
            ),
        }
    }
    by_gateway
}
