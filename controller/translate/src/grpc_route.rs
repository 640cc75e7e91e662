//! GRPCRoute as a route kind: its parents, hostnames and backendRefs for the shared pipeline,
//! and its rules compiled into snapshot gRPC rules: service and method matches (exact or
//! regular expressions) with header matches, header modifiers and mirrors, and weighted
//! backends, which are always spoken to over HTTP/2 ([`crate::backends`]).

use gateway_api::grpcroutes::{
    GrpcRoute, GrpcRouteRules, GrpcRouteRulesBackendRefs, GrpcRouteRulesMatches,
    GrpcRouteRulesMatchesHeadersType as HeaderType, GrpcRouteRulesMatchesMethod,
    GrpcRouteRulesMatchesMethodType as MethodType,
};
use portico_snapshot::grpc_route::{is_method_name, is_service_name};
use portico_snapshot::{GrpcMatch, GrpcRule, ValueMatch, WeightedBackend};

use crate::backends::{self, BackendRef, Resolver};
use crate::conditions::Problem;
use crate::http_filters::{compile_backend_filters, compile_filters, same_shape, unsupported};
use crate::http_matches::{ValueType, header_conditions, regex};
use crate::names;
use crate::parents::parent_references;
use crate::resources::Resources;
use crate::route_kind::RouteKind;
use crate::route_kinds::ParentReference;
use crate::route_kinds::httproutes::{HttpRouteRulesBackendRefsFilters, HttpRouteRulesFilters};

/// The GRPCRoute kind.
pub(crate) struct GrpcRouteKind;

impl RouteKind for GrpcRouteKind {
    const KIND: names::RouteKind = names::RouteKind::Grpc;
    type Object = GrpcRoute;
    type Rules = Vec<GrpcRule>;

    fn objects(resources: &Resources) -> &[GrpcRoute] {
        &resources.grpc_routes
    }

    fn parent_refs(route: &GrpcRoute) -> Vec<ParentReference> {
        parent_references!(route)
    }

    fn hostnames(route: &GrpcRoute) -> &[String] {
        route.spec.hostnames.as_deref().unwrap_or(&[])
    }

    /// Every backendRef, mirrors' included.
    fn backend_refs(route: &GrpcRoute) -> Vec<BackendRef<'_>> {
        let rules = route.spec.rules.iter().flatten();
        let backends = rules
            .clone()
            .flat_map(|rule| rule.backend_refs.iter().flatten())
            .map(backend_ref);
        let mirrors = rules
            .flat_map(|rule| rule.filters.iter().flatten())
            .filter_map(|filter| filter.request_mirror.as_ref())
            .map(|mirror| backends::backend_ref!(&mirror.backend_ref));
        backends.chain(mirrors).collect()
    }

    /// Translate a route's rules. An unsupported feature rejects the whole route.
    fn compile(
        route: &GrpcRoute,
        backends: &mut Resolver<'_, '_>,
    ) -> Result<Vec<GrpcRule>, Problem> {
        route
            .spec
            .rules
            .iter()
            .flatten()
            .map(|rule| compile_rule(rule, backends))
            .collect()
    }
}

fn backend_ref(reference: &GrpcRouteRulesBackendRefs) -> BackendRef<'_> {
    backends::backend_ref!(reference)
}

fn compile_rule(
    rule: &GrpcRouteRules,
    resolver: &mut Resolver<'_, '_>,
) -> Result<GrpcRule, Problem> {
    let matches = match rule.matches.as_deref() {
        None | Some([]) => vec![GrpcMatch::default()],
        Some(matches) => matches
            .iter()
            .map(compile_match)
            .collect::<Result<_, _>>()?,
    };
    // GRPCRoute filters are HTTPRoute filters of the kinds gRPC allows (header modifiers,
    // mirrors, extension references): read as such, they compile the same way.
    let filters = rule
        .filters
        .iter()
        .flatten()
        .map(same_shape)
        .collect::<Result<Vec<HttpRouteRulesFilters>, _>>()?;
    let filters = compile_filters(Some(&filters), &[], resolver)?;
    let mut backends = Vec::new();
    for reference in rule.backend_refs.iter().flatten() {
        let filters = reference
            .filters
            .iter()
            .flatten()
            .map(same_shape)
            .collect::<Result<Vec<HttpRouteRulesBackendRefsFilters>, _>>()?;
        backends.push(WeightedBackend {
            filters: compile_backend_filters(Some(&filters))?,
            weight: u32::try_from(reference.weight.unwrap_or(1)).unwrap_or(0),
            cluster: resolver.resolve(&backend_ref(reference)),
        });
    }
    Ok(GrpcRule {
        matches,
        filters,
        backends,
    })
}

fn compile_match(m: &GrpcRouteRulesMatches) -> Result<GrpcMatch, Problem> {
    let (service, method) = match &m.method {
        None => (None, None),
        Some(method) => method_match(method)?,
    };
    let headers = header_conditions(m.headers.iter().flatten().map(|h| {
        let kind = match h.r#type.as_ref().unwrap_or(&HeaderType::Exact) {
            HeaderType::Exact => ValueType::Exact,
            HeaderType::RegularExpression => ValueType::RegularExpression,
        };
        (h.name.as_str(), kind, h.value.as_str())
    }))?;
    Ok(GrpcMatch {
        service,
        method,
        headers,
    })
}

type NameMatch = Option<ValueMatch<String>>;

/// The service and method a match names. Exact names must be well formed (the CRD's
/// validation; files in standalone mode skip it), regular expressions must compile.
fn method_match(m: &GrpcRouteRulesMatchesMethod) -> Result<(NameMatch, NameMatch), Problem> {
    let exact = |value: &Option<String>, what: &str, valid: fn(&str) -> bool| {
        value
            .as_deref()
            .map(|name| {
                if valid(name) {
                    Ok(ValueMatch::Exact(name.to_string()))
                } else {
                    Err(unsupported(format!(
                        "{what} {name:?} is not a valid gRPC {what} name"
                    )))
                }
            })
            .transpose()
    };
    let pattern = |value: &Option<String>| {
        value
            .as_deref()
            .map(|p| regex(p).map(ValueMatch::RegularExpression))
            .transpose()
    };
    match m.r#type.as_ref().unwrap_or(&MethodType::Exact) {
        MethodType::Exact => Ok((
            exact(&m.service, "service", is_service_name)?,
            exact(&m.method, "method", is_method_name)?,
        )),
        MethodType::RegularExpression => Ok((pattern(&m.service)?, pattern(&m.method)?)),
    }
}
