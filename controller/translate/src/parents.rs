//! parentRefs of any route kind: the one shape they share, and which Gateway one names.

use portico_snapshot::ObjectRef;

use crate::names::{GATEWAY_GROUP, GATEWAY_KIND};
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

/// The Gateway `parent` names, for a route in `route_namespace`; `None` when it names another
/// kind of parent.
pub(crate) fn gateway_named(parent: &ParentReference, route_namespace: &str) -> Option<ObjectRef> {
    let group = parent.group.as_deref().unwrap_or(GATEWAY_GROUP);
    let kind = parent.kind.as_deref().unwrap_or(GATEWAY_KIND);
    (group == GATEWAY_GROUP && kind == GATEWAY_KIND).then(|| ObjectRef {
        namespace: parent
            .namespace
            .clone()
            .unwrap_or_else(|| route_namespace.to_string()),
        name: parent.name.clone(),
    })
}
