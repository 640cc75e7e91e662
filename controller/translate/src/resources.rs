//! The translator's input, and lookup indices built once per translation.

use std::collections::{BTreeMap, HashMap};

use crate::route_kinds::httproutes::HttpRoute;
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
use kube::ResourceExt;

use crate::backend_tls::{BackendTlsPolicies, Objects};
use crate::ca_bundles::ConfigMaps;
use crate::names::namespace_of;
use crate::parameters::PorticoProxy;
use crate::route_kinds::{TcpRoute, UdpRoute};

/// Every object translation may look at, as read from the API server or from files.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// GatewayClasses (cluster-scoped).
    pub gateway_classes: Vec<GatewayClass>,
    /// Gateways.
    pub gateways: Vec<Gateway>,
    /// HTTPRoutes.
    pub http_routes: Vec<HttpRoute>,
    /// ReferenceGrants.
    pub reference_grants: Vec<ReferenceGrant>,
    /// Namespaces (for allowedRoutes selectors).
    pub namespaces: Vec<Namespace>,
    /// Services.
    pub services: Vec<Service>,
    /// EndpointSlices, matched to Services by the `kubernetes.io/service-name` label.
    pub endpoint_slices: Vec<EndpointSlice>,
    /// Secrets holding listener certificates.
    pub secrets: Vec<Secret>,
    /// GRPCRoutes (not served yet: parents naming our Gateways are refused, saying so).
    pub grpc_routes: Vec<GrpcRoute>,
    /// TLSRoutes (not served yet, as GRPCRoutes).
    pub tls_routes: Vec<TlsRoute>,
    /// TCPRoutes (not served yet, as GRPCRoutes).
    pub tcp_routes: Vec<TcpRoute>,
    /// UDPRoutes (not served yet, as GRPCRoutes).
    pub udp_routes: Vec<UdpRoute>,
    /// ListenerSets, adding listeners to the Gateways that allow them.
    pub listener_sets: Vec<ListenerSet>,
    /// BackendTLSPolicies.
    pub backend_tls_policies: Vec<BackendTlsPolicy>,
    /// ConfigMaps holding CA bundles (BackendTLSPolicies, frontend client validation).
    pub config_maps: Vec<ConfigMap>,
    /// Ingresses, for the Ingress migration (not translated yet).
    pub ingresses: Vec<Ingress>,
    /// IngressClasses, for the Ingress migration (not translated yet).
    pub ingress_classes: Vec<IngressClass>,
    /// Portico's parameters, which GatewayClasses and Gateways may refer to.
    pub proxies: Vec<PorticoProxy>,
}

/// Label linking an EndpointSlice to its Service.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// Lookups by namespace and name, built once per translation.
pub(crate) struct Index<'a> {
    pub resources: &'a Resources,
    services: HashMap<(String, String), &'a Service>,
    secrets: HashMap<(String, String), &'a Secret>,
    config_maps: HashMap<(String, String), &'a ConfigMap>,
    slices: HashMap<(String, String), Vec<&'a EndpointSlice>>,
    namespace_labels: HashMap<String, &'a BTreeMap<String, String>>,
    /// What every BackendTLSPolicy does to clusters.
    pub backend_tls: BackendTlsPolicies,
}

impl<'a> Index<'a> {
    pub fn new(resources: &'a Resources) -> Self {
        let key = |ns: String, name: String| (ns, name);
        let services = resources
            .services
            .iter()
            .map(|s| (key(namespace_of(s), s.name_any()), s))
            .collect();
        let secrets = resources
            .secrets
            .iter()
            .map(|s| (key(namespace_of(s), s.name_any()), s))
            .collect();
        let config_maps = resources
            .config_maps
            .iter()
            .map(|c| (key(namespace_of(c), c.name_any()), c))
            .collect();
        let mut slices: HashMap<_, Vec<_>> = HashMap::new();
        for slice in &resources.endpoint_slices {
            if let Some(service) = slice.labels().get(SERVICE_NAME_LABEL) {
                slices
                    .entry(key(namespace_of(slice), service.clone()))
                    .or_default()
                    .push(slice);
            }
        }
        let namespace_labels = resources
            .namespaces
            .iter()
            .map(|n| (n.name_any(), n.labels()))
            .collect();
        let mut index = Self {
            resources,
            services,
            secrets,
            config_maps,
            slices,
            namespace_labels,
            backend_tls: BackendTlsPolicies::default(),
        };
        index.backend_tls = BackendTlsPolicies::new(&resources.backend_tls_policies, &index);
        index
    }

    pub fn service(&self, namespace: &str, name: &str) -> Option<&'a Service> {
        Objects::service(self, namespace, name)
    }

    pub fn secret(&self, namespace: &str, name: &str) -> Option<&'a Secret> {
        self.secrets
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }

    pub fn endpoint_slices(&self, namespace: &str, service: &str) -> &[&'a EndpointSlice] {
        self.slices
            .get(&(namespace.to_string(), service.to_string()))
            .map_or(&[], Vec::as_slice)
    }

    /// Labels of a namespace; a namespace we were not given has none.
    pub fn namespace_labels(&self, namespace: &str) -> Option<&'a BTreeMap<String, String>> {
        self.namespace_labels.get(namespace).copied()
    }
}

impl<'a> Objects<'a> for Index<'a> {
    fn service(&self, namespace: &str, name: &str) -> Option<&'a Service> {
        self.services
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }
}

impl<'a> ConfigMaps<'a> for Index<'a> {
    fn config_map(&self, namespace: &str, name: &str) -> Option<&'a ConfigMap> {
        self.config_maps
            .get(&(namespace.to_string(), name.to_string()))
            .copied()
    }
}
