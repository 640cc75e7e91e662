//! ListenerSets: listeners other objects add to a Gateway that allows them
//! (`spec.allowedListeners`, none by default). Which sets a Gateway admits; their listeners,
//! checked as the Gateway's own are; and conflicts decided by precedence: the Gateway's own
//! listeners first, then sets oldest first (then by namespace and name), each in the order
//! written. A listener clashing with an earlier one on its port (another protocol, or the same
//! hostname) is conflicted and claims nothing, so listeners after it may still be served.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use gateway_api::gateways::{
    Gateway, GatewayAllowedListenersNamespacesFrom as From, GatewayListeners, GatewayTlsFrontend,
};
use gateway_api::listenersets::{ListenerSet, ListenerSetListeners};
use portico_snapshot::ObjectRef;

use crate::conditions::{Problem, reasons};
use crate::listeners::{ListenerOwner, ListenerState, check_listener};
use crate::names::{Age, GATEWAY_GROUP, GATEWAY_KIND, namespace_of, object_ref};
use crate::namespace_selectors::namespace_selector;
use crate::resources::Index;

/// A ListenerSet naming one of our Gateways as its parent, and what the Gateway made of it.
pub(crate) struct ListenerSetState<'a> {
    /// Namespace and name.
    pub key: ObjectRef,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// Why the Gateway takes none of its listeners (`NotAllowed`, `ParentNotAccepted`).
    pub refused: Option<Problem>,
    /// Every listener, in the order written (empty when refused).
    pub listeners: Vec<ListenerState<'a>>,
}

impl ListenerSetState<'_> {
    /// Accepted: the Gateway takes the set and some listener of it is valid.
    pub fn accepted(&self) -> bool {
        self.refused.is_none() && self.listeners.iter().any(ListenerState::programmable)
    }

    /// How many listeners cannot be programmed.
    pub fn invalid_listeners(&self) -> usize {
        self.listeners.iter().filter(|l| !l.programmable()).count()
    }
}

/// The ListenerSets of `resources` by the Gateway their parentRef names.
pub(crate) fn by_parent(sets: &[ListenerSet]) -> HashMap<ObjectRef, Vec<&ListenerSet>> {
    let mut by_parent: HashMap<ObjectRef, Vec<&ListenerSet>> = HashMap::new();
    for set in sets {
        let parent = &set.spec.parent_ref;
        let group = parent.group.as_deref().unwrap_or(GATEWAY_GROUP);
        let kind = parent.kind.as_deref().unwrap_or(GATEWAY_KIND);
        if group != GATEWAY_GROUP || kind != GATEWAY_KIND {
            continue;
        }
        let gateway = ObjectRef {
            namespace: parent
                .namespace
                .clone()
                .unwrap_or_else(|| namespace_of(set)),
            name: parent.name.clone(),
        };
        by_parent.entry(gateway).or_default().push(set);
    }
    by_parent
}

/// What one Gateway needs to decide about the ListenerSets naming it.
pub(crate) struct ParentGateway<'g> {
    /// The Gateway as written.
    pub gateway: &'g Gateway,
    /// Its namespace and name.
    pub key: &'g ObjectRef,
    /// Whether the Gateway itself is accepted.
    pub accepted: bool,
    /// Its frontend TLS settings, which apply to every HTTPS listener it serves.
    pub frontend: Option<&'g GatewayTlsFrontend>,
}

/// The `sets` naming `parent`, in precedence order, their listeners checked against the
/// Gateway's own (`own`) and each other.
pub(crate) fn admit<'a>(
    index: &Index<'_>,
    parent: &ParentGateway<'_>,
    own: &[ListenerState<'_>],
    sets: &[&'a ListenerSet],
) -> Vec<ListenerSetState<'a>> {
    let mut ordered: Vec<_> = sets.iter().map(|s| (Age::of(*s), *s)).collect();
    ordered.sort_by(|a, b| a.0.cmp(&b.0));
    let mut claims = Claims::default();
    for listener in own {
        claims.claim(listener);
    }
    ordered
        .into_iter()
        .map(|(_, set)| {
            let key = object_ref(set);
            let refused = refusal(index, parent, &key.namespace);
            let mut listeners = Vec::new();
            if refused.is_none() {
                let owner = ListenerOwner::ListenerSet {
                    gateway: parent.key,
                    set: &key,
                };
                for spec in &set.spec.listeners {
                    let mut listener =
                        check_listener(index, owner, parent.frontend, Cow::Owned(convert(spec)));
                    claims.check(&mut listener);
                    listeners.push(listener);
                }
            }
            ListenerSetState {
                generation: set.metadata.generation,
                refused,
                listeners,
                key,
            }
        })
        .collect()
}

/// Why `parent` takes no listener of a set in `namespace`, if it does not.
fn refusal(index: &Index<'_>, parent: &ParentGateway<'_>, namespace: &str) -> Option<Problem> {
    let namespaces = parent
        .gateway
        .spec
        .allowed_listeners
        .as_ref()
        .and_then(|a| a.namespaces.as_ref());
    let allowed = match namespaces.and_then(|n| n.from.as_ref()) {
        None | Some(From::None) => false,
        Some(From::All) => true,
        Some(From::Same) => namespace == parent.key.namespace,
        Some(From::Selector) => namespaces
            .and_then(|n| n.selector.as_ref())
            .is_some_and(|s| namespace_selector!(s).selects(index, namespace)),
    };
    if !allowed {
        return Some(Problem::new(
            reasons::NOT_ALLOWED,
            format!(
                "Gateway {}'s allowedListeners does not admit ListenerSets from namespace {namespace}",
                parent.key
            ),
        ));
    }
    (!parent.accepted).then(|| {
        Problem::new(
            reasons::PARENT_NOT_ACCEPTED,
            format!("Gateway {} is not accepted", parent.key),
        )
    })
}

/// A ListenerSet's listener in the Gateway's listener type. Both are generated from the same
/// API type (`ListenerEntry` is a copy of `Listener`), so the conversion keeps every field; the
/// fallback, for a shape the two could only disagree on after a library upgrade, keeps what
/// identifies the listener and drops its TLS and route settings (an HTTPS listener then has no
/// certificate and is not served).
fn convert(listener: &ListenerSetListeners) -> GatewayListeners {
    serde_json::to_value(listener)
        .and_then(serde_json::from_value)
        .unwrap_or_else(|_| GatewayListeners {
            name: listener.name.clone(),
            hostname: listener.hostname.clone(),
            port: listener.port,
            protocol: listener.protocol.clone(),
            ..GatewayListeners::default()
        })
}

/// Ports claimed by earlier listeners: the protocol of the first, and the hostnames served.
#[derive(Default)]
struct Claims {
    /// By port and whether it is a UDP one (apart from the TCP port of the same number).
    ports: HashMap<(u16, bool), Claim>,
}

struct Claim {
    protocol: String,
    hostnames: HashSet<Option<String>>,
}

impl Claims {
    /// A valid, unconflicted listener claims its port's protocol and its hostname.
    fn claim(&mut self, listener: &ListenerState<'_>) {
        if listener.protocol.is_err() || listener.conflict.is_some() {
            return;
        }
        self.ports
            .entry((listener.port, listener.is_udp()))
            .or_insert_with(|| Claim {
                protocol: listener.spec.protocol.clone(),
                hostnames: HashSet::new(),
            })
            .hostnames
            .insert(listener.matched_hostname().map(str::to_string));
    }

    /// Mark `listener` conflicted if an earlier one claimed its port with another protocol or
    /// its hostname; else let it claim them.
    fn check(&mut self, listener: &mut ListenerState<'_>) {
        let port = listener.port;
        let hostname = listener.matched_hostname().map(str::to_string);
        let conflict = match self.ports.get(&(port, listener.is_udp())) {
            Some(claim) if claim.protocol != listener.spec.protocol => Some(Problem::new(
                reasons::PROTOCOL_CONFLICT,
                format!(
                    "port {port} is already used with protocol {} by an earlier listener",
                    claim.protocol
                ),
            )),
            Some(claim) if claim.hostnames.contains(&hostname) => Some(Problem::new(
                reasons::HOSTNAME_CONFLICT,
                format!("an earlier listener on port {port} serves the same hostname"),
            )),
            _ => None,
        };
        match conflict {
            Some(problem) => listener.conflict = Some(problem),
            None => self.claim(listener),
        }
    }
}
