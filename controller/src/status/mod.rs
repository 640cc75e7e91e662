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
use k8s_openapi::jiff::Timestamp;
use portico_snapshot::ObjectRef;
use portico_translate::Statuses;

pub use listener_owners::ListenerOwnerStatus;
pub use progress::apply_progress;

/// Addresses to report for a Gateway instead of translation's (a provisioned Service's).
pub type AddressesOf<'a> = &'a dyn Fn(&ObjectRef) -> Option<Vec<GatewayStatusAddresses>>;

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

/// Finish `statuses` for a sink.
pub fn finish(statuses: &mut Statuses, how: Finish<'_>) {
    if how.reconnecting {
        reconnect::keep_programmed(statuses, how.previous);
    }
    if let Some(addresses) = how.addresses {
        for gateway in &mut statuses.gateways {
            gateway.status.addresses = addresses(&gateway.object);
        }
    }
    transitions::stamp(statuses, how.previous, how.now);
}
