//! One shared watch per kind, each feeding an in-memory store (a kube-rs reflector). Any change
//! wakes the translation loop. Kinds whose CRDs are not installed are skipped with a log line.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use gateway_api::backendtlspolicies::BackendTlsPolicy;
use gateway_api::gatewayclasses::GatewayClass;
use gateway_api::gateways::Gateway;
use gateway_api::grpcroutes::GrpcRoute;
use gateway_api::httproutes::HttpRoute;
use gateway_api::listenersets::ListenerSet;
use gateway_api::referencegrants::ReferenceGrant;
use gateway_api::tlsroutes::TlsRoute;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::ListParams;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use portico_translate::resources::SERVICE_NAME_LABEL;
use portico_translate::route_kinds::{TcpRoute, UdpRoute};
use portico_translate::{References, Resources};
use prometheus::IntCounterVec;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use super::parameters::PorticoProxy;
use crate::metrics::Metrics;

/// What Gateways and routes refer to, as of the last translation; shared with the watches.
pub type SharedReferences = Arc<RwLock<References>>;

/// The stores of every kind translation reads.
pub struct Stores {
    /// Services and Secrets that matter: changes to any other are not worth a translation.
    pub references: SharedReferences,
    pub gateway_classes: Option<Store<GatewayClass>>,
    pub gateways: Option<Store<Gateway>>,
    pub http_routes: Option<Store<HttpRoute>>,
    reference_grants: Option<Store<ReferenceGrant>>,
    namespaces: Option<Store<Namespace>>,
    pub services: Option<Store<Service>>,
    endpoint_slices: Option<Store<EndpointSlice>>,
    secrets: Option<Store<Secret>>,
    pub grpc_routes: Option<Store<GrpcRoute>>,
    pub tls_routes: Option<Store<TlsRoute>>,
    pub tcp_routes: Option<Store<TcpRoute>>,
    pub udp_routes: Option<Store<UdpRoute>>,
    listener_sets: Option<Store<ListenerSet>>,
    backend_tls_policies: Option<Store<BackendTlsPolicy>>,
    config_maps: Option<Store<ConfigMap>>,
    ingresses: Option<Store<Ingress>>,
    ingress_classes: Option<Store<IngressClass>>,
    /// Portico's own parameters (for the provisioner).
    pub proxies: Option<Store<PorticoProxy>>,
}

impl Stores {
    /// Start a watch per kind; `changed` is notified on every relevant change (events are
    /// counted in `metrics`). Returns once every store holds its initial list.
    pub async fn start(client: &Client, changed: &Arc<Notify>, metrics: &Metrics) -> Self {
        let wake = &Wake {
            changed: changed.clone(),
            events: metrics.watch_events.clone(),
        };
        let all = watcher::Config::default;
        let references: SharedReferences = Arc::default();
        // Services, their EndpointSlices and Secrets are many and mostly unrelated: only
        // those a Gateway or route refers to wake translation.
        let slice = |refs: &SharedReferences| {
            let refs = refs.clone();
            move |s: &EndpointSlice| {
                let service = s
                    .labels()
                    .get(SERVICE_NAME_LABEL)
                    .cloned()
                    .unwrap_or_default();
                read(&refs).services.contains(&key(s.namespace(), service))
            }
        };
        let stores = Self {
            gateway_classes: watch(client, all(), wake, always).await,
            gateways: watch(client, all(), wake, always).await,
            http_routes: watch(client, all(), wake, always).await,
            reference_grants: watch(client, all(), wake, always).await,
            namespaces: watch(client, all(), wake, always).await,
            services: watch(client, all(), wake, named_in(&references, |r| &r.services)).await,
            endpoint_slices: watch(client, all(), wake, slice(&references)).await,
            // Only TLS Secrets can be listener certificates; the rest are never cached.
            secrets: watch(
                client,
                all().fields("type=kubernetes.io/tls"),
                wake,
                named_in(&references, |r| &r.secrets),
            )
            .await,
            grpc_routes: watch(client, all(), wake, always).await,
            tls_routes: watch(client, all(), wake, always).await,
            tcp_routes: watch(client, all(), wake, always).await,
            udp_routes: watch(client, all(), wake, always).await,
            listener_sets: watch(client, all(), wake, always).await,
            backend_tls_policies: watch(client, all(), wake, always).await,
            // Every namespace has ConfigMaps; only CA bundles are kept, and only referenced
            // ones wake translation.
            config_maps: watch_trimmed(
                client,
                all(),
                wake,
                named_in(&references, |r| &r.config_maps),
                keep_only_ca_bundle,
            )
            .await,
            ingresses: watch(client, all(), wake, always).await,
            ingress_classes: watch(client, all(), wake, always).await,
            proxies: watch(client, all(), wake, always).await,
            references,
        };
        stores.wait_until_ready().await;
        stores
    }

    async fn wait_until_ready(&self) {
        macro_rules! ready {
            ($($store:ident),*) => {$(
                if let Some(store) = &self.$store {
                    let _ = store.wait_until_ready().await;
                }
            )*};
        }
        ready!(
            gateway_classes,
            gateways,
            http_routes,
            reference_grants,
            namespaces,
            services,
            endpoint_slices,
            secrets,
            grpc_routes,
            tls_routes,
            tcp_routes,
            udp_routes,
            listener_sets,
            backend_tls_policies,
            config_maps,
            ingresses,
            ingress_classes,
            proxies
        );
    }

    /// Every object, as translation input.
    pub fn resources(&self) -> Resources {
        Resources {
            gateway_classes: snapshot(&self.gateway_classes),
            gateways: snapshot(&self.gateways),
            http_routes: snapshot(&self.http_routes),
            reference_grants: snapshot(&self.reference_grants),
            namespaces: snapshot(&self.namespaces),
            services: snapshot(&self.services),
            endpoint_slices: snapshot(&self.endpoint_slices),
            secrets: snapshot(&self.secrets),
            grpc_routes: snapshot(&self.grpc_routes),
            tls_routes: snapshot(&self.tls_routes),
            tcp_routes: snapshot(&self.tcp_routes),
            udp_routes: snapshot(&self.udp_routes),
            listener_sets: snapshot(&self.listener_sets),
            backend_tls_policies: snapshot(&self.backend_tls_policies),
            config_maps: snapshot(&self.config_maps),
            ingresses: snapshot(&self.ingresses),
            ingress_classes: snapshot(&self.ingress_classes),
            proxies: snapshot(&self.proxies),
        }
    }
}

fn snapshot<K>(store: &Option<Store<K>>) -> Vec<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Clone + Eq + std::hash::Hash,
{
    store
        .as_ref()
        .map(|s| s.state().iter().map(|o| (**o).clone()).collect())
        .unwrap_or_default()
}

/// Relevance of objects that matter only when the set `names` picks from the references holds
/// their namespace and name.
fn named_in<K: Resource>(
    references: &SharedReferences,
    names: fn(&References) -> &HashSet<(String, String)>,
) -> impl Fn(&K) -> bool + Send + Sync + 'static {
    let references = references.clone();
    move |object: &K| {
        names(&read(&references)).contains(&key(object.namespace(), object.name_any()))
    }
}

/// Every change of kinds like Gateways and routes matters.
fn always<K>(_: &K) -> bool {
    true
}

fn read(references: &SharedReferences) -> std::sync::RwLockReadGuard<'_, References> {
    references
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn key(namespace: Option<String>, name: String) -> (String, String) {
    (namespace.unwrap_or_else(|| "default".to_string()), name)
}

/// ConfigMaps keep only the key BackendTLSPolicy reads CA certificates from.
fn keep_only_ca_bundle(config_map: &mut ConfigMap) {
    if let Some(data) = config_map.data.as_mut() {
        data.retain(|key, _| key == "ca.crt");
    }
    config_map.binary_data = None;
}

/// What a watch does with an event: wake translation (when relevant), and count it.
#[derive(Clone)]
struct Wake {
    changed: Arc<Notify>,
    events: IntCounterVec,
}

/// Watch every object of kind `K` into a store, or `None` when the API server does not serve
/// the kind (its CRD is not installed). Changes to objects for which `relevant` is false update
/// the store without waking translation.
async fn watch<K>(
    client: &Client,
    config: watcher::Config,
    wake: &Wake,
    relevant: impl Fn(&K) -> bool + Send + Sync + 'static,
) -> Option<Store<K>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    watch_trimmed(client, config, wake, relevant, |_| {}).await
}

/// [`watch`], storing objects as `trim` leaves them (besides dropping `managedFields`, which
/// nothing reads and which can be most of an object's size).
async fn watch_trimmed<K>(
    client: &Client,
    config: watcher::Config,
    wake: &Wake,
    relevant: impl Fn(&K) -> bool + Send + Sync + 'static,
    trim: impl Fn(&mut K) + Send + Sync + 'static,
) -> Option<Store<K>>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let kind = K::kind(&());
    let api: Api<K> = Api::all(client.clone());
    match api.list_metadata(&ListParams::default().limit(1)).await {
        Err(kube::Error::Api(status)) if status.code == 404 => {
            tracing::warn!(%kind, "the API server does not serve this kind (CRD not installed?); skipping it");
            return None;
        }
        Err(kube::Error::Api(status)) if status.code == 403 => {
            tracing::error!(%kind, message = %status.message, "not allowed to watch this kind (RBAC?); skipping it");
            return None;
        }
        Err(error) => tracing::warn!(%kind, %error, "cannot list yet; the watch will retry"),
        Ok(_) => {}
    }
    let (reader, writer) = reflector::store();
    // Every event wakes translation, relists (Init .. InitDone) included: a relist can remove
    // objects without any Delete event.
    let objects = watcher(api, config).modify(move |object| {
        object.meta_mut().managed_fields = None;
        trim(object);
    });
    let events = reflector::reflector(writer, objects).default_backoff();
    let wake = wake.clone();
    tokio::spawn(async move {
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.next().await {
            match event {
                Ok(
                    watcher::Event::Apply(object)
                    | watcher::Event::Delete(object)
                    | watcher::Event::InitApply(object),
                ) => {
                    let relevant = relevant(&object);
                    let effect = if relevant { "translate" } else { "ignored" };
                    wake.events
                        .with_label_values(&[effect, kind.as_ref()])
                        .inc();
                    if relevant {
                        wake.changed.notify_one();
                    }
                }
                Ok(watcher::Event::Init | watcher::Event::InitDone) => wake.changed.notify_one(),
                Err(error) => tracing::warn!(%kind, %error, "watch error; retrying"),
            }
        }
    });
    Some(reader)
}
