//! `PorticoProxy` (`gateway.portico.dev/v1alpha1`): how the data-plane proxies of a Gateway are
//! deployed. Referenced by `GatewayClass.spec.parametersRef` (defaults for every Gateway of the
//! class) or by a Gateway's `spec.infrastructure.parametersRef` (that Gateway only; it wins).
//! Translation checks that such references name an existing PorticoProxy; the provisioner
//! reads the settings. The CRD is generated from these types (`portico crds`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ResourceRequirements, Toleration};
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::conditions::{Problem, reasons};
use crate::names::namespace_of;

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

/// Group and kind a `parametersRef` must name.
pub const GROUP: &str = "gateway.portico.dev";
/// See [`GROUP`].
pub const KIND: &str = "PorticoProxy";

/// A `parametersRef` must name a PorticoProxy that exists; otherwise the referrer is not
/// accepted, with reason `InvalidParameters`.
pub(crate) fn check(
    proxies: &[PorticoProxy],
    group: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<(), Problem> {
    if group != GROUP || kind != KIND {
        return Err(Problem::new(
            reasons::INVALID_PARAMETERS,
            format!("parametersRef names {group}/{kind}; Portico takes {GROUP}/{KIND}"),
        ));
    }
    let exists = proxies
        .iter()
        .any(|p| p.metadata.name.as_deref() == Some(name) && namespace_of(p) == namespace);
    if exists {
        Ok(())
    } else {
        Err(Problem::new(
            reasons::INVALID_PARAMETERS,
            format!("PorticoProxy {namespace}/{name} does not exist"),
        ))
    }
}
