//! Ingress migration: Ingresses (`networking.k8s.io/v1`) and the Services they name in; one
//! shared Gateway, its HTTPRoutes and the ReferenceGrants its certificates need out, with a
//! report of what was translated, approximated, or could not be. Pure, like the rest of the
//! translator; `portico migrate` reads the objects and prints the result.
//!
//! The semantics are ingress-nginx's, since its users are the ones migrating: `Prefix` and
//! `ImplementationSpecific` paths are prefixes, a TLS host's plain-HTTP requests are
//! redirected to HTTPS (308), an Ingress's `defaultBackend` serves what nothing else matches,
//! and where two Ingresses claim the same host and path the older one keeps it. `gateway`
//! builds the listeners (and grants), `routes` the HTTPRoutes, `annotations` reads
//! ingress-nginx's annotations, one feature per module.

mod annotations;
mod gateway;
pub mod options;
pub mod output;
pub mod report;
mod routes;

use k8s_openapi::api::networking::v1::Ingress;
use kube::ResourceExt;

pub use options::MigrationOptions;
pub use report::{Finding, Outcome};

use crate::names::{Age, object_ref};
use crate::resources::{Index, Resources};

/// The objects that replace a set of Ingresses, and what the user should know about them.
#[derive(Debug, Clone)]
pub struct Migration {
    /// The one Gateway every route attaches to.
    pub gateway: output::Gateway,
    /// ReferenceGrants letting the Gateway use certificates of the Ingresses' namespaces.
    pub grants: Vec<output::SecretGrant>,
    /// The HTTPRoutes, in the Ingresses' namespaces.
    pub routes: Vec<output::HttpRoute>,
    /// Per Ingress, what was carried over and how.
    pub findings: Vec<Finding>,
}

impl Migration {
    /// The objects as one YAML stream for `kubectl apply -f -`.
    pub fn to_yaml(&self) -> Result<String, yaml_serde::Error> {
        let mut documents = vec![yaml_serde::to_string(&self.gateway)?];
        for grant in &self.grants {
            documents.push(yaml_serde::to_string(grant)?);
        }
        for route in &self.routes {
            documents.push(yaml_serde::to_string(route)?);
        }
        Ok(documents.join("---\n"))
    }
}

/// Migrate the Ingresses of `resources` that `options` selects.
pub fn migrate(resources: &Resources, options: &MigrationOptions) -> Migration {
    let index = Index::new(resources);
    let mut ingresses: Vec<&Ingress> = resources
        .ingresses
        .iter()
        .filter(|i| {
            options
                .ingress_class
                .as_deref()
                .is_none_or(|class| class_of(i) == Some(class))
        })
        .collect();
    ingresses.sort_by_key(|i| Age::of(*i));
    let mut findings = Vec::new();
    let listeners = gateway::listeners(&ingresses, &mut findings);
    let grants = gateway::grants(&listeners, options);
    let routes = routes::routes(&index, &ingresses, &listeners, options, &mut findings);
    let gateway = gateway::gateway(listeners, options);
    findings.sort_by(|a, b| a.ingress.cmp(&b.ingress));
    Migration {
        gateway,
        grants,
        routes,
        findings,
    }
}

/// The class an Ingress asks for: `spec.ingressClassName`, or the annotation that came before.
fn class_of(ingress: &Ingress) -> Option<&str> {
    ingress
        .spec
        .as_ref()
        .and_then(|s| s.ingress_class_name.as_deref())
        .or_else(|| {
            ingress
                .annotations()
                .get("kubernetes.io/ingress.class")
                .map(String::as_str)
        })
}

/// Where an Ingress came from, for findings.
fn ingress_ref(ingress: &Ingress) -> portico_snapshot::ObjectRef {
    object_ref(ingress)
}
