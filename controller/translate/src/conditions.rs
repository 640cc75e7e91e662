//! Status conditions: the types and reasons Gateway API defines, and a builder.
//!
//! `lastTransitionTime` is left at the Unix epoch: translation has no clock. The caller stamps
//! it, keeping the previous time when a condition's status did not change.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Condition types.
pub mod types {
    /// The object is accepted by the controller.
    pub const ACCEPTED: &str = "Accepted";
    /// The object's configuration reached the data plane.
    pub const PROGRAMMED: &str = "Programmed";
    /// All references resolved.
    pub const RESOLVED_REFS: &str = "ResolvedRefs";
    /// The listener conflicts with another one.
    pub const CONFLICTED: &str = "Conflicted";
    /// The Gateway serves clients without a valid client certificate on some port.
    pub const INSECURE_FRONTEND_VALIDATION_MODE: &str = "InsecureFrontendValidationMode";
}

/// Condition reasons.
pub mod reasons {
    #![allow(missing_docs)]
    pub const ACCEPTED: &str = "Accepted";
    pub const PROGRAMMED: &str = "Programmed";
    pub const PENDING: &str = "Pending";
    pub const INVALID: &str = "Invalid";
    pub const RESOLVED_REFS: &str = "ResolvedRefs";
    pub const NO_CONFLICTS: &str = "NoConflicts";
    pub const LISTENERS_NOT_VALID: &str = "ListenersNotValid";
    pub const UNSUPPORTED_ADDRESS: &str = "UnsupportedAddress";
    pub const ADDRESS_NOT_ASSIGNED: &str = "AddressNotAssigned";
    pub const ADDRESS_NOT_USABLE: &str = "AddressNotUsable";
    pub const NO_RESOURCES: &str = "NoResources";
    pub const UNSUPPORTED_PROTOCOL: &str = "UnsupportedProtocol";
    pub const PROTOCOL_CONFLICT: &str = "ProtocolConflict";
    pub const HOSTNAME_CONFLICT: &str = "HostnameConflict";
    pub const INVALID_CERTIFICATE_REF: &str = "InvalidCertificateRef";
    pub const INVALID_ROUTE_KINDS: &str = "InvalidRouteKinds";
    pub const REF_NOT_PERMITTED: &str = "RefNotPermitted";
    pub const NOT_ALLOWED_BY_LISTENERS: &str = "NotAllowedByListeners";
    pub const NO_MATCHING_LISTENER_HOSTNAME: &str = "NoMatchingListenerHostname";
    pub const NO_MATCHING_PARENT: &str = "NoMatchingParent";
    pub const UNSUPPORTED_VALUE: &str = "UnsupportedValue";
    pub const BACKEND_NOT_FOUND: &str = "BackendNotFound";
    pub const INVALID_KIND: &str = "InvalidKind";
    pub const PORT_UNAVAILABLE: &str = "PortUnavailable";
    pub const INVALID_PARAMETERS: &str = "InvalidParameters";
    pub const CONFLICTED: &str = "Conflicted";
    pub const NO_VALID_CA_CERTIFICATE: &str = "NoValidCACertificate";
    pub const INVALID_CA_CERTIFICATE_REF: &str = "InvalidCACertificateRef";
    pub const INVALID_CLIENT_CERTIFICATE_REF: &str = "InvalidClientCertificateRef";
    pub const INVALID_CA_CERTIFICATE_KIND: &str = "InvalidCACertificateKind";
    pub const CONFIGURATION_CHANGED: &str = "ConfigurationChanged";
    pub const NOT_ALLOWED: &str = "NotAllowed";
    pub const PARENT_NOT_ACCEPTED: &str = "ParentNotAccepted";
}

/// Build a condition with an unset (epoch) transition time.
pub fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: if ok { "True" } else { "False" }.to_string(),
        reason: reason.to_string(),
        message: message.into(),
        observed_generation: generation,
        last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    }
}

/// A condition that is `True` with `ok_reason` unless there is a `problem`, in which case it
/// is `False` with the problem's reason and message.
pub fn outcome(
    type_: &str,
    problem: Option<&Problem>,
    ok_reason: &str,
    ok_message: &str,
    generation: Option<i64>,
) -> Condition {
    match problem {
        None => condition(type_, true, ok_reason, ok_message, generation),
        Some(p) => condition(type_, false, p.reason, &p.message, generation),
    }
}

/// A problem found while resolving something: the reason a condition carries, and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// One of [`reasons`].
    pub reason: &'static str,
    /// What a user should read.
    pub message: String,
}

impl Problem {
    /// A problem with `reason` and `message`.
    pub fn new(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
        }
    }
}
