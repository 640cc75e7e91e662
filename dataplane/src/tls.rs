//! TLS termination: certificates are parsed once when a snapshot arrives, and a resolver picks
//! one per handshake by SNI (exact listener hostname, then wildcard, then a catch-all listener).

use std::sync::Arc;

use pingora_core::tls::sign::CertifiedKey;
use pingora_core::tls::{ClientHello, CryptoProvider, ResolvesServerCert, ServerConfig};
use portico_router::hosts::HostMap;
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
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver { by_host }));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
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
