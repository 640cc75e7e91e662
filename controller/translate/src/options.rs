//! Settings of a translation that are not part of any object.

use std::net::{IpAddr, Ipv4Addr};

/// The `controllerName` Portico answers to.
pub const CONTROLLER_NAME: &str = "portico.dev/gateway-controller";

/// Settings that are not part of any object.
#[derive(Debug, Clone)]
pub struct Options {
    /// GatewayClasses with this `controllerName` are ours.
    pub controller_name: String,
    /// Address listeners bind to when a Gateway has no `spec.addresses`.
    pub default_address: IpAddr,
    /// Whether Gateways share data planes (standalone mode, or one data plane serving every
    /// Gateway). Then Gateways binding the same address and port share a socket and may
    /// conflict; with a data plane per Gateway (provisioning) they never do.
    pub shared_dataplanes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            controller_name: CONTROLLER_NAME.to_string(),
            default_address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            shared_dataplanes: true,
        }
    }
}
