//! TLS termination: certificates are parsed once when a snapshot arrives, and a resolver picks
//! one per handshake by SNI (exact listener hostname, then wildcard, then a catch-all listener).
//! The SNI is kept with the connection, so requests on it can be checked against it.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use pingora_core::listeners::TlsAccept;
use pingora_core::protocols::tls::{SslDigest, TlsRef};

use pingora_core::tls::sign::CertifiedKey;
use pingora_core::tls::{ClientHello, CryptoProvider, ResolvesServerCert, ServerConfig};
use portico_router::hosts::HostMap;

use crate::client_certificates;
use portico_snapshot::{Certificate, Listener};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Certificates of the HTTPS listeners sharing one socket, by listener hostname.
#[derive(Debug)]
struct SniResolver {
    by_host: HostMap<Option<Arc<CertifiedKey>>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let sni = hello.server_name().unwrap_or_default().to_ascii_lowercase();
        self.by_host.matching(&sni).flatten().next().cloned()
    }
}

/// Build the rustls configuration for one HTTPS socket.
pub fn server_config(listeners: &[&Listener]) -> Result<Arc<ServerConfig>, String> {
    let resolver = Arc::new(sni_resolver(listeners)?);
    let builder = ServerConfig::builder();
    let builder = match client_certificates::validation(listeners)? {
        None => builder.with_no_client_auth(),
        Some(validation) => {
            builder.with_client_cert_verifier(client_certificates::verifier(validation)?)
        }
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The rustls configuration of a TLS listener that terminates streams: its certificate by
/// SNI as HTTPS has, and no ALPN (the decrypted stream is forwarded whatever it carries).
pub fn stream_server_config(listener: &Listener) -> Result<Arc<ServerConfig>, String> {
    let mut config = ServerConfig::clone(&*server_config(&[listener])?);
    config.alpn_protocols.clear();
    Ok(Arc::new(config))
}

/// Each listener's first certificate, parsed, by the listener's hostname. The error (a NACK
/// reason) names the listener and certificate that cannot be used.
fn sni_resolver(listeners: &[&Listener]) -> Result<SniResolver, String> {
    pingora_core::tls::install_default_crypto_provider();
    let mut by_host: HostMap<Option<Arc<CertifiedKey>>> = HostMap::default();
    for listener in listeners {
        let Some(certificate) = listener.protocol.certificates().first() else {
            return Err(format!("listener {} has no certificate", listener.key));
        };
        let key = Arc::new(certified_key(certificate).map_err(|e| {
            format!(
                "listener {}: certificate {}: {e}",
                listener.key, certificate.name
            )
        })?);
        by_host
            .entry(listener.hostname.as_deref())
            .get_or_insert(key);
    }
    Ok(SniResolver { by_host })
}

fn certified_key(certificate: &Certificate) -> Result<CertifiedKey, String> {
    let chain = CertificateDer::pem_slice_iter(certificate.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad certificate chain: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate in chain".to_string());
    }
    let key = PrivateKeyDer::from_pem_slice(certificate.private_key_pem.as_bytes())
        .map_err(|e| format!("bad private key: {e}"))?;
    let provider = CryptoProvider::get_default().ok_or("no TLS crypto provider installed")?;
    CertifiedKey::from_der(chain, key, provider)
        .map_err(|e| format!("unusable certificate and key: {e}"))
}

/// The server name (SNI) a TLS connection was opened for, lowercased, kept in the
/// connection's `SslDigest` so requests on it can be checked against it.
#[derive(Debug)]
pub struct ServerName(String);

/// Records each connection's [`ServerName`] when its handshake completes.
pub struct RecordServerName;

#[async_trait]
impl TlsAccept for RecordServerName {
    async fn handshake_complete_callback(
        &self,
        tls: &TlsRef,
    ) -> Option<Arc<dyn Any + Send + Sync>> {
        let name = tls.server_name()?.to_ascii_lowercase();
        Some(Arc::new(ServerName(name)))
    }
}

/// The server name of the connection `digest` describes, when it sent one.
pub fn server_name(digest: &SslDigest) -> Option<&str> {
    digest
        .extension
        .get::<ServerName>()
        .map(|name| name.0.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_snapshot::{ListenerProtocol, TlsTermination};

    fn listener(key: &str, hostname: Option<&str>, certificate: Certificate) -> Listener {
        Listener {
            key: key.into(),
            hostname: hostname.map(Into::into),
            protocol: ListenerProtocol::Https(TlsTermination {
                certificates: vec![certificate],
                client_validation: None,
            }),
            ..Listener::default()
        }
    }

    fn certificate(name: &str, host: &str) -> Certificate {
        let issued = rcgen::generate_simple_self_signed(vec![host.to_string()]).expect("cert");
        Certificate {
            name: name.into(),
            cert_chain_pem: issued.cert.pem(),
            private_key_pem: issued.signing_key.serialize_pem(),
        }
    }

    /// The certificate (its first DER bytes) the resolver picks for `host`.
    fn served(resolver: &SniResolver, host: &str) -> Option<Vec<u8>> {
        let key = resolver.by_host.matching(host).flatten().next()?;
        Some(key.cert[0].as_ref().to_vec())
    }

    fn der(certificate: &Certificate) -> Vec<u8> {
        let der = CertificateDer::pem_slice_iter(certificate.cert_chain_pem.as_bytes())
            .next()
            .expect("one certificate")
            .expect("PEM");
        der.as_ref().to_vec()
    }

    #[test]
    fn sni_picks_the_most_specific_listener_certificate_and_nothing_for_unknown_names() {
        let (a, b) = (
            certificate("ns/a", "a.example.com"),
            certificate("ns/b", "*.b.example.com"),
        );
        let exact = listener("ns/gw/a", Some("a.example.com"), a.clone());
        let wildcard = listener("ns/gw/b", Some("*.b.example.com"), b.clone());
        let resolver = sni_resolver(&[&exact, &wildcard]).expect("resolver");
        assert_eq!(served(&resolver, "a.example.com"), Some(der(&a)));
        assert_eq!(served(&resolver, "x.b.example.com"), Some(der(&b)));
        assert_eq!(served(&resolver, "other.example.org"), None);
    }

    #[test]
    fn an_unusable_certificate_is_a_nack_naming_its_listener() {
        let mut broken = certificate("ns/broken", "a.example.com");
        broken.private_key_pem = "not a key".into();
        let listener = listener("ns/gw/a", Some("a.example.com"), broken);
        let error = sni_resolver(&[&listener]).expect_err("refused");
        assert!(
            error.contains("ns/gw/a") && error.contains("ns/broken"),
            "{error}"
        );
    }
}
