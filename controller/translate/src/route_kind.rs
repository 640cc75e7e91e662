//! What the shared route pipeline needs to know of a route kind. Each kind Portico serves is
//! one module implementing [`RouteKind`]; attaching to parents, reusing compiled routes,
//! resolving backends and writing parent statuses are written once, in [`crate::attach`].

use std::fmt::Debug;

use kube::Resource;
use portico_snapshot::Cluster;

use crate::backends::{BackendRef, Resolver};
use crate::conditions::Problem;
use crate::names;
use crate::resources::Resources;
use crate::route_kinds::ParentReference;

/// A route kind served by Portico.
pub(crate) trait RouteKind {
    /// Which kind this is.
    const KIND: names::RouteKind;

    /// The object as read from the API server or from files.
    type Object: Resource<DynamicType = ()>;

    /// What one route's rules compile to; shared by every listener the route attaches to.
    type Rules: Debug;

    /// Every route of this kind in `resources`.
    fn objects(resources: &Resources) -> &[Self::Object];

    /// The route's parentRefs, in the shape every kind shares.
    fn parent_refs(route: &Self::Object) -> Vec<ParentReference>;

    /// The route's hostnames (none for kinds without hostnames).
    fn hostnames(route: &Self::Object) -> &[String];

    /// Every backendRef of every rule: the inputs that decide whether a compiled route can be
    /// reused, and the objects a provider must watch.
    fn backend_refs(route: &Self::Object) -> Vec<BackendRef<'_>>;

    /// Translate the route's rules, resolving backendRefs through `backends`. An unsupported
    /// feature refuses the whole route with the returned problem.
    fn compile(
        route: &Self::Object,
        backends: &mut Resolver<'_, '_>,
    ) -> Result<Self::Rules, Problem>;
}

/// A route's rules as compiled once, with the clusters they name.
#[derive(Debug)]
pub(crate) struct CompiledRoute<R> {
    /// The kind-specific rules.
    pub rules: R,
    /// Clusters the rules name, each once.
    pub clusters: Vec<Cluster>,
    /// First backendRef problem (the route stays accepted; that share of traffic answers 500).
    pub unresolved: Option<Problem>,
}
