//! Wire conversions of [`crate::backend_tls`]: TLS to a cluster's endpoints.

use super::{WireError, proto};
use crate::backend_tls::{BackendTls, BackendTrust, SubjectAltName};

impl From<BackendTls> for proto::BackendTls {
    fn from(tls: BackendTls) -> Self {
        use proto::backend_tls::Trust;
        use proto::subject_alt_name::Name;
        Self {
            policy: tls.policy,
            server_name: tls.server_name,
            trust: Some(match tls.trust {
                BackendTrust::Certificates(pem) => Trust::CaCertificatesPem(pem),
                BackendTrust::System => Trust::System(true),
                BackendTrust::NoValidCertificateAuthority => {
                    Trust::NoValidCertificateAuthority(true)
                }
            }),
            subject_alt_names: tls
                .subject_alt_names
                .into_iter()
                .map(|name| proto::SubjectAltName {
                    name: Some(match name {
                        SubjectAltName::Hostname(h) => Name::Hostname(h),
                        SubjectAltName::Uri(u) => Name::Uri(u),
                    }),
                })
                .collect(),
            client_certificate: tls.client_certificate.map(Into::into),
        }
    }
}

impl TryFrom<proto::BackendTls> for BackendTls {
    type Error = WireError;
    fn try_from(tls: proto::BackendTls) -> Result<Self, WireError> {
        use proto::backend_tls::Trust;
        use proto::subject_alt_name::Name;
        let trust = match tls.trust.ok_or(WireError::Missing("backend_tls.trust"))? {
            Trust::CaCertificatesPem(pem) => BackendTrust::Certificates(pem),
            Trust::System(_) => BackendTrust::System,
            Trust::NoValidCertificateAuthority(_) => BackendTrust::NoValidCertificateAuthority,
        };
        let subject_alt_names = tls
            .subject_alt_names
            .into_iter()
            .map(|name| match name.name {
                Some(Name::Hostname(h)) => Ok(SubjectAltName::Hostname(h)),
                Some(Name::Uri(u)) => Ok(SubjectAltName::Uri(u)),
                None => Err(WireError::Missing("backend_tls.subject_alt_names.name")),
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            policy: tls.policy,
            server_name: tls.server_name,
            trust,
            subject_alt_names,
            client_certificate: tls.client_certificate.map(Into::into),
        })
    }
}
