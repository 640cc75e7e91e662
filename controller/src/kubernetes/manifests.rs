//! The objects provisioned for a Gateway: a ServiceAccount, a data-plane Deployment and a
//! Service, owned by the Gateway. They depend only on the Gateway's listeners, infrastructure
//! metadata and parameters, never on routes, and are deterministic, so re-applying them
//! restarts nothing.

use std::collections::{BTreeMap, BTreeSet};

use gateway_api::gateways::Gateway;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodSpec, PodTemplateSpec, Probe, ProjectedVolumeSource, SecurityContext,
    Service, ServiceAccount, ServiceAccountTokenProjection, ServicePort, ServiceSpec, Volume,
    VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::{Resource, ResourceExt};
use portico_translate::ServedPort;
use portico_translate::addresses::static_addresses;

use super::naming::{
    DATAPLANE_NAME, GATEWAY_LABEL, GATEWAY_NAME_LABEL, MANAGED_BY, MANAGED_BY_LABEL, NAME_LABEL,
    object_name,
};
use super::parameters::PorticoProxySpec;

/// Where the projected controller token is mounted in data-plane pods.
const TOKEN_DIR: &str = "/var/run/secrets/portico";
/// Ports the data plane's admin endpoint may use inside its pod: the first one no listener
/// of the Gateway uses.
const ADMIN_PORTS: [i32; 3] = [9902, 19902, 29902];

/// Where provisioned data planes find the controller, and what they run.
#[derive(Clone)]
pub struct Settings {
    /// gRPC URL of the controller's snapshot service, as seen from the data-plane pods.
    pub controller_url: String,
    /// Data-plane image when the parameters name none.
    pub image: String,
    /// Audience of the projected token data planes authenticate with.
    pub token_audience: String,
    /// When set, data planes reach the controller over TLS and trust this CA certificate
    /// (PEM; public, so it travels in the Deployment instead of a Secret).
    pub controller_ca_pem: Option<String>,
    /// Largest snapshot the controller sends, which the data planes must accept.
    pub max_snapshot_bytes: usize,
}

/// How long Kubernetes waits after SIGTERM before killing a data-plane pod: the data plane's
/// default drain (5 s of serving with `/readyz` at 503, then up to 10 s for requests in
/// flight) and a margin.
const TERMINATION_GRACE_SECONDS: i64 = 5 + 10 + 5;

/// The objects of one Gateway's data plane.
pub struct DataPlaneObjects {
    /// Identity of the proxy pods (no Kubernetes API access).
    pub service_account: ServiceAccount,
    /// The proxies.
    pub deployment: Deployment,
    /// The Service in front of them.
    pub service: Service,
}

/// The transport protocol of a served port, as Kubernetes spells it.
fn transport(port: ServedPort) -> &'static str {
    if port.udp { "UDP" } else { "TCP" }
}

/// The ServiceAccount, Deployment and Service of `gateway`. The Service also exposes the ports
/// of the Gateway's ListenerSets (`listener_set_ports`); the pods' declared ports stay the
/// Gateway's own, so a ListenerSet coming or going restarts no pod (unless it takes the admin
/// endpoint's port, which then moves).
pub fn manifests(
    gateway: &Gateway,
    listener_set_ports: &BTreeSet<ServedPort>,
    parameters: &PorticoProxySpec,
    settings: &Settings,
) -> DataPlaneObjects {
    let name = object_name(&gateway.name_any());
    let namespace = gateway.namespace().unwrap_or_default();
    // Label values are at most 63 characters: the object name stands for the Gateway.
    let labels = BTreeMap::from([
        (NAME_LABEL.to_string(), DATAPLANE_NAME.to_string()),
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
        (GATEWAY_LABEL.to_string(), name.clone()),
    ]);
    let (labels_on_objects, infrastructure_annotations) = infrastructure_metadata(gateway, &labels);
    let owner = gateway
        .controller_owner_ref(&())
        .map(|mut o: OwnerReference| {
            o.block_owner_deletion = Some(true);
            o
        });
    let annotated = |extra: Option<&BTreeMap<String, String>>| {
        let mut annotations = infrastructure_annotations.clone();
        annotations.extend(
            extra
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        (!annotations.is_empty()).then_some(annotations)
    };
    let metadata = |annotations: Option<BTreeMap<String, String>>| ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(namespace.clone()),
        labels: Some(labels_on_objects.clone()),
        annotations,
        owner_references: owner.clone().map(|o| vec![o]),
        ..ObjectMeta::default()
    };
    let ports: BTreeSet<ServedPort> = gateway
        .spec
        .listeners
        .iter()
        .filter_map(|l| {
            Some(ServedPort {
                port: u16::try_from(l.port).ok()?,
                udp: l.protocol == "UDP",
            })
        })
        .collect();
    let service_ports: BTreeSet<ServedPort> =
        ports.iter().chain(listener_set_ports).copied().collect();
    let admin_port = ADMIN_PORTS
        .into_iter()
        .find(|p| !service_ports.iter().any(|s| i32::from(s.port) == *p))
        .unwrap_or(ADMIN_PORTS[0]);

    let account = ServiceAccount {
        metadata: metadata(annotated(None)),
        // The data plane needs no Kubernetes API access.
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    };

    let env = |name: &str, value: &str| EnvVar {
        name: name.to_string(),
        value: Some(value.to_string()),
        ..EnvVar::default()
    };
    let from_field = |name: &str, path: &str| EnvVar {
        name: name.to_string(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_string(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    };
    let container = Container {
        name: "dataplane".to_string(),
        image: Some(
            parameters
                .image
                .clone()
                .unwrap_or_else(|| settings.image.clone()),
        ),
        args: Some(vec![
            "--controller".to_string(),
            settings.controller_url.clone(),
            "--gateway".to_string(),
            format!("{namespace}/{}", gateway.name_any()),
            "--admin-address".to_string(),
            format!("0.0.0.0:{admin_port}"),
            "--token-file".to_string(),
            format!("{TOKEN_DIR}/token"),
            "--max-snapshot-bytes".to_string(),
            settings.max_snapshot_bytes.to_string(),
        ]),
        volume_mounts: Some(vec![VolumeMount {
            name: "controller-token".to_string(),
            mount_path: TOKEN_DIR.to_string(),
            read_only: Some(true),
            ..VolumeMount::default()
        }]),
        env: Some(
            [
                from_field("PORTICO_INSTANCE", "metadata.name"),
                env(
                    "RUST_LOG",
                    parameters.log_level.as_deref().unwrap_or("info"),
                ),
            ]
            .into_iter()
            .chain(
                settings
                    .controller_ca_pem
                    .as_deref()
                    .map(|pem| env("PORTICO_TLS_CA", pem)),
            )
            .collect(),
        ),
        ports: Some(
            ports
                .iter()
                .map(|p| ContainerPort {
                    container_port: i32::from(p.port),
                    protocol: Some(transport(*p).to_string()),
                    ..ContainerPort::default()
                })
                .chain([ContainerPort {
                    name: Some("admin".to_string()),
                    container_port: admin_port,
                    ..ContainerPort::default()
                }])
                .collect(),
        ),
        readiness_probe: Some(Probe {
            http_get: Some(HTTPGetAction {
                path: Some("/readyz".to_string()),
                port: IntOrString::Int(admin_port),
                ..HTTPGetAction::default()
            }),
            period_seconds: Some(2),
            ..Probe::default()
        }),
        resources: parameters.resources.clone(),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            allow_privilege_escalation: Some(false),
            read_only_root_filesystem: Some(true),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_string()]),
                add: Some(vec!["NET_BIND_SERVICE".to_string()]),
            }),
            ..SecurityContext::default()
        }),
        ..Container::default()
    };
    let deployment = Deployment {
        metadata: metadata(annotated(None)),
        spec: Some(DeploymentSpec {
            replicas: Some(parameters.replicas.unwrap_or(1)),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels_on_objects.clone()),
                    annotations: annotated(None),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(name.clone()),
                    automount_service_account_token: Some(false),
                    termination_grace_period_seconds: Some(TERMINATION_GRACE_SECONDS),
                    containers: vec![container],
                    // Only a token for the controller's audience: it proves which Gateway this
                    // pod belongs to and grants no Kubernetes API access.
                    volumes: Some(vec![Volume {
                        name: "controller-token".to_string(),
                        projected: Some(ProjectedVolumeSource {
                            sources: Some(vec![VolumeProjection {
                                service_account_token: Some(ServiceAccountTokenProjection {
                                    audience: Some(settings.token_audience.clone()),
                                    expiration_seconds: Some(3600),
                                    path: "token".to_string(),
                                }),
                                ..VolumeProjection::default()
                            }]),
                            ..ProjectedVolumeSource::default()
                        }),
                        ..Volume::default()
                    }]),
                    node_selector: parameters.node_selector.clone(),
                    tolerations: parameters.tolerations.clone(),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    let service_settings = parameters.service.clone().unwrap_or_default();
    let service = Service {
        metadata: metadata(annotated(service_settings.annotations.as_ref())),
        spec: Some(ServiceSpec {
            type_: Some(
                service_settings
                    .type_
                    .unwrap_or_else(|| "LoadBalancer".to_string()),
            ),
            selector: Some(labels.clone()),
            // The first static address the Gateway asks for; the status says whether the load
            // balancer honoured it (addresses.rs).
            load_balancer_ip: static_addresses(gateway).first().map(ToString::to_string),
            ports: Some(
                service_ports
                    .iter()
                    .map(|p| ServicePort {
                        name: Some(if p.udp {
                            format!("udp-{}", p.port)
                        } else {
                            format!("port-{}", p.port)
                        }),
                        port: i32::from(p.port),
                        target_port: Some(IntOrString::Int(i32::from(p.port))),
                        protocol: Some(transport(*p).to_string()),
                        ..ServicePort::default()
                    })
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    DataPlaneObjects {
        service_account: account,
        deployment,
        service,
    }
}

/// The labels of every provisioned object (the Gateway's `spec.infrastructure.labels`, the
/// Gateway API's gateway-name label, then Portico's own `selector` labels, which win), and the
/// annotations from `spec.infrastructure.annotations`. Selectors keep only Portico's labels, so
/// infrastructure labels may change without orphaning pods.
fn infrastructure_metadata(
    gateway: &Gateway,
    selector: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let infrastructure = gateway.spec.infrastructure.as_ref();
    let mut labels: BTreeMap<String, String> = infrastructure
        .and_then(|i| i.labels.clone())
        .unwrap_or_default();
    let gateway_name = gateway.name_any();
    if gateway_name.len() <= 63 {
        labels.insert(GATEWAY_NAME_LABEL.to_string(), gateway_name);
    }
    labels.extend(selector.iter().map(|(k, v)| (k.clone(), v.clone())));
    let annotations = infrastructure
        .and_then(|i| i.annotations.clone())
        .unwrap_or_default();
    (labels, annotations)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            controller_url: "http://controller:18000".into(),
            image: "image".into(),
            token_audience: "portico-controller".into(),
            max_snapshot_bytes: portico_snapshot::wire::DEFAULT_MAX_SNAPSHOT_BYTES,
            controller_ca_pem: None,
        }
    }

    #[test]
    fn infrastructure_metadata_reaches_every_object_but_not_the_selector() {
        let mut gateway = Gateway::default();
        gateway.metadata.name = Some("gw".into());
        gateway.metadata.namespace = Some("default".into());
        gateway.spec.infrastructure = Some(gateway_api::gateways::GatewayInfrastructure {
            labels: Some(BTreeMap::from([
                ("team".to_string(), "payments".to_string()),
                (NAME_LABEL.to_string(), "hijacked".to_string()),
            ])),
            annotations: Some(BTreeMap::from([("key1".to_string(), "value1".to_string())])),
            ..Default::default()
        });
        let objects = manifests(
            &gateway,
            &BTreeSet::new(),
            &PorticoProxySpec::default(),
            &settings(),
        );
        let deployment_spec = objects.deployment.spec.clone().unwrap_or_default();
        let pod = deployment_spec
            .template
            .metadata
            .clone()
            .unwrap_or_default();
        for (what, meta) in [
            ("service account", &objects.service_account.metadata),
            ("deployment", &objects.deployment.metadata),
            ("pod", &pod),
            ("service", &objects.service.metadata),
        ] {
            let labels = meta.labels.clone().unwrap_or_default();
            assert_eq!(
                labels.get("team").map(String::as_str),
                Some("payments"),
                "{what}"
            );
            assert_eq!(
                labels.get(GATEWAY_NAME_LABEL).map(String::as_str),
                Some("gw"),
                "{what}"
            );
            assert_eq!(
                labels.get(NAME_LABEL).map(String::as_str),
                Some(DATAPLANE_NAME),
                "{what}: Portico's own labels win"
            );
            let annotations = meta.annotations.clone().unwrap_or_default();
            assert_eq!(
                annotations.get("key1").map(String::as_str),
                Some("value1"),
                "{what}"
            );
        }
        let selector = deployment_spec.selector.match_labels.unwrap_or_default();
        assert!(
            !selector.contains_key("team"),
            "selectors stay Portico's own"
        );
        let service_selector = objects
            .service
            .spec
            .and_then(|s| s.selector)
            .unwrap_or_default();
        assert_eq!(selector, service_selector);
    }

    #[test]
    fn listener_set_ports_reach_the_service_but_not_the_pods() {
        let mut gateway = Gateway::default();
        gateway.metadata.name = Some("gw".into());
        gateway.metadata.namespace = Some("default".into());
        let listener = |name: &str, port, protocol: &str| gateway_api::gateways::GatewayListeners {
            name: name.into(),
            port,
            protocol: protocol.into(),
            ..Default::default()
        };
        gateway.spec.listeners = vec![listener("http", 80, "HTTP"), listener("dns", 53, "UDP")];
        let tcp = |port| ServedPort { port, udp: false };
        let objects = manifests(
            &gateway,
            &BTreeSet::from([tcp(80), tcp(8443), tcp(53)]),
            &PorticoProxySpec::default(),
            &settings(),
        );
        let service_ports: Vec<(i32, String, String)> = objects
            .service
            .spec
            .and_then(|s| s.ports)
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p.port,
                    p.protocol.unwrap_or_default(),
                    p.name.unwrap_or_default(),
                )
            })
            .collect();
        let port = |number, protocol: &str, name: &str| (number, protocol.into(), name.into());
        assert_eq!(
            service_ports,
            [
                port(53, "TCP", "port-53"),
                port(53, "UDP", "udp-53"),
                port(80, "TCP", "port-80"),
                port(8443, "TCP", "port-8443"),
            ],
            "a UDP listener's port is a UDP port of the Service, apart from TCP 53"
        );
        let pod_ports: Vec<i32> = objects
            .deployment
            .spec
            .and_then(|s| s.template.spec)
            .map(|s| s.containers[0].ports.clone().unwrap_or_default())
            .into_iter()
            .flatten()
            .filter(|p| p.name.as_deref() != Some("admin"))
            .map(|p| p.container_port)
            .collect();
        assert_eq!(
            pod_ports,
            [53, 80],
            "a ListenerSet coming or going restarts no pod"
        );
    }

    #[test]
    fn the_admin_port_avoids_the_gateways_listener_ports() {
        let mut gateway = Gateway::default();
        gateway.metadata.name = Some("gw".into());
        gateway.metadata.namespace = Some("default".into());
        gateway.spec.listeners = vec![gateway_api::gateways::GatewayListeners {
            name: "clash".into(),
            port: 9902,
            protocol: "HTTP".into(),
            ..Default::default()
        }];
        let deployment = manifests(
            &gateway,
            &BTreeSet::new(),
            &PorticoProxySpec::default(),
            &settings(),
        )
        .deployment;
        let container = deployment
            .spec
            .and_then(|s| s.template.spec)
            .map(|s| s.containers[0].clone())
            .unwrap_or_default();
        assert!(
            container
                .args
                .unwrap_or_default()
                .contains(&"0.0.0.0:19902".to_string())
        );
        let ports: Vec<i32> = container
            .ports
            .unwrap_or_default()
            .iter()
            .map(|p| p.container_port)
            .collect();
        assert_eq!(
            ports,
            [9902, 19902],
            "one port per listener plus the admin port, no duplicate"
        );
    }
}
