//! Portico's own CRD (`PorticoProxy`, defined in `portico_translate::parameters`), as YAML for
//! `portico crds`, the check that the committed copies match the types, and the parameters
//! that apply to a Gateway.

use gateway_api::gateways::Gateway;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef as StoreRef;
pub use portico_translate::parameters::{GROUP, KIND, PorticoProxy, PorticoProxySpec};

use super::stores::Stores;

/// The Gateway's parameters: its own `infrastructure.parametersRef`, else its class's.
pub fn for_gateway(gateway: &Gateway, stores: &Stores) -> PorticoProxySpec {
    let Some(proxies) = stores.proxies.as_ref() else {
        return PorticoProxySpec::default();
    };
    let namespace = gateway.namespace().unwrap_or_default();
    let own = gateway
        .spec
        .infrastructure
        .as_ref()
        .and_then(|i| i.parameters_ref.as_ref())
        .filter(|r| r.group == GROUP && r.kind == KIND)
        .map(|r| StoreRef::<PorticoProxy>::new(&r.name).within(&namespace));
    let class = stores
        .gateway_classes
        .as_ref()
        .and_then(|s| s.get(&StoreRef::new(&gateway.spec.gateway_class_name)))
        .and_then(|c| c.spec.parameters_ref.clone())
        .filter(|r| r.group == GROUP && r.kind == KIND)
        .map(|r| {
            StoreRef::<PorticoProxy>::new(&r.name)
                .within(r.namespace.as_deref().unwrap_or("default"))
        });
    own.into_iter()
        .chain(class)
        .find_map(|r| proxies.get(&r))
        .map(|p| p.spec.clone())
        .unwrap_or_default()
}

/// The CRDs Portico owns, as YAML documents.
pub fn crds_yaml() -> Result<String, yaml_serde::Error> {
    use kube::CustomResourceExt;
    yaml_serde::to_string(&PorticoProxy::crd())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `crds/` holds the generated CRD; regenerate with `UPDATE_GOLDEN=1 cargo test -p portico`.
    #[test]
    fn committed_crds_match_the_types() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let generated = format!(
            "# Generated from controller/translate/src/parameters.rs by `portico crds`; do not edit.\n{}",
            crds_yaml().expect("CRD YAML")
        );
        // The repository's copy, and the Helm chart's (Helm installs crds/ before templates).
        for copy in ["crds", "charts/portico/crds"] {
            let path = root
                .join(copy)
                .join("gateway.portico.dev_porticoproxies.yaml");
            if std::env::var_os("UPDATE_GOLDEN").is_some() {
                std::fs::write(&path, &generated).expect("write CRD");
            }
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == generated,
                "{} is stale: run UPDATE_GOLDEN=1 cargo test -p portico",
                path.display()
            );
        }
    }
}
