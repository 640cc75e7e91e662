//! Writes statuses back with server-side apply under Portico's field manager: only objects
//! whose status differs from what the API server holds, keeping `lastTransitionTime` where a
//! condition's status did not change, and leaving other controllers' route parents alone.
//! A condition that turns bad (a rejection, a conflict, a data plane's NACK) is also reported
//! as a Warning Event on its object, once per transition.

use gateway_api::backendtlspolicies::{BackendTlsPolicy, BackendTlsPolicyStatus};
use gateway_api::gatewayclasses::GatewayClass;
use gateway_api::gateways::Gateway;
use gateway_api::grpcroutes::GrpcRoute;
use gateway_api::listenersets::ListenerSet;
use gateway_api::tlsroutes::TlsRoute;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, Store};
use kube::{Api, Client, Resource, ResourceExt};
use portico_snapshot::ObjectRef;
use portico_translate::route_kinds::httproutes::HttpRoute;
use portico_translate::route_kinds::{RouteParentStatus, RouteStatus, TcpRoute, UdpRoute};
use portico_translate::{ObjectStatus, Statuses};
use serde::Serialize;
use serde::de::DeserializeOwned;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::addresses::addresses;
use super::naming::FIELD_MANAGER;
use super::status_changes::{newly_bad, same_entries, same_parents};
use super::stores::Stores;
use crate::metrics::Metrics;
use crate::status::{self, Finish, ListenerOwnerStatus};

/// Applies statuses to the API server.
pub struct StatusWriter {
    started: std::time::Instant,
    client: Client,
    controller_name: String,
    /// Gateways' addresses come from their provisioned Services.
    provisioning: bool,
    events: Recorder,
    metrics: Arc<Metrics>,
    /// Writes of the `write` in progress that failed (each logged where it failed).
    failures: AtomicUsize,
}

/// Some statuses could not be written; write again later.
#[derive(Debug, thiserror::Error)]
#[error("{0} status write(s) failed")]
pub struct WriteFailed(usize);

impl StatusWriter {
    /// A writer for routes' parent entries carrying `controller_name`; events name `instance`.
    pub fn new(
        client: Client,
        controller_name: String,
        instance: String,
        metrics: Arc<Metrics>,
        provisioning: bool,
    ) -> Self {
        let reporter = Reporter {
            controller: FIELD_MANAGER.to_string(),
            instance: Some(instance),
        };
        Self {
            started: std::time::Instant::now(),
            events: Recorder::new(client.clone(), reporter),
            client,
            controller_name,
            provisioning,
            metrics,
            failures: AtomicUsize::new(0),
        }
    }

    /// Bring the API server's statuses in line with `desired`. Failures are logged as they
    /// happen; the error asks the caller to write again (with backoff).
    pub async fn write(&self, desired: &Statuses, stores: &Stores) -> Result<(), WriteFailed> {
        self.failures.store(0, Ordering::Relaxed);
        let live = self.live(stores);
        let mut desired = desired.clone();
        // The API server keeps whole seconds; stamping with them avoids rewriting a status
        // only because of sub-second digits.
        let now =
            Timestamp::from_second(Timestamp::now().as_second()).unwrap_or(Timestamp::UNIX_EPOCH);
        let provisioned = |gateway: &ObjectRef| addresses(gateway, stores);
        status::finish(
            &mut desired,
            Finish {
                previous: &live,
                now,
                reconnecting: self.started.elapsed() < PROGRAMMED_GRACE,
                addresses: self
                    .provisioning
                    .then_some(&provisioned as status::AddressesOf<'_>),
            },
        );

        for class in &desired.gateway_classes {
            let current = find(&live.gateway_classes, &class.object).map(|o| &o.status);
            if current != Some(&class.status) {
                let api = Api::<GatewayClass>::all(self.client.clone());
                self.apply(api, &class.object, &class.status, None).await;
            }
        }
        self.write_listener_owners(&stores.gateways, &desired.gateways, &live.gateways)
            .await;
        self.write_listener_owners(
            &stores.listener_sets,
            &desired.listener_sets,
            &live.listener_sets,
        )
        .await;
        self.write_routes(&stores.http_routes, &by_object(&desired.http_routes))
            .await;
        self.write_routes(&stores.grpc_routes, &by_object(&desired.grpc_routes))
            .await;
        self.write_routes(&stores.tls_routes, &by_object(&desired.tls_routes))
            .await;
        self.write_routes(&stores.tcp_routes, &by_object(&desired.tcp_routes))
            .await;
        self.write_routes(&stores.udp_routes, &by_object(&desired.udp_routes))
            .await;
        self.write_policies(&stores.backend_tls_policies, &desired.backend_tls_policies)
            .await;
        self.metrics.status_syncs.inc();
        match self.failures.load(Ordering::Relaxed) {
            0 => Ok(()),
            failed => Err(WriteFailed(failed)),
        }
    }

    /// Bring Gateways or ListenerSets (`K`) whose status differs from `live` in line with
    /// `desired`, warning of every condition that turned bad.
    async fn write_listener_owners<K, S>(
        &self,
        store: &Store<K>,
        desired: &[ObjectStatus<S>],
        live: &[ObjectStatus<S>],
    ) where
        K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
        S: ListenerOwnerStatus + PartialEq + Serialize,
    {
        for wanted in desired {
            let object = &wanted.object;
            let current = find(live, object).map(|o| &o.status);
            if current == Some(&wanted.status) {
                continue;
            }
            let found =
                store.get(&reflector::ObjectRef::new(&object.name).within(&object.namespace));
            if let Some(found) = found {
                let mut turned_bad = newly_bad(
                    Some(wanted.status.conditions()),
                    current.map(|c| c.conditions()),
                    "",
                );
                for (name, conditions) in wanted.status.listeners() {
                    let before = current.and_then(|c| c.listener(name));
                    let prefix = format!("listener {name}: ");
                    turned_bad.extend(newly_bad(Some(conditions), before, &prefix));
                }
                self.warn(&found.object_ref(&()), turned_bad).await;
            }
            let api = Api::<K>::namespaced(self.client.clone(), &object.namespace);
            self.apply(api, object, &wanted.status, None).await;
        }
    }

    /// Bring every route of kind `K` in line with `desired` (our parents' entries by route; a
    /// route missing there gets ours removed).
    async fn write_routes<K: RouteObject>(
        &self,
        store: &Store<K>,
        desired: &HashMap<&ObjectRef, &RouteStatus>,
    ) {
        for route in store.state() {
            let object = ObjectRef {
                namespace: route.namespace().unwrap_or_default(),
                name: route.name_any(),
            };
            let current = route.route_status();
            let ours = desired
                .get(&object)
                .map(|r| r.parents.clone())
                .unwrap_or_default();
            // Other controllers' entries stay where they are; ours take the place of our old ones.
            let mut parents: Vec<_> = current
                .parents
                .iter()
                .filter(|p| p.controller_name != self.controller_name)
                .cloned()
                .collect();
            parents.extend(ours);
            let wanted = RouteStatus { parents };
            if same_parents(&wanted, &current) {
                continue;
            }
            let mut turned_bad = Vec::new();
            for parent in wanted
                .parents
                .iter()
                .filter(|p| p.controller_name == self.controller_name)
            {
                let before = current
                    .parents
                    .iter()
                    .find(|p| {
                        p.controller_name == parent.controller_name
                            && p.parent_ref == parent.parent_ref
                    })
                    .map(|p| p.conditions.as_slice());
                let prefix = format!("parent {}: ", parent.parent_ref.name);
                turned_bad.extend(newly_bad(Some(&parent.conditions), before, &prefix));
            }
            self.warn(&route.object_ref(&()), turned_bad).await;
            let api = Api::<K>::namespaced(self.client.clone(), &object.namespace);
            // Route parents are shared with other controllers: never overwrite a newer list.
            self.apply(api, &object, &wanted, route.meta().resource_version.clone())
                .await;
        }
    }

    /// Bring every BackendTLSPolicy's ancestors in line with `desired` (ours replaced, other
    /// controllers' kept; a policy missing there gets ours removed).
    async fn write_policies(
        &self,
        store: &Store<BackendTlsPolicy>,
        desired: &[ObjectStatus<BackendTlsPolicyStatus>],
    ) {
        for policy in store.state() {
            let object = ObjectRef {
                namespace: policy.namespace().unwrap_or_default(),
                name: policy.name_any(),
            };
            let current = policy.status.clone().unwrap_or_default();
            let ours = desired
                .iter()
                .find(|p| p.object == object)
                .map(|p| p.status.ancestors.clone())
                .unwrap_or_default();
            let mut ancestors: Vec<_> = current
                .ancestors
                .iter()
                .filter(|a| a.controller_name != self.controller_name)
                .cloned()
                .collect();
            ancestors.extend(ours);
            let wanted = BackendTlsPolicyStatus { ancestors };
            if same_entries(&wanted.ancestors, &current.ancestors) {
                continue;
            }
            let mut turned_bad = Vec::new();
            for ancestor in wanted
                .ancestors
                .iter()
                .filter(|a| a.controller_name == self.controller_name)
            {
                let before = current
                    .ancestors
                    .iter()
                    .find(|a| {
                        a.controller_name == ancestor.controller_name
                            && a.ancestor_ref == ancestor.ancestor_ref
                    })
                    .map(|a| a.conditions.as_slice());
                let prefix = format!("ancestor {}: ", ancestor.ancestor_ref.name);
                turned_bad.extend(newly_bad(Some(&ancestor.conditions), before, &prefix));
            }
            self.warn(&policy.object_ref(&()), turned_bad).await;
            let api = Api::<BackendTlsPolicy>::namespaced(self.client.clone(), &object.namespace);
            // Ancestors are shared with other controllers: never overwrite a newer list.
            self.apply(
                api,
                &object,
                &wanted,
                policy.meta().resource_version.clone(),
            )
            .await;
        }
    }

    /// What the API server holds now, in the translator's shape (route parents: ours only).
    fn live(&self, stores: &Stores) -> Statuses {
        fn collect<K: Resource + Clone, S: Clone + Default>(
            store: &kube::runtime::reflector::Store<K>,
            status: impl Fn(&K) -> Option<S>,
        ) -> Vec<ObjectStatus<S>>
        where
            K::DynamicType: Clone + Eq + std::hash::Hash,
        {
            store
                .state()
                .into_iter()
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
            listener_sets: collect(&stores.listener_sets, |s: &ListenerSet| s.status.clone()),
            http_routes: self.our_parents(&stores.http_routes),
            grpc_routes: self.our_parents(&stores.grpc_routes),
            tls_routes: self.our_parents(&stores.tls_routes),
            tcp_routes: self.our_parents(&stores.tcp_routes),
            udp_routes: self.our_parents(&stores.udp_routes),
            backend_tls_policies: stores
                .backend_tls_policies
                .state()
                .into_iter()
                .map(|policy| {
                    let mut status = policy.status.clone().unwrap_or_default();
                    status
                        .ancestors
                        .retain(|a| a.controller_name == self.controller_name);
                    ObjectStatus {
                        object: ObjectRef {
                            namespace: policy.namespace().unwrap_or_default(),
                            name: policy.name_any(),
                        },
                        status,
                    }
                })
                .collect(),
        }
    }

    /// Routes' statuses as the API server holds them, with our parents' entries only.
    fn our_parents<K: RouteObject>(&self, store: &Store<K>) -> Vec<ObjectStatus<RouteStatus>> {
        store
            .state()
            .into_iter()
            .map(|route| {
                let mut status = route.route_status();
                status
                    .parents
                    .retain(|p| p.controller_name == self.controller_name);
                ObjectStatus {
                    object: ObjectRef {
                        namespace: route.namespace().unwrap_or_default(),
                        name: route.name_any(),
                    },
                    status,
                }
            })
            .collect()
    }

    /// One Warning Event per condition that turned bad: reason as the Event's reason.
    async fn warn(&self, object: &ObjectReference, turned_bad: Vec<(String, String)>) {
        for (reason, note) in turned_bad {
            let event = Event {
                type_: EventType::Warning,
                reason,
                note: Some(note),
                action: "Reconcile".to_string(),
                secondary: None,
            };
            if let Err(error) = self.events.publish(&event, object).await {
                tracing::warn!(%error, "cannot record event");
            }
        }
    }

    /// Apply `status`. With `resource_version`, the write only succeeds against that version
    /// (a conflict means someone else wrote meanwhile; the retry uses fresh data).
    async fn apply<K>(
        &self,
        api: Api<K>,
        object: &ObjectRef,
        status: &impl Serialize,
        resource_version: Option<String>,
    ) where
        K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let mut metadata = serde_json::json!({ "name": object.name });
        if let Some(version) = resource_version {
            metadata["resourceVersion"] = serde_json::Value::String(version);
        }
        let patch = serde_json::json!({
            "apiVersion": K::api_version(&()),
            "kind": K::kind(&()),
            "metadata": metadata,
            "status": status,
        });
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let kind = K::kind(&());
        let result = api
            .patch_status(&object.name, &params, &Patch::Apply(&patch))
            .await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        self.metrics
            .status_writes
            .with_label_values(&[kind.as_ref(), outcome])
            .inc();
        match result {
            Ok(_) => tracing::debug!(%kind, %object, "status written"),
            Err(error) => {
                tracing::warn!(%kind, %object, %error, "cannot write status");
                self.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Route statuses by the route they belong to.
fn by_object(routes: &[ObjectStatus<RouteStatus>]) -> HashMap<&ObjectRef, &RouteStatus> {
    routes.iter().map(|r| (&r.object, &r.status)).collect()
}

/// A route kind whose parents' statuses Portico writes.
pub trait RouteObject:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// The route's status in the shape every route kind shares.
    fn route_status(&self) -> RouteStatus;
}

/// Route kinds' generated status types all have the same fields: copy them over.
macro_rules! route_object {
    ($($kind:ty),*) => {$(
        impl RouteObject for $kind {
            fn route_status(&self) -> RouteStatus {
                let parents = self.status.iter().flat_map(|s| &s.parents).map(|p| {
                    RouteParentStatus {
                        conditions: p.conditions.clone(),
                        controller_name: p.controller_name.clone(),
                        parent_ref: portico_translate::parent_reference!(p.parent_ref),
                    }
                });
                RouteStatus { parents: parents.collect() }
            }
        }
    )*};
}

route_object!(HttpRoute, GrpcRoute, TlsRoute, TcpRoute, UdpRoute);

/// After a controller (re)start, data planes take a few seconds to reconnect (their backoff is
/// at most 5 s); until then, `Programmed` would read Pending although they serve.
const PROGRAMMED_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

fn find<'a, S>(items: &'a [ObjectStatus<S>], object: &ObjectRef) -> Option<&'a ObjectStatus<S>> {
    items.iter().find(|i| i.object == *object)
}
