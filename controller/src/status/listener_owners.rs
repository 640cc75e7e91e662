//! Gateways and ListenerSets both carry conditions of their own and a status entry per
//! listener: one view of both for the stages that treat them alike.

use gateway_api::gateways::GatewayStatus;
use gateway_api::listenersets::ListenerSetStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

/// The status of an object declaring listeners.
pub trait ListenerOwnerStatus {
    /// The object's own conditions.
    fn conditions(&self) -> &[Condition];
    /// The object's own conditions, to change.
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    /// Each listener's name and conditions.
    fn listeners(&self) -> Vec<(&str, &[Condition])>;
    /// Each listener's name and conditions, to change.
    fn listeners_mut(&mut self) -> Vec<(&str, &mut Vec<Condition>)>;

    /// The conditions of the listener `name`, if the status has an entry for it.
    fn listener(&self, name: &str) -> Option<&[Condition]> {
        self.listeners()
            .into_iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c)
    }
}

macro_rules! listener_owner_status {
    ($($status:ty),*) => {$(
        impl ListenerOwnerStatus for $status {
            fn conditions(&self) -> &[Condition] {
                self.conditions.as_deref().unwrap_or_default()
            }

            fn conditions_mut(&mut self) -> &mut Vec<Condition> {
                self.conditions.get_or_insert_default()
            }

            fn listeners(&self) -> Vec<(&str, &[Condition])> {
                self.listeners
                    .iter()
                    .flatten()
                    .map(|l| (l.name.as_str(), l.conditions.as_slice()))
                    .collect()
            }

            fn listeners_mut(&mut self) -> Vec<(&str, &mut Vec<Condition>)> {
                self.listeners
                    .iter_mut()
                    .flatten()
                    .map(|l| (l.name.as_str(), &mut l.conditions))
                    .collect()
            }
        }
    )*};
}

listener_owner_status!(GatewayStatus, ListenerSetStatus);
