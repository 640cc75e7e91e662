//! Gateways that share data planes share sockets: listeners of different Gateways on one
//! address and port must agree on the protocol (and on client certificate validation, which
//! is part of an HTTPS socket's handshake) and serve distinct hostnames.

use std::collections::HashMap;
use std::net::SocketAddr;

use portico_snapshot::{ClientValidation, ObjectRef, Protocol};

use crate::conditions::{Problem, reasons};
use crate::gateways::GatewayState;

/// Gateways binding the same address and port share one socket (when they share data planes).
/// The oldest Gateway (then by namespace and name) keeps it; a later Gateway's listener
/// conflicts when it wants another protocol there, or a hostname an earlier Gateway already
/// serves on it.
pub(crate) fn mark_cross_gateway_conflicts(gateways: &mut [GatewayState<'_>]) {
    let mut order: Vec<usize> = (0..gateways.len()).collect();
    order.sort_by(|&a, &b| gateways[a].age.cmp(&gateways[b].age));
    // A UDP socket is apart from the TCP socket of the same address and port.
    let mut owners: HashMap<(SocketAddr, bool), Socket> = HashMap::new();
    for index in order {
        let gateway = &mut gateways[index];
        let Ok(address) = gateway.address.as_ref().map(|a| a.bind) else {
            continue;
        };
        let key = gateway.key.clone();
        let mut claims = Vec::new();
        for listener in gateway.served_listeners_mut() {
            let Ok(protocol) = listener.protocol.clone() else {
                continue;
            };
            if listener.conflict.is_some() {
                continue;
            }
            let socket = (SocketAddr::new(address, listener.port), protocol.is_udp());
            let hostname = listener.matched_hostname().map(str::to_string);
            let owner = owners.get(&socket);
            let protocol_owner = owner
                .filter(|o| {
                    o.protocol != protocol || o.client_validation != listener.client_validation
                })
                .map(|o| &o.first);
            let hostname_owner = owner
                .and_then(|o| o.hostnames.get(&hostname))
                .filter(|g| **g != key);
            if let Some(other) = protocol_owner {
                listener.conflict = Some(Problem::new(
                    reasons::PROTOCOL_CONFLICT,
                    format!(
                        "port {} is used with another protocol or client validation by Gateway {other}",
                        listener.port
                    ),
                ));
            } else if let Some(other) = hostname_owner {
                listener.conflict = Some(Problem::new(
                    reasons::HOSTNAME_CONFLICT,
                    format!(
                        "Gateway {other} already serves this hostname on port {}",
                        listener.port
                    ),
                ));
            } else {
                claims.push((
                    socket,
                    protocol,
                    listener.client_validation.clone(),
                    hostname,
                ));
            }
        }
        for (socket, protocol, client_validation, hostname) in claims {
            owners
                .entry(socket)
                .or_insert_with(|| Socket {
                    first: key.clone(),
                    protocol,
                    client_validation,
                    hostnames: HashMap::new(),
                })
                .hostnames
                .entry(hostname)
                .or_insert_with(|| key.clone());
        }
    }
}

/// Who first claimed a socket (and so its protocol), and which Gateway serves each hostname.
struct Socket {
    first: ObjectRef,
    protocol: Protocol,
    client_validation: Option<ClientValidation>,
    hostnames: HashMap<Option<String>, ObjectRef>,
}
