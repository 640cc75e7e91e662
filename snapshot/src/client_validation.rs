//! Client certificate validation on HTTPS listeners, as a Gateway's `spec.tls.frontend` asks
//! for it (by default, or for one port).

use serde::{Deserialize, Serialize};

/// Which client certificates a listener's TLS handshake accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientValidation {
    /// PEM certificates of the authorities a client certificate must chain to (at least one).
    pub ca_certificates_pem: String,
    /// What happens to clients without a valid certificate.
    pub mode: ClientValidationMode,
}

/// What happens to clients without a valid certificate. Both ask every client for one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientValidationMode {
    /// The handshake fails unless the client presents a certificate the CAs vouch for.
    #[default]
    AllowValidOnly,
    /// Clients without a certificate, or with one that does not verify, are served too.
    AllowInsecureFallback,
}
