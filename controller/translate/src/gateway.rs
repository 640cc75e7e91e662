//! GatewayClasses and Gateways: which are ours, which listeners are valid, and the Gateway's
//! snapshot and status once routes are attached.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;

use gateway_api::gatewayclasses::{GatewayClassStatus, GatewayClassStatusSupportedFeatures};
use gateway_api::gateways::{
    Gateway, GatewayListeners, GatewayListenersAllowedRoutesNamespacesFrom as From,
    GatewayListenersTlsMode, GatewayStatus, GatewayStatusAddresses, GatewayStatusListeners,
    GatewayStatusListenersSupportedKinds,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use portico_snapshot::{Certificate, Cluster, GatewayConfig, Listener, ObjectRef, Protocol};

use crate::conditions::{Problem, condition, outcome, reasons, types};
use crate::output::{GatewaySnapshot, ObjectStatus, Statuses};
use crate::resources::{Index, Resources, namespace_of};
use crate::route::Attachments;
use crate::{Options, hash, parameters, tls};

/// API group of Gateway API kinds.
pub const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// Features Portico reports in `GatewayClass.status.supportedFeatures` (sorted).
pub const SUPPORTED_FEATURES: &[&str] = &["Gateway", "HTTPRoute", "ReferenceGrant"];

/// Accept every GatewayClass naming our controller; return their names.
pub(crate) fn accept_classes(
    resources: &Resources,
    options: &Options,
    statuses: &mut Statuses,
) -> HashSet<String> {
    let mut ours: Vec<_> = resources
        .gateway_classes
        .iter()
        .filter(|c| c.spec.controller_name == options.controller_name)
        .collect();
    ours.sort_by_key(|c| c.name_any());
    let mut accepted_names = Vec::new();
    for class in &ours {
        let parameters = class.spec.parameters_ref.as_ref().map_or(Ok(()), |p| {
            let namespace = p.namespace.as_deref().unwrap_or_default();
            parameters::check(resources, &p.group, &p.kind, namespace, &p.name)
        });
        let accepted = match &parameters {
            Ok(()) => {
                accepted_names.push(class.name_any());
                condition(
                    types::ACCEPTED,
                    true,
                    reasons::ACCEPTED,
                    "Handled by Portico",
                    class.metadata.generation,
                )
            }
            Err(problem) => condition(
                types::ACCEPTED,
                false,
                problem.reason,
                &problem.message,
                class.metadata.generation,
            ),
        };
        statuses.gateway_classes.push(ObjectStatus {
            object: ObjectRef {
                namespace: String::new(),
                name: class.name_any(),
            },
            status: GatewayClassStatus {
                conditions: Some(vec![accepted]),
                supported_features: Some(
                    SUPPORTED_FEATURES
                        .iter()
                        .map(|f| GatewayClassStatusSupportedFeatures {
                            name: f.to_string(),
                        })
                        .collect(),
                ),
            },
        });
    }
    accepted_names.into_iter().collect()
}

/// A Gateway of one of our classes, with its listeners checked.
pub(crate) struct GatewayState<'a> {
    pub key: ObjectRef,
    created: Option<k8s_openapi::jiff::Timestamp>,
    generation: Option<i64>,
    /// The address listeners bind to, or why the Gateway is not accepted.
    address: Result<String, Problem>,
    pub listeners: Vec<ListenerState<'a>>,
}

/// One listener of a Gateway and what we found about it.
pub(crate) struct ListenerState<'a> {
    pub spec: &'a GatewayListeners,
    pub key: String,
    protocol: Result<Protocol, Problem>,
    port: u16,
    conflict: Option<Problem>,
    /// Route kinds this listener accepts (only HTTPRoute is supported).
    allows_http_routes: bool,
    supported_kinds: Vec<GatewayStatusListenersSupportedKinds>,
    resolved: Option<Problem>,
    certificates: Vec<Certificate>,
}

impl ListenerState<'_> {
    /// Routes may attach: the listener is accepted, not conflicted, and takes HTTPRoutes.
    pub fn accepts_routes(&self) -> bool {
        self.protocol.is_ok() && self.conflict.is_none() && self.allows_http_routes
    }

    /// The listener goes into the snapshot.
    fn programmable(&self) -> bool {
        self.accepts_routes()
            && match self.protocol {
                Ok(Protocol::Https) => !self.certificates.is_empty(),
                _ => true,
            }
    }

    /// Does the listener allow routes from `namespace`?
    pub fn allows_namespace(&self, index: &Index<'_>, gateway_ns: &str, namespace: &str) -> bool {
        let namespaces = self
            .spec
            .allowed_routes
            .as_ref()
            .and_then(|a| a.namespaces.as_ref());
        match namespaces
            .and_then(|n| n.from.as_ref())
            .unwrap_or(&From::Same)
        {
            From::All => true,
            From::Same => namespace == gateway_ns,
            From::Selector => {
                let Some(selector) = namespaces.and_then(|n| n.selector.as_ref()) else {
                    return false;
                };
                let empty = BTreeMap::new();
                let labels = index.namespace_labels(namespace).unwrap_or(&empty);
                let labels_ok = selector
                    .match_labels
                    .iter()
                    .flatten()
                    .all(|(k, v)| labels.get(k) == Some(v));
                let expressions_ok = selector.match_expressions.iter().flatten().all(|e| {
                    let values = e.values.as_deref().unwrap_or(&[]);
                    let value = labels.get(&e.key);
                    match e.operator.as_str() {
                        "In" => value.is_some_and(|v| values.contains(v)),
                        "NotIn" => value.is_none_or(|v| !values.contains(v)),
                        "Exists" => value.is_some(),
                        "DoesNotExist" => value.is_none(),
                        _ => false,
                    }
                });
                labels_ok && expressions_ok
            }
        }
    }
}

/// Every Gateway whose class is one of `classes`, sorted by namespace and name.
pub(crate) fn accept_gateways<'a>(
    index: &Index<'a>,
    classes: &HashSet<String>,
    options: &Options,
) -> Vec<GatewayState<'a>> {
    let mut gateways: Vec<_> = index
        .resources
        .gateways
        .iter()
        .filter(|g| classes.contains(&g.spec.gateway_class_name))
        .map(|gateway| {
            let namespace = namespace_of(gateway);
            let mut listeners: Vec<_> = gateway
                .spec
                .listeners
                .iter()
                .map(|l| check_listener(index, &namespace, &gateway.name_any(), l))
                .collect();
            mark_conflicts(&mut listeners);
            let address = gateway_parameters(index.resources, gateway, &namespace)
                .and_then(|()| bind_address(gateway, options));
            GatewayState {
                created: gateway.metadata.creation_timestamp.as_ref().map(|t| t.0),
                key: ObjectRef {
                    namespace,
                    name: gateway.name_any(),
                },
                generation: gateway.metadata.generation,
                address,
                listeners,
            }
        })
        .collect();
    gateways.sort_by(|a, b| a.key.cmp(&b.key));
    if options.shared_dataplanes {
        mark_cross_gateway_conflicts(&mut gateways);
    }
    gateways
}

/// Gateways binding the same address and port share one socket (when they share data planes). The oldest Gateway (then by
/// namespace and name) keeps it; a later Gateway's listener conflicts when it wants another
/// protocol there, or a hostname an earlier Gateway already serves on it.
fn mark_cross_gateway_conflicts(gateways: &mut [GatewayState<'_>]) {
    let mut order: Vec<usize> = (0..gateways.len()).collect();
    order.sort_by(|&a, &b| {
        (gateways[a].created, &gateways[a].key).cmp(&(gateways[b].created, &gateways[b].key))
    });
    let mut owners: HashMap<(String, u16), Socket> = HashMap::new();
    for index in order {
        let gateway = &mut gateways[index];
        let Ok(address) = gateway.address.clone() else {
            continue;
        };
        let mut claims = Vec::new();
        for listener in &mut gateway.listeners {
            let Ok(protocol) = listener.protocol.clone() else {
                continue;
            };
            if listener.conflict.is_some() {
                continue;
            }
            let socket = (address.clone(), listener.port);
            let hostname = listener.spec.hostname.clone();
            let owner = owners.get(&socket);
            let protocol_owner = owner.filter(|o| o.protocol != protocol).map(|o| &o.first);
            let hostname_owner = owner
                .and_then(|o| o.hostnames.get(&hostname))
                .filter(|g| **g != gateway.key);
            if let Some(other) = protocol_owner {
                listener.conflict = Some(Problem::new(
                    reasons::PROTOCOL_CONFLICT,
                    format!(
                        "port {} is used with another protocol by Gateway {other}",
                        listener.port
                    ),
                ));
            } else if let Some(other) = hostname_owner {
                listener.conflict = Some(Problem::new(
                    reasons::HOSTNAME_CONFLICT,
                    format!(
                        "Gateway {other} already serves this hostname on port {}",
                        listener.port
                    ),
                ));
            } else {
                claims.push((socket, protocol, hostname));
            }
        }
        for (socket, protocol, hostname) in claims {
            owners
                .entry(socket)
                .or_insert_with(|| Socket {
                    first: gateway.key.clone(),
                    protocol,
                    hostnames: HashMap::new(),
                })
                .hostnames
                .entry(hostname)
                .or_insert_with(|| gateway.key.clone());
        }
    }
}

/// Who first claimed a socket (and so its protocol), and which Gateway serves each hostname.
struct Socket {
    first: ObjectRef,
    protocol: Protocol,
    hostnames: HashMap<Option<String>, ObjectRef>,
}

/// A Gateway's own `infrastructure.parametersRef`, if any, must name a PorticoProxy of its
/// namespace.
fn gateway_parameters(
    resources: &Resources,
    gateway: &Gateway,
    namespace: &str,
) -> Result<(), Problem> {
    let reference = gateway
        .spec
        .infrastructure
        .as_ref()
        .and_then(|i| i.parameters_ref.as_ref());
    reference.map_or(Ok(()), |p| {
        parameters::check(resources, &p.group, &p.kind, namespace, &p.name)
    })
}

fn bind_address(gateway: &Gateway, options: &Options) -> Result<String, Problem> {
    let addresses = gateway.spec.addresses.as_deref().unwrap_or(&[]);
    let [address] = addresses else {
        return if addresses.is_empty() {
            Ok(options.default_address.clone())
        } else {
            Err(Problem::new(
                reasons::UNSUPPORTED_ADDRESS,
                "Portico binds a Gateway to at most one address",
            ))
        };
    };
    let kind = address.r#type.as_deref().unwrap_or("IPAddress");
    if kind != "IPAddress" {
        return Err(Problem::new(
            reasons::UNSUPPORTED_ADDRESS,
            format!("address type {kind} is not supported; use IPAddress"),
        ));
    }
    let value = address.value.as_deref().unwrap_or_default();
    value
        .parse::<IpAddr>()
        .map(|_| value.to_string())
        .map_err(|_| {
            Problem::new(
                reasons::UNSUPPORTED_ADDRESS,
                format!("{value:?} is not an IP address"),
            )
        })
}

fn check_listener<'a>(
    index: &Index<'_>,
    namespace: &str,
    gateway: &str,
    spec: &'a GatewayListeners,
) -> ListenerState<'a> {
    let protocol = match spec.protocol.as_str() {
        "HTTP" => Ok(Protocol::Http),
        "HTTPS" => Ok(Protocol::Https),
        other => Err(Problem::new(
            reasons::UNSUPPORTED_PROTOCOL,
            format!("protocol {other} is not supported; use HTTP or HTTPS"),
        )),
    };
    let port = u16::try_from(spec.port).ok().filter(|p| *p != 0);
    let protocol = match port {
        Some(_) => protocol,
        None => Err(Problem::new(
            reasons::PORT_UNAVAILABLE,
            format!("port {} is out of range", spec.port),
        )),
    };
    let mut resolved = None;
    let (allows_http_routes, supported_kinds) = match &protocol {
        Ok(_) => route_kinds(spec, &mut resolved),
        Err(_) => (false, Vec::new()),
    };
    let mut certificates = Vec::new();
    if protocol == Ok(Protocol::Https) {
        let tls = spec.tls.as_ref();
        if tls.and_then(|t| t.mode.as_ref()) == Some(&GatewayListenersTlsMode::Passthrough) {
            resolved.get_or_insert(Problem::new(
                reasons::INVALID_CERTIFICATE_REF,
                "TLS mode Passthrough is not supported on an HTTPS listener",
            ));
        } else {
            let refs = tls
                .and_then(|t| t.certificate_refs.as_deref())
                .unwrap_or(&[]);
            let (certs, problem) = tls::resolve_certificates(index, namespace, refs);
            certificates = certs;
            if let Some(problem) = problem {
                resolved.get_or_insert(problem);
            }
        }
    }
    ListenerState {
        spec,
        key: format!("{namespace}/{gateway}/{}", spec.name),
        protocol,
        port: port.unwrap_or_default(),
        conflict: None,
        allows_http_routes,
        supported_kinds,
        resolved,
        certificates,
    }
}

/// Which of the listener's `allowedRoutes.kinds` we support. Only HTTPRoute is.
fn route_kinds(
    spec: &GatewayListeners,
    resolved: &mut Option<Problem>,
) -> (bool, Vec<GatewayStatusListenersSupportedKinds>) {
    let http_route = || GatewayStatusListenersSupportedKinds {
        group: Some(GATEWAY_GROUP.to_string()),
        kind: "HTTPRoute".to_string(),
    };
    let Some(kinds) = spec.allowed_routes.as_ref().and_then(|a| a.kinds.as_ref()) else {
        return (true, vec![http_route()]);
    };
    let mut allows = false;
    for kind in kinds {
        let group = kind.group.as_deref().unwrap_or(GATEWAY_GROUP);
        if group == GATEWAY_GROUP && kind.kind == "HTTPRoute" {
            allows = true;
        } else {
            resolved.get_or_insert(Problem::new(
                reasons::INVALID_ROUTE_KINDS,
                format!(
                    "route kind {group}/{} is not supported on this listener",
                    kind.kind
                ),
            ));
        }
    }
    let supported = if allows {
        vec![http_route()]
    } else {
        Vec::new()
    };
    (allows, supported)
}

/// Listeners on one port must share a protocol, and hostnames must be distinct per port.
fn mark_conflicts(listeners: &mut [ListenerState<'_>]) {
    let mut by_port: HashMap<u16, Vec<usize>> = HashMap::new();
    for (i, l) in listeners.iter().enumerate() {
        if l.protocol.is_ok() {
            by_port.entry(l.port).or_default().push(i);
        }
    }
    for indices in by_port.values() {
        let protocols: HashSet<_> = indices
            .iter()
            .map(|&i| listeners[i].protocol.clone().ok())
            .collect();
        if protocols.len() > 1 {
            for &i in indices {
                listeners[i].conflict = Some(Problem::new(
                    reasons::PROTOCOL_CONFLICT,
                    format!(
                        "port {} is used by listeners of different protocols",
                        listeners[i].port
                    ),
                ));
            }
            continue;
        }
        let mut by_host: HashMap<Option<&str>, Vec<usize>> = HashMap::new();
        for &i in indices {
            by_host
                .entry(listeners[i].spec.hostname.as_deref())
                .or_default()
                .push(i);
        }
        for same in by_host.values().filter(|v| v.len() > 1) {
            for &i in same {
                listeners[i].conflict = Some(Problem::new(
                    reasons::HOSTNAME_CONFLICT,
                    format!(
                        "another listener on port {} has the same hostname",
                        listeners[i].port
                    ),
                ));
            }
        }
    }
}

impl GatewayState<'_> {
    /// Build the Gateway's snapshot (if accepted) and its status.
    pub(crate) fn finish(
        self,
        attachments: &Attachments,
    ) -> (Option<GatewaySnapshot>, ObjectStatus<GatewayStatus>) {
        let generation = self.generation;
        let listener_statuses: Vec<_> = self
            .listeners
            .iter()
            .map(|l| listener_status(l, attachments, generation))
            .collect();
        let (snapshot, conditions, addresses) = match &self.address {
            Err(problem) => {
                let programmed = if problem.reason == reasons::INVALID_PARAMETERS {
                    condition(
                        types::PROGRAMMED,
                        false,
                        reasons::INVALID,
                        "the Gateway's parameters are not valid",
                        generation,
                    )
                } else {
                    condition(
                        types::PROGRAMMED,
                        false,
                        reasons::ADDRESS_NOT_ASSIGNED,
                        "the Gateway has no usable address",
                        generation,
                    )
                };
                let accepted = condition(
                    types::ACCEPTED,
                    false,
                    problem.reason,
                    &problem.message,
                    generation,
                );
                let conditions = vec![accepted, programmed];
                (None, conditions, None)
            }
            Ok(address) => {
                let snapshot = self.snapshot(address, attachments);
                let invalid = self.listeners.iter().filter(|l| !l.programmable()).count();
                let accepted = if invalid == 0 {
                    condition(
                        types::ACCEPTED,
                        true,
                        reasons::ACCEPTED,
                        "Accepted by Portico",
                        generation,
                    )
                } else {
                    let all = invalid == self.listeners.len();
                    condition(
                        types::ACCEPTED,
                        !all,
                        reasons::LISTENERS_NOT_VALID,
                        format!(
                            "{invalid} of {} listeners are not valid",
                            self.listeners.len()
                        ),
                        generation,
                    )
                };
                let programmed = if invalid > 0 && invalid == self.listeners.len() {
                    condition(
                        types::PROGRAMMED,
                        false,
                        reasons::INVALID,
                        "the Gateway has no valid listener",
                        generation,
                    )
                } else {
                    condition(
                        types::PROGRAMMED,
                        false,
                        reasons::PENDING,
                        "waiting for a data plane to apply the configuration",
                        generation,
                    )
                };
                let addresses = vec![GatewayStatusAddresses {
                    r#type: Some("IPAddress".to_string()),
                    value: address.clone(),
                }];
                (Some(snapshot), vec![accepted, programmed], Some(addresses))
            }
        };
        let status = GatewayStatus {
            addresses,
            attached_listener_sets: None,
            conditions: Some(conditions),
            listeners: Some(listener_statuses),
        };
        (
            snapshot,
            ObjectStatus {
                object: self.key,
                status,
            },
        )
    }

    fn snapshot(&self, address: &str, attachments: &Attachments) -> GatewaySnapshot {
        let mut clusters: BTreeMap<String, Cluster> = BTreeMap::new();
        let listeners = self
            .listeners
            .iter()
            .filter(|l| l.programmable())
            .map(|l| {
                let mut routes = attachments.routes_for(&l.key);
                routes.sort_by(|a, b| a.order.cmp(&b.order));
                for route in &routes {
                    for cluster in &route.compiled.clusters {
                        clusters
                            .entry(cluster.name.clone())
                            .or_insert_with(|| cluster.clone());
                    }
                }
                let mut listener = Listener {
                    key: l.key.clone(),
                    version: 0,
                    address: address.to_string(),
                    port: l.port,
                    protocol: l.protocol.clone().unwrap_or_default(),
                    hostname: l.spec.hostname.clone(),
                    certificates: l.certificates.clone(),
                    routes: routes.into_iter().map(|r| r.route()).collect(),
                };
                listener.version = hash::content_version(&(&listener, &listener.certificates));
                listener
            })
            .collect();
        GatewaySnapshot {
            config: GatewayConfig {
                gateway: self.key.clone(),
                generation: self.generation.unwrap_or_default(),
                listeners,
            },
            clusters: clusters.into_values().collect(),
        }
    }
}

fn listener_status(
    l: &ListenerState<'_>,
    attachments: &Attachments,
    generation: Option<i64>,
) -> GatewayStatusListeners {
    let accepted = outcome(
        types::ACCEPTED,
        l.protocol.as_ref().err(),
        reasons::ACCEPTED,
        "Listener accepted",
        generation,
    );
    let resolved = outcome(
        types::RESOLVED_REFS,
        l.resolved.as_ref(),
        reasons::RESOLVED_REFS,
        "All references resolved",
        generation,
    );
    let conflicted = match &l.conflict {
        None => condition(
            types::CONFLICTED,
            false,
            reasons::NO_CONFLICTS,
            "No conflicts",
            generation,
        ),
        Some(p) => condition(types::CONFLICTED, true, p.reason, &p.message, generation),
    };
    let programmed = if l.programmable() {
        condition(
            types::PROGRAMMED,
            false,
            reasons::PENDING,
            "waiting for a data plane to apply the configuration",
            generation,
        )
    } else {
        condition(
            types::PROGRAMMED,
            false,
            reasons::INVALID,
            "the listener is not valid",
            generation,
        )
    };
    let conditions: Vec<Condition> = vec![accepted, conflicted, programmed, resolved];
    GatewayStatusListeners {
        attached_routes: attachments.count_for(&l.key),
        conditions,
        name: l.spec.name.clone(),
        supported_kinds: Some(l.supported_kinds.clone()),
    }
}
