//! GatewayClasses: which name our controller, whether their parameters are valid, and the
//! features they report.

use std::collections::HashSet;

use gateway_api::gatewayclasses::{GatewayClassStatus, GatewayClassStatusSupportedFeatures};
use kube::ResourceExt;
use portico_snapshot::ObjectRef;

use crate::conditions::{condition, reasons, types};
use crate::options::Options;
use crate::output::{ObjectStatus, Statuses};
use crate::parameters;
use crate::resources::Resources;

/// Features Portico reports in `GatewayClass.status.supportedFeatures` (sorted), named as
/// Gateway API v1.6.1 names them; docs/features.md says which test proves each.
pub const SUPPORTED_FEATURES: &[&str] = &[
    "BackendTLSPolicy",
    "BackendTLSPolicySANValidation",
    "GRPCRoute",
    "GRPCRouteNamedRouteRule",
    "Gateway",
    "GatewayAddressEmpty",
    "GatewayBackendClientCertificate",
    "GatewayFrontendClientCertificateValidation",
    "GatewayFrontendClientCertificateValidationInsecureFallback",
    "GatewayHTTPListenerIsolation",
    "GatewayHTTPSListenerDetectMisdirectedRequests",
    "GatewayInfrastructurePropagation",
    "GatewayPort8080",
    "GatewayStaticAddresses",
    "HTTPRoute",
    "HTTPRoute303RedirectStatusCode",
    "HTTPRoute307RedirectStatusCode",
    "HTTPRoute308RedirectStatusCode",
    "HTTPRouteBackendProtocolH2C",
    "HTTPRouteBackendProtocolWebSocket",
    "HTTPRouteBackendRequestHeaderModification",
    "HTTPRouteBackendTimeout",
    "HTTPRouteCORS",
    "HTTPRouteDestinationPortMatching",
    "HTTPRouteHostRewrite",
    "HTTPRouteMethodMatching",
    "HTTPRouteNamedRouteRule",
    "HTTPRouteParentRefPort",
    "HTTPRoutePathRedirect",
    "HTTPRoutePathRewrite",
    "HTTPRoutePortRedirect",
    "HTTPRouteQueryParamMatching",
    "HTTPRouteRequestMirror",
    "HTTPRouteRequestMultipleMirrors",
    "HTTPRouteRequestPercentageMirror",
    "HTTPRouteRequestTimeout",
    "HTTPRouteResponseHeaderModification",
    "HTTPRouteRetry",
    "HTTPRouteRetryBackendTimeout",
    "HTTPRouteRetryConnectionError",
    "HTTPRouteSchemeRedirect",
    "ListenerSet",
    "ReferenceGrant",
    "TCPRoute",
    "TLSRoute",
    "TLSRouteModeMixed",
    "TLSRouteModeTerminate",
    "UDPRoute",
];

/// Accept every GatewayClass naming our controller; return their names.
pub(crate) fn accept_classes(
    resources: &Resources,
    options: &Options,
    statuses: &mut Statuses,
) -> HashSet<String> {
    let mut ours: Vec<_> = resources
        .gateway_classes
        .iter()
        .filter(|c| c.spec.controller_name == options.controller_name)
        .collect();
    ours.sort_by_key(|c| c.name_any());
    let mut accepted_names = Vec::new();
    for class in &ours {
        let parameters = class.spec.parameters_ref.as_ref().map_or(Ok(()), |p| {
            let namespace = p.namespace.as_deref().unwrap_or_default();
            parameters::check(&resources.proxies, &p.group, &p.kind, namespace, &p.name)
        });
        let accepted = match &parameters {
            Ok(()) => {
                accepted_names.push(class.name_any());
                condition(
                    types::ACCEPTED,
                    true,
                    reasons::ACCEPTED,
                    "Handled by Portico",
                    class.metadata.generation,
                )
            }
            Err(problem) => condition(
                types::ACCEPTED,
                false,
                problem.reason,
                &problem.message,
                class.metadata.generation,
            ),
        };
        statuses.gateway_classes.push(ObjectStatus {
            object: ObjectRef {
                namespace: String::new(),
                name: class.name_any(),
            },
            status: GatewayClassStatus {
                conditions: Some(vec![accepted]),
                supported_features: Some(
                    SUPPORTED_FEATURES
                        .iter()
                        .map(|f| GatewayClassStatusSupportedFeatures {
                            name: f.to_string(),
                        })
                        .collect(),
                ),
            },
        });
    }
    accepted_names.into_iter().collect()
}
