//! Certificate authorities for tests: a CA that signs server and client certificates with
//! chosen names, as PEM ready for Secrets, ConfigMaps and clients.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    SanType,
};

/// A certificate authority able to sign further certificates.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    pub fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().expect("key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate with `names` (DNS names, or URIs when they contain `://`) for `usage`;
    /// (certificate PEM, key PEM).
    pub fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.subject_alt_names = names
            .iter()
            .map(|name| {
                let value = (*name).try_into().expect("IA5 name");
                if name.contains("://") {
                    SanType::URI(value)
                } else {
                    SanType::DnsName(value)
                }
            })
            .collect();
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let certificate = params.signed_by(&key, &self.issuer).expect("certificate");
        (certificate.pem(), key.serialize_pem())
    }
}

/// `pem` indented by four spaces, for a YAML block scalar.
pub fn indented_pem(pem: &str) -> String {
    pem.lines().map(|l| format!("    {l}\n")).collect()
}
