//! One Gateway's listeners: protocol, port, route kinds, certificates, conflicts between
//! listeners of the same Gateway, and which namespaces may attach routes.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use gateway_api::gateways::{
    GatewayListeners, GatewayListenersAllowedRoutesNamespacesFrom as From, GatewayListenersTlsMode,
    GatewayStatusListenersSupportedKinds, GatewayTlsFrontend,
};
use portico_snapshot::{
    Certificate, ClientValidation, ListenerKey, ListenerProtocol, ObjectRef, Protocol, TlsMode,
    TlsTermination,
};

use crate::conditions::{Problem, reasons};
use crate::frontend_tls;
use crate::names::{
    GATEWAY_GROUP, GATEWAY_KIND, LISTENER_SET_KIND, RouteKind, listener_key,
    listener_set_listener_key,
};
use crate::namespace_selectors::namespace_selector;
use crate::output::ListenerFacts;
use crate::refgrant;
use crate::resources::Index;
use crate::tls;

/// The object declaring a listener: its Gateway, or a ListenerSet adding it to the Gateway.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ListenerOwner<'r> {
    /// One of the Gateway's own `spec.listeners`.
    Gateway(&'r ObjectRef),
    /// A listener of the ListenerSet `set`, whose parent is `gateway`.
    ListenerSet {
        gateway: &'r ObjectRef,
        set: &'r ObjectRef,
    },
}

impl ListenerOwner<'_> {
    /// The declaring object's kind.
    fn kind(self) -> &'static str {
        match self {
            Self::Gateway(_) => GATEWAY_KIND,
            Self::ListenerSet { .. } => LISTENER_SET_KIND,
        }
    }

    fn namespace(&self) -> &str {
        match self {
            Self::Gateway(gateway) => &gateway.namespace,
            Self::ListenerSet { set, .. } => &set.namespace,
        }
    }

    fn gateway(&self) -> &ObjectRef {
        match self {
            Self::Gateway(gateway) | Self::ListenerSet { gateway, .. } => gateway,
        }
    }

    fn key(&self, listener: &str) -> ListenerKey {
        match self {
            Self::Gateway(gateway) => listener_key(gateway, listener),
            Self::ListenerSet { gateway, set } => listener_set_listener_key(gateway, set, listener),
        }
    }
}

/// One listener of a Gateway (its own, or one a ListenerSet adds) and what we found about it.
pub(crate) struct ListenerState<'a> {
    /// The listener as written (a ListenerSet's, converted to the Gateway's type).
    pub spec: Cow<'a, GatewayListeners>,
    /// How snapshots and data-plane reports name it.
    pub key: ListenerKey,
    /// Namespace of the object declaring it: `Same` routes come from there, and certificate
    /// references are resolved from there.
    pub namespace: String,
    /// The protocol, or why it cannot be served.
    pub protocol: Result<Protocol, Problem>,
    /// How a TLS listener treats streams (`None` for other protocols).
    pub tls_mode: Option<TlsMode>,
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
            && (!self.terminates_tls() || !self.certificates.is_empty())
    }

    /// Whether the listener terminates TLS, so needs certificates.
    fn terminates_tls(&self) -> bool {
        match self.protocol {
            Ok(Protocol::Https) => true,
            Ok(Protocol::Tls) => self.tls_mode == Some(TlsMode::Terminate),
            _ => false,
        }
    }

    /// The protocol as the snapshot carries it, with its TLS settings; `None` when invalid.
    pub fn snapshot_protocol(&self) -> Option<ListenerProtocol> {
        let termination = || TlsTermination {
            certificates: self.certificates.clone(),
            client_validation: self.client_validation.clone(),
        };
        match (self.protocol.as_ref().ok()?, self.tls_mode) {
            (Protocol::Http, _) => Some(ListenerProtocol::Http),
            (Protocol::Https, _) => Some(ListenerProtocol::Https(termination())),
            (Protocol::Tls, Some(TlsMode::Passthrough)) => Some(ListenerProtocol::TlsPassthrough),
            (Protocol::Tls, _) => Some(ListenerProtocol::TlsTerminate(termination())),
            (Protocol::Tcp, _) => Some(ListenerProtocol::Tcp),
            (Protocol::Udp, _) => Some(ListenerProtocol::Udp),
        }
    }

    /// Whether the listener is a valid UDP one (its port is apart from the TCP port of the
    /// same number).
    pub fn is_udp(&self) -> bool {
        self.protocol.as_ref().is_ok_and(|p| p.is_udp())
    }

    /// The hostname traffic is matched against: none on TCP and UDP listeners, whose
    /// traffic carries no name (the field is ignored there, as the API says).
    pub fn matched_hostname(&self) -> Option<&str> {
        match self.protocol {
            Ok(Protocol::Tcp | Protocol::Udp) => None,
            _ => self.spec.hostname.as_deref(),
        }
    }

    /// What later stages need to know of the listener.
    pub fn facts(&self) -> ListenerFacts {
        ListenerFacts {
            name: self.spec.name.clone(),
            key: self.key.clone(),
            port: self.port,
            udp: self.is_udp(),
            programmable: self.programmable(),
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
    pub fn allows_namespace(&self, index: &Index<'_>, namespace: &str) -> bool {
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
            From::Same => namespace == self.namespace,
            From::Selector => namespaces
                .and_then(|n| n.selector.as_ref())
                .is_some_and(|s| namespace_selector!(s).selects(index, namespace)),
        }
    }
}

/// Route kinds Portico serves on a listener of `protocol`.
fn served_kinds(protocol: Protocol) -> &'static [RouteKind] {
    match protocol {
        Protocol::Http | Protocol::Https => &[RouteKind::Http, RouteKind::Grpc],
        Protocol::Tls => &[RouteKind::Tls],
        Protocol::Tcp => &[RouteKind::Tcp],
        Protocol::Udp => &[RouteKind::Udp],
    }
}

/// Check one listener declared by `owner` on its own (conflicts come later), with its
/// Gateway's frontend TLS settings (`spec.tls.frontend`).
pub(crate) fn check_listener<'a>(
    index: &Index<'_>,
    owner: ListenerOwner<'_>,
    frontend: Option<&GatewayTlsFrontend>,
    spec: Cow<'a, GatewayListeners>,
) -> ListenerState<'a> {
    let protocol = match spec.protocol.as_str() {
        "HTTP" => Ok(Protocol::Http),
        "HTTPS" => Ok(Protocol::Https),
        "TLS" => Ok(Protocol::Tls),
        "TCP" => Ok(Protocol::Tcp),
        "UDP" => Ok(Protocol::Udp),
        other => Err(Problem::new(
            reasons::UNSUPPORTED_PROTOCOL,
            format!("protocol {other} is not supported; use HTTP, HTTPS, TLS, TCP or UDP"),
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
        Ok(protocol) => allowed_kinds(&spec, served_kinds(*protocol), &mut resolved),
        Err(_) => Vec::new(),
    };
    let mut certificates = Vec::new();
    let mut client_validation = None;
    let mut protocol = protocol;
    if protocol == Ok(Protocol::Https) {
        let gateway_namespace = &owner.gateway().namespace;
        let frontend = frontend_tls::for_port(index, gateway_namespace, frontend, spec.port);
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
    let tls = spec.tls.as_ref();
    let passthrough =
        tls.and_then(|t| t.mode.as_ref()) == Some(&GatewayListenersTlsMode::Passthrough);
    // A TLS listener's mode defaults to Terminate, as the API's schema does.
    let tls_mode = (protocol == Ok(Protocol::Tls)).then_some(if passthrough {
        TlsMode::Passthrough
    } else {
        TlsMode::Terminate
    });
    if protocol == Ok(Protocol::Https) && passthrough {
        resolved.get_or_insert(Problem::new(
            reasons::INVALID_CERTIFICATE_REF,
            "TLS mode Passthrough is not supported on an HTTPS listener; use protocol TLS",
        ));
    } else if protocol == Ok(Protocol::Https) || tls_mode == Some(TlsMode::Terminate) {
        let refs = tls
            .and_then(|t| t.certificate_refs.as_deref())
            .unwrap_or(&[]);
        let from = refgrant::From {
            group: GATEWAY_GROUP,
            kind: owner.kind(),
            namespace: owner.namespace(),
        };
        let (certs, problem) = tls::resolve_certificates(index, from, refs);
        certificates = certs;
        if let Some(problem) = problem {
            resolved.get_or_insert(problem);
        }
    }
    ListenerState {
        key: owner.key(&spec.name),
        namespace: owner.namespace().to_string(),
        spec,
        protocol,
        tls_mode,
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

/// Listeners on one port must share a protocol (a UDP port is apart from the TCP port of the
/// same number), and hostnames must be distinct per port. TCP and UDP listeners have no
/// hostname to tell them apart, so a port takes one of them.
pub(crate) fn mark_conflicts(listeners: &mut [ListenerState<'_>]) {
    let mut by_port: HashMap<(u16, bool), Vec<usize>> = HashMap::new();
    for (i, l) in listeners.iter().enumerate() {
        if let Ok(protocol) = &l.protocol {
            by_port
                .entry((l.port, protocol.is_udp()))
                .or_default()
                .push(i);
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
        let mut by_host: HashMap<Option<String>, Vec<usize>> = HashMap::new();
        for &i in indices {
            by_host
                .entry(listeners[i].matched_hostname().map(str::to_string))
                .or_default()
                .push(i);
        }
        for same in by_host.values().filter(|v| v.len() > 1) {
            for &i in same {
                let port = listeners[i].port;
                let transport = match listeners[i].protocol {
                    Ok(Protocol::Tcp) => Some("TCP"),
                    Ok(Protocol::Udp) => Some("UDP"),
                    _ => None,
                };
                let message = match transport {
                    Some(transport) => format!(
                        "another {transport} listener uses port {port}; {transport} traffic \
                         carries no hostname to tell them apart"
                    ),
                    None => format!("another listener on port {port} has the same hostname"),
                };
                listeners[i].conflict = Some(Problem::new(reasons::HOSTNAME_CONFLICT, message));
            }
        }
    }
}
