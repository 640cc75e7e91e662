//! Portico's own CRD (`PorticoProxy`, defined in `portico_translate::parameters`), as YAML for
//! `portico crds`, and the check that the committed copies match the types.

pub use portico_translate::parameters::{GROUP, KIND, PorticoProxy, PorticoProxySpec};

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
