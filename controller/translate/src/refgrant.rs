//! ReferenceGrant: may an object in one namespace refer to an object in another?

use gateway_api::referencegrants::ReferenceGrant;

use crate::conditions::{Problem, reasons};

/// The referring side of a cross-namespace reference.
#[derive(Debug, Clone, Copy)]
pub struct From<'a> {
    /// API group of the referrer (`gateway.networking.k8s.io`).
    pub group: &'a str,
    /// Kind of the referrer (`Gateway`, `HTTPRoute`).
    pub kind: &'a str,
    /// Namespace of the referrer.
    pub namespace: &'a str,
}

/// The referenced side.
#[derive(Debug, Clone, Copy)]
pub struct To<'a> {
    /// API group (empty for the core group).
    pub group: &'a str,
    /// Kind (`Secret`, `Service`).
    pub kind: &'a str,
    /// Namespace of the target.
    pub namespace: &'a str,
    /// Name of the target.
    pub name: &'a str,
}

/// True when the reference stays in one namespace, or a ReferenceGrant in the target's
/// namespace allows it.
pub fn permitted(grants: &[ReferenceGrant], from: From<'_>, to: To<'_>) -> bool {
    if from.namespace == to.namespace {
        return true;
    }
    grants
        .iter()
        .filter(|g| g.metadata.namespace.as_deref() == Some(to.namespace))
        .any(|g| {
            let from_ok = g.spec.from.iter().any(|f| {
                f.group == from.group && f.kind == from.kind && f.namespace == from.namespace
            });
            let to_ok = g.spec.to.iter().any(|t| {
                core_group(&t.group) == core_group(to.group)
                    && t.kind == to.kind
                    && t.name.as_deref().is_none_or(|n| n == to.name)
            });
            from_ok && to_ok
        })
}

/// Like [`permitted`], but as the `RefNotPermitted` problem a status condition reports.
pub fn check(grants: &[ReferenceGrant], from: From<'_>, to: To<'_>) -> Result<(), Problem> {
    if permitted(grants, from, to) {
        return Ok(());
    }
    Err(Problem::new(
        reasons::REF_NOT_PERMITTED,
        format!(
            "{} {}/{} is in another namespace and no ReferenceGrant allows it",
            to.kind, to.namespace, to.name
        ),
    ))
}

/// The core API group may be spelled `""` or `"core"`.
pub fn core_group(group: &str) -> &str {
    if group == "core" { "" } else { group }
}
