//! The gRPC wire format and its conversion to and from [`crate::model`].
//!
//! Conversion from the wire is fallible: a message from a newer or broken peer can carry an
//! unknown enum value or a missing field, which becomes a [`WireError`] and then a NACK.

use std::net::IpAddr;

use crate::client_validation::{ClientValidation, ClientValidationMode};
use crate::model;
use crate::names::{ClusterName, ListenerKey};

/// Code generated from `proto/portico/snapshot/v1/snapshot.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    tonic::include_proto!("portico.snapshot.v1");
}

pub use proto::snapshot_service_client::SnapshotServiceClient;
pub use proto::snapshot_service_server::{SnapshotService, SnapshotServiceServer};

/// The largest snapshot message either end handles by default (`--max-snapshot-bytes`). A
/// Gateway's routes are copied into every listener they attach to, so 10,000 routes on four
/// listeners take about 6 MiB; gRPC's usual 4 MiB would refuse such a Gateway.
pub const DEFAULT_MAX_SNAPSHOT_BYTES: usize = 64 * 1024 * 1024;

/// The largest message a data plane sends (a Hello or a report).
pub const MAX_DATA_PLANE_MESSAGE_BYTES: usize = 1024 * 1024;

/// The size of `snapshot` on the wire.
pub fn encoded_len(snapshot: &proto::Snapshot) -> usize {
    prost::Message::encoded_len(snapshot)
}

/// A wire message that does not describe a valid snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A required field was absent.
    #[error("{0} is missing")]
    Missing(&'static str),
    /// An enum carried a value this build does not know.
    #[error("{field} has unknown value {value}")]
    UnknownEnum {
        /// Which field.
        field: &'static str,
        /// The raw value.
        value: i32,
    },
    /// A number does not fit its domain type.
    #[error("{field} value {value} is out of range")]
    OutOfRange {
        /// Which field.
        field: &'static str,
        /// The raw value.
        value: u64,
    },
    /// A value is not one its field allows (an address, a header name, a redirect code...).
    #[error("{field}: {reason}")]
    Invalid {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// The typed value of `field`, or why the wire value is not one.
fn typed<T, W>(field: &'static str, value: W) -> Result<T, WireError>
where
    T: TryFrom<W>,
    T::Error: std::fmt::Display,
{
    T::try_from(value).map_err(|e| WireError::Invalid {
        field,
        reason: e.to_string(),
    })
}

fn address(field: &'static str, value: &str) -> Result<IpAddr, WireError> {
    value.parse().map_err(|_| WireError::Invalid {
        field,
        reason: format!("{value:?} is not an IP address"),
    })
}

fn port(field: &'static str, value: u32) -> Result<u16, WireError> {
    u16::try_from(value).map_err(|_| WireError::OutOfRange {
        field,
        value: value.into(),
    })
}

fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

impl From<model::ObjectRef> for proto::ObjectRef {
    fn from(r: model::ObjectRef) -> Self {
        Self {
            namespace: r.namespace,
            name: r.name,
        }
    }
}

impl From<proto::ObjectRef> for model::ObjectRef {
    fn from(r: proto::ObjectRef) -> Self {
        Self {
            namespace: r.namespace,
            name: r.name,
        }
    }
}

impl From<model::Snapshot> for proto::Snapshot {
    fn from(s: model::Snapshot) -> Self {
        Self {
            version: s.version,
            gateways: s.gateways.into_iter().map(Into::into).collect(),
            clusters: s.clusters.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<proto::Snapshot> for model::Snapshot {
    type Error = WireError;
    fn try_from(s: proto::Snapshot) -> Result<Self, WireError> {
        Ok(Self {
            version: s.version,
            gateways: collect(s.gateways)?,
            clusters: s
                .clusters
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
        })
    }
}

fn collect<W, M: TryFrom<W, Error = WireError>>(items: Vec<W>) -> Result<Vec<M>, WireError> {
    items.into_iter().map(M::try_from).collect()
}

impl From<model::GatewayConfig> for proto::GatewayConfig {
    fn from(g: model::GatewayConfig) -> Self {
        Self {
            gateway: Some(g.gateway.into()),
            generation: g.generation,
            listeners: g.listeners.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<proto::GatewayConfig> for model::GatewayConfig {
    type Error = WireError;
    fn try_from(g: proto::GatewayConfig) -> Result<Self, WireError> {
        Ok(Self {
            gateway: g.gateway.ok_or(WireError::Missing("gateway"))?.into(),
            generation: g.generation,
            listeners: collect(g.listeners)?,
        })
    }
}

impl From<model::Listener> for proto::Listener {
    fn from(l: model::Listener) -> Self {
        let protocol = match l.protocol.protocol() {
            model::Protocol::Http => proto::Protocol::Http,
            model::Protocol::Https => proto::Protocol::Https,
            model::Protocol::Tls => proto::Protocol::Tls,
            model::Protocol::Tcp => proto::Protocol::Tcp,
            model::Protocol::Udp => proto::Protocol::Udp,
        };
        let tls_mode = match l.protocol.tls_mode() {
            None => proto::TlsMode::Unspecified,
            Some(model::TlsMode::Terminate) => proto::TlsMode::Terminate,
            Some(model::TlsMode::Passthrough) => proto::TlsMode::Passthrough,
        };
        let (certificates, client_validation) = match l.protocol {
            model::ListenerProtocol::Https(tls) | model::ListenerProtocol::TlsTerminate(tls) => {
                (tls.certificates, tls.client_validation)
            }
            _ => (Vec::new(), None),
        };
        Self {
            key: l.key.0,
            version: l.version,
            address: l.address.to_string(),
            port: l.port.into(),
            protocol: protocol.into(),
            tls_mode: tls_mode.into(),
            hostname: l.hostname.unwrap_or_default(),
            certificates: certificates.into_iter().map(Into::into).collect(),
            routes: l.routes.into_iter().map(Into::into).collect(),
            grpc_routes: l.grpc_routes.into_iter().map(Into::into).collect(),
            stream_routes: l.stream_routes.into_iter().map(Into::into).collect(),
            client_validation: client_validation.map(|v| proto::ClientValidation {
                ca_certificates_pem: v.ca_certificates_pem,
                mode: match v.mode {
                    ClientValidationMode::AllowValidOnly => {
                        proto::ClientValidationMode::AllowValidOnly
                    }
                    ClientValidationMode::AllowInsecureFallback => {
                        proto::ClientValidationMode::AllowInsecureFallback
                    }
                }
                .into(),
            }),
        }
    }
}

impl TryFrom<proto::Listener> for model::Listener {
    type Error = WireError;
    fn try_from(l: proto::Listener) -> Result<Self, WireError> {
        let protocol = match proto::Protocol::try_from(l.protocol) {
            Ok(proto::Protocol::Http) => model::Protocol::Http,
            Ok(proto::Protocol::Https) => model::Protocol::Https,
            Ok(proto::Protocol::Tls) => model::Protocol::Tls,
            Ok(proto::Protocol::Tcp) => model::Protocol::Tcp,
            Ok(proto::Protocol::Udp) => model::Protocol::Udp,
            Ok(proto::Protocol::Unspecified) | Err(_) => {
                return Err(WireError::UnknownEnum {
                    field: "listener.protocol",
                    value: l.protocol,
                });
            }
        };
        let mode = match proto::TlsMode::try_from(l.tls_mode) {
            Ok(proto::TlsMode::Unspecified) => None,
            Ok(proto::TlsMode::Terminate) => Some(model::TlsMode::Terminate),
            Ok(proto::TlsMode::Passthrough) => Some(model::TlsMode::Passthrough),
            Err(_) => {
                return Err(WireError::UnknownEnum {
                    field: "listener.tls_mode",
                    value: l.tls_mode,
                });
            }
        };
        let key = ListenerKey(l.key);
        let certificates = l.certificates.into_iter().map(Into::into).collect();
        let client_validation = l
            .client_validation
            .map(|v| {
                let mode = match proto::ClientValidationMode::try_from(v.mode) {
                    Ok(proto::ClientValidationMode::AllowValidOnly) => {
                        ClientValidationMode::AllowValidOnly
                    }
                    Ok(proto::ClientValidationMode::AllowInsecureFallback) => {
                        ClientValidationMode::AllowInsecureFallback
                    }
                    Err(_) => {
                        return Err(WireError::UnknownEnum {
                            field: "listener.client_validation.mode",
                            value: v.mode,
                        });
                    }
                };
                Ok(ClientValidation {
                    ca_certificates_pem: v.ca_certificates_pem,
                    mode,
                })
            })
            .transpose()?;
        let tls = model::TlsSettings {
            mode,
            certificates,
            client_validation,
        };
        let protocol =
            model::listener_protocol(&key, protocol, tls).map_err(|e| WireError::Invalid {
                field: "listener.protocol",
                reason: e.to_string(),
            })?;
        Ok(Self {
            key,
            version: l.version,
            address: address("listener.address", &l.address)?,
            port: port("listener.port", l.port)?,
            protocol,
            hostname: non_empty(l.hostname),
            routes: collect(l.routes)?,
            grpc_routes: collect(l.grpc_routes)?,
            stream_routes: collect(l.stream_routes)?,
        })
    }
}

impl From<model::Certificate> for proto::Certificate {
    fn from(c: model::Certificate) -> Self {
        Self {
            name: c.name,
            cert_chain_pem: c.cert_chain_pem,
            private_key_pem: c.private_key_pem,
        }
    }
}

impl From<proto::Certificate> for model::Certificate {
    fn from(c: proto::Certificate) -> Self {
        Self {
            name: c.name,
            cert_chain_pem: c.cert_chain_pem,
            private_key_pem: c.private_key_pem,
        }
    }
}

impl From<model::Cluster> for proto::Cluster {
    fn from(c: model::Cluster) -> Self {
        Self {
            name: c.name.0,
            version: c.version,
            protocol: match c.protocol {
                model::BackendProtocol::Http1 => proto::BackendProtocol::Http1,
                model::BackendProtocol::H2c => proto::BackendProtocol::H2c,
                model::BackendProtocol::H2 => proto::BackendProtocol::H2,
            }
            .into(),
            tls: c.tls.map(Into::into),
            endpoints: c
                .endpoints
                .into_iter()
                .map(|e| proto::Endpoint {
                    address: e.address.to_string(),
                    port: e.port.into(),
                })
                .collect(),
        }
    }
}

impl TryFrom<proto::Cluster> for model::Cluster {
    type Error = WireError;
    fn try_from(c: proto::Cluster) -> Result<Self, WireError> {
        Ok(Self {
            name: ClusterName(c.name),
            version: c.version,
            protocol: match proto::BackendProtocol::try_from(c.protocol) {
                Ok(proto::BackendProtocol::Http1) => model::BackendProtocol::Http1,
                Ok(proto::BackendProtocol::H2c) => model::BackendProtocol::H2c,
                Ok(proto::BackendProtocol::H2) => model::BackendProtocol::H2,
                Err(_) => {
                    return Err(WireError::UnknownEnum {
                        field: "cluster.protocol",
                        value: c.protocol,
                    });
                }
            },
            tls: c.tls.map(TryInto::try_into).transpose()?,
            endpoints: c
                .endpoints
                .into_iter()
                .map(|e| {
                    Ok(model::Endpoint {
                        address: address("endpoint.address", &e.address)?,
                        port: port("endpoint.port", e.port)?,
                    })
                })
                .collect::<Result<_, WireError>>()?,
        })
    }
}

mod backend_tls;
mod grpc_route;
mod route;
mod stream_route;
#[cfg(test)]
mod tests;
