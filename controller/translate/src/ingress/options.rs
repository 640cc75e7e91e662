//! What a migration is asked to produce: the shared Gateway's name, namespace and class, and
//! which Ingresses to take.

use portico_snapshot::ObjectRef;

/// Options of `portico migrate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationOptions {
    /// The GatewayClass of the generated Gateway.
    pub gateway_class: String,
    /// The one Gateway every Ingress's routes attach to.
    pub gateway: ObjectRef,
    /// Only Ingresses of this class (`spec.ingressClassName`, or the older
    /// `kubernetes.io/ingress.class` annotation); every Ingress when unset.
    pub ingress_class: Option<String>,
}

impl Default for MigrationOptions {
    fn default() -> Self {
        Self {
            gateway_class: "portico".to_string(),
            gateway: ObjectRef {
                namespace: "default".to_string(),
                name: "ingress".to_string(),
            },
            ingress_class: None,
        }
    }
}
