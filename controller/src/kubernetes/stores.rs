//! One shared watch per kind, each feeding an in-memory store (a kube-rs reflector). Any change
//! wakes the translation loop.
//!
//! A watch never gives up: after any error (an RBAC race during `helm install`, a CRD being
//! reinstalled, an API server restart) it retries with backoff, and what it lists then
//! replaces the store. Translation starts once every kind has been listed, except kinds whose
//! CRD the API server says is not installed: those start empty and are picked up when the CRD
//! appears, without a restart. Built-in kinds (Services, Secrets, ...) are always waited for,
//! since translating without them would drop every route or certificate.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::{Arc, RwLock};

use futures::StreamExt;
use gateway_api::backendtlspolicies::BackendTlsPolicy;
use gateway_api::gatewayclasses::GatewayClass;
use gateway_api::gateways::Gateway;
use gateway_api::grpcroutes::GrpcRoute;
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
use portico_translate::route_kinds::httproutes::HttpRoute;
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
    pub gateway_classes: Store<GatewayClass>,
    pub gateways: Store<Gateway>,
    pub http_routes: Store<HttpRoute>,
    reference_grants: Store<ReferenceGrant>,
    namespaces: Store<Namespace>,
    pub services: Store<Service>,
    endpoint_slices: Store<EndpointSlice>,
    secrets: Store<Secret>,
    pub grpc_routes: Store<GrpcRoute>,
    pub tls_routes: Store<TlsRoute>,
    pub tcp_routes: Store<TcpRoute>,
    pub udp_routes: Store<UdpRoute>,
    pub listener_sets: Store<ListenerSet>,
    pub backend_tls_policies: Store<BackendTlsPolicy>,
    config_maps: Store<ConfigMap>,
    ingresses: Store<Ingress>,
    ingress_classes: Store<IngressClass>,
    /// Portico's own parameters (for the provisioner).
    pub proxies: Store<PorticoProxy>,
}

/// Whether translation can do without a kind the API server does not serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Served {
    /// A built-in kind: always served; translation waits until it is listed.
    BuiltIn,
    /// A kind of a CRD: translation waits until it is listed, unless the CRD is not
    /// installed, when there can be no objects of it.
    ByCrd,
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
        use Served::{BuiltIn, ByCrd};
        // Every watch starts at once; then each kind is waited for in turn.
        let gateway_classes = watch(client, all(), wake, always);
        let gateways = watch(client, all(), wake, always);
        let http_routes = watch(client, all(), wake, always);
        let reference_grants = watch(client, all(), wake, always);
        let namespaces = watch(client, all(), wake, always);
        let services = watch(client, all(), wake, named_in(&references, |r| &r.services));
        let endpoint_slices = watch(client, all(), wake, slice(&references));
        // Only TLS Secrets can be listener certificates; the rest are never cached.
        let secrets = watch(
            client,
            all().fields("type=kubernetes.io/tls"),
            wake,
            named_in(&references, |r| &r.secrets),
        );
        let grpc_routes = watch(client, all(), wake, always);
        let tls_routes = watch(client, all(), wake, always);
        let tcp_routes = watch(client, all(), wake, always);
        let udp_routes = watch(client, all(), wake, always);
        let listener_sets = watch(client, all(), wake, always);
        let backend_tls_policies = watch(client, all(), wake, always);
        // Every namespace has ConfigMaps; only CA bundles are kept, and only referenced ones
        // wake translation.
        let config_maps = watch_trimmed(
            client,
            all(),
            wake,
            named_in(&references, |r| &r.config_maps),
            keep_only_ca_bundle,
        );
        let ingresses = watch(client, all(), wake, always);
        let ingress_classes = watch(client, all(), wake, always);
        let proxies = watch(client, all(), wake, always);
        Self {
            gateway_classes: settle(client, gateway_classes, ByCrd).await,
            gateways: settle(client, gateways, ByCrd).await,
            http_routes: settle(client, http_routes, ByCrd).await,
            reference_grants: settle(client, reference_grants, ByCrd).await,
            namespaces: settle(client, namespaces, BuiltIn).await,
            services: settle(client, services, BuiltIn).await,
            endpoint_slices: settle(client, endpoint_slices, BuiltIn).await,
            secrets: settle(client, secrets, BuiltIn).await,
            grpc_routes: settle(client, grpc_routes, ByCrd).await,
            tls_routes: settle(client, tls_routes, ByCrd).await,
            tcp_routes: settle(client, tcp_routes, ByCrd).await,
            udp_routes: settle(client, udp_routes, ByCrd).await,
            listener_sets: settle(client, listener_sets, ByCrd).await,
            backend_tls_policies: settle(client, backend_tls_policies, ByCrd).await,
            config_maps: settle(client, config_maps, BuiltIn).await,
            ingresses: settle(client, ingresses, BuiltIn).await,
            ingress_classes: settle(client, ingress_classes, BuiltIn).await,
            proxies: settle(client, proxies, ByCrd).await,
            references,
        }
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

fn snapshot<K>(store: &Store<K>) -> Vec<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Clone + Eq + std::hash::Hash,
{
    store.state().iter().map(|o| (**o).clone()).collect()
}

/// Wait until `store`'s kind has been listed, or, for a kind `ByCrd`, until the API server
/// says its CRD is not installed (the watch keeps retrying and fills the store once it is).
async fn settle<K>(client: &Client, store: Store<K>, served: Served) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let kind = K::kind(&());
    if served == Served::ByCrd {
        let api: Api<K> = Api::all(client.clone());
        let probe = api.list_metadata(&ListParams::default().limit(1)).await;
        if let Err(kube::Error::Api(status)) = probe
            && status.code == 404
        {
            tracing::warn!(%kind, "the API server does not serve this kind (CRD not installed?); starting without it, it is picked up once installed");
            return store;
        }
    }
    if tokio::time::timeout(SLOW_START, store.wait_until_ready())
        .await
        .is_err()
    {
        tracing::error!(%kind, "cannot list this kind yet (RBAC? see the watch errors); translation waits for it");
        let _ = store.wait_until_ready().await;
        tracing::info!(%kind, "listed at last");
    }
    store
}

/// How long a kind may take to be listed before its wait is logged as an error.
const SLOW_START: std::time::Duration = std::time::Duration::from_secs(10);

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
        data.retain(|key, _| key == portico_translate::ca_bundles::CA_BUNDLE_KEY);
    }
    config_map.binary_data = None;
}

/// What a watch does with an event: wake translation (when relevant), and count it.
#[derive(Clone)]
struct Wake {
    changed: Arc<Notify>,
    events: IntCounterVec,
}

/// Watch every object of kind `K` into a store, retrying with backoff after any error.
/// Changes to objects for which `relevant` is false update the store without waking
/// translation.
fn watch<K>(
    client: &Client,
    config: watcher::Config,
    wake: &Wake,
    relevant: impl Fn(&K) -> bool + Send + Sync + 'static,
) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    watch_trimmed(client, config, wake, relevant, |_| {})
}

/// [`watch`], storing objects as `trim` leaves them (besides dropping `managedFields`, which
/// nothing reads and which can be most of an object's size).
fn watch_trimmed<K>(
    client: &Client,
    config: watcher::Config,
    wake: &Wake,
    relevant: impl Fn(&K) -> bool + Send + Sync + 'static,
    trim: impl Fn(&mut K) + Send + Sync + 'static,
) -> Store<K>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
{
    let kind = K::kind(&());
    let api: Api<K> = Api::all(client.clone());
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
                Err(error) => tracing::warn!(%kind, %error, "watch error; retrying with backoff"),
            }
        }
    });
    reader
}
