//! CA certificate bundles in ConfigMaps (key `ca.crt`), as BackendTLSPolicies and a Gateway's
//! frontend client validation name them: resolved, and checked the way the data plane loads
//! them, so a bad bundle is reported on the object naming it instead of failing a snapshot.

use k8s_openapi::api::core::v1::ConfigMap;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::conditions::{Problem, reasons};

/// The key a CA ConfigMap holds its PEM certificates under.
pub const CA_BUNDLE_KEY: &str = "ca.crt";

/// ConfigMaps by namespace and name.
pub(crate) trait ConfigMaps<'a> {
    /// A ConfigMap.
    fn config_map(&self, namespace: &str, name: &str) -> Option<&'a ConfigMap>;
}

/// The PEM CA certificates of ConfigMap `namespace/name`; the problem's reason is
/// `InvalidCACertificateRef`.
pub(crate) fn resolve<'a>(
    config_maps: &impl ConfigMaps<'a>,
    namespace: &str,
    name: &str,
) -> Result<&'a str, Problem> {
    let invalid = |what: &str| {
        Problem::new(
            reasons::INVALID_CA_CERTIFICATE_REF,
            format!("ConfigMap {namespace}/{name} {what}"),
        )
    };
    let config_map = config_maps
        .config_map(namespace, name)
        .ok_or_else(|| invalid("does not exist"))?;
    let pem = config_map
        .data
        .as_ref()
        .and_then(|d| d.get(CA_BUNDLE_KEY))
        .ok_or_else(|| invalid(&format!("has no {CA_BUNDLE_KEY}")))?;
    let certificates: Vec<CertificateDer<'_>> = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(&format!("has an unreadable {CA_BUNDLE_KEY}: {e}")))?;
    if certificates.is_empty() {
        return Err(invalid(&format!(
            "has no PEM certificate in {CA_BUNDLE_KEY}"
        )));
    }
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|e| invalid(&format!("holds a certificate that cannot be a CA: {e}")))?;
    }
    Ok(pem)
}

/// Concatenate PEM bundles, each ending with a newline.
pub(crate) fn concatenate<'a>(bundles: impl IntoIterator<Item = &'a str>) -> String {
    let mut joined = String::new();
    for pem in bundles {
        joined.push_str(pem);
        if !pem.ends_with('\n') {
            joined.push('\n');
        }
    }
    joined
}
