//! TLS to the endpoints of a cluster a BackendTLSPolicy covers.
//!
//! Pingora's rustls connector checks an endpoint's certificate against the SNI only, while the
//! Gateway API lets a policy replace that check by a list of subject alternative names (DNS
//! names or URIs such as SPIFFE IDs). So the data plane dials these endpoints itself: a
//! [`BackendTlsConnector`], built once per cluster and snapshot, is Pingora's custom layer-4
//! connector for the cluster's peers. It connects, runs the handshake with the policy's trust
//! and names, and hands Pingora the TLS stream as a plain socket, which Pingora then speaks
//! HTTP over and pools as usual (per connector, see [`BackendTlsConnector::group_key`]).

use std::hash::{DefaultHasher, Hash, Hasher};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_trait::async_trait;
use pingora_core::connectors::L4Connect;
use pingora_core::protocols::l4::socket::SocketAddr;
use pingora_core::protocols::l4::stream::Stream;
use pingora_core::protocols::l4::virt::{VirtualSockOpt, VirtualSocket, VirtualSocketStream};
use pingora_core::{Error, ErrorType};
use portico_snapshot::{BackendProtocol, BackendTls, BackendTrust, Certificate, SubjectAltName};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use x509_parser::extensions::GeneralName;

use crate::ca_roots;

/// Dials a cluster's endpoints over TLS as its policy says.
#[derive(Debug)]
pub struct BackendTlsConnector {
    /// The policy, for logs.
    policy: String,
    /// The handshake's configuration, or why no endpoint can be trusted.
    config: Result<Arc<ClientConfig>, String>,
    /// Sent as SNI.
    server_name: ServerName<'static>,
    /// Pingora pools connections per peer hash; peers of different TLS settings must not share.
    group_key: u64,
}

impl BackendTlsConnector {
    /// Build the connector for `tls`. The error is a NACK reason: the translator checks CA
    /// bundles and certificates, so it points at a bug.
    pub fn new(tls: &BackendTls, protocol: BackendProtocol) -> Result<Self, String> {
        let policy = tls.policy.clone();
        let server_name = ServerName::try_from(tls.server_name.clone())
            .map_err(|e| format!("policy {policy}: server name {:?}: {e}", tls.server_name))?;
        let config = match &tls.trust {
            BackendTrust::NoValidCertificateAuthority => {
                Err(format!("policy {policy} has no valid CA certificate"))
            }
            trust => Ok(Arc::new(
                client_config(tls, trust, protocol).map_err(|e| format!("policy {policy}: {e}"))?,
            )),
        };
        let mut hasher = DefaultHasher::new();
        tls.hash(&mut hasher);
        protocol.hash(&mut hasher);
        Ok(Self {
            policy,
            config,
            server_name,
            group_key: hasher.finish(),
        })
    }

    /// Distinguishes connections made with these settings in Pingora's connection pool.
    pub fn group_key(&self) -> u64 {
        self.group_key
    }

    /// Connect to `address` and complete the handshake.
    pub async fn connect_tls(
        &self,
        address: std::net::SocketAddr,
    ) -> io::Result<TlsStream<TcpStream>> {
        let config = self
            .config
            .as_ref()
            .map_err(|reason| io::Error::new(io::ErrorKind::PermissionDenied, reason.clone()))?;
        let tcp = TcpStream::connect(address).await?;
        tcp.set_nodelay(true)?;
        TlsConnector::from(config.clone())
            .connect(self.server_name.clone(), tcp)
            .await
    }
}

#[async_trait]
impl L4Connect for BackendTlsConnector {
    async fn connect(&self, address: &SocketAddr) -> pingora_core::Result<Stream> {
        let Some(inet) = address.as_inet().copied() else {
            return Error::e_explain(ErrorType::ConnectError, "TLS endpoints are IP addresses");
        };
        let tls = self.connect_tls(inet).await.map_err(|e| {
            let kind = if e.kind() == io::ErrorKind::InvalidData {
                ErrorType::TLSHandshakeFailure
            } else {
                ErrorType::ConnectError
            };
            tracing::warn!(endpoint = %inet, policy = %self.policy, error = %e, "TLS to endpoint failed");
            Error::because(kind, format!("TLS to {inet} (policy {})", self.policy), e)
        })?;
        Ok(Stream::from(VirtualSocketStream::new(Box::new(TlsSocket(
            tls,
        )))))
    }
}

/// The rustls client configuration for a policy that trusts `trust`.
fn client_config(
    tls: &BackendTls,
    trust: &BackendTrust,
    protocol: BackendProtocol,
) -> Result<ClientConfig, String> {
    let roots = match trust {
        BackendTrust::Certificates(pem) => ca_roots::from_pem(pem)?,
        BackendTrust::System => {
            let native = pingora_core::tls::load_native_certs()
                .map_err(|e| format!("cannot read the system's CA certificates: {e}"))?;
            let mut roots = RootCertStore::empty();
            roots.add_parsable_certificates(native);
            roots
        }
        BackendTrust::NoValidCertificateAuthority => RootCertStore::empty(),
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("no usable CA certificate: {e}"))?;
    let verifier = Arc::new(PolicyVerifier {
        webpki,
        subject_alt_names: tls.subject_alt_names.clone(),
    });
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match &tls.client_certificate {
        None => builder.with_no_client_auth(),
        Some(certificate) => {
            let (chain, key) = client_identity(certificate)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client certificate {}: {e}", certificate.name))?
        }
    };
    // One protocol offered: Pingora speaks the cluster's inside the tunnel, whatever was
    // negotiated, so an endpoint that cannot speak it fails the handshake instead.
    config.alpn_protocols = vec![if protocol == BackendProtocol::H2 {
        b"h2".to_vec()
    } else {
        b"http/1.1".to_vec()
    }];
    Ok(config)
}

fn client_identity(
    certificate: &Certificate,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let name = &certificate.name;
    let chain = CertificateDer::pem_slice_iter(certificate.cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("client certificate {name}: {e}"))?;
    let key = PrivateKeyDer::from_pem_slice(certificate.private_key_pem.as_bytes())
        .map_err(|e| format!("client certificate {name}: key: {e}"))?;
    Ok((chain, key))
}

/// Checks an endpoint's certificate chain against the policy's CAs, then its name: the SNI,
/// or, when the policy lists subject alternative names, any one of those instead.
#[derive(Debug)]
struct PolicyVerifier {
    webpki: Arc<WebPkiServerVerifier>,
    subject_alt_names: Vec<SubjectAltName>,
}

impl ServerCertVerifier for PolicyVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if self.subject_alt_names.is_empty() {
            return verified;
        }
        // The chain was checked before the name: a name error means the chain is trusted.
        match verified {
            Ok(_)
            | Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => {
                if carries_any(end_entity, &self.subject_alt_names) {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(
                        CertificateError::NotValidForName,
                    ))
                }
            }
            Err(error) => Err(error),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// Whether the certificate's subjectAltName extension names any of `wanted`.
fn carries_any(certificate: &CertificateDer<'_>, wanted: &[SubjectAltName]) -> bool {
    let Ok((_, parsed)) = x509_parser::parse_x509_certificate(certificate) else {
        return false;
    };
    let Ok(Some(extension)) = parsed.subject_alternative_name() else {
        return false;
    };
    extension.value.general_names.iter().any(|name| {
        wanted.iter().any(|w| match (w, name) {
            (SubjectAltName::Hostname(host), GeneralName::DNSName(dns)) => dns_matches(dns, host),
            (SubjectAltName::Uri(uri), GeneralName::URI(carried)) => carried == uri,
            _ => false,
        })
    })
}

/// Whether a certificate's DNS name (`*.example.com` covers one leftmost label) covers `host`.
fn dns_matches(certificate_name: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let certificate_name = certificate_name.trim_end_matches('.');
    match certificate_name.strip_prefix("*.") {
        Some(suffix) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest.eq_ignore_ascii_case(suffix)),
        None => certificate_name.eq_ignore_ascii_case(host),
    }
}

/// A TLS stream as Pingora's virtual socket.
#[derive(Debug)]
struct TlsSocket(TlsStream<TcpStream>);

impl VirtualSocket for TlsSocket {
    fn set_socket_option(&self, option: VirtualSockOpt) -> io::Result<()> {
        match option {
            VirtualSockOpt::NoDelay => self.0.get_ref().0.set_nodelay(true),
            // Keep-alive probes are a tuning the TLS path goes without.
            _ => Ok(()),
        }
    }
}

impl AsyncRead for TlsSocket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsSocket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_match_exactly_or_by_one_wildcard_label() {
        assert!(dns_matches("abc.example.com", "ABC.example.com"));
        assert!(dns_matches("*.example.com", "abc.example.com"));
        assert!(!dns_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_matches("*.example.com", "example.com"));
        assert!(!dns_matches("abc.example.com", "dce.example.com"));
    }
}
