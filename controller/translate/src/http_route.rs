//! HTTPRoute as a route kind: its parents, hostnames and backendRefs for the shared pipeline,
//! and its rules compiled into snapshot rules (matches, filters, weighted backends).

use gateway_api::httproutes::{
    HttpRoute, HttpRouteRules, HttpRouteRulesBackendRefs, HttpRouteRulesFilters,
    HttpRouteRulesFiltersRequestRedirectScheme as RedirectScheme,
    HttpRouteRulesFiltersType as FilterType, HttpRouteRulesMatchesHeadersType,
    HttpRouteRulesMatchesPathType,
};
use portico_snapshot::{
    Header, HeaderMatch, HeaderModifier, HeaderName, HeaderValue, HttpFilter, HttpMatch, HttpRule,
    PathMatch, RedirectCode, RequestRedirect, Scheme, WeightedBackend,
};

use crate::backends::{BackendRef, Resolver};
use crate::conditions::{Problem, reasons};
use crate::names;
use crate::parents::parent_references;
use crate::resources::Resources;
use crate::route_kind::RouteKind;
use crate::route_kinds::ParentReference;

/// The HTTPRoute kind.
pub(crate) struct HttpRouteKind;

impl RouteKind for HttpRouteKind {
    const KIND: names::RouteKind = names::RouteKind::Http;
    type Object = HttpRoute;
    type Rules = Vec<HttpRule>;

    fn objects(resources: &Resources) -> &[HttpRoute] {
        &resources.http_routes
    }

    fn parent_refs(route: &HttpRoute) -> Vec<ParentReference> {
        parent_references!(route)
    }

    fn hostnames(route: &HttpRoute) -> &[String] {
        route.spec.hostnames.as_deref().unwrap_or(&[])
    }

    fn backend_refs(route: &HttpRoute) -> Vec<BackendRef<'_>> {
        route
            .spec
            .rules
            .iter()
            .flatten()
            .flat_map(|rule| rule.backend_refs.iter().flatten())
            .map(backend_ref)
            .collect()
    }

    /// Translate a route's rules. An unsupported feature rejects the whole route.
    fn compile(
        route: &HttpRoute,
        backends: &mut Resolver<'_, '_>,
    ) -> Result<Vec<HttpRule>, Problem> {
        let default_rules = [HttpRouteRules::default()];
        let rules = route.spec.rules.as_deref().unwrap_or(&default_rules);
        rules
            .iter()
            .map(|rule| compile_rule(rule, backends))
            .collect()
    }
}

fn backend_ref(reference: &HttpRouteRulesBackendRefs) -> BackendRef<'_> {
    BackendRef {
        group: reference.group.as_deref(),
        kind: reference.kind.as_deref(),
        name: &reference.name,
        namespace: reference.namespace.as_deref(),
        port: reference.port,
    }
}

fn compile_rule(
    rule: &HttpRouteRules,
    resolver: &mut Resolver<'_, '_>,
) -> Result<HttpRule, Problem> {
    let matches = compile_matches(rule)?;
    let filters = rule
        .filters
        .iter()
        .flatten()
        .map(compile_filter)
        .collect::<Result<Vec<_>, _>>()?;
    let mut backends = Vec::new();
    for reference in rule.backend_refs.iter().flatten() {
        if reference.filters.as_ref().is_some_and(|f| !f.is_empty()) {
            return Err(unsupported("backendRef filters are not supported yet"));
        }
        let weight = u32::try_from(reference.weight.unwrap_or(1)).unwrap_or(0);
        let cluster = resolver.resolve(&backend_ref(reference));
        backends.push(WeightedBackend { cluster, weight });
    }
    Ok(HttpRule {
        matches,
        filters,
        backends,
    })
}

fn unsupported(message: impl Into<String>) -> Problem {
    Problem::new(reasons::UNSUPPORTED_VALUE, message)
}

/// Header names must be RFC 9110 tokens.
fn header_name(name: &str) -> Result<HeaderName, Problem> {
    HeaderName::try_from(name).map_err(|e| unsupported(e.to_string()))
}

/// Header values may not hold control characters (a YAML block scalar's trailing newline is
/// the usual culprit).
fn header_value(name: &str, value: &str) -> Result<HeaderValue, Problem> {
    HeaderValue::try_from(value).map_err(|_| {
        unsupported(format!(
            "the value for header {name:?} holds a control character"
        ))
    })
}

fn header(name: &str, value: &str) -> Result<Header, Problem> {
    Ok(Header {
        name: header_name(name)?,
        value: header_value(name, value)?,
    })
}

fn compile_matches(rule: &HttpRouteRules) -> Result<Vec<HttpMatch>, Problem> {
    let matches = rule.matches.as_deref().unwrap_or(&[]);
    if matches.is_empty() {
        return Ok(vec![HttpMatch {
            path_match: PathMatch::PathPrefix,
            path: "/".to_string(),
            headers: Vec::new(),
        }]);
    }
    matches
        .iter()
        .map(|m| {
            if m.method.is_some() {
                return Err(unsupported("method matches are not supported yet"));
            }
            if m.query_params.as_ref().is_some_and(|q| !q.is_empty()) {
                return Err(unsupported("query parameter matches are not supported yet"));
            }
            let (path_match, path) = match &m.path {
                None => (PathMatch::PathPrefix, "/".to_string()),
                Some(p) => {
                    let kind = match p
                        .r#type
                        .as_ref()
                        .unwrap_or(&HttpRouteRulesMatchesPathType::PathPrefix)
                    {
                        HttpRouteRulesMatchesPathType::Exact => PathMatch::Exact,
                        HttpRouteRulesMatchesPathType::PathPrefix => PathMatch::PathPrefix,
                        HttpRouteRulesMatchesPathType::RegularExpression => {
                            return Err(unsupported(
                                "RegularExpression path matches are not supported",
                            ));
                        }
                    };
                    let value = p.value.clone().unwrap_or_else(|| "/".to_string());
                    if !value.starts_with('/') {
                        return Err(unsupported(format!("path {value:?} must start with '/'")));
                    }
                    (kind, value)
                }
            };
            let headers = m
                .headers
                .iter()
                .flatten()
                .map(|h| {
                    match h
                        .r#type
                        .as_ref()
                        .unwrap_or(&HttpRouteRulesMatchesHeadersType::Exact)
                    {
                        HttpRouteRulesMatchesHeadersType::Exact => Ok(HeaderMatch {
                            name: header_name(&h.name.to_ascii_lowercase())?,
                            value: header_value(&h.name, &h.value)?,
                        }),
                        HttpRouteRulesMatchesHeadersType::RegularExpression => Err(unsupported(
                            "RegularExpression header matches are not supported",
                        )),
                    }
                })
                .collect::<Result<_, _>>()?;
            Ok(HttpMatch {
                path_match,
                path,
                headers,
            })
        })
        .collect()
}

fn compile_filter(filter: &HttpRouteRulesFilters) -> Result<HttpFilter, Problem> {
    match (
        &filter.r#type,
        &filter.request_header_modifier,
        &filter.request_redirect,
    ) {
        (FilterType::RequestHeaderModifier, Some(m), _) => {
            Ok(HttpFilter::RequestHeaderModifier(HeaderModifier {
                set: m
                    .set
                    .iter()
                    .flatten()
                    .map(|h| header(&h.name, &h.value))
                    .collect::<Result<_, _>>()?,
                add: m
                    .add
                    .iter()
                    .flatten()
                    .map(|h| header(&h.name, &h.value))
                    .collect::<Result<_, _>>()?,
                remove: m
                    .remove
                    .iter()
                    .flatten()
                    .map(|n| header_name(n))
                    .collect::<Result<_, _>>()?,
            }))
        }
        (FilterType::RequestRedirect, _, Some(r)) => {
            if r.path.is_some() {
                return Err(unsupported(
                    "RequestRedirect path rewrites are not supported yet",
                ));
            }
            let status_code = r.status_code.unwrap_or(302);
            let status_code = u32::try_from(status_code)
                .ok()
                .and_then(|c| RedirectCode::try_from(c).ok())
                .ok_or_else(|| {
                    unsupported(format!(
                        "redirect status code {status_code} is not supported"
                    ))
                })?;
            let port = match r.port {
                None => None,
                Some(p) => Some(
                    u16::try_from(p)
                        .map_err(|_| unsupported(format!("redirect port {p} is out of range")))?,
                ),
            };
            Ok(HttpFilter::RequestRedirect(RequestRedirect {
                scheme: r.scheme.as_ref().map(|s| match s {
                    RedirectScheme::Http => Scheme::Http,
                    RedirectScheme::Https => Scheme::Https,
                }),
                hostname: r.hostname.clone(),
                port,
                status_code,
            }))
        }
        (other, _, _) => Err(unsupported(format!(
            "filter {other:?} is not supported yet"
        ))),
    }
}
