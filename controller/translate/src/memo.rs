//! Routes compiled by an earlier translation, reused while nothing they were compiled from
//! changed, so a change to one route does not recompile the thousands of others.
//!
//! A route's compiled rules depend on its spec and on the backends its rules name: each
//! Service, its EndpointSlices, and whether a ReferenceGrant permits the reference. The memo
//! keys each route by a fingerprint of exactly those: the route's `uid` and `generation` (which
//! the API server bumps on every spec change), and the `resourceVersion` of every Service and
//! EndpointSlice behind its backendRefs, and the TLS BackendTLSPolicies ask for to those
//! Services. Objects without that server-side metadata (read from
//! files) are always compiled afresh.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use kube::Resource;
use portico_snapshot::{GrpcRule, HttpRule, ObjectRef, StreamBackend};

use crate::backends;
use crate::conditions::Problem;
use crate::names::object_ref;
use crate::resources::Index;
use crate::route_kind::{CompiledRoute, RouteKind};

/// A compiled route (shared by every listener it attaches to), or why it could not be compiled.
pub(crate) type Compiled<R> = Result<Arc<CompiledRoute<R>>, Problem>;

/// Compiled routes of every served kind, kept from one translation to the next.
#[derive(Debug, Default)]
pub struct RouteMemo {
    pub(crate) http: KindMemo<Vec<HttpRule>>,
    pub(crate) grpc: KindMemo<Vec<GrpcRule>>,
    pub(crate) tls: KindMemo<Vec<StreamBackend>>,
    pub(crate) tcp: KindMemo<Vec<StreamBackend>>,
    pub(crate) udp: KindMemo<Vec<StreamBackend>>,
}

impl RouteMemo {
    /// How many routes the last translation compiled; every other route was reused.
    pub fn compiled_last(&self) -> usize {
        self.http.compiled_last
            + self.grpc.compiled_last
            + self.tls.compiled_last
            + self.tcp.compiled_last
            + self.udp.compiled_last
    }
}

/// Compiled routes of one kind by namespace and name.
#[derive(Debug)]
pub(crate) struct KindMemo<R> {
    routes: HashMap<ObjectRef, (u64, Compiled<R>)>,
    /// Entries used by the translation in progress; the rest are dropped when it ends.
    used: HashMap<ObjectRef, (u64, Compiled<R>)>,
    /// Routes the translation in progress compiled (the others were remembered).
    compiling: usize,
    compiled_last: usize,
}

impl<R> Default for KindMemo<R> {
    fn default() -> Self {
        Self {
            routes: HashMap::new(),
            used: HashMap::new(),
            compiling: 0,
            compiled_last: 0,
        }
    }
}

impl<R> KindMemo<R> {
    /// The compiled form of `route`: remembered when its inputs are unchanged, otherwise made
    /// by `compile` (and remembered when the inputs can be fingerprinted).
    pub fn compiled<K: RouteKind<Rules = R>>(
        &mut self,
        index: &Index<'_>,
        route: &K::Object,
        compile: impl FnOnce() -> Result<CompiledRoute<R>, Problem>,
    ) -> Compiled<R> {
        let Some(fingerprint) = fingerprint::<K>(index, route) else {
            self.compiling += 1;
            return compile().map(Arc::new);
        };
        let key = object_ref(route);
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
    pub fn finish(&mut self) {
        self.routes = std::mem::take(&mut self.used);
        self.compiled_last = std::mem::take(&mut self.compiling);
    }
}

/// Hash of everything compiling `route` reads, or `None` when some input lacks server-side
/// metadata to tell its versions apart.
fn fingerprint<K: RouteKind>(index: &Index<'_>, route: &K::Object) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    let meta = route.meta();
    meta.uid.as_ref()?.hash(&mut hasher);
    meta.generation?.hash(&mut hasher);
    let namespace = object_ref(route).namespace;
    for reference in K::backend_refs(route) {
        let target = reference.target_namespace(&namespace);
        backends::permitted(index, K::KIND, &namespace, &reference).hash(&mut hasher);
        match index.service(target, reference.name) {
            Some(service) => service
                .metadata
                .resource_version
                .as_ref()?
                .hash(&mut hasher),
            None => "absent".hash(&mut hasher),
        }
        // Slices come in no particular order: combine their versions order-independently.
        let mut slices = 0u64;
        for slice in index.endpoint_slices(target, reference.name) {
            let mut one = DefaultHasher::new();
            slice.metadata.name.hash(&mut one);
            slice.metadata.resource_version.as_ref()?.hash(&mut one);
            slices = slices.wrapping_add(one.finish());
        }
        slices.hash(&mut hasher);
        index
            .backend_tls
            .service_version(target, reference.name)
            .hash(&mut hasher);
    }
    Some(hasher.finish())
}
