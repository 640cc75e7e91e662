//! Object statuses as users see them, built in one place: translation's statuses, with
//! `Programmed` filled in from what data planes reported ([`progress`]) on Gateways and
//! ListenerSets alike ([`listener_owners`]), then finished for
//! where they are shown ([`finish`]): `Programmed=True` kept while data planes reconnect after
//! a restart ([`reconnect`]), addresses of provisioned Services, and `lastTransitionTime`
//! stamped against the statuses already shown there ([`transitions`]).
//!
//! Two sinks show statuses: the admin endpoint (the previous rendering is the baseline) and,
//! in Kubernetes mode, the API server (what it holds is the baseline). Both use [`finish`].

mod listener_owners;
mod progress;
mod reconnect;
mod transitions;

use gateway_api::gateways::GatewayStatusAddresses;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use portico_snapshot::ObjectRef;
use portico_translate::Statuses;
use portico_translate::conditions::{reasons, types};

pub use listener_owners::ListenerOwnerStatus;
pub use progress::apply_progress;

/// Addresses to report for a Gateway instead of translation's (a provisioned Service's).
pub type AddressesOf<'a> = &'a dyn Fn(&ObjectRef) -> Option<ProvisionedAddresses>;

/// Where a provisioned Gateway is reached.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProvisionedAddresses {
    /// What `status.addresses` says.
    pub addresses: Vec<GatewayStatusAddresses>,
    /// Why a static address the Gateway asks for is not in use: the Gateway is then
    /// `Programmed=False`, `AddressNotUsable`.
    pub not_usable: Option<String>,
}

/// What finishing statuses for one sink needs besides the statuses.
pub struct Finish<'a> {
    /// What the sink shows now: unchanged conditions keep their transition time from it.
    pub previous: &'a Statuses,
    /// The time a changed condition is stamped with.
    pub now: Timestamp,
    /// Data planes may still be reconnecting (a controller just started): keep the baseline's
    /// `Programmed=True` for the same generation instead of flapping to Pending.
    pub reconnecting: bool,
    /// Where Gateways' addresses come from, when not from translation.
    pub addresses: Option<AddressesOf<'a>>,
}

/// An accepted Gateway asking for an address it cannot have is not programmed.
fn not_usable(conditions: &mut [Condition], message: &str) {
    let accepted = conditions
        .iter()
        .any(|c| c.type_ == types::ACCEPTED && c.status == "True");
    let programmed = conditions.iter_mut().find(|c| c.type_ == types::PROGRAMMED);
    if let (true, Some(programmed)) = (accepted, programmed) {
        programmed.status = "False".to_string();
        programmed.reason = reasons::ADDRESS_NOT_USABLE.to_string();
        programmed.message = message.to_string();
    }
}

/// Finish `statuses` for a sink.
pub fn finish(statuses: &mut Statuses, how: Finish<'_>) {
    if how.reconnecting {
        reconnect::keep_programmed(statuses, how.previous);
    }
    if let Some(addresses) = how.addresses {
        for gateway in &mut statuses.gateways {
            let provisioned = addresses(&gateway.object);
            let status = &mut gateway.status;
            if let Some(message) = provisioned.as_ref().and_then(|p| p.not_usable.as_ref()) {
                not_usable(status.conditions.get_or_insert_default(), message);
            }
            status.addresses = provisioned.map(|p| p.addresses);
        }
    }
    transitions::stamp(statuses, how.previous, how.now);
}
