//! PEM bundles of CA certificates (a BackendTLSPolicy's, a listener's client validation) as
//! rustls trust stores.

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The CA certificates of a PEM bundle, as a rustls trust store. The error (a NACK reason)
/// says which certificate cannot be read or used.
pub fn from_pem(pem: &str) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let certificate = certificate.map_err(|e| format!("CA bundle: {e}"))?;
        roots
            .add(certificate)
            .map_err(|e| format!("CA certificate: {e}"))?;
    }
    Ok(roots)
}
