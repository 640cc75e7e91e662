//! Client certificate validation a Gateway asks of its HTTPS listeners (`spec.tls.frontend`):
//! the settings for a listener's port (its `perPort` entry, else `default`), with their CA
//! references resolved.

use gateway_api::gateways::{
    GatewayTlsFrontend, GatewayTlsFrontendDefaultValidationMode,
    GatewayTlsFrontendPerPortTlsValidationMode,
};
use portico_snapshot::{ClientValidation, ClientValidationMode};

use crate::ca_bundles;
use crate::conditions::{Problem, reasons};
use crate::names::{GATEWAY_GROUP, GATEWAY_KIND};
use crate::refgrant;
use crate::resources::Index;

/// What a Gateway's frontend TLS settings mean for one HTTPS listener.
#[derive(Debug, Default)]
pub(crate) struct FrontendValidation {
    /// What the listener's handshake checks; `None` when nothing is asked (or nothing usable).
    pub validation: Option<ClientValidation>,
    /// The first CA reference that did not resolve.
    pub unresolved: Option<Problem>,
    /// Validation is asked for but no CA reference resolved: the listener cannot be served.
    pub unusable: bool,
}

/// A `caCertificateRefs` entry, as either generated type spells it.
struct CaRef<'a> {
    group: &'a str,
    kind: &'a str,
    name: &'a str,
    namespace: Option<&'a str>,
}

/// The validation of an HTTPS listener on `port` of a Gateway in `namespace`.
pub(crate) fn for_port(
    index: &Index<'_>,
    namespace: &str,
    frontend: Option<&GatewayTlsFrontend>,
    port: i32,
) -> FrontendValidation {
    let Some((refs, mode)) = frontend.and_then(|f| settings(f, port)) else {
        return FrontendValidation::default();
    };
    let mut unresolved = None;
    let bundles: Vec<&str> = refs
        .iter()
        .filter_map(|reference| match resolve(index, namespace, reference) {
            Ok(pem) => Some(pem),
            Err(problem) => {
                unresolved.get_or_insert(problem);
                None
            }
        })
        .collect();
    if bundles.is_empty() {
        return FrontendValidation {
            validation: None,
            unresolved: unresolved.or_else(|| {
                Some(Problem::new(
                    reasons::INVALID_CA_CERTIFICATE_REF,
                    "client validation names no caCertificateRefs",
                ))
            }),
            unusable: true,
        };
    }
    FrontendValidation {
        validation: Some(ClientValidation {
            ca_certificates_pem: ca_bundles::concatenate(bundles),
            mode,
        }),
        unresolved,
        unusable: false,
    }
}

/// The CA references and mode of one of the API's generated validation types (`Default` or
/// `PerPort`), which share these fields but not a type.
macro_rules! validation_settings {
    ($validation:expr, Default) => {
        validation_settings!($validation, GatewayTlsFrontendDefaultValidationMode)
    };
    ($validation:expr, PerPort) => {
        validation_settings!($validation, GatewayTlsFrontendPerPortTlsValidationMode)
    };
    ($validation:expr, $mode:ident) => {{
        let validation = $validation;
        let refs: Vec<CaRef<'_>> = validation
            .ca_certificate_refs
            .iter()
            .map(|r| CaRef {
                group: &r.group,
                kind: &r.kind,
                name: &r.name,
                namespace: r.namespace.as_deref(),
            })
            .collect();
        let mode = if validation.mode == Some($mode::AllowInsecureFallback) {
            ClientValidationMode::AllowInsecureFallback
        } else {
            ClientValidationMode::AllowValidOnly
        };
        (refs, mode)
    }};
}
/// Whether any of the Gateway's frontend settings accepts clients without a valid certificate.
pub(crate) fn allows_insecure_fallback(frontend: &GatewayTlsFrontend) -> bool {
    let default = frontend
        .default
        .validation
        .as_ref()
        .map(|v| validation_settings!(v, Default));
    let per_port = frontend.per_port.iter().flatten().filter_map(|p| {
        p.tls
            .validation
            .as_ref()
            .map(|v| validation_settings!(v, PerPort))
    });
    default
        .into_iter()
        .chain(per_port)
        .any(|(_, mode)| mode == ClientValidationMode::AllowInsecureFallback)
}

/// The CA references and mode that apply on `port`: its `perPort` entry, else the default.
fn settings(
    frontend: &GatewayTlsFrontend,
    port: i32,
) -> Option<(Vec<CaRef<'_>>, ClientValidationMode)> {
    match frontend.per_port.iter().flatten().find(|p| p.port == port) {
        Some(entry) => entry
            .tls
            .validation
            .as_ref()
            .map(|v| validation_settings!(v, PerPort)),
        None => frontend
            .default
            .validation
            .as_ref()
            .map(|v| validation_settings!(v, Default)),
    }
}

/// The PEM certificates one reference names.
fn resolve<'a>(
    index: &Index<'a>,
    gateway_namespace: &str,
    reference: &CaRef<'_>,
) -> Result<&'a str, Problem> {
    let name = reference.name;
    if !refgrant::core_group(reference.group).is_empty() || reference.kind != "ConfigMap" {
        return Err(Problem::new(
            reasons::INVALID_CA_CERTIFICATE_KIND,
            format!(
                "caCertificateRef {}/{} {name:?} is not a ConfigMap",
                reference.group, reference.kind
            ),
        ));
    }
    let namespace = reference.namespace.unwrap_or(gateway_namespace);
    refgrant::check(
        &index.resources.reference_grants,
        refgrant::From {
            group: GATEWAY_GROUP,
            kind: GATEWAY_KIND,
            namespace: gateway_namespace,
        },
        refgrant::To {
            group: "",
            kind: "ConfigMap",
            namespace,
            name,
        },
    )?;
    ca_bundles::resolve(index, namespace, name)
}
