//! The provisioner: for every accepted Gateway, a ServiceAccount, a data-plane Deployment and a
//! Service in the Gateway's namespace, applied with server-side apply and owned by the Gateway
//! (so Kubernetes garbage-collects them when it goes). Settings come from a `PorticoProxy`.
//!
//! The manifests depend only on the Gateway's listeners and its parameters, never on routes, so
//! route changes never restart proxies; they are deterministic, so a controller restart
//! re-applies identical objects and restarts nothing either.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gateway_api::gateways::{Gateway, GatewayStatusAddresses};
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction,
    ObjectFieldSelector, PodSpec, PodTemplateSpec, Probe, ProjectedVolumeSource, Secret,
    SecretVolumeSource, SecurityContext, Service, ServiceAccount, ServiceAccountTokenProjection,
    ServicePort, ServiceSpec, Volume, VolumeMount, VolumeProjection,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::reflector::ObjectRef as StoreRef;
use kube::{Api, Client, Resource, ResourceExt};
use portico_snapshot::ObjectRef;
use serde::Serialize;

use std::sync::Arc;

use super::parameters::{PorticoProxy, PorticoProxySpec};
use super::pki::Authority;
use super::status_writer::FIELD_MANAGER;
use super::stores::Stores;
use portico_translate::parameters;

/// Where the client certificate is mounted in data-plane pods.
const TLS_DIR: &str = "/var/run/secrets/portico-tls";
/// Where the projected controller token is mounted in data-plane pods.
const TOKEN_DIR: &str = "/var/run/secrets/portico";
/// Ports the data plane's admin endpoint may use inside its pod: the first one no listener
/// of the Gateway uses.
const ADMIN_PORTS: [i32; 3] = [9902, 19902, 29902];
const NAME_LABEL: &str = "app.kubernetes.io/name";
const DATAPLANE_NAME: &str = "portico-dataplane";
const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
const MANAGED_BY: &str = "portico";
const GATEWAY_LABEL: &str = "gateway.portico.dev/gateway";

/// Where provisioned data planes find the controller, and what they run.
#[derive(Clone)]
pub struct Settings {
    /// gRPC URL of the controller's snapshot service, as seen from the data-plane pods.
    pub controller_url: String,
    /// Data-plane image when the parameters name none.
    pub image: String,
    /// Audience of the projected token data planes authenticate with.
    pub token_audience: String,
    /// When set, each Gateway gets a client certificate from this CA (mutual TLS).
    pub authority: Option<Arc<Authority>>,
}

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
}

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
        }
    }

    /// Make sure every Gateway in `accepted` has its objects, and that Gateways no longer
    /// accepted (their class changed, say) have none. A deleted Gateway's objects are removed by
    /// Kubernetes through their owner reference.
    pub async fn reconcile(&mut self, accepted: &[ObjectRef], stores: &Stores) {
        if self.since.elapsed() > REAPPLY_EVERY {
            self.applied.clear();
            self.since = std::time::Instant::now();
            self.swept = false;
        }
        let still: BTreeSet<ObjectRef> = accepted.iter().cloned().collect();
        // Without both kinds' watches, "not accepted" could mean "not known": never sweep then.
        if !self.swept && stores.gateways.is_some() && stores.gateway_classes.is_some() {
            self.swept = self.remove_orphans(&still).await;
        }
        for gone in self
            .provisioned
            .difference(&still)
            .cloned()
            .collect::<Vec<_>>()
        {
            self.remove(&gone).await;
            self.provisioned.remove(&gone);
        }
        for key in accepted {
            self.provisioned.insert(key.clone());
            let Some(gateway) = stores
                .gateways
                .as_ref()
                .and_then(|s| s.get(&StoreRef::new(&key.name).within(&key.namespace)))
            else {
                continue;
            };
            if let Some(authority) = self.settings.authority.clone() {
                self.ensure_client_certificate(&gateway, &authority).await;
            }
            let parameters = parameters(&gateway, stores);
            let objects = manifests(&gateway, &parameters, &self.settings);
            let namespace = key.namespace.clone();
            self.apply(
                Api::<ServiceAccount>::namespaced(self.client.clone(), &namespace),
                objects.0,
            )
            .await;
            self.apply(
                Api::<Deployment>::namespaced(self.client.clone(), &namespace),
                objects.1,
            )
            .await;
            self.apply(
                Api::<Service>::namespaced(self.client.clone(), &namespace),
                objects.2,
            )
            .await;
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
                return;
            }
        }
        let subject = format!("{namespace}/{}", gateway.name_any());
        let issued = match authority.issue_client(&subject) {
            Ok(issued) => issued,
            Err(error) => {
                tracing::error!(secret = %key, %error, "cannot issue a client certificate");
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
                tracing::warn!(secret = %key, %error, "cannot store the client certificate")
            }
        }
    }

    /// Delete objects this controller provisioned for Gateways that are not accepted now,
    /// found by label: those left behind while no controller ran (the Gateway changed class,
    /// say), which `provisioned` cannot know about. True when the search succeeded.
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
                    return false;
                }
            }
        }
        for (namespace, name) in orphans {
            tracing::info!(
                namespace,
                name,
                "removing a data plane whose Gateway is not accepted"
            );
            self.remove_objects(&namespace, &name).await;
        }
        true
    }

    /// Delete what was provisioned for a Gateway that is no longer accepted.
    async fn remove(&mut self, gateway: &ObjectRef) {
        self.remove_objects(&gateway.namespace, &object_name(&gateway.name))
            .await;
        tracing::info!(gateway = %gateway, "Gateway no longer accepted; its data plane is removed");
    }

    /// Delete the Deployment, Service and ServiceAccount called `name`.
    async fn remove_objects(&mut self, namespace: &str, name: &str) {
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
        for error in results.into_iter().flatten() {
            if !matches!(&error, kube::Error::Api(s) if s.code == 404) {
                tracing::warn!(namespace, name, %error, "cannot remove provisioned objects");
            }
        }
        self.applied
            .retain(|key, _| !key.ends_with(&format!("/{namespace}/{name}")));
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
                tracing::warn!(object = %key, %error, "cannot provision; will retry on the next change")
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

/// Name of the Secret holding a Gateway's client certificate.
pub fn tls_secret_name(gateway: &str) -> String {
    format!("{}-tls", object_name(gateway))
}

/// Name of every object provisioned for `gateway`: `portico-<gateway>` when that is a valid
/// DNS label (at most 63 characters, no dots), else a shortened, dot-free prefix plus a hash of
/// the full name, so two Gateways never share objects.
pub fn object_name(gateway: &str) -> String {
    let plain = format!("portico-{gateway}");
    if plain.len() <= 63 && !plain.contains('.') {
        return plain;
    }
    let hash = gateway.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let prefix: String = plain.replace('.', "-").chars().take(46).collect();
    format!("{}-{hash:016x}", prefix.trim_end_matches('-'))
}

/// The Gateway's parameters: its own `infrastructure.parametersRef`, else its class's.
fn parameters(gateway: &Gateway, stores: &Stores) -> PorticoProxySpec {
    let Some(proxies) = stores.proxies.as_ref() else {
        return PorticoProxySpec::default();
    };
    let namespace = gateway.namespace().unwrap_or_default();
    let own = gateway
        .spec
        .infrastructure
        .as_ref()
        .and_then(|i| i.parameters_ref.as_ref())
        .filter(|r| r.group == parameters::GROUP && r.kind == parameters::KIND)
        .map(|r| StoreRef::<PorticoProxy>::new(&r.name).within(&namespace));
    let class = stores
        .gateway_classes
        .as_ref()
        .and_then(|s| s.get(&StoreRef::new(&gateway.spec.gateway_class_name)))
        .and_then(|c| c.spec.parameters_ref.clone())
        .filter(|r| r.group == parameters::GROUP && r.kind == parameters::KIND)
        .map(|r| {
            StoreRef::<PorticoProxy>::new(&r.name)
                .within(r.namespace.as_deref().unwrap_or("default"))
        });
    own.into_iter()
        .chain(class)
        .find_map(|r| proxies.get(&r))
        .map(|p| p.spec.clone())
        .unwrap_or_default()
}

/// The ServiceAccount, Deployment and Service of `gateway`.
fn manifests(
    gateway: &Gateway,
    parameters: &PorticoProxySpec,
    settings: &Settings,
) -> (ServiceAccount, Deployment, Service) {
    let name = object_name(&gateway.name_any());
    let namespace = gateway.namespace().unwrap_or_default();
    // Label values are at most 63 characters: the object name stands for the Gateway.
    let labels = BTreeMap::from([
        (NAME_LABEL.to_string(), DATAPLANE_NAME.to_string()),
        (MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string()),
        (GATEWAY_LABEL.to_string(), name.clone()),
    ]);
    let owner = gateway
        .controller_owner_ref(&())
        .map(|mut o: OwnerReference| {
            o.block_owner_deletion = Some(true);
            o
        });
    let metadata = |annotations: Option<BTreeMap<String, String>>| ObjectMeta {
        name: Some(name.clone()),
        namespace: Some(namespace.clone()),
        labels: Some(labels.clone()),
        annotations,
        owner_references: owner.clone().map(|o| vec![o]),
        ..ObjectMeta::default()
    };
    let ports: BTreeSet<i32> = gateway.spec.listeners.iter().map(|l| l.port).collect();
    let admin_port = ADMIN_PORTS
        .into_iter()
        .find(|p| !ports.contains(p))
        .unwrap_or(ADMIN_PORTS[0]);

    let account = ServiceAccount {
        metadata: metadata(None),
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
        args: Some(
            vec![
                "--controller".to_string(),
                settings.controller_url.clone(),
                "--gateway".to_string(),
                format!("{namespace}/{}", gateway.name_any()),
                "--admin-address".to_string(),
                format!("0.0.0.0:{admin_port}"),
                "--token-file".to_string(),
                format!("{TOKEN_DIR}/token"),
            ]
            .into_iter()
            .chain(settings.authority.iter().flat_map(|_| {
                [
                    "--tls-ca-file".to_string(),
                    format!("{TLS_DIR}/ca.crt"),
                    "--tls-cert-file".to_string(),
                    format!("{TLS_DIR}/tls.crt"),
                    "--tls-key-file".to_string(),
                    format!("{TLS_DIR}/tls.key"),
                ]
            }))
            .collect(),
        ),
        volume_mounts: Some(
            [VolumeMount {
                name: "controller-token".to_string(),
                mount_path: TOKEN_DIR.to_string(),
                read_only: Some(true),
                ..VolumeMount::default()
            }]
            .into_iter()
            .chain(settings.authority.iter().map(|_| VolumeMount {
                name: "controller-tls".to_string(),
                mount_path: TLS_DIR.to_string(),
                read_only: Some(true),
                ..VolumeMount::default()
            }))
            .collect(),
        ),
        env: Some(vec![
            from_field("PORTICO_INSTANCE", "metadata.name"),
            env(
                "RUST_LOG",
                parameters.log_level.as_deref().unwrap_or("info"),
            ),
        ]),
        ports: Some(
            ports
                .iter()
                .map(|p| ContainerPort {
                    container_port: *p,
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
        metadata: metadata(None),
        spec: Some(DeploymentSpec {
            replicas: Some(parameters.replicas.unwrap_or(1)),
            selector: LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(name.clone()),
                    automount_service_account_token: Some(false),
                    containers: vec![container],
                    // Only a token for the controller's audience: it proves which Gateway this
                    // pod belongs to and grants no Kubernetes API access.
                    volumes: Some(
                        [Volume {
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
                        }]
                        .into_iter()
                        .chain(settings.authority.iter().map(|_| Volume {
                            name: "controller-tls".to_string(),
                            secret: Some(SecretVolumeSource {
                                secret_name: Some(tls_secret_name(&gateway.name_any())),
                                ..SecretVolumeSource::default()
                            }),
                            ..Volume::default()
                        }))
                        .collect(),
                    ),
                    node_selector: parameters.node_selector.clone(),
                    tolerations: parameters.tolerations.clone(),
                    // Pingora's grace period (5 s) plus time for in-flight requests (10 s).
                    termination_grace_period_seconds: Some(20),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    };
    let service_settings = parameters.service.clone().unwrap_or_default();
    let service = Service {
        metadata: metadata(service_settings.annotations.clone()),
        spec: Some(ServiceSpec {
            type_: Some(
                service_settings
                    .type_
                    .unwrap_or_else(|| "LoadBalancer".to_string()),
            ),
            selector: Some(labels.clone()),
            ports: Some(
                ports
                    .iter()
                    .map(|p| ServicePort {
                        name: Some(format!("port-{p}")),
                        port: *p,
                        target_port: Some(IntOrString::Int(*p)),
                        protocol: Some("TCP".to_string()),
                        ..ServicePort::default()
                    })
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    };
    (account, deployment, service)
}

/// What a provisioned Gateway's `status.addresses` should say: the Service's load-balancer
/// addresses, else the addresses its parameters give, else the Service's cluster IP.
pub fn addresses(gateway: &ObjectRef, stores: &Stores) -> Option<Vec<GatewayStatusAddresses>> {
    let service = stores
        .services
        .as_ref()?
        .get(&StoreRef::new(&object_name(&gateway.name)).within(&gateway.namespace))?;
    let address = |value: String| {
        let kind = if value.parse::<std::net::IpAddr>().is_ok() {
            "IPAddress"
        } else {
            "Hostname"
        };
        GatewayStatusAddresses {
            r#type: Some(kind.to_string()),
            value,
        }
    };
    let balanced: Vec<_> = service
        .status
        .iter()
        .flat_map(|s| s.load_balancer.iter())
        .flat_map(|lb| lb.ingress.iter().flatten())
        .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
        .map(address)
        .collect();
    if !balanced.is_empty() {
        return Some(balanced);
    }
    let gateway_object = stores
        .gateways
        .as_ref()?
        .get(&StoreRef::new(&gateway.name).within(&gateway.namespace))?;
    let configured: Vec<_> = parameters(&gateway_object, stores)
        .service
        .and_then(|s| s.addresses)
        .unwrap_or_default()
        .into_iter()
        .map(address)
        .collect();
    if !configured.is_empty() {
        return Some(configured);
    }
    let cluster_ip = service.spec.as_ref()?.cluster_ip.clone()?;
    Some(vec![address(cluster_ip)])
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let settings = Settings {
            controller_url: "http://controller:18000".into(),
            image: "image".into(),
            token_audience: "portico-controller".into(),
            authority: None,
        };
        let (_, deployment, _) = manifests(&gateway, &PorticoProxySpec::default(), &settings);
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

    #[test]
    fn short_names_read_plainly() {
        assert_eq!(object_name("gw"), "portico-gw");
    }

    #[test]
    fn long_or_dotted_names_stay_valid_and_distinct() {
        let long = "a".repeat(60);
        let a = object_name(&format!("{long}-one"));
        let b = object_name(&format!("{long}-two"));
        assert_ne!(
            a, b,
            "Gateways sharing a long prefix must not share objects"
        );
        for name in [&a, &b, &object_name("with.dots.in.it")] {
            assert!(
                name.len() <= 63 && !name.contains('.'),
                "{name} is not a DNS label"
            );
        }
    }
}
