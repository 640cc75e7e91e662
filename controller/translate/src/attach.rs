//! The route pipeline every kind shares: for each route, reuse or compile its rules, attach it
//! to the listeners its parentRefs select and allow, and report one status entry per parent
//! that is one of our Gateways (or a ListenerSet naming one).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use kube::Resource;
use portico_snapshot::{ListenerKey, ObjectRef};

use crate::backends::Resolver;
use crate::conditions::{Problem, outcome, reasons, types};
use crate::gateways::GatewayState;
use crate::hostnames;
use crate::memo::KindMemo;
use crate::names::{Age, object_ref};
use crate::options::Options;
use crate::output::ObjectStatus;
use crate::parents::{Parent, Parents};
use crate::resources::Index;
use crate::route_kind::{CompiledRoute, RouteKind};
use crate::route_kinds::{ParentReference, RouteParentStatus, RouteStatus};

/// A route as attached to one listener.
#[derive(Debug)]
pub(crate) struct Attached<R> {
    /// Precedence among routes.
    pub age: Age,
    /// Namespace and name of the route.
    pub route: ObjectRef,
    /// The hostnames it answers on this listener (empty: any).
    pub hostnames: Vec<String>,
    /// Its compiled rules.
    pub compiled: Arc<CompiledRoute<R>>,
}

/// The routes of one kind attached to each listener (by listener key).
#[derive(Debug)]
pub(crate) struct Attachments<R> {
    routes: HashMap<ListenerKey, Vec<Attached<R>>>,
    /// (route, listener key) pairs already attached: several parentRefs may select the same
    /// listener, which still counts as one attachment.
    attached: HashSet<(ObjectRef, ListenerKey)>,
}

impl<R> Default for Attachments<R> {
    fn default() -> Self {
        Self {
            routes: HashMap::new(),
            attached: HashSet::new(),
        }
    }
}

impl<R> Attachments<R> {
    /// The routes attached to `listener`, oldest first.
    pub fn routes_for(&self, listener: &ListenerKey) -> Vec<&Attached<R>> {
        let mut routes: Vec<_> = self.routes.get(listener).into_iter().flatten().collect();
        routes.sort_by(|a, b| a.age.cmp(&b.age));
        routes
    }

    /// Every listener with routes attached, and those routes.
    pub fn by_listener(&self) -> impl Iterator<Item = (&ListenerKey, &[Attached<R>])> {
        self.routes
            .iter()
            .map(|(key, routes)| (key, routes.as_slice()))
    }

    /// Detach `route` from `listener`.
    pub fn detach(&mut self, listener: &ListenerKey, route: &ObjectRef) {
        if let Some(routes) = self.routes.get_mut(listener) {
            routes.retain(|r| r.route != *route);
        }
    }

    /// How many routes count as attached to each listener.
    pub fn counts(&self) -> impl Iterator<Item = (&ListenerKey, usize)> {
        self.routes.iter().map(|(key, routes)| (key, routes.len()))
    }
}

/// Statuses of one kind's routes, and where they attached.
pub(crate) struct KindOutput<R> {
    /// One entry per route with a parent that is one of our Gateways, sorted by namespace and
    /// name.
    pub statuses: Vec<ObjectStatus<RouteStatus>>,
    /// Routes by listener.
    pub attachments: Attachments<R>,
    /// For each route in `statuses`, the listeners each of its parent entries attached it to
    /// (in the order of its status's parents).
    pub parent_listeners: HashMap<ObjectRef, Vec<Vec<ListenerKey>>>,
}

/// Run the pipeline for every route of kind `K`.
pub(crate) fn attach_routes<K: RouteKind>(
    index: &Index<'_>,
    options: &Options,
    gateways: &[GatewayState<'_>],
    memo: &mut KindMemo<K::Rules>,
) -> KindOutput<K::Rules> {
    let ours = Parents::new(gateways);
    let mut routes: Vec<_> = K::objects(index.resources)
        .iter()
        .map(|r| (object_ref(r), r))
        .collect();
    routes.sort_by(|a, b| a.0.cmp(&b.0));
    let mut output = KindOutput {
        statuses: Vec::new(),
        attachments: Attachments::default(),
        parent_listeners: HashMap::new(),
    };
    for (key, route) in routes {
        let generation = route.meta().generation;
        let compiled = memo.compiled::<K>(index, route, || {
            let mut resolver = Resolver::new(index, K::KIND, &key.namespace);
            let rules = K::compile(route, &mut resolver)?;
            Ok(CompiledRoute {
                rules,
                clusters: resolver.clusters,
                unresolved: resolver.unresolved,
            })
        });
        let candidate = Candidate {
            route: &key,
            age: Age::of(route),
            hostnames: K::hostnames(route),
            kind: K::KIND,
        };
        let mut parents = Vec::new();
        let mut parent_listeners = Vec::new();
        for parent in K::parent_refs(route) {
            let Some(target) = ours.named(&parent, &key.namespace) else {
                continue; // Not one of our parents: not ours to report on.
            };
            let accepted = match &compiled {
                Err(problem) => Err(problem.clone()),
                Ok(compiled) => {
                    candidate.attach(index, &parent, target, compiled, &mut output.attachments)
                }
            };
            let unresolved = compiled.as_ref().ok().and_then(|c| c.unresolved.as_ref());
            parent_listeners.push(accepted.clone().unwrap_or_default());
            parents.push(RouteParentStatus {
                conditions: vec![
                    outcome(
                        types::ACCEPTED,
                        accepted.as_ref().err(),
                        reasons::ACCEPTED,
                        "Route accepted",
                        generation,
                    ),
                    outcome(
                        types::RESOLVED_REFS,
                        unresolved,
                        reasons::RESOLVED_REFS,
                        "All references resolved",
                        generation,
                    ),
                ],
                controller_name: options.controller_name.clone(),
                parent_ref: parent,
            });
        }
        if !parents.is_empty() {
            output
                .parent_listeners
                .insert(key.clone(), parent_listeners);
            output.statuses.push(ObjectStatus {
                object: key.clone(),
                status: RouteStatus { parents },
            });
        }
    }
    memo.finish();
    output
}

/// What attaching needs to know of a route, whatever its kind.
struct Candidate<'r> {
    route: &'r ObjectRef,
    age: Age,
    hostnames: &'r [String],
    kind: crate::names::RouteKind,
}

impl Candidate<'_> {
    /// Attach to the listeners of `target` that `parent` selects, allow the route, and share a
    /// hostname with it; returns their keys. The error says why none does.
    fn attach<R>(
        &self,
        index: &Index<'_>,
        parent: &ParentReference,
        target: Parent<'_, '_>,
        compiled: &Arc<CompiledRoute<R>>,
        attachments: &mut Attachments<R>,
    ) -> Result<Vec<ListenerKey>, Problem> {
        if let Parent::ListenerSet(set) = target
            && let Some(refused) = &set.refused
        {
            return Err(Problem::new(
                reasons::NOT_ALLOWED_BY_LISTENERS,
                format!("{} is not accepted: {}", target.describe(), refused.message),
            ));
        }
        let candidates: Vec<_> = target
            .listeners()
            .iter()
            .filter(|l| {
                parent
                    .section_name
                    .as_ref()
                    .is_none_or(|s| *s == l.spec.name)
            })
            .filter(|l| parent.port.is_none_or(|p| p == l.spec.port))
            .collect();
        if candidates.is_empty() {
            return Err(Problem::new(
                reasons::NO_MATCHING_PARENT,
                format!(
                    "{} has no listener matching the parentRef's sectionName and port",
                    target.describe()
                ),
            ));
        }
        let allowed: Vec<_> = candidates
            .into_iter()
            .filter(|l| l.accepts(self.kind) && l.allows_namespace(index, &self.route.namespace))
            .collect();
        if allowed.is_empty() {
            return Err(Problem::new(
                reasons::NOT_ALLOWED_BY_LISTENERS,
                format!("no listener of {} allows this route", target.describe()),
            ));
        }
        let matched: Vec<_> = allowed
            .iter()
            .filter_map(|l| {
                hostnames::intersect(l.matched_hostname(), self.hostnames).map(|h| (l, h))
            })
            .collect();
        if matched.is_empty() {
            return Err(Problem::new(
                reasons::NO_MATCHING_LISTENER_HOSTNAME,
                "no listener hostname intersects the route's hostnames",
            ));
        }
        let keys = matched.iter().map(|(l, _)| l.key.clone()).collect();
        for (listener, hostnames) in matched {
            let pair = (self.route.clone(), listener.key.clone());
            if !attachments.attached.insert(pair) {
                continue;
            }
            attachments
                .routes
                .entry(listener.key.clone())
                .or_default()
                .push(Attached {
                    age: self.age.clone(),
                    route: self.route.clone(),
                    hostnames,
                    compiled: compiled.clone(),
                });
        }
        Ok(keys)
    }
}
