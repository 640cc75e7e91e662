//! A certificate chain and its private key, as listeners serve them and as a Gateway presents
//! them to backends. The key never leaves the process through a dump or a golden file.

use serde::{Deserialize, Serialize};

/// A certificate chain and its private key, PEM encoded.
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
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
