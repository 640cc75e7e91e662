//! One Gateway's listeners: protocol, port, route kinds, certificates, conflicts between
//! listeners of the same Gateway, and which namespaces may attach routes.

use std::collections::{BTreeMap, HashMap, HashSet};

use gateway_api::gateways::{
    GatewayListeners, GatewayListenersAllowedRoutesNamespacesFrom as From, GatewayListenersTlsMode,
    GatewayStatusListenersSupportedKinds, GatewayTlsFrontend,
};
use portico_snapshot::{
    Certificate, ClientValidation, ListenerKey, ListenerProtocol, ObjectRef, Protocol,
    TlsTermination,
};

use crate::conditions::{Problem, reasons};
use crate::frontend_tls;
use crate::names::{GATEWAY_GROUP, RouteKind, listener_key};
use crate::resources::Index;
use crate::tls;

/// One listener of a Gateway and what we found about it.
pub(crate) struct ListenerState<'a> {
    /// The listener as written.
    pub spec: &'a GatewayListeners,
    /// `namespace/gateway/listener`.
    pub key: ListenerKey,
    /// The protocol, or why it cannot be served.
    pub protocol: Result<Protocol, Problem>,
    /// The port (0 when out of range, in which case `protocol` is an error).
    pub port: u16,
    /// Why the listener clashes with another one, if it does.
    pub conflict: Option<Problem>,
    /// Route kinds that may attach, as the status reports them.
    pub kinds: Vec<RouteKind>,
    /// The first reference (certificate, route kind) that did not resolve.
    pub resolved: Option<Problem>,
    /// Certificates for TLS termination.
    pub certificates: Vec<Certificate>,
    /// Client certificates asked for and checked, as the Gateway's frontend TLS says.
    pub client_validation: Option<ClientValidation>,
}

impl ListenerState<'_> {
    /// Routes of `kind` may attach: the listener is accepted, not conflicted, and takes them.
    pub fn accepts(&self, kind: RouteKind) -> bool {
        self.protocol.is_ok() && self.conflict.is_none() && self.kinds.contains(&kind)
    }

    /// The listener goes into the snapshot.
    pub fn programmable(&self) -> bool {
        self.protocol.is_ok()
            && self.conflict.is_none()
            && !self.kinds.is_empty()
            && match self.protocol {
                Ok(Protocol::Https) => !self.certificates.is_empty(),
                _ => true,
            }
    }

    /// The protocol as the snapshot carries it, with its TLS settings; `None` when invalid.
    pub fn snapshot_protocol(&self) -> Option<ListenerProtocol> {
        match self.protocol.as_ref().ok()? {
            Protocol::Http => Some(ListenerProtocol::Http),
            Protocol::Https => Some(ListenerProtocol::Https(TlsTermination {
                certificates: self.certificates.clone(),
                client_validation: self.client_validation.clone(),
            })),
        }
    }

    /// `supportedKinds` for the listener's status.
    pub fn supported_kinds(&self) -> Vec<GatewayStatusListenersSupportedKinds> {
        self.kinds
            .iter()
            .map(|kind| GatewayStatusListenersSupportedKinds {
                group: Some(GATEWAY_GROUP.to_string()),
                kind: kind.name().to_string(),
            })
            .collect()
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

/// Route kinds Portico serves on a listener of `protocol`.
fn served_kinds(protocol: Protocol) -> &'static [RouteKind] {
    match protocol {
        Protocol::Http | Protocol::Https => &[RouteKind::Http],
    }
}

/// Check one listener of the Gateway `gateway` on its own (conflicts come later), with the
/// Gateway's frontend TLS settings (`spec.tls.frontend`).
pub(crate) fn check_listener<'a>(
    index: &Index<'_>,
    gateway: &ObjectRef,
    frontend: Option<&GatewayTlsFrontend>,
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
    let kinds = match &protocol {
        Ok(protocol) => allowed_kinds(spec, served_kinds(*protocol), &mut resolved),
        Err(_) => Vec::new(),
    };
    let mut certificates = Vec::new();
    let mut client_validation = None;
    let mut protocol = protocol;
    if protocol == Ok(Protocol::Https) {
        let frontend = frontend_tls::for_port(index, &gateway.namespace, frontend, spec.port);
        if let Some(problem) = frontend.unresolved {
            resolved.get_or_insert(problem);
        }
        if frontend.unusable {
            protocol = Err(Problem::new(
                reasons::NO_VALID_CA_CERTIFICATE,
                "no client validation caCertificateRef holds a usable CA certificate",
            ));
        }
        client_validation = frontend.validation;
    }
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
            let (certs, problem) = tls::resolve_certificates(index, &gateway.namespace, refs);
            certificates = certs;
            if let Some(problem) = problem {
                resolved.get_or_insert(problem);
            }
        }
    }
    ListenerState {
        spec,
        key: listener_key(gateway, &spec.name),
        protocol,
        port: port.unwrap_or_default(),
        conflict: None,
        kinds,
        resolved,
        certificates,
        client_validation,
    }
}

/// Which of the listener's `allowedRoutes.kinds` are `served` (all of them when it lists none);
/// the first one that is not becomes the listener's unresolved reference.
fn allowed_kinds(
    spec: &GatewayListeners,
    served: &[RouteKind],
    resolved: &mut Option<Problem>,
) -> Vec<RouteKind> {
    let Some(listed) = spec.allowed_routes.as_ref().and_then(|a| a.kinds.as_ref()) else {
        return served.to_vec();
    };
    let mut allowed = HashSet::new();
    for kind in listed {
        let group = kind.group.as_deref().unwrap_or(GATEWAY_GROUP);
        let known = (group == GATEWAY_GROUP)
            .then(|| RouteKind::from_name(&kind.kind))
            .flatten()
            .filter(|k| served.contains(k));
        match known {
            Some(known) => {
                allowed.insert(known);
            }
            None => {
                resolved.get_or_insert(Problem::new(
                    reasons::INVALID_ROUTE_KINDS,
                    format!(
                        "route kind {group}/{} is not supported on this listener",
                        kind.kind
                    ),
                ));
            }
        }
    }
    served
        .iter()
        .copied()
        .filter(|k| allowed.contains(k))
        .collect()
}

/// Listeners on one port must share a protocol, and hostnames must be distinct per port.
pub(crate) fn mark_conflicts(listeners: &mut [ListenerState<'_>]) {
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
