//! The provisioner: for every accepted Gateway, a ServiceAccount, a data-plane Deployment and a
//! Service in the Gateway's namespace, applied with server-side apply and owned by the Gateway
//! (so Kubernetes garbage-collects them when it goes). Settings come from a `PorticoProxy`.
//!
//! The objects themselves are built in [`super::manifests`]; this module applies them and
//! removes what Gateways no longer accepted leave.
//! It changes and deletes only objects it made ([`super::ownership`]): when a name it needs is
//! taken by someone else's object, that object is left alone and the Gateway says so
//! (`Programmed=False`, reason `NoResources`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use gateway_api::gateways::Gateway;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Service, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DeleteParams, Patch, PatchParams, Preconditions};
use kube::runtime::reflector::ObjectRef as StoreRef;
use kube::{Api, Client, Resource, ResourceExt};
use portico_snapshot::ObjectRef;
use portico_translate::{GatewayFacts, ServedPort};
use serde::Serialize;

use super::gateway_parameters::for_gateway;
use super::manifests::{Settings, manifests};
use super::naming::{
    DATAPLANE_NAME, FIELD_MANAGER, MANAGED_BY, MANAGED_BY_LABEL, NAME_LABEL, object_name,
};
use super::ownership::{Holder, holder, is_provisioned};
use super::stores::Stores;
use crate::infrastructure::InfrastructureProblems;

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
    /// Where Gateways whose objects cannot be provisioned are reported.
    infrastructure: Arc<InfrastructureProblems>,
}

/// An object the provisioner needs exists and is someone else's; the message says which.
struct NameTaken(String);

/// Some objects could not be provisioned or removed; retry the reconcile later.
#[derive(Debug, thiserror::Error)]
#[error("{0} provisioning operation(s) failed")]
pub struct ProvisionFailed(usize);

impl Provisioner {
    /// A provisioner writing with `client` and reporting Gateways it cannot serve to
    /// `infrastructure`.
    pub fn new(
        client: Client,
        settings: Settings,
        infrastructure: Arc<InfrastructureProblems>,
    ) -> Self {
        Self {
            infrastructure,
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
        accepted: &[GatewayFacts],
        stores: &Stores,
    ) -> Result<(), ProvisionFailed> {
        self.failures = 0;
        if self.since.elapsed() > REAPPLY_EVERY {
            self.applied.clear();
            self.since = std::time::Instant::now();
            self.swept = false;
        }
        let still: BTreeSet<ObjectRef> = accepted.iter().map(|g| g.gateway.clone()).collect();
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
            self.infrastructure.set(&gone, None);
            if self.remove(&gone).await {
                self.provisioned.remove(&gone);
            }
        }
        for facts in accepted {
            let key = &facts.gateway;
            self.provisioned.insert(key.clone());
            let Some(gateway) = stores
                .gateways
                .get(&StoreRef::new(&key.name).within(&key.namespace))
            else {
                continue;
            };
            let taken = self
                .provision(&gateway, &facts.listener_set_ports(), stores)
                .await;
            let problem = (!taken.is_empty()).then(|| {
                let names: Vec<String> = taken.into_iter().map(|t| t.0).collect();
                format!(
                    "cannot provision the data plane: {} exists and was not created by Portico \
                     for this Gateway; Portico never takes over or deletes such objects (remove \
                     or rename it, or rename the Gateway)",
                    names.join(" and ")
                )
            });
            self.infrastructure.set(key, problem);
        }
        match self.failures {
            0 => Ok(()),
            failed => Err(ProvisionFailed(failed)),
        }
    }

    /// Put `gateway`'s objects in place, its Service also exposing `listener_set_ports`.
    /// Returns the objects that could not be because their names are taken.
    async fn provision(
        &mut self,
        gateway: &Gateway,
        listener_set_ports: &BTreeSet<ServedPort>,
        stores: &Stores,
    ) -> Vec<NameTaken> {
        let mut taken = Vec::new();
        let parameters = for_gateway(gateway, stores);
        let objects = manifests(gateway, listener_set_ports, &parameters, &self.settings);
        let namespace = gateway.namespace().unwrap_or_default();
        taken.extend(
            self.apply(
                Api::<ServiceAccount>::namespaced(self.client.clone(), &namespace),
                objects.service_account,
                gateway,
            )
            .await,
        );
        taken.extend(
            self.apply(
                Api::<Deployment>::namespaced(self.client.clone(), &namespace),
                objects.deployment,
                gateway,
            )
            .await,
        );
        taken.extend(
            self.apply(
                Api::<Service>::namespaced(self.client.clone(), &namespace),
                objects.service,
                gateway,
            )
            .await,
        );
        taken
    }

    /// Whether the object `name` (logged as `key`) of the kind `api` serves exists and whose it
    /// is. A leftover of an earlier Gateway of the same name is deleted (and reported unknown,
    /// to be looked at again once it is gone).
    async fn existing<K>(
        &mut self,
        api: &Api<K>,
        name: &str,
        key: &str,
        gateway: &Gateway,
    ) -> Existing
    where
        K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let meta = match api.get_metadata_opt(name).await {
            Ok(None) => return Existing::Absent,
            Ok(Some(found)) => found.metadata,
            Err(error) => {
                tracing::warn!(object = %key, %error, "cannot read");
                self.failures += 1;
                return Existing::Unknown;
            }
        };
        let uid = gateway.uid().unwrap_or_default();
        match holder(&meta, &gateway.name_any(), &uid) {
            Holder::ThisGateway => Existing::Ours,
            Holder::Foreign => {
                tracing::warn!(object = %key, gateway = %gateway.name_any(), "the name is taken by an object Portico did not create; leaving it alone");
                // Looked at again with backoff, so the Gateway recovers once the name is free.
                self.failures += 1;
                Existing::Taken
            }
            Holder::EarlierGateway => {
                tracing::info!(object = %key, "removing what was provisioned for an earlier Gateway of the same name");
                if let Err(error) = api.delete(name, &delete_exactly(&meta)).await {
                    tracing::warn!(object = %key, %error, "cannot remove");
                }
                self.failures += 1;
                Existing::Unknown
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

    /// Delete the Deployment, Service and ServiceAccount called `name` that Portico provisioned
    /// (others of that name are left alone). True when none of Portico's is left.
    async fn remove_objects(&mut self, namespace: &str, name: &str) -> bool {
        let removed = self
            .remove_provisioned(
                &Api::<Deployment>::namespaced(self.client.clone(), namespace),
                name,
            )
            .await
            & self
                .remove_provisioned(
                    &Api::<Service>::namespaced(self.client.clone(), namespace),
                    name,
                )
                .await
            & self
                .remove_provisioned(
                    &Api::<ServiceAccount>::namespaced(self.client.clone(), namespace),
                    name,
                )
                .await;
        self.applied
            .retain(|key, _| !key.ends_with(&format!("/{namespace}/{name}")));
        removed
    }

    /// Delete the object `name` of the kind `api` serves if Portico provisioned it. True when
    /// no such object of Portico's is left.
    async fn remove_provisioned<K>(&mut self, api: &Api<K>, name: &str) -> bool
    where
        K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let outcome = match api.get_metadata_opt(name).await {
            Ok(Some(found)) if is_provisioned(&found.metadata) => api
                .delete(name, &delete_exactly(&found.metadata))
                .await
                .map(|_| ()),
            Ok(Some(_)) => {
                tracing::info!(
                    kind = K::kind(&()).as_ref(),
                    name,
                    "not removing an object Portico did not create"
                );
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(()) => true,
            Err(kube::Error::Api(status)) if status.code == 404 => true,
            Err(error) => {
                tracing::warn!(kind = K::kind(&()).as_ref(), name, %error, "cannot remove a provisioned object");
                self.failures += 1;
                false
            }
        }
    }

    /// Apply `object` for `gateway`, unless an object of its name exists that is not this
    /// Gateway's: then it is left alone and reported.
    async fn apply<K>(&mut self, api: Api<K>, object: K, gateway: &Gateway) -> Option<NameTaken>
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
            return None;
        };
        if self.applied.get(&key) == Some(&body) {
            return None;
        }
        // Only an object already ours is applied with force; a new one is created without, so
        // an object someone creates meanwhile makes the apply conflict instead of changing hands.
        let params = match self.existing(&api, &name, &key, gateway).await {
            Existing::Ours => PatchParams::apply(FIELD_MANAGER).force(),
            Existing::Absent => PatchParams::apply(FIELD_MANAGER),
            Existing::Taken => return Some(NameTaken(key)),
            Existing::Unknown => return None,
        };
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
        None
    }
}

/// What [`Provisioner::existing`] found under a name.
enum Existing {
    Absent,
    Ours,
    Taken,
    /// Could not tell (reading failed) or not yet (a leftover is being removed); retried.
    Unknown,
}

/// Delete exactly the object `meta` describes, not one created under its name since.
fn delete_exactly(meta: &ObjectMeta) -> DeleteParams {
    DeleteParams {
        preconditions: Some(Preconditions {
            uid: meta.uid.clone(),
            resource_version: None,
        }),
        ..DeleteParams::background()
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
        .filter(|o| is_provisioned(&o.metadata))
        .map(|o| (o.namespace().unwrap_or_default(), o.name_any()))
        .collect())
}
