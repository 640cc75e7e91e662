//! TLS from the data plane to a cluster's endpoints, as a BackendTLSPolicy asks for it: the
//! server name to send and check, the certificate authorities to trust, the subject
//! alternative names that replace the server name in the check, and the client certificate the
//! Gateway presents (`spec.tls.backend.clientCertificateRef`).

use serde::{Deserialize, Serialize};

use crate::certificate::Certificate;

/// How the data plane speaks TLS to one cluster's endpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackendTls {
    /// `namespace/name` of the BackendTLSPolicy asking for it, for logs and dumps.
    pub policy: String,
    /// Sent as SNI; the endpoint's certificate must be valid for it unless
    /// `subject_alt_names` is set.
    pub server_name: String,
    /// Which certificate authorities the endpoint's certificate must chain to.
    pub trust: BackendTrust,
    /// When not empty, the endpoint's certificate must carry at least one of these names, and
    /// `server_name` is then only sent, not checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_alt_names: Vec<SubjectAltName>,
    /// The certificate the data plane presents when an endpoint asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<Certificate>,
}

/// The certificate authorities an endpoint's certificate must chain to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum BackendTrust {
    /// The PEM certificates of the policy's CA ConfigMaps (at least one).
    Certificates(String),
    /// The operating system's trust store (`wellKnownCACertificates: System`).
    System,
    /// None: every reference of the policy was invalid, so no endpoint can be trusted and
    /// every request to the cluster fails with a 5xx, as the Gateway API asks.
    #[default]
    NoValidCertificateAuthority,
}

/// A name the endpoint's certificate may carry in its subjectAltName extension.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SubjectAltName {
    /// A DNS name, matched as TLS hostnames are (a certificate's `*.example.com` covers
    /// `a.example.com`).
    Hostname(String),
    /// A URI (such as a SPIFFE ID), matched exactly.
    Uri(String),
}
