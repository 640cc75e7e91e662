//! Client certificates on HTTPS sockets, as a Gateway's frontend TLS asks for them: every
//! client is asked for one; with `AllowValidOnly` the handshake fails unless the certificate
//! chains to the configured CAs, with `AllowInsecureFallback` clients without one, or with one
//! that does not verify, are served too.

use std::sync::Arc;

use pingora_core::tls::{ClientCertVerified, ClientCertVerifier};
use portico_snapshot::{ClientValidation, ClientValidationMode, Listener};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};

use crate::ca_roots;

/// The validation the listeners sharing one socket ask for. They share the handshake, so they
/// must agree (the translator makes Gateways that disagree on a port conflict); the error is a
/// NACK reason.
pub fn validation<'l>(listeners: &[&'l Listener]) -> Result<Option<&'l ClientValidation>, String> {
    let mut asked = listeners
        .iter()
        .map(|l| (l, l.protocol.client_validation()));
    let Some((first, validation)) = asked.next() else {
        return Ok(None);
    };
    match asked.find(|(_, other)| *other != validation) {
        Some((other, _)) => Err(format!(
            "listeners {} and {} share a socket but not their client certificate validation",
            first.key, other.key
        )),
        None => Ok(validation),
    }
}

/// The verifier for `validation`. The error (a NACK reason) says why its CAs cannot be used.
pub fn verifier(validation: &ClientValidation) -> Result<Arc<dyn ClientCertVerifier>, String> {
    let roots =
        ca_roots::from_pem(&validation.ca_certificates_pem).map_err(|e| format!("client {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| format!("client CA certificates: {e}"))?;
    Ok(match validation.mode {
        ClientValidationMode::AllowValidOnly => webpki,
        ClientValidationMode::AllowInsecureFallback => Arc::new(InsecureFallback(webpki)),
    })
}

/// Asks for a client certificate like the verifier it wraps, but serves the client whatever
/// the verdict (logged).
#[derive(Debug)]
struct InsecureFallback(Arc<dyn ClientCertVerifier>);

impl ClientCertVerifier for InsecureFallback {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if let Err(error) = self.0.verify_client_cert(end_entity, intermediates, now) {
            tracing::debug!(%error, "client certificate does not verify; served (AllowInsecureFallback)");
        }
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
