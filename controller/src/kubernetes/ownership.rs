//! Whose an object is: the provisioner changes or deletes only objects it made for a Gateway,
//! recognised by their controller owner reference, and leaves everything else alone.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::naming::{MANAGED_BY, MANAGED_BY_LABEL};

/// API group of the Gateway kind that owns provisioned objects.
const GATEWAY_GROUP: &str = "gateway.networking.k8s.io";

/// Who holds an object with the name the provisioner wants to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// Provisioned for this very Gateway: keep it up to date.
    ThisGateway,
    /// Provisioned for an earlier Gateway of the same name (deleted and created again) and not
    /// yet garbage-collected: it can be deleted.
    EarlierGateway,
    /// Someone else's: never changed, never deleted.
    Foreign,
}

/// Who holds the object described by `meta`, for the Gateway `gateway_name` with `gateway_uid`.
pub fn holder(meta: &ObjectMeta, gateway_name: &str, gateway_uid: &str) -> Holder {
    let Some(owner) = controlling_gateway(meta) else {
        return Holder::Foreign;
    };
    if owner.name != gateway_name {
        Holder::Foreign
    } else if owner.uid == gateway_uid {
        Holder::ThisGateway
    } else if is_labelled_ours(meta) {
        Holder::EarlierGateway
    } else {
        Holder::Foreign
    }
}

/// Whether the object described by `meta` was provisioned by Portico for some Gateway: it
/// carries Portico's label and a Gateway is its controller. Only such objects are deleted.
pub fn is_provisioned(meta: &ObjectMeta) -> bool {
    is_labelled_ours(meta) && controlling_gateway(meta).is_some()
}

/// The owner reference that makes a Gateway the object's controller, if any.
fn controlling_gateway(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references.iter().flatten().find(|owner| {
        owner.controller == Some(true)
            && owner.kind == "Gateway"
            && owner.api_version.split('/').next() == Some(GATEWAY_GROUP)
    })
}

fn is_labelled_ours(meta: &ObjectMeta) -> bool {
    meta.labels
        .as_ref()
        .and_then(|labels| labels.get(MANAGED_BY_LABEL))
        .is_some_and(|value| value == MANAGED_BY)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn meta(labelled: bool, owner: Option<(&str, &str, &str, bool)>) -> ObjectMeta {
        ObjectMeta {
            labels: labelled
                .then(|| BTreeMap::from([(MANAGED_BY_LABEL.to_string(), MANAGED_BY.to_string())])),
            owner_references: owner.map(|(kind, name, uid, controller)| {
                vec![OwnerReference {
                    api_version: format!("{GATEWAY_GROUP}/v1"),
                    kind: kind.to_string(),
                    name: name.to_string(),
                    uid: uid.to_string(),
                    controller: Some(controller),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn an_object_controlled_by_this_gateway_is_ours_to_update() {
        let ours = meta(true, Some(("Gateway", "gw", "u1", true)));
        assert_eq!(holder(&ours, "gw", "u1"), Holder::ThisGateway);
    }

    #[test]
    fn a_leftover_of_an_earlier_gateway_of_the_same_name_may_be_replaced() {
        let leftover = meta(true, Some(("Gateway", "gw", "old", true)));
        assert_eq!(holder(&leftover, "gw", "new"), Holder::EarlierGateway);
    }

    #[test]
    fn objects_someone_else_made_are_never_taken_over() {
        for foreign in [
            meta(false, None),
            meta(true, None),
            meta(false, Some(("Gateway", "gw", "old", true))),
            meta(true, Some(("Gateway", "gw", "u1", false))),
            meta(true, Some(("Deployment", "gw", "u1", true))),
            meta(true, Some(("Gateway", "other", "u2", true))),
        ] {
            assert_eq!(holder(&foreign, "gw", "u1"), Holder::Foreign, "{foreign:?}");
        }
    }

    #[test]
    fn only_labelled_gateway_controlled_objects_count_as_provisioned() {
        assert!(is_provisioned(&meta(
            true,
            Some(("Gateway", "gw", "u1", true))
        )));
        assert!(!is_provisioned(&meta(true, None)));
        assert!(!is_provisioned(&meta(
            false,
            Some(("Gateway", "gw", "u1", true))
        )));
    }
}
