//! The provisioner: for every accepted Gateway, a ServiceAccount, a data-plane Deployment and a
//! Service in the Gateway's namespace, applied with server-side apply and owned by the Gateway
//! (so Kubernetes garbage-collects them when it goes). Settings come from a `PorticoProxy`.
//!
//! The objects themselves are built in [`super::manifests`]; this module applies them, issues
//! the data plane's client certificate, and removes what Gateways no longer accepted leave.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gateway_api::gateways::Gateway;
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::reflector::ObjectRef as StoreRef;
use kube::{Api, Client, Resource, ResourceExt};
use portico_snapshot::ObjectRef;
use serde::Serialize;

use super::gateway_parameters::for_gateway;
use super::manifests::{Settings, manifests};
use super::naming::{
    DATAPLANE_NAME, FIELD_MANAGER, MANAGED_BY, MANAGED_BY_LABEL, NAME_LABEL, object_name,
    tls_secret_name,
};
use super::pki::Authority;
use super::stores::Stores;

/// How often everything is applied again even if unchanged here, so objects deleted or edited
/// by someone else are restored.
const REAPPLY_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Applies and remembers the objects of every accepted Gateway.
pub struct Provisioner {
    client: Client,
    settings: Settings,
    /// What was last applied per object, so unchanged objects are not sent again.
    applied: HashMap<String, String>,
    /// When `applied` was last emptied.
    since: std::time::Instant,
    /// Gateways provisioned so far, to clean up after those no longer accepted.
    provisioned: BTreeSet<ObjectRef>,
    /// Whether objects left behind while no controller ran have been looked for since `since`.
    swept: bool,
    /// Operations of the reconcile in progress that failed (each logged where it failed).
    failures: usize,
}

/// Some objects could not be provisioned or removed; retry the reconcile later.
#[derive(Debug, thiserror::Error)]
#[error("{0} provisioning operation(s) failed")]
pub struct ProvisionFailed(usize);

impl Provisioner {
    /// A provisioner writing with `client`.
    pub fn new(client: Client, settings: Settings) -> Self {
        Self {
            client,
            settings,
            applied: HashMap::new(),
            since: std::time::Instant::now(),
            provisioned: BTreeSet::new(),
            swept: false,
            failures: 0,
        }
    }

    /// Make sure every Gateway in `accepted` has its objects, and that Gateways no longer
    /// accepted (their class changed, say) have none. A deleted Gateway's objects are removed by
    /// Kubernetes through their owner reference.
    ///
    /// Failures are logged as they happen; the error asks the caller to retry (with backoff).
    pub async fn reconcile(
        &mut self,
        accepted: &[ObjectRef],
        stores: &Stores,
    ) -> Result<(), ProvisionFailed> {
        self.failures = 0;
        if self.since.elapsed() > REAPPLY_EVERY {
            self.applied.clear();
            self.since = std::time::Instant::now();
            self.swept = false;
        }
        let still: BTreeSet<ObjectRef> = accepted.iter().cloned().collect();
        // Translation runs only once Gateways and GatewayClasses were listed (or their CRDs
        // are not installed), so "not accepted" means "not accepted", never "not known".
        if !self.swept {
            self.swept = self.remove_orphans(&still).await;
        }
        for gone in self
            .provisioned
            .difference(&still)
            .cloned()
            .collect::<Vec<_>>()
        {
            if self.remove(&gone).await {
                self.provisioned.remove(&gone);
            }
        }
        for key in accepted {
            self.provisioned.insert(key.clone());
            let Some(gateway) = stores
                .gateways
                .get(&StoreRef::new(&key.name).within(&key.namespace))
            else {
                continue;
            };
            if let Some(authority) = self.settings.authority.clone() {
                self.ensure_client_certificate(&gateway, &authority).await;
            }
            let parameters = for_gateway(&gateway, stores);
            let objects = manifests(&gateway, &parameters, &self.settings);
            let namespace = key.namespace.clone();
            self.apply(
                Api::<ServiceAccount>::namespaced(self.client.clone(), &namespace),
                objects.service_account,
            )
            .await;
            self.apply(
                Api::<Deployment>::namespaced(self.client.clone(), &namespace),
                objects.deployment,
            )
            .await;
            self.apply(
                Api::<Service>::namespaced(self.client.clone(), &namespace),
                objects.service,
            )
            .await;
        }
        match self.failures {
            0 => Ok(()),
            failed => Err(ProvisionFailed(failed)),
        }
    }

    /// Create the Gateway's client-certificate Secret once; it is owned by the Gateway.
    async fn ensure_client_certificate(&mut self, gateway: &Gateway, authority: &Authority) {
        let name = tls_secret_name(&gateway.name_any());
        let namespace = gateway.namespace().unwrap_or_default();
        let key = format!("Secret/{namespace}/{name}");
        if self.applied.contains_key(&key) {
            return;
        }
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), &namespace);
        match secrets.get_opt(&name).await {
            Ok(Some(_)) => {
                self.applied.insert(key, String::new());
                return;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(secret = %key, %error, "cannot read the client certificate Secret");
                self.failures += 1;
                return;
            }
        }
        let subject = format!("{namespace}/{}", gateway.name_any());
        let issued = match authority.issue_client(&subject) {
            Ok(issued) => issued,
            Err(error) => {
                tracing::error!(secret = %key, %error, "cannot issue a client certificate");
                self.failures += 1;
                return;
            }
        };
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name),
                namespace: Some(namespace),
                owner_references: gateway.controller_owner_ref(&()).map(|o| vec![o]),
                ..ObjectMeta::default()
            },
            type_: Some("kubernetes.io/tls".to_string()),
            data: Some(BTreeMap::from([
                (
                    "ca.crt".to_string(),
                    ByteString(authority.ca_pem().as_bytes().to_vec()),
                ),
                (
                    "tls.crt".to_string(),
                    ByteString(issued.cert_pem.into_bytes()),
                ),
                (
                    "tls.key".to_string(),
                    ByteString(issued.key_pem.into_bytes()),
                ),
            ])),
            ..Secret::default()
        };
        match secrets.create(&PostParams::default(), &secret).await {
            Ok(_) => {
                tracing::info!(secret = %key, "issued the data plane's client certificate");
                self.applied.insert(key, String::new());
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                self.applied.insert(key, String::new());
            }
            Err(error) => {
                tracing::warn!(secret = %key, %error, "cannot store the client certificate");
                self.failures += 1;
            }
        }
    }

    /// Delete objects this controller provisioned for Gateways that are not accepted now,
    /// found by label: those left behind while no controller ran (the Gateway changed class,
    /// say), which `provisioned` cannot know about. True when every orphan found is gone.
    async fn remove_orphans(&mut self, accepted: &BTreeSet<ObjectRef>) -> bool {
        let wanted: BTreeSet<(String, String)> = accepted
            .iter()
            .map(|g| (g.namespace.clone(), object_name(&g.name)))
            .collect();
        let params = kube::api::ListParams::default().labels(&format!(
            "{MANAGED_BY_LABEL}={MANAGED_BY},{NAME_LABEL}={DATAPLANE_NAME}"
        ));
        let mut orphans = BTreeSet::new();
        let listed = [
            list_owners::<Deployment>(&self.client, &params).await,
            list_owners::<Service>(&self.client, &params).await,
            list_owners::<ServiceAccount>(&self.client, &params).await,
        ];
        for owners in listed {
            match owners {
                Ok(owners) => orphans.extend(owners.into_iter().filter(|o| !wanted.contains(o))),
                Err(error) => {
                    tracing::warn!(%error, "cannot look for objects of Gateways no longer accepted");
                    self.failures += 1;
                    return false;
                }
            }
        }
        let mut all_removed = true;
        for (namespace, name) in orphans {
            tracing::info!(
                namespace,
                name,
                "removing a data plane whose Gateway is not accepted"
            );
            all_removed &= self.remove_objects(&namespace, &name).await;
        }
        all_removed
    }

    /// Delete what was provisioned for a Gateway that is no longer accepted. True when done.
    async fn remove(&mut self, gateway: &ObjectRef) -> bool {
        let name = object_name(&gateway.name);
        let removed = self.remove_objects(&gateway.namespace, &name).await;
        if removed {
            tracing::info!(gateway = %gateway, "Gateway no longer accepted; its data plane is removed");
        }
        removed
    }

    /// Delete the Deployment, Service and ServiceAccount called `name`. True when none is left.
    async fn remove_objects(&mut self, namespace: &str, name: &str) -> bool {
        let params = kube::api::DeleteParams::background();
        let results = [
            Api::<Deployment>::namespaced(self.client.clone(), namespace)
                .delete(name, &params)
                .await
                .err(),
            Api::<Service>::namespaced(self.client.clone(), namespace)
                .delete(name, &params)
                .await
                .err(),
            Api::<ServiceAccount>::namespaced(self.client.clone(), namespace)
                .delete(name, &params)
                .await
                .err(),
        ];
        let mut removed = true;
        for error in results.into_iter().flatten() {
            if !matches!(&error, kube::Error::Api(s) if s.code == 404) {
                tracing::warn!(namespace, name, %error, "cannot remove provisioned objects");
                self.failures += 1;
                removed = false;
            }
        }
        self.applied
            .retain(|key, _| !key.ends_with(&format!("/{namespace}/{name}")));
        removed
    }

    async fn apply<K>(&mut self, api: Api<K>, object: K)
    where
        K: Resource<DynamicType = ()>
            + Clone
            + Serialize
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
    {
        let name = object.name_any();
        let key = format!(
            "{}/{}/{}",
            K::kind(&()),
            object.namespace().unwrap_or_default(),
            name
        );
        let Ok(body) = serde_json::to_string(&object) else {
            return;
        };
        if self.applied.get(&key) == Some(&body) {
            return;
        }
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match api.patch(&name, &params, &Patch::Apply(&object)).await {
            Ok(_) => {
                tracing::info!(object = %key, "provisioned");
                self.applied.insert(key, body);
            }
            Err(error) => {
                tracing::warn!(object = %key, %error, "cannot provision");
                self.failures += 1;
            }
        }
    }
}

/// Namespace and name of every provisioned object of kind `K` that `params` selects.
async fn list_owners<K>(
    client: &Client,
    params: &kube::api::ListParams,
) -> Result<Vec<(String, String)>, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let objects = Api::<K>::all(client.clone()).list_metadata(params).await?;
    Ok(objects
        .items
        .into_iter()
        .map(|o| (o.namespace().unwrap_or_default(), o.name_any()))
        .collect())
}
