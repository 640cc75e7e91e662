//! parentRefs of any route kind: the one shape they share, and which of our Gateways or
//! ListenerSets one names.

use std::collections::HashMap;

use portico_snapshot::ObjectRef;

use crate::gateways::GatewayState;
use crate::listener_sets::ListenerSetState;
use crate::listeners::ListenerState;
use crate::names::{GATEWAY_GROUP, GATEWAY_KIND, LISTENER_SET_KIND};
use crate::route_kinds::ParentReference;

/// A generated route type's `parentRefs` in the shared [`ParentReference`] shape.
macro_rules! parent_references {
    ($route:expr) => {
        $route
            .spec
            .parent_refs
            .iter()
            .flatten()
            .map(|p| $crate::parent_reference!(p))
            .collect::<Vec<_>>()
    };
}
pub(crate) use parent_references;

/// A parent a route may attach to: one of our Gateways, or a ListenerSet naming one.
#[derive(Clone, Copy)]
pub(crate) enum Parent<'p, 'a> {
    /// The Gateway itself: routes attach to its own listeners only.
    Gateway(&'p GatewayState<'a>),
    /// A ListenerSet: routes attach to its listeners only.
    ListenerSet(&'p ListenerSetState<'a>),
}

impl<'p, 'a> Parent<'p, 'a> {
    /// The listeners routes naming this parent may attach to.
    pub fn listeners(self) -> &'p [ListenerState<'a>] {
        match self {
            Self::Gateway(gateway) => &gateway.listeners,
            Self::ListenerSet(set) => &set.listeners,
        }
    }

    /// `Gateway ns/name` or `ListenerSet ns/name`, for messages.
    pub fn describe(self) -> String {
        match self {
            Self::Gateway(gateway) => format!("{GATEWAY_KIND} {}", gateway.key),
            Self::ListenerSet(set) => format!("{LISTENER_SET_KIND} {}", set.key),
        }
    }
}

/// Our Gateways and the ListenerSets naming them, by what a parentRef would call them.
pub(crate) struct Parents<'p, 'a> {
    gateways: HashMap<&'p ObjectRef, &'p GatewayState<'a>>,
    listener_sets: HashMap<&'p ObjectRef, &'p ListenerSetState<'a>>,
}

impl<'p, 'a> Parents<'p, 'a> {
    pub fn new(gateways: &'p [GatewayState<'a>]) -> Self {
        Self {
            gateways: gateways.iter().map(|g| (&g.key, g)).collect(),
            listener_sets: gateways
                .iter()
                .flat_map(|g| g.listener_sets.iter().map(|s| (&s.key, s)))
                .collect(),
        }
    }

    /// The parent `reference` names, for a route in `route_namespace`; `None` when it is not
    /// one of ours.
    pub fn named(
        &self,
        reference: &ParentReference,
        route_namespace: &str,
    ) -> Option<Parent<'p, 'a>> {
        let group = reference.group.as_deref().unwrap_or(GATEWAY_GROUP);
        let kind = reference.kind.as_deref().unwrap_or(GATEWAY_KIND);
        if group != GATEWAY_GROUP {
            return None;
        }
        let key = ObjectRef {
            namespace: reference
                .namespace
                .clone()
                .unwrap_or_else(|| route_namespace.to_string()),
            name: reference.name.clone(),
        };
        match kind {
            GATEWAY_KIND => self.gateways.get(&key).map(|g| Parent::Gateway(g)),
            LISTENER_SET_KIND => self.listener_sets.get(&key).map(|s| Parent::ListenerSet(s)),
            _ => None,
        }
    }
}
