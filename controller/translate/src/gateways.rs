//! Gateways of our classes: their address, parameters and checked listeners.

use std::borrow::Cow;
use std::collections::HashSet;

use gateway_api::gateways::Gateway;
use portico_snapshot::{Certificate, ObjectRef};

use crate::addresses::{self, Addresses};
use crate::conditions::{Problem, reasons};
use crate::frontend_tls;
use crate::listener_sets::{self, ListenerSetState};
use crate::listeners::{ListenerOwner, ListenerState, check_listener, mark_conflicts};
use crate::names::{Age, object_ref};
use crate::options::Options;
use crate::output::{GatewayFacts, ListenerSetFacts};
use crate::parameters;
use crate::resources::Index;
use crate::tls;

/// A Gateway of one of our classes, with its listeners checked.
pub(crate) struct GatewayState<'a> {
    /// Namespace and name.
    pub key: ObjectRef,
    /// Precedence among Gateways sharing a socket.
    pub age: Age,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// Where listeners bind, or why the Gateway's addresses keep it from being accepted.
    pub address: Result<Addresses, Problem>,
    /// Every listener of its own, in the order written.
    pub listeners: Vec<ListenerState<'a>>,
    /// ListenerSets naming it as their parent, in precedence order.
    pub listener_sets: Vec<ListenerSetState<'a>>,
    /// The certificate presented to backends that ask for one
    /// (`spec.tls.backend.clientCertificateRef`), if the Gateway names one.
    pub backend_client_certificate: Option<Result<Certificate, Problem>>,
    /// Some port of the Gateway serves clients without a valid client certificate.
    pub insecure_frontend_validation: bool,
}

impl<'a> GatewayState<'a> {
    /// Listeners that go into the snapshot: its own and those of the ListenerSets it admits.
    pub fn programmable_listeners(&self) -> impl Iterator<Item = &ListenerState<'a>> {
        self.served_listeners().filter(|l| l.programmable())
    }

    /// Its own listeners and those of the ListenerSets it admits.
    pub fn served_listeners(&self) -> impl Iterator<Item = &ListenerState<'a>> {
        let admitted = self.listener_sets.iter().filter(|s| s.refused.is_none());
        self.listeners
            .iter()
            .chain(admitted.flat_map(|s| &s.listeners))
    }

    /// [`Self::served_listeners`], to mark conflicts with other Gateways' listeners.
    pub fn served_listeners_mut(&mut self) -> impl Iterator<Item = &mut ListenerState<'a>> {
        let admitted = self
            .listener_sets
            .iter_mut()
            .filter(|s| s.refused.is_none());
        self.listeners
            .iter_mut()
            .chain(admitted.flat_map(|s| &mut s.listeners))
    }

    /// A Gateway whose own listeners all lost to other Gateways' (data planes shared) is no
    /// longer accepted, and takes no ListenerSet's listeners either.
    pub fn refuse_listener_sets_unless_accepted(&mut self) {
        if self.accepted() {
            return;
        }
        let problem = Problem::new(
            reasons::PARENT_NOT_ACCEPTED,
            format!("Gateway {} is not accepted", self.key),
        );
        for set in self
            .listener_sets
            .iter_mut()
            .filter(|s| s.refused.is_none())
        {
            set.refused = Some(problem.clone());
            set.listeners.clear();
        }
    }

    /// How many of its own listeners cannot be programmed.
    pub fn invalid_listeners(&self) -> usize {
        self.listeners.iter().filter(|l| !l.programmable()).count()
    }

    /// Accepted: the Gateway has an address, and some listener is valid (or it has none).
    pub fn accepted(&self) -> bool {
        let invalid = self.invalid_listeners();
        self.address.is_ok() && (invalid == 0 || invalid < self.listeners.len())
    }

    /// What later stages need to know of this Gateway.
    pub fn facts(&self) -> GatewayFacts {
        GatewayFacts {
            gateway: self.key.clone(),
            generation: self.generation.unwrap_or_default(),
            accepted: self.accepted(),
            listeners: self.listeners.iter().map(ListenerState::facts).collect(),
            listener_sets: self
                .listener_sets
                .iter()
                .map(|set| ListenerSetFacts {
                    listener_set: set.key.clone(),
                    generation: set.generation.unwrap_or_default(),
                    accepted: set.accepted(),
                    listeners: set.listeners.iter().map(ListenerState::facts).collect(),
                })
                .collect(),
        }
    }
}

/// Every Gateway whose class is one of `classes`, sorted by namespace and name, with the
/// ListenerSets naming it.
pub(crate) fn accept_gateways<'a>(
    index: &Index<'a>,
    classes: &HashSet<String>,
    options: &Options,
) -> Vec<GatewayState<'a>> {
    let sets = listener_sets::by_parent(&index.resources.listener_sets);
    let mut gateways: Vec<_> = index
        .resources
        .gateways
        .iter()
        .filter(|g| classes.contains(&g.spec.gateway_class_name))
        .map(|gateway| {
            let key = object_ref(gateway);
            let frontend = gateway.spec.tls.as_ref().and_then(|t| t.frontend.as_ref());
            let mut listeners: Vec<_> = gateway
                .spec
                .listeners
                .iter()
                .map(|l| {
                    check_listener(
                        index,
                        ListenerOwner::Gateway(&key),
                        frontend,
                        Cow::Borrowed(l),
                    )
                })
                .collect();
            mark_conflicts(&mut listeners);
            let address = own_parameters(index, gateway, &key.namespace)
                .and_then(|()| addresses::addresses(gateway, options));
            let backend_client_certificate = gateway
                .spec
                .tls
                .as_ref()
                .and_then(|tls| tls.backend.as_ref())
                .and_then(|backend| backend.client_certificate_ref.as_ref())
                .map(|reference| tls::resolve_client_certificate(index, &key.namespace, reference));
            let mut state = GatewayState {
                age: Age::of(gateway),
                key,
                generation: gateway.metadata.generation,
                address,
                listeners,
                listener_sets: Vec::new(),
                backend_client_certificate,
                insecure_frontend_validation: frontend
                    .is_some_and(frontend_tls::allows_insecure_fallback),
            };
            if let Some(sets) = sets.get(&state.key) {
                let parent = listener_sets::ParentGateway {
                    gateway,
                    key: &state.key,
                    accepted: state.accepted(),
                    frontend,
                };
                state.listener_sets = listener_sets::admit(index, &parent, &state.listeners, sets);
            }
            state
        })
        .collect();
    gateways.sort_by(|a, b| a.key.cmp(&b.key));
    gateways
}

/// A Gateway's own `infrastructure.parametersRef`, if any, must name a PorticoProxy of its
/// namespace.
fn own_parameters(index: &Index<'_>, gateway: &Gateway, namespace: &str) -> Result<(), Problem> {
    let reference = gateway
        .spec
        .infrastructure
        .as_ref()
        .and_then(|i| i.parameters_ref.as_ref());
    reference.map_or(Ok(()), |p| {
        parameters::check(
            &index.resources.proxies,
            &p.group,
            &p.kind,
            namespace,
            &p.name,
        )
    })
}
