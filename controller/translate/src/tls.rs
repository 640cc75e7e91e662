//! Gateway certificates: resolve a listener's `certificateRefs` and the Gateway's backend
//! client certificate (`spec.tls.backend.clientCertificateRef`) to Secrets, and check that they
//! hold a PEM certificate chain and a private key that rustls can use with it.

use gateway_api::gateways::{
    GatewayListenersTlsCertificateRefs, GatewayTlsBackendClientCertificateRef,
};
use portico_snapshot::Certificate;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::conditions::{Problem, reasons};
use crate::names::{GATEWAY_GROUP, GATEWAY_KIND};
use crate::refgrant;
use crate::resources::Index;

/// Resolve every reference made by the listener's Gateway or ListenerSet (`from`). Returns the
/// usable certificates and the first problem, if any.
pub(crate) fn resolve_certificates(
    index: &Index<'_>,
    from: refgrant::From<'_>,
    refs: &[GatewayListenersTlsCertificateRefs],
) -> (Vec<Certificate>, Option<Problem>) {
    let mut certificates = Vec::new();
    let mut problem = None;
    for reference in refs {
        let reference = SecretRef {
            group: reference.group.as_deref(),
            kind: reference.kind.as_deref(),
            name: &reference.name,
            namespace: reference.namespace.as_deref(),
        };
        match resolve(index, from, reference, reasons::INVALID_CERTIFICATE_REF) {
            Ok(certificate) => certificates.push(certificate),
            Err(p) => {
                problem.get_or_insert(p);
            }
        }
    }
    if refs.is_empty() {
        problem = Some(Problem::new(
            reasons::INVALID_CERTIFICATE_REF,
            "an HTTPS listener needs at least one certificateRef",
        ));
    }
    (certificates, problem)
}

/// The certificate a Gateway presents to backends that ask for one.
pub(crate) fn resolve_client_certificate(
    index: &Index<'_>,
    gateway_namespace: &str,
    reference: &GatewayTlsBackendClientCertificateRef,
) -> Result<Certificate, Problem> {
    let reference = SecretRef {
        group: reference.group.as_deref(),
        kind: reference.kind.as_deref(),
        name: &reference.name,
        namespace: reference.namespace.as_deref(),
    };
    let from = refgrant::From {
        group: GATEWAY_GROUP,
        kind: GATEWAY_KIND,
        namespace: gateway_namespace,
    };
    resolve(
        index,
        from,
        reference,
        reasons::INVALID_CLIENT_CERTIFICATE_REF,
    )
}

/// A reference to a Secret, as the API's generated types spell it.
#[derive(Clone, Copy)]
struct SecretRef<'a> {
    group: Option<&'a str>,
    kind: Option<&'a str>,
    name: &'a str,
    namespace: Option<&'a str>,
}

/// Resolve one reference made by `from`; a problem carries `invalid_reason` unless a
/// ReferenceGrant is missing (`RefNotPermitted`).
fn resolve(
    index: &Index<'_>,
    from: refgrant::From<'_>,
    reference: SecretRef<'_>,
    invalid_reason: &'static str,
) -> Result<Certificate, Problem> {
    let group = refgrant::core_group(reference.group.unwrap_or(""));
    let kind = reference.kind.unwrap_or("Secret");
    let name = reference.name;
    if !group.is_empty() || kind != "Secret" {
        return Err(Problem::new(
            invalid_reason,
            format!("reference {group}/{kind} {name:?} is not a Secret"),
        ));
    }
    let namespace = reference.namespace.unwrap_or(from.namespace);
    let to = refgrant::To {
        group: "",
        kind: "Secret",
        namespace,
        name,
    };
    refgrant::check(&index.resources.reference_grants, from, to)?;
    let invalid =
        |what: &str| Problem::new(invalid_reason, format!("Secret {namespace}/{name} {what}"));
    let secret = index
        .secret(namespace, name)
        .ok_or_else(|| invalid("does not exist"))?;
    // The API server folds stringData into data; files written by hand may use either.
    let field = |key: &str| {
        let data = secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .map(|b| b.0.as_slice());
        let string_data = secret
            .string_data
            .as_ref()
            .and_then(|d| d.get(key))
            .map(|s| s.as_bytes());
        data.or(string_data)
            .ok_or_else(|| invalid(&format!("has no {key}")))
    };
    let chain = field("tls.crt")?;
    let key = field("tls.key")?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(chain)
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(&format!("has an unreadable tls.crt: {e}")))?;
    if certs.is_empty() {
        return Err(invalid("has no PEM certificate in tls.crt"));
    }
    let private_key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|e| invalid(&format!("has an unreadable tls.key: {e}")))?;
    // The same check the data plane makes when it loads the certificate: catching it here
    // reports it on this listener instead of having the data plane reject the whole snapshot.
    let provider = rustls::crypto::ring::default_provider();
    rustls::sign::CertifiedKey::from_der(certs, private_key, &provider).map_err(|e| {
        invalid(&format!(
            "holds a certificate and key that cannot be used: {e}"
        ))
    })?;
    Ok(Certificate {
        name: format!("{namespace}/{name}"),
        cert_chain_pem: String::from_utf8_lossy(chain).into_owned(),
        private_key_pem: String::from_utf8_lossy(key).into_owned(),
    })
}
