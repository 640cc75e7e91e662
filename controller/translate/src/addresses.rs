//! A Gateway's `spec.addresses`: which static addresses it asks for, and where its listeners
//! bind. Only `IPAddress` is supported (an entry without a value asks for one to be assigned,
//! as if it were not listed); any other type makes the Gateway `UnsupportedAddress`.
//!
//! A data plane shared by several Gateways (standalone mode) binds the one address a Gateway
//! asks for. A provisioned data plane binds every address of its pod, and the Gateway's
//! addresses are realised by its Service's load balancer, which the provider checks.

use std::net::IpAddr;

use gateway_api::gateways::Gateway;

use crate::conditions::{Problem, reasons};
use crate::options::Options;

/// Where a Gateway's listeners bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Addresses {
    /// The address listeners bind to in the snapshot.
    pub bind: IpAddr,
}

/// The static addresses an accepted Gateway asks for: the values of its `IPAddress` entries,
/// in order (none: one is to be assigned).
pub fn static_addresses(gateway: &Gateway) -> Vec<IpAddr> {
    gateway
        .spec
        .addresses
        .iter()
        .flatten()
        .filter(|a| a.r#type.as_deref().unwrap_or("IPAddress") == "IPAddress")
        .filter_map(|a| a.value.as_deref()?.parse().ok())
        .collect()
}

/// The addresses of `gateway`, or why they cannot be served.
pub(crate) fn addresses(gateway: &Gateway, options: &Options) -> Result<Addresses, Problem> {
    let mut requested = Vec::new();
    for address in gateway.spec.addresses.iter().flatten() {
        let kind = address.r#type.as_deref().unwrap_or("IPAddress");
        if kind != "IPAddress" {
            return Err(Problem::new(
                reasons::UNSUPPORTED_ADDRESS,
                format!("address type {kind} is not supported; use IPAddress"),
            ));
        }
        let value = address.value.as_deref().unwrap_or_default();
        if value.is_empty() {
            continue; // An IPAddress without a value asks for one to be assigned.
        }
        let ip = value.parse::<IpAddr>().map_err(|_| {
            Problem::new(
                reasons::UNSUPPORTED_ADDRESS,
                format!("{value:?} is not an IP address"),
            )
        })?;
        requested.push(ip);
    }
    if !options.shared_dataplanes {
        return Ok(Addresses {
            bind: options.default_address,
        });
    }
    match requested.as_slice() {
        [] => Ok(Addresses {
            bind: options.default_address,
        }),
        [only] => Ok(Addresses { bind: *only }),
        _ => Err(Problem::new(
            reasons::UNSUPPORTED_ADDRESS,
            "a data plane shared by Gateways binds a Gateway to at most one address",
        )),
    }
}
