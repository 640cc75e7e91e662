//! The snapshot: everything a data plane needs to serve a set of Gateways, and nothing it
//! would have to look up elsewhere (endpoints are resolved, certificates are inlined).
//!
//! Resources inside carry stable keys ([`ListenerKey`], [`ClusterName`]) and content versions,
//! so the protocol can later carry incremental updates. Values are typed (addresses, schemes,
//! redirect codes, header names and values): they are checked once, where they enter the model,
//! and never parsed again downstream.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::backend_tls::BackendTls;
pub use crate::certificate::Certificate;
use crate::client_validation::ClientValidation;
use crate::grpc_route::GrpcRoute;
use crate::http_values::Scheme;
use crate::names::{ClusterName, ListenerKey};
use crate::route::HttpRoute;
use crate::stream_route::StreamRoute;

/// A complete configuration for one data-plane instance.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Strictly increasing per controller run; acknowledged by the data plane.
    pub version: u64,
    /// One entry per Gateway served.
    pub gateways: Vec<GatewayConfig>,
    /// Backend clusters referenced by the routes, each with its resolved endpoints.
    pub clusters: Vec<Cluster>,
}

/// Namespace and name of a Kubernetes object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// The object's namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// The configuration of one Gateway.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewayConfig {
    /// Which Gateway this is.
    pub gateway: ObjectRef,
    /// The Gateway's `metadata.generation` this configuration was built from.
    pub generation: i64,
    /// The Gateway's valid listeners.
    pub listeners: Vec<Listener>,
}

/// What a socket speaks: listeners sharing an address and port must agree on it.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    /// Plain-text HTTP/1.1.
    #[default]
    Http,
    /// HTTP over TLS terminated by the data plane.
    Https,
    /// TLS streams told apart by server name: passed through, or terminated, per listener.
    Tls,
    /// TCP connections forwarded whole.
    Tcp,
    /// UDP datagrams forwarded per client.
    Udp,
}

impl Protocol {
    /// The URL scheme of requests received this way (layer-4 protocols carry no requests of
    /// their own; they report the scheme of their transport's security).
    pub const fn scheme(self) -> Scheme {
        match self {
            Self::Http | Self::Tcp | Self::Udp => Scheme::Http,
            Self::Https | Self::Tls => Scheme::Https,
        }
    }

    /// Whether the socket is a UDP one (all others are TCP: a UDP and a TCP listener may
    /// share a port number).
    pub const fn is_udp(self) -> bool {
        matches!(self, Self::Udp)
    }

    /// Whether HTTP requests are served on the socket (HTTPRoutes and GRPCRoutes), rather
    /// than layer-4 routes.
    pub const fn serves_http(self) -> bool {
        matches!(self, Self::Http | Self::Https)
    }
}

/// How a TLS listener treats the streams it is given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TlsMode {
    /// The data plane terminates TLS and forwards the decrypted stream.
    #[default]
    Terminate,
    /// The stream is forwarded as it came, encrypted end to end.
    Passthrough,
}

/// A listener's protocol with the configuration only that protocol has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ListenerProtocol {
    /// Plain-text HTTP/1.1.
    #[default]
    Http,
    /// HTTP over TLS terminated by the data plane.
    Https(TlsTermination),
    /// TLS streams routed by server name (TLSRoutes) and forwarded without being decrypted.
    TlsPassthrough,
    /// TLS streams terminated by the data plane, routed by server name (TLSRoutes), and
    /// forwarded decrypted.
    TlsTerminate(TlsTermination),
    /// TCP connections forwarded to the listener's TCPRoute.
    Tcp,
    /// UDP datagrams forwarded to the listener's UDPRoute.
    Udp,
}

impl ListenerProtocol {
    /// What the listener's socket speaks.
    pub const fn protocol(&self) -> Protocol {
        match self {
            Self::Http => Protocol::Http,
            Self::Https(_) => Protocol::Https,
            Self::TlsPassthrough | Self::TlsTerminate(_) => Protocol::Tls,
            Self::Tcp => Protocol::Tcp,
            Self::Udp => Protocol::Udp,
        }
    }

    /// How a TLS listener treats streams; `None` for other protocols.
    pub const fn tls_mode(&self) -> Option<TlsMode> {
        match self {
            Self::TlsPassthrough => Some(TlsMode::Passthrough),
            Self::TlsTerminate(_) => Some(TlsMode::Terminate),
            _ => None,
        }
    }

    /// The TLS the listener terminates, if it does.
    pub const fn termination(&self) -> Option<&TlsTermination> {
        match self {
            Self::Https(tls) | Self::TlsTerminate(tls) => Some(tls),
            _ => None,
        }
    }

    /// Certificates the listener terminates TLS with (none when it terminates none).
    pub fn certificates(&self) -> &[Certificate] {
        self.termination().map_or(&[], |tls| &tls.certificates)
    }

    /// How the listener checks client certificates, if it asks for them.
    pub fn client_validation(&self) -> Option<&ClientValidation> {
        self.termination()
            .and_then(|tls| tls.client_validation.as_ref())
    }
}

/// How a listener terminates TLS.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsTermination {
    /// Certificates to choose from by SNI; never empty in a valid snapshot.
    pub certificates: Vec<Certificate>,
    /// Client certificates asked for and checked, when the Gateway says so.
    pub client_validation: Option<ClientValidation>,
}

/// One Gateway listener. Several listeners may share an address and port; the data plane binds
/// one socket per address and port and tells them apart by hostname (and SNI).
///
/// Serialised flat (`protocol: HTTPS` beside `certificates`), as the protocol and golden files
/// have always spelled it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "ListenerDocument")]
pub struct Listener {
    /// Unique within a snapshot.
    pub key: ListenerKey,
    /// Content hash: an unchanged version means an unchanged listener.
    pub version: u64,
    /// IP address to bind.
    pub address: IpAddr,
    /// Port to bind.
    pub port: u16,
    /// Protocol spoken on the socket, with its settings.
    pub protocol: ListenerProtocol,
    /// Host this listener serves: exact (`a.example.com`), wildcard (`*.example.com`) or any (`None`).
    pub hostname: Option<String>,
    /// HTTPRoutes attached to this listener, in precedence order of their creation.
    pub routes: Vec<HttpRoute>,
    /// GRPCRoutes attached to this listener, in precedence order of their creation.
    pub grpc_routes: Vec<GrpcRoute>,
    /// TCPRoutes, TLSRoutes or UDPRoutes attached to this listener (by its protocol), in
    /// precedence order of their creation.
    pub stream_routes: Vec<StreamRoute>,
}

impl Default for Listener {
    fn default() -> Self {
        Self {
            key: ListenerKey::default(),
            version: 0,
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 0,
            protocol: ListenerProtocol::Http,
            hostname: None,
            routes: Vec::new(),
            grpc_routes: Vec::new(),
            stream_routes: Vec::new(),
        }
    }
}

impl Listener {
    /// The socket the listener binds.
    pub fn socket(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}

/// [`Listener`] as read: the protocol's settings flattened beside it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListenerDocument {
    key: ListenerKey,
    version: u64,
    address: IpAddr,
    port: u16,
    protocol: Protocol,
    #[serde(default)]
    tls_mode: Option<TlsMode>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    certificates: Vec<Certificate>,
    #[serde(default)]
    client_validation: Option<ClientValidation>,
    #[serde(default)]
    routes: Vec<HttpRoute>,
    #[serde(default)]
    grpc_routes: Vec<GrpcRoute>,
    #[serde(default)]
    stream_routes: Vec<StreamRoute>,
}

/// [`Listener`] as written, borrowed (translation hashes every listener it builds).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListenerView<'a> {
    key: &'a ListenerKey,
    version: u64,
    address: IpAddr,
    port: u16,
    protocol: Protocol,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_mode: Option<TlsMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "<[Certificate]>::is_empty")]
    certificates: &'a [Certificate],
    #[serde(skip_serializing_if = "Option::is_none")]
    client_validation: Option<&'a ClientValidation>,
    routes: &'a [HttpRoute],
    #[serde(skip_serializing_if = "<[GrpcRoute]>::is_empty")]
    grpc_routes: &'a [GrpcRoute],
    #[serde(skip_serializing_if = "<[StreamRoute]>::is_empty")]
    stream_routes: &'a [StreamRoute],
}

impl Serialize for Listener {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ListenerView {
            key: &self.key,
            version: self.version,
            address: self.address,
            port: self.port,
            protocol: self.protocol.protocol(),
            tls_mode: self.protocol.tls_mode(),
            hostname: self.hostname.as_deref(),
            certificates: self.protocol.certificates(),
            client_validation: self.protocol.client_validation(),
            routes: &self.routes,
            grpc_routes: &self.grpc_routes,
            stream_routes: &self.stream_routes,
        }
        .serialize(serializer)
    }
}

/// A listener document whose TLS settings do not fit its protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListenerSettingsMismatch {
    /// Certificates or client validation on a listener that terminates no TLS.
    #[error("listener {0} terminates no TLS but carries TLS settings")]
    TlsWithoutTermination(ListenerKey),
    /// A TLS mode on a listener that is not a TLS one, or a TLS listener without one.
    #[error("listener {0} has a TLS mode that does not fit its protocol")]
    TlsMode(ListenerKey),
}

impl TryFrom<ListenerDocument> for Listener {
    type Error = ListenerSettingsMismatch;
    fn try_from(d: ListenerDocument) -> Result<Self, Self::Error> {
        let tls = TlsSettings {
            mode: d.tls_mode,
            certificates: d.certificates,
            client_validation: d.client_validation,
        };
        let protocol = listener_protocol(&d.key, d.protocol, tls)?;
        Ok(Self {
            key: d.key,
            version: d.version,
            address: d.address,
            port: d.port,
            protocol,
            hostname: d.hostname,
            routes: d.routes,
            grpc_routes: d.grpc_routes,
            stream_routes: d.stream_routes,
        })
    }
}

/// A listener's TLS settings as documents and the wire spell them, beside its protocol.
#[derive(Debug, Default)]
pub struct TlsSettings {
    /// TLS listeners' mode.
    pub mode: Option<TlsMode>,
    /// Certificates to terminate with.
    pub certificates: Vec<Certificate>,
    /// Client certificates asked for.
    pub client_validation: Option<ClientValidation>,
}

/// The listener protocol for a socket `protocol` and the TLS settings sent with it.
pub fn listener_protocol(
    key: &ListenerKey,
    protocol: Protocol,
    tls: TlsSettings,
) -> Result<ListenerProtocol, ListenerSettingsMismatch> {
    let termination = TlsTermination {
        certificates: tls.certificates,
        client_validation: tls.client_validation,
    };
    let terminates_none = termination == TlsTermination::default();
    let mode_fits = tls.mode.is_some() == (protocol == Protocol::Tls);
    if !mode_fits {
        return Err(ListenerSettingsMismatch::TlsMode(key.clone()));
    }
    let plain = |listener: ListenerProtocol| {
        terminates_none
            .then_some(listener)
            .ok_or_else(|| ListenerSettingsMismatch::TlsWithoutTermination(key.clone()))
    };
    match (protocol, tls.mode) {
        (Protocol::Http, _) => plain(ListenerProtocol::Http),
        (Protocol::Tcp, _) => plain(ListenerProtocol::Tcp),
        (Protocol::Udp, _) => plain(ListenerProtocol::Udp),
        (Protocol::Tls, Some(TlsMode::Passthrough)) => plain(ListenerProtocol::TlsPassthrough),
        (Protocol::Tls, _) => Ok(ListenerProtocol::TlsTerminate(termination)),
        (Protocol::Https, _) => Ok(ListenerProtocol::Https(termination)),
    }
}

/// A set of interchangeable endpoints (one Service port).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// Unique within a snapshot.
    pub name: ClusterName,
    /// Content hash of the endpoints.
    pub version: u64,
    /// How requests are sent to the endpoints.
    #[serde(default, skip_serializing_if = "BackendProtocol::is_http1")]
    pub protocol: BackendProtocol,
    /// TLS to the endpoints, when a BackendTLSPolicy asks for it; plain text otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<BackendTls>,
    /// Ready endpoints.
    pub endpoints: Vec<Endpoint>,
}

/// The HTTP version spoken to a cluster's endpoints, from its Service port's `appProtocol`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BackendProtocol {
    /// HTTP/1.1 (connection upgrades such as WebSocket pass through).
    #[default]
    Http1,
    /// HTTP/2 over cleartext with prior knowledge (`kubernetes.io/h2c`).
    H2c,
    /// HTTP/2 over the cluster's TLS, negotiated by ALPN `h2` (a GRPCRoute's backend behind a
    /// BackendTLSPolicy).
    H2,
}

impl BackendProtocol {
    /// Whether this is the default, HTTP/1.1.
    pub fn is_http1(&self) -> bool {
        *self == Self::Http1
    }

    /// Whether requests go out in HTTP/2.
    pub const fn is_http2(self) -> bool {
        matches!(self, Self::H2c | Self::H2)
    }

    /// Whether the protocol speaks TLS of its own (`H2`), speaks none (`H2c`), or either
    /// (`None`: HTTP/1.1 goes over TLS when the cluster has it).
    pub const fn needs_tls(self) -> Option<bool> {
        match self {
            Self::Http1 => None,
            Self::H2c => Some(false),
            Self::H2 => Some(true),
        }
    }
}

/// One ready endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    /// IP address.
    pub address: IpAddr,
    /// Port.
    pub port: u16,
}

impl Endpoint {
    /// Where to connect.
    pub fn socket(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}
