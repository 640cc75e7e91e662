//! Writes statuses back with server-side apply under Portico's field manager: only objects
//! whose status differs from what the API server holds, keeping `lastTransitionTime` where a
//! condition's status did not change, and leaving other controllers' route parents alone.

use gateway_api::gatewayclasses::GatewayClass;
use gateway_api::gateways::Gateway;
use gateway_api::httproutes::{HttpRoute, HttpRouteStatus};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, Resource, ResourceExt};
use portico_snapshot::ObjectRef;
use portico_translate::{ObjectStatus, Statuses};
use serde::Serialize;

use super::stores::Stores;
use crate::status::stamp_transitions;

/// Field manager of every status Portico writes.
pub const FIELD_MANAGER: &str = "portico-controller";

/// Applies statuses to the API server.
pub struct StatusWriter {
    client: Client,
    controller_name: String,
}

impl StatusWriter {
    /// A writer for routes' parent entries carrying `controller_name`.
    pub fn new(client: Client, controller_name: String) -> Self {
        Self {
            client,
            controller_name,
        }
    }

    /// Bring the API server's statuses in line with `desired`.
    pub async fn write(&self, desired: &Statuses, stores: &Stores) {
        let live = self.live(stores);
        let mut desired = desired.clone();
        // The API server keeps whole seconds; stamping with them avoids rewriting a status
        // only because of sub-second digits.
        let now =
            Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH);
        stamp_transitions(&mut desired, &live, now);

        for class in &desired.gateway_classes {
            let current = find(&live.gateway_classes, &class.object).map(|o| &o.status);
            if current != Some(&class.status) {
                let api = Api::<GatewayClass>::all(self.client.clone());
                self.apply(api, &class.object, &class.status).await;
            }
        }
        for gateway in &desired.gateways {
            let current = find(&live.gateways, &gateway.object).map(|o| &o.status);
            if current != Some(&gateway.status) {
                let api =
                    Api::<Gateway>::namespaced(self.client.clone(), &gateway.object.namespace);
                self.apply(api, &gateway.object, &gateway.status).await;
            }
        }
        for route in stores.http_routes.iter().flat_map(|s| s.state()) {
            let object = ObjectRef {
                namespace: route.namespace().unwrap_or_default(),
                name: route.name_any(),
            };
            let current = route.status.clone().unwrap_or_default();
            let ours = find(&desired.http_routes, &object)
                .map(|r| r.status.parents.clone())
                .unwrap_or_default();
            let mut parents: Vec<_> = current
                .parents
                .iter()
                .filter(|p| p.controller_name != self.controller_name)
                .cloned()
                .collect();
            parents.extend(ours);
            let wanted = HttpRouteStatus { parents };
            if wanted != current {
                let api = Api::<HttpRoute>::namespaced(self.client.clone(), &object.namespace);
                self.apply(api, &object, &wanted).await;
            }
        }
    }

    /// What the API server holds now, in the translator's shape (route parents: ours only).
    fn live(&self, stores: &Stores) -> Statuses {
        fn collect<K: Resource + Clone, S: Clone + Default>(
            store: &Option<kube::runtime::reflector::Store<K>>,
            status: impl Fn(&K) -> Option<S>,
        ) -> Vec<ObjectStatus<S>>
        where
            K::DynamicType: Clone + Eq + std::hash::Hash,
        {
            store
                .iter()
                .flat_map(|s| s.state())
                .map(|o| ObjectStatus {
                    object: ObjectRef {
                        namespace: o.meta().namespace.clone().unwrap_or_default(),
                        name: o.meta().name.clone().unwrap_or_default(),
                    },
                    status: status(&o).unwrap_or_default(),
                })
                .collect()
        }
        Statuses {
            gateway_classes: collect(&stores.gateway_classes, |c: &GatewayClass| c.status.clone()),
            gateways: collect(&stores.gateways, |g: &Gateway| g.status.clone()),
            http_routes: collect(&stores.http_routes, |r: &HttpRoute| {
                r.status.clone().map(|s| HttpRouteStatus {
                    parents: s
                        .parents
                        .into_iter()
                        .filter(|p| p.controller_name == self.controller_name)
                        .collect(),
                })
            }),
        }
    }

    async fn apply<K>(&self, api: Api<K>, object: &ObjectRef, status: &impl Serialize)
    where
        K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let patch = serde_json::json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "metadata": { "name": object.name },
            "status": status,
        });
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match api
            .patch_status(&object.name, &params, &Patch::Apply(&patch))
            .await
        {
            Ok(_) => tracing::debug!(kind = %K::kind(&()), object = %object, "status written"),
            Err(error) => {
                tracing::warn!(kind = %K::kind(&()), object = %object, %error, "cannot write status; will retry on the next change")
            }
        }
    }
}

fn find<'a, S>(items: &'a [ObjectStatus<S>], object: &ObjectRef) -> Option<&'a ObjectStatus<S>> {
    items.iter().find(|i| i.object == *object)
}
