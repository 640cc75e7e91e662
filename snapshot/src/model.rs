//! The snapshot: everything a data plane needs to serve a set of Gateways, and nothing it
//! would have to look up elsewhere (endpoints are resolved, certificates are inlined).
//!
//! Resources inside carry stable keys (`namespace/gateway/listener`, `namespace/service:port`)
//! and content versions, so the protocol can later carry incremental updates.

use serde::{Deserialize, Serialize};

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

/// Application protocol of a listener.
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
}

/// One Gateway listener. Several listeners may share an address and port; the data plane binds
/// one socket per address and port and tells them apart by hostname (and SNI).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// `namespace/gateway/listener`, unique within a snapshot.
    pub key: String,
    /// Content hash: an unchanged version means an unchanged listener.
    pub version: u64,
    /// IP address to bind.
    pub address: String,
    /// Port to bind.
    pub port: u16,
    /// Protocol spoken on the socket.
    pub protocol: Protocol,
    /// Host this listener serves: exact (`a.example.com`), wildcard (`*.example.com`) or any (`None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Certificates for TLS termination (HTTPS only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<Certificate>,
    /// Routes attached to this listener, in precedence order of their creation.
    #[serde(default)]
    pub routes: Vec<HttpRoute>,
}

/// A certificate chain and its private key, PEM encoded.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    /// `namespace/secret` it came from.
    pub name: String,
    /// PEM certificate chain, leaf first.
    pub cert_chain_pem: String,
    /// PEM private key.
    #[serde(serialize_with = "redact")]
    pub private_key_pem: String,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Private keys never leave the process through a config dump or a golden file.
fn redact<S: serde::Serializer>(key: &str, serializer: S) -> Result<S::Ok, S::Error> {
    if key.is_empty() {
        serializer.serialize_str("")
    } else {
        serializer.serialize_str("<redacted>")
    }
}

/// An HTTPRoute as attached to one listener.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    /// `namespace/name` of the HTTPRoute.
    pub key: String,
    /// Hostnames served, already intersected with the listener's hostname. Empty means any.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// The route's rules, in their declared order.
    pub rules: Vec<HttpRule>,
}

/// One HTTPRoute rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRule {
    /// Alternatives: the rule applies when any of them matches. Never empty (the translator
    /// fills in the spec's default, a `PathPrefix /` match).
    pub matches: Vec<HttpMatch>,
    /// Filters applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<HttpFilter>,
    /// Weighted backends. Empty (or all weights zero) with no redirect means 500.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<WeightedBackend>,
}

/// How a request path is compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PathMatch {
    /// The whole path equals the value.
    Exact,
    /// The path starts with the value, on a `/` boundary.
    #[default]
    PathPrefix,
}

/// Conditions a request must all meet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpMatch {
    /// Kind of path comparison.
    pub path_match: PathMatch,
    /// The path to compare with; always starts with `/`.
    pub path: String,
    /// Headers that must be present with exactly these values (names compare case-insensitively).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatch>,
}

/// A header that must be present with an exact value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderMatch {
    /// Header name.
    pub name: String,
    /// Exact value.
    pub value: String,
}

/// A filter applied to matching requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HttpFilter {
    /// Edit the request's headers before it is proxied.
    RequestHeaderModifier(HeaderModifier),
    /// Answer with a redirect instead of proxying.
    RequestRedirect(RequestRedirect),
}

/// Header edits: set replaces, add appends, remove deletes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderModifier {
    /// Headers to set, replacing any existing value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<Header>,
    /// Headers to append.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<Header>,
    /// Header names to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<String>,
}

/// A header name and value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Header name.
    pub name: String,
    /// Header value.
    pub value: String,
}

/// A redirect response. Unset parts keep the request's values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRedirect {
    /// `http` or `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    /// Replacement host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Replacement port; when unset, the scheme's well-known port is implied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// 301, 302, 303, 307 or 308.
    pub status_code: u16,
}

/// A share of a rule's traffic going to one cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightedBackend {
    /// Name of a [`Cluster`] in the same snapshot; `None` when the backendRef is invalid, in
    /// which case requests given to it are answered with 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Relative weight; 0 means never chosen.
    pub weight: u32,
}

/// A set of interchangeable endpoints (one Service port).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    /// `namespace/service:port`.
    pub name: String,
    /// Content hash of the endpoints.
    pub version: u64,
    /// Ready endpoints.
    pub endpoints: Vec<Endpoint>,
}

/// One ready endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Endpoint {
    /// IP address.
    pub address: String,
    /// Port.
    pub port: u16,
}
