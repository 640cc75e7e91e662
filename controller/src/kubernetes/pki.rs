//! The certificate authority behind TLS between the planes. Its key pair lives in a Secret in
//! the controller's namespace, created by the first replica that needs it and shared by all, so
//! data planes keep trusting whichever replica leads. It issues the snapshot service's server
//! certificate (at start); data planes get only its certificate, which is public.

use std::collections::BTreeMap;

use anyhow::Context;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::PostParams;
use kube::{Api, Client};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A PEM certificate and its PEM private key.
pub struct Issued {
    /// Certificate.
    pub cert_pem: String,
    /// Private key.
    pub key_pem: String,
}

/// The CA, able to issue certificates.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
}

impl Authority {
    /// Load the CA from Secret `name` in `namespace`, creating it on first use.
    pub async fn load_or_create(
        client: &Client,
        namespace: &str,
        name: &str,
    ) -> anyhow::Result<Self> {
        let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
        for _ in 0..3 {
            if let Some(secret) = secrets
                .get_opt(name)
                .await
                .context("reading the CA Secret")?
            {
                return Self::from_secret(&secret)
                    .with_context(|| format!("CA Secret {namespace}/{name}"));
            }
            let (ca_pem, key_pem) = generate_ca()?;
            let secret = Secret {
                metadata: ObjectMeta {
                    name: Some(name.to_string()),
                    ..ObjectMeta::default()
                },
                data: Some(BTreeMap::from([
                    ("ca.crt".to_string(), ByteString(ca_pem.into_bytes())),
                    ("ca.key".to_string(), ByteString(key_pem.into_bytes())),
                ])),
                ..Secret::default()
            };
            match secrets.create(&PostParams::default(), &secret).await {
                Ok(created) => {
                    tracing::info!(secret = %format!("{namespace}/{name}"), "created the data-plane CA");
                    return Self::from_secret(&created);
                }
                // Another replica created it first: read theirs.
                Err(kube::Error::Api(status)) if status.code == 409 => {}
                Err(error) => return Err(error).context("creating the CA Secret"),
            }
        }
        anyhow::bail!("the CA Secret {namespace}/{name} kept changing")
    }

    fn from_secret(secret: &Secret) -> anyhow::Result<Self> {
        let field = |key: &str| {
            secret
                .data
                .as_ref()
                .and_then(|d| d.get(key))
                .map(|b| String::from_utf8_lossy(&b.0).into_owned())
                .with_context(|| format!("missing {key}"))
        };
        let ca_pem = field("ca.crt")?;
        let key = KeyPair::from_pem(&field("ca.key")?).context("CA key")?;
        let issuer = Issuer::from_ca_cert_pem(&ca_pem, key).context("CA certificate")?;
        Ok(Self { issuer, ca_pem })
    }

    /// The CA certificate, for peers to trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A server certificate for `hosts` (names or IP addresses).
    pub fn issue_server(&self, hosts: Vec<String>) -> anyhow::Result<Issued> {
        let mut params = CertificateParams::new(hosts).context("certificate names")?;
        params
            .distinguished_name
            .push(DnType::CommonName, "portico-controller");
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().context("generating a key")?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .context("signing a certificate")?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

fn generate_ca() -> anyhow::Result<(String, String)> {
    let mut params = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "portico-dataplane-ca");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().context("generating the CA key")?;
    let cert = params.self_signed(&key).context("self-signing the CA")?;
    Ok((cert.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_certificate_is_issued_by_the_ca() {
        let (ca_pem, key_pem) = generate_ca().unwrap();
        let issuer =
            Issuer::from_ca_cert_pem(&ca_pem, KeyPair::from_pem(&key_pem).unwrap()).unwrap();
        let authority = Authority { issuer, ca_pem };
        let server = authority
            .issue_server(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        assert!(server.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(server.key_pem.contains("PRIVATE KEY"));
    }
}
