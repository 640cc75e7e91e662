//! `PorticoProxy`: how the data-plane proxies of a Gateway are deployed. Referenced by
//! `GatewayClass.spec.parametersRef` (defaults for every Gateway of the class) or by a Gateway's
//! `spec.infrastructure.parametersRef` (that Gateway only; it wins). Its CRD is generated from
//! these types (`portico crds`), never written by hand.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Settings of the data-plane proxies Portico provisions for a Gateway.
#[derive(CustomResource, Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "gateway.portico.dev",
    version = "v1alpha1",
    kind = "PorticoProxy",
    plural = "porticoproxies",
    namespaced,
    doc = "How Portico deploys the data-plane proxies of a Gateway."
)]
#[serde(rename_all = "camelCase")]
pub struct PorticoProxySpec {
    /// Number of data-plane pods. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Data-plane container image. Default: the image of this Portico release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The Service in front of the proxies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSettings>,
    /// Compute resources of the proxy container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Node labels the proxy pods must run on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// Taints the proxy pods tolerate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Log filter of the proxies (`RUST_LOG` syntax). Default `info`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

/// The Service in front of a Gateway's proxies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceSettings {
    /// `LoadBalancer` (default), `NodePort` or `ClusterIP`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Annotations for the Service (for example, load-balancer settings of a cloud).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Addresses to report in `Gateway.status.addresses` when the Service gets no load-balancer
    /// address (clusters without a load balancer). Without them, the cluster IP is reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addresses: Option<Vec<String>>,
}

/// The CRDs Portico owns, as YAML documents.
pub fn crds_yaml() -> Result<String, serde_yaml::Error> {
    use kube::CustomResourceExt;
    serde_yaml::to_string(&PorticoProxy::crd())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `crds/` holds the generated CRD; regenerate with `UPDATE_GOLDEN=1 cargo test -p portico`.
    #[test]
    fn committed_crds_match_the_types() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let generated = format!(
            "# Generated from controller/src/kubernetes/parameters.rs by `portico crds`; do not edit.\n{}",
            crds_yaml().expect("CRD YAML")
        );
        // The repository's copy, and the Helm chart's (Helm installs crds/ before templates).
        for copy in ["crds", "charts/portico/crds"] {
            let path = root
                .join(copy)
                .join("gateway.portico.dev_porticoproxies.yaml");
            if std::env::var_os("UPDATE_GOLDEN").is_some() {
                std::fs::write(&path, &generated).expect("write CRD");
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == generated,
                "{} is stale: run UPDATE_GOLDEN=1 cargo test -p portico",
                path.display()
            );
        }
    }
}
