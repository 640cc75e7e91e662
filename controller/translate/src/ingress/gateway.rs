//! The shared Gateway of a migration: one `http` listener on port 80 for every host, and an
//! HTTPS listener on 443 per TLS host (its certificate from the first Ingress naming the host,
//! oldest first), all open to routes of every namespace; and the ReferenceGrants that let it
//! use Secrets of namespaces other than its own.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::Ingress;

use super::output::{
    AllowedRoutes, Gateway, Listener, ListenerTls, Metadata, SecretGrant, SecretRef,
};
use super::report::{Finding, Outcome};
use super::{MigrationOptions, ingress_ref};
use crate::names::namespace_of;

/// The plain-HTTP listener's name.
pub const HTTP_LISTENER: &str = "http";

/// The listeners for `ingresses` (oldest first), HTTPS ones keyed by host (`None`: an HTTPS
/// listener for any host, from a TLS entry naming none).
pub struct Listeners {
    /// HTTPS listeners by host.
    pub https: BTreeMap<Option<String>, Listener>,
}

impl Listeners {
    /// The HTTPS listener serving `host`, if one does: the one for the host itself, else one
    /// for a wildcard covering it, else the one for any host.
    pub fn https_for(&self, host: Option<&str>) -> Option<&Listener> {
        let exact = self.https.get(&host.map(str::to_string));
        let wildcard = || {
            let (_, parent) = host?.split_once('.')?;
            self.https.get(&Some(format!("*.{parent}")))
        };
        exact.or_else(wildcard).or_else(|| self.https.get(&None))
    }

    /// Every HTTPS listener.
    pub fn all_https(&self) -> impl Iterator<Item = &Listener> {
        self.https.values()
    }
}

/// The HTTPS listeners the Ingresses' `tls` sections ask for.
pub fn listeners(ingresses: &[&Ingress], findings: &mut Vec<Finding>) -> Listeners {
    let mut https: BTreeMap<Option<String>, Listener> = BTreeMap::new();
    for ingress in ingresses {
        let namespace = namespace_of(*ingress);
        let tls = ingress.spec.as_ref().and_then(|s| s.tls.as_ref());
        for entry in tls.into_iter().flatten() {
            let Some(secret) = entry.secret_name.as_deref().filter(|s| !s.is_empty()) else {
                findings.push(Finding::new(
                    &ingress_ref(ingress),
                    "tls",
                    Outcome::NotPossible(
                        "a TLS entry without secretName uses ingress-nginx's default \
                         certificate, which a Gateway listener has no equivalent of"
                            .into(),
                    ),
                ));
                continue;
            };
            let hosts: Vec<Option<String>> = match entry.hosts.as_deref() {
                None | Some([]) => vec![None],
                Some(hosts) => hosts.iter().cloned().map(Some).collect(),
            };
            for host in hosts {
                let certificate = SecretRef {
                    name: secret.to_string(),
                    namespace: namespace.clone(),
                };
                match https.get(&host) {
                    Some(existing)
                        if existing.tls.as_ref().map(|t| &t.certificate_refs[..])
                            != Some(std::slice::from_ref(&certificate)) =>
                    {
                        findings.push(Finding::new(
                            &ingress_ref(ingress),
                            "tls",
                            Outcome::Approximated(format!(
                                "host {} already has a certificate from an older Ingress; \
                                 Secret {namespace}/{secret} is not used",
                                host.as_deref().unwrap_or("(any)")
                            )),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        let listener = https_listener(host.clone(), certificate);
                        https.insert(host, listener);
                    }
                }
            }
        }
    }
    Listeners { https }
}

fn https_listener(host: Option<String>, certificate: SecretRef) -> Listener {
    let name = match &host {
        Some(host) => format!("https-{}", host.replace('*', "wildcard")),
        None => "https".to_string(),
    };
    Listener {
        name,
        protocol: "HTTPS",
        port: 443,
        hostname: host,
        tls: Some(ListenerTls {
            certificate_refs: vec![certificate],
        }),
        allowed_routes: AllowedRoutes::default(),
    }
}

/// The Gateway with the `http` listener and `listeners`' HTTPS ones.
pub fn gateway(listeners: Listeners, options: &MigrationOptions) -> Gateway {
    let http = Listener {
        name: HTTP_LISTENER.to_string(),
        protocol: "HTTP",
        port: 80,
        hostname: None,
        tls: None,
        allowed_routes: AllowedRoutes::default(),
    };
    let all = std::iter::once(http)
        .chain(listeners.https.into_values())
        .collect();
    let metadata = Metadata {
        name: options.gateway.name.clone(),
        namespace: options.gateway.namespace.clone(),
        annotations: BTreeMap::new(),
    };
    Gateway::new(metadata, &options.gateway_class, all)
}

/// A ReferenceGrant in every namespace other than the Gateway's whose Secrets its listeners
/// use, naming exactly those Secrets.
pub fn grants(listeners: &Listeners, options: &MigrationOptions) -> Vec<SecretGrant> {
    let mut secrets: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let used = listeners
        .https
        .values()
        .flat_map(|l| l.tls.iter().flat_map(|t| &t.certificate_refs))
        .filter(|secret| secret.namespace != options.gateway.namespace);
    for secret in used {
        secrets
            .entry(&secret.namespace)
            .or_default()
            .insert(&secret.name);
    }
    secrets
        .into_iter()
        .map(|(namespace, names)| {
            let metadata = Metadata {
                name: format!("{}-certificates", options.gateway.name),
                namespace: namespace.to_string(),
                annotations: BTreeMap::new(),
            };
            let names = names.into_iter().map(str::to_string).collect();
            SecretGrant::new(metadata, &options.gateway.namespace, names)
        })
        .collect()
}
