//! BackendTLSPolicy: which clusters the data plane speaks TLS to, trusting which certificate
//! authorities and checking which names; conflicts between policies; each policy's conditions.
//!
//! Policies are read once per translation into [`BackendTlsPolicies`]. A policy targets a
//! Service, or one of its ports by name (`sectionName`); a port-specific policy beats a
//! whole-Service one, and of two policies with the same target the older wins (then the
//! alphabetically first), the other being `Conflicted`. A policy whose CA references are all
//! invalid still applies, trusting nothing: requests to its Service fail with a 5xx instead of
//! falling back to plain text.

use std::collections::{BTreeSet, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};

use gateway_api::backendtlspolicies::{
    BackendTlsPolicy, BackendTlsPolicyStatus, BackendTlsPolicyStatusAncestors,
    BackendTlsPolicyStatusAncestorsAncestorRef, BackendTlsPolicyValidation,
    BackendTlsPolicyValidationCaCertificateRefs, BackendTlsPolicyValidationSubjectAltNamesType,
};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use portico_snapshot::{
    BackendProtocol, BackendTls, BackendTrust, ClusterName, ObjectRef, SubjectAltName,
};

use crate::ca_bundles::{self, ConfigMaps};
use crate::conditions::{Problem, condition, reasons, types};
use crate::names::{GATEWAY_GROUP, GATEWAY_KIND, cluster_name, grpc_cluster_name, object_ref};
use crate::output::{GatewaySnapshot, ObjectStatus};

/// The objects policies are resolved against, by namespace and name.
pub(crate) trait Objects<'a>: ConfigMaps<'a> {
    /// A Service.
    fn service(&self, namespace: &str, name: &str) -> Option<&'a Service>;
}

/// Every BackendTLSPolicy of a translation: what it does to clusters, and how it fared.
#[derive(Debug, Default)]
pub(crate) struct BackendTlsPolicies {
    /// TLS per cluster, from the policy that won it.
    by_cluster: HashMap<ClusterName, BackendTls>,
    /// Content hash of the TLS of every cluster of a Service (`namespace`, `name`), so routes
    /// compiled against it are recompiled when a policy or CA bundle changes.
    by_service: HashMap<(String, String), u64>,
    /// Every policy's verdict, in precedence order.
    verdicts: Vec<Verdict>,
}

/// How one policy fared.
#[derive(Debug)]
pub(crate) struct Verdict {
    /// The policy.
    pub policy: ObjectRef,
    /// Clusters of the Services it targets (whether it won them or not): a Gateway using any
    /// of them is one of the policy's ancestors.
    pub clusters: BTreeSet<ClusterName>,
    /// Its `Accepted` and `ResolvedRefs` conditions.
    pub conditions: Vec<Condition>,
}

impl BackendTlsPolicies {
    /// Read `policies`, resolving what they name in `index`.
    pub fn new<'a>(policies: &'a [BackendTlsPolicy], index: &impl Objects<'a>) -> Self {
        let mut policies: Vec<&BackendTlsPolicy> = policies.iter().collect();
        policies.sort_by_key(|p| {
            (
                p.metadata.creation_timestamp.clone().map(|t| t.0),
                p.namespace(),
                p.name_any(),
            )
        });
        let mut claimed: HashMap<(String, String, Option<String>), ObjectRef> = HashMap::new();
        let mut found = Self::default();
        // Port-specific targets are applied last, so they replace whole-Service ones.
        let mut whole_service = Vec::new();
        let mut port_specific = Vec::new();
        for policy in policies {
            let namespace = policy.namespace().unwrap_or_default();
            let (tls, mut conditions) = resolve(index, &namespace, policy);
            let mut clusters = BTreeSet::new();
            let mut conflicted_with = None;
            for target in &policy.spec.target_refs {
                if !target.group.is_empty() || target.kind != "Service" {
                    continue;
                }
                let key = (
                    namespace.clone(),
                    target.name.clone(),
                    target.section_name.clone(),
                );
                let targeted = service_clusters(index, &key.0, &key.1, key.2.as_deref());
                clusters.extend(targeted.iter().cloned());
                if let Some(winner) = claimed.get(&key) {
                    conflicted_with.get_or_insert_with(|| winner.clone());
                    continue;
                }
                claimed.insert(key.clone(), object_ref(policy));
                let (namespace, service, section) = key;
                let applied = ((namespace, service), targeted, tls.clone());
                match section {
                    None => whole_service.push(applied),
                    Some(_) => port_specific.push(applied),
                }
            }
            if let Some(winner) = conflicted_with {
                let message = format!(
                    "policy {}/{} already targets the same Service and sectionName",
                    winner.namespace, winner.name
                );
                conditions[0] = accepted(false, reasons::CONFLICTED, message, policy);
            }
            found.verdicts.push(Verdict {
                policy: object_ref(policy),
                clusters,
                conditions,
            });
        }
        // Each cluster's Service and TLS; a later (port-specific) entry replaces an earlier one.
        let mut applied = HashMap::new();
        for (service, clusters, tls) in whole_service.into_iter().chain(port_specific) {
            for cluster in clusters {
                applied.insert(cluster, (service.clone(), tls.clone()));
            }
        }
        for (cluster, (service, tls)) in applied {
            let mut hasher = DefaultHasher::new();
            (&cluster, &tls).hash(&mut hasher);
            let entry = found.by_service.entry(service).or_default();
            // Clusters come in no particular order: combine them order-independently.
            *entry = entry.wrapping_add(hasher.finish());
            found.by_cluster.insert(cluster, tls);
        }
        found
    }

    /// The TLS a cluster's endpoints are spoken to with, if a policy asks for it.
    pub fn for_cluster(&self, cluster: &ClusterName) -> Option<&BackendTls> {
        self.by_cluster.get(cluster)
    }

    /// A hash of the TLS settings of every port of a Service (0 when none applies).
    pub fn service_version(&self, namespace: &str, service: &str) -> u64 {
        self.by_service
            .get(&(namespace.to_string(), service.to_string()))
            .copied()
            .unwrap_or_default()
    }

    /// Every policy's verdict, in precedence order.
    pub fn verdicts(&self) -> &[Verdict] {
        &self.verdicts
    }
}

/// Clusters of a Service's ports: all of them, or the one named `section`.
fn service_clusters<'a>(
    index: &impl Objects<'a>,
    namespace: &str,
    name: &str,
    section: Option<&str>,
) -> Vec<ClusterName> {
    let ports = index
        .service(namespace, name)
        .and_then(|s| s.spec.as_ref())
        .and_then(|s| s.ports.as_ref());
    ports
        .into_iter()
        .flatten()
        .filter(|p| section.is_none_or(|s| p.name.as_deref() == Some(s)))
        .map(|p| cluster_name(namespace, name, p.port))
        .collect()
}

/// The TLS `policy` asks for, and its `Accepted` and `ResolvedRefs` conditions (in that order).
fn resolve<'a>(
    index: &impl Objects<'a>,
    namespace: &str,
    policy: &BackendTlsPolicy,
) -> (BackendTls, Vec<Condition>) {
    let validation = &policy.spec.validation;
    let (trust, problem) = trust(index, namespace, validation);
    let resolved = match &problem {
        Some(p) if p.reason != reasons::INVALID => condition(
            types::RESOLVED_REFS,
            false,
            p.reason,
            &p.message,
            policy.metadata.generation,
        ),
        _ => condition(
            types::RESOLVED_REFS,
            true,
            reasons::RESOLVED_REFS,
            "every CA certificate reference resolved",
            policy.metadata.generation,
        ),
    };
    let accepted = match (&trust, problem) {
        (BackendTrust::NoValidCertificateAuthority, Some(p)) if p.reason == reasons::INVALID => {
            accepted(false, reasons::INVALID, p.message, policy)
        }
        (BackendTrust::NoValidCertificateAuthority, _) => accepted(
            false,
            reasons::NO_VALID_CA_CERTIFICATE,
            "no caCertificateRef holds a usable CA certificate; requests to the targeted \
             Services fail",
            policy,
        ),
        _ => accepted(true, reasons::ACCEPTED, "policy accepted", policy),
    };
    let subject_alt_names = validation
        .subject_alt_names
        .iter()
        .flatten()
        .filter_map(|name| match name.r#type {
            BackendTlsPolicyValidationSubjectAltNamesType::Hostname => {
                name.hostname.clone().map(SubjectAltName::Hostname)
            }
            BackendTlsPolicyValidationSubjectAltNamesType::Uri => {
                name.uri.clone().map(SubjectAltName::Uri)
            }
        })
        .collect();
    let tls = BackendTls {
        policy: format!("{namespace}/{}", policy.name_any()),
        server_name: validation.hostname.clone(),
        trust,
        subject_alt_names,
        client_certificate: None,
    };
    (tls, vec![accepted, resolved])
}

fn accepted(
    ok: bool,
    reason: &str,
    message: impl Into<String>,
    policy: &BackendTlsPolicy,
) -> Condition {
    condition(
        types::ACCEPTED,
        ok,
        reason,
        message,
        policy.metadata.generation,
    )
}

/// What the policy trusts, and the first problem with its references (reason `Invalid` when
/// the validation itself cannot be served).
fn trust<'a>(
    index: &impl Objects<'a>,
    namespace: &str,
    validation: &BackendTlsPolicyValidation,
) -> (BackendTrust, Option<Problem>) {
    let refs = validation
        .ca_certificate_refs
        .as_deref()
        .unwrap_or_default();
    match validation.well_known_ca_certificates.as_deref() {
        Some("System") if refs.is_empty() => return (BackendTrust::System, None),
        Some(other) if refs.is_empty() => {
            let problem = Problem::new(
                reasons::INVALID,
                format!("wellKnownCACertificates {other:?} is not supported; only \"System\" is"),
            );
            return (BackendTrust::NoValidCertificateAuthority, Some(problem));
        }
        Some(_) => {
            let problem = Problem::new(
                reasons::INVALID,
                "caCertificateRefs and wellKnownCACertificates are mutually exclusive",
            );
            return (BackendTrust::NoValidCertificateAuthority, Some(problem));
        }
        None if refs.is_empty() => {
            let problem = Problem::new(
                reasons::INVALID,
                "the policy names neither caCertificateRefs nor wellKnownCACertificates",
            );
            return (BackendTrust::NoValidCertificateAuthority, Some(problem));
        }
        None => {}
    }
    let mut problem = None;
    let bundles =
        refs.iter()
            .filter_map(|reference| match ca_bundle(index, namespace, reference) {
                Ok(pem) => Some(pem),
                Err(p) => {
                    problem.get_or_insert(p);
                    None
                }
            });
    let bundle = ca_bundles::concatenate(bundles.collect::<Vec<_>>());
    let trust = if bundle.is_empty() {
        BackendTrust::NoValidCertificateAuthority
    } else {
        BackendTrust::Certificates(bundle)
    };
    (trust, problem)
}

/// The PEM CA certificates a reference names.
fn ca_bundle<'a>(
    index: &impl Objects<'a>,
    namespace: &str,
    reference: &BackendTlsPolicyValidationCaCertificateRefs,
) -> Result<&'a str, Problem> {
    if !reference.group.is_empty() || reference.kind != "ConfigMap" {
        return Err(Problem::new(
            reasons::INVALID_KIND,
            format!(
                "caCertificateRef {}/{} {:?} is not a ConfigMap",
                reference.group, reference.kind, reference.name
            ),
        ));
    }
    ca_bundles::resolve(index, namespace, &reference.name)
}

/// Each policy's status: one ancestor entry per Gateway whose snapshot uses a cluster of a
/// Service the policy targets. Policies no Gateway of ours uses are left out (a status writer
/// then removes our old entries).
pub(crate) fn statuses(
    policies: &BackendTlsPolicies,
    gateways: &[GatewaySnapshot],
    controller_name: &str,
) -> Vec<ObjectStatus<BackendTlsPolicyStatus>> {
    let mut statuses: Vec<_> = policies
        .verdicts()
        .iter()
        .filter_map(|verdict| {
            let ancestors: Vec<_> = gateways
                .iter()
                .filter(|g| {
                    g.clusters.iter().any(|c| {
                        verdict.clusters.iter().any(|targeted| {
                            *targeted == c.name
                                || grpc_cluster_name(targeted, BackendProtocol::H2) == c.name
                        })
                    })
                })
                .map(|g| BackendTlsPolicyStatusAncestors {
                    ancestor_ref: BackendTlsPolicyStatusAncestorsAncestorRef {
                        group: Some(GATEWAY_GROUP.to_string()),
                        kind: Some(GATEWAY_KIND.to_string()),
                        name: g.config.gateway.name.clone(),
                        namespace: Some(g.config.gateway.namespace.clone()),
                        port: None,
                        section_name: None,
                    },
                    conditions: verdict.conditions.clone(),
                    controller_name: controller_name.to_string(),
                })
                .collect();
            (!ancestors.is_empty()).then(|| ObjectStatus {
                object: verdict.policy.clone(),
                status: BackendTlsPolicyStatus { ancestors },
            })
        })
        .collect();
    statuses.sort_by(|a, b| a.object.cmp(&b.object));
    statuses
}
