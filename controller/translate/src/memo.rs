//! Routes compiled by an earlier translation, reused while nothing they were compiled from
//! changed, so a change to one route does not recompile the thousands of others.
//!
//! A route's compiled rules depend on its spec and on the backends its rules name: each
//! Service, its EndpointSlices, and whether a ReferenceGrant permits the reference. The memo
//! keys each route by a fingerprint of exactly those: the route's `uid` and `generation` (which
//! the API server bumps on every spec change), and the `resourceVersion` of every Service and
//! EndpointSlice behind its backendRefs. Objects without that server-side metadata (read from
//! files) are always compiled afresh.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use gateway_api::httproutes::HttpRoute;
use kube::ResourceExt;

use crate::conditions::Problem;
use crate::gateway::GATEWAY_GROUP;
use crate::refgrant;
use crate::resources::Index;
use crate::route::CompiledRoute;

/// A compiled route (shared by every listener it attaches to), or why it could not be compiled.
pub(crate) type Compiled = Result<Arc<CompiledRoute>, Problem>;

/// Compiled routes by namespace and name, kept from one translation to the next.
#[derive(Debug, Default)]
pub struct RouteMemo {
    routes: HashMap<(String, String), (u64, Compiled)>,
    /// Entries used by the translation in progress; the rest are dropped when it ends.
    used: HashMap<(String, String), (u64, Compiled)>,
    /// Routes the translation in progress compiled (the others were remembered).
    compiling: usize,
    compiled_last: usize,
}

impl RouteMemo {
    /// How many routes the last translation compiled; every other route was reused.
    pub fn compiled_last(&self) -> usize {
        self.compiled_last
    }

    /// The compiled form of `route`: remembered when its inputs are unchanged, otherwise made
    /// by `compile` (and remembered when the inputs can be fingerprinted).
    pub(crate) fn compiled(
        &mut self,
        index: &Index<'_>,
        namespace: &str,
        route: &HttpRoute,
        compile: impl FnOnce() -> Result<CompiledRoute, Problem>,
    ) -> Compiled {
        let key = (namespace.to_string(), route.name_any());
        let Some(fingerprint) = fingerprint(index, namespace, route) else {
            self.compiling += 1;
            return compile().map(Arc::new);
        };
        let compiled = match self.routes.remove(&key) {
            Some((known, compiled)) if known == fingerprint => compiled,
            _ => {
                self.compiling += 1;
                compile().map(Arc::new)
            }
        };
        self.used.insert(key, (fingerprint, compiled.clone()));
        compiled
    }

    /// End a translation: forget routes it did not look at (deleted ones).
    pub(crate) fn finish(&mut self) {
        self.routes = std::mem::take(&mut self.used);
        self.compiled_last = std::mem::take(&mut self.compiling);
    }
}

/// Hash of everything compiling `route` reads, or `None` when some input lacks server-side
/// metadata to tell its versions apart.
fn fingerprint(index: &Index<'_>, namespace: &str, route: &HttpRoute) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    route.metadata.uid.as_ref()?.hash(&mut hasher);
    route.metadata.generation?.hash(&mut hasher);
    let references = route
        .spec
        .rules
        .iter()
        .flatten()
        .flat_map(|rule| rule.backend_refs.iter().flatten());
    for reference in references {
        let target = reference.namespace.as_deref().unwrap_or(namespace);
        let from = refgrant::From {
            group: GATEWAY_GROUP,
            kind: "HTTPRoute",
            namespace,
        };
        let to = refgrant::To {
            group: "",
            kind: "Service",
            namespace: target,
            name: &reference.name,
        };
        refgrant::permitted(&index.resources.reference_grants, from, to).hash(&mut hasher);
        match index.service(target, &reference.name) {
            Some(service) => service
                .metadata
                .resource_version
                .as_ref()?
                .hash(&mut hasher),
            None => "absent".hash(&mut hasher),
        }
        // Slices come in no particular order: combine their versions order-independently.
        let mut slices = 0u64;
        for slice in index.endpoint_slices(target, &reference.name) {
            let mut one = DefaultHasher::new();
            slice.metadata.name.hash(&mut one);
            slice.metadata.resource_version.as_ref()?.hash(&mut one);
            slices = slices.wrapping_add(one.finish());
        }
        slices.hash(&mut hasher);
    }
    Some(hasher.finish())
}
