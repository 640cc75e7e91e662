//! HTTPRoutes: attach each route to the listeners its parentRefs select and allow, and turn its
//! rules into snapshot rules.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use gateway_api::httproutes::{
    HttpRoute as HttpRouteObject, HttpRouteParentRefs, HttpRouteRules, HttpRouteRulesFilters,
    HttpRouteRulesFiltersRequestRedirectScheme as Scheme, HttpRouteRulesFiltersType as FilterType,
    HttpRouteRulesMatchesHeadersType, HttpRouteRulesMatchesPathType,
};
use kube::ResourceExt;
use portico_snapshot::{
    Cluster, Header, HeaderMatch, HeaderModifier, HttpFilter, HttpMatch, HttpRoute, HttpRule,
    ObjectRef, PathMatch, RequestRedirect, WeightedBackend,
};

use crate::conditions::{Problem, outcome, reasons, types};
use crate::gateway::{GATEWAY_GROUP, GatewayState};
use crate::memo::RouteMemo;
use crate::output::ObjectStatus;
use crate::resources::{Index, namespace_of};
use crate::route_kinds::{ParentReference, RouteParentStatus, RouteStatus};
use crate::{Options, backends, hostnames};

/// A route as attached to one listener.
#[derive(Debug, Clone)]
pub(crate) struct Attached {
    /// Precedence among routes: older first, then by namespace and name.
    pub order: (String, String, String),
    /// `namespace/name` of the route.
    pub key: String,
    /// The hostnames it answers on this listener.
    pub hostnames: Vec<String>,
    pub compiled: Arc<CompiledRoute>,
}

impl Attached {
    /// The route as this listener's snapshot carries it.
    pub fn route(&self) -> HttpRoute {
        HttpRoute {
            key: self.key.clone(),
            hostnames: self.hostnames.clone(),
            rules: self.compiled.rules.clone(),
        }
    }
}

/// Routes per listener key, and how many routes each listener counts as attached.
#[derive(Debug, Default)]
pub(crate) struct Attachments {
    routes: HashMap<String, Vec<Attached>>,
    counts: HashMap<String, i32>,
    /// (route key, listener key) pairs already attached: several parentRefs may select the
    /// same listener, which still counts as one attachment.
    attached: HashSet<(String, String)>,
}

impl Attachments {
    pub fn routes_for(&self, listener: &str) -> Vec<&Attached> {
        self.routes
            .get(listener)
            .map(|v| v.iter().collect())
            .unwrap_or_default()
    }

    pub fn count_for(&self, listener: &str) -> i32 {
        self.counts.get(listener).copied().unwrap_or_default()
    }
}

/// Route statuses plus the attachments the Gateways need.
pub(crate) struct RouteOutput {
    pub statuses: Vec<ObjectStatus<RouteStatus>>,
    pub attachments: Attachments,
}

/// Rules translated once per route, shared by every listener it attaches to.
#[derive(Debug)]
pub(crate) struct CompiledRoute {
    rules: Vec<HttpRule>,
    pub clusters: Vec<Cluster>,
    /// First backendRef problem (route stays accepted; that share answers 500).
    unresolved: Option<Problem>,
}

pub(crate) fn attach_routes(
    index: &Index<'_>,
    options: &Options,
    gateways: &[GatewayState<'_>],
    memo: &mut RouteMemo,
) -> RouteOutput {
    let by_key: HashMap<&ObjectRef, &GatewayState<'_>> =
        gateways.iter().map(|g| (&g.key, g)).collect();
    let mut routes: Vec<&HttpRouteObject> = index.resources.http_routes.iter().collect();
    routes.sort_by_key(|r| (namespace_of(*r), r.name_any()));
    let mut output = RouteOutput {
        statuses: Vec::new(),
        attachments: Attachments::default(),
    };
    for route in routes {
        let namespace = namespace_of(route);
        let generation = route.metadata.generation;
        let compiled = memo.compiled(index, &namespace, route, || {
            compile(index, &namespace, route)
        });
        let order = (
            route
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| t.0.to_string())
                .unwrap_or_default(),
            namespace.clone(),
            route.name_any(),
        );
        let mut parents = Vec::new();
        for parent in route.spec.parent_refs.iter().flatten() {
            let group = parent.group.as_deref().unwrap_or(GATEWAY_GROUP);
            let kind = parent.kind.as_deref().unwrap_or("Gateway");
            if group != GATEWAY_GROUP || kind != "Gateway" {
                continue;
            }
            let key = ObjectRef {
                namespace: parent
                    .namespace
                    .clone()
                    .unwrap_or_else(|| namespace.clone()),
                name: parent.name.clone(),
            };
            let Some(gateway) = by_key.get(&key) else {
                continue; // Not one of our Gateways: not ours to report on.
            };
            let accepted = match &compiled {
                Err(problem) => Err(problem.clone()),
                Ok(compiled) => attach(
                    index,
                    route,
                    &namespace,
                    parent,
                    gateway,
                    compiled,
                    &order,
                    &mut output.attachments,
                ),
            };
            let unresolved = compiled.as_ref().ok().and_then(|c| c.unresolved.as_ref());
            let conditions = vec![
                outcome(
                    types::ACCEPTED,
                    accepted.as_ref().err(),
                    reasons::ACCEPTED,
                    "Route accepted",
                    generation,
                ),
                outcome(
                    types::RESOLVED_REFS,
                    unresolved,
                    reasons::RESOLVED_REFS,
                    "All references resolved",
                    generation,
                ),
            ];
            parents.push(RouteParentStatus {
                conditions,
                controller_name: options.controller_name.clone(),
                parent_ref: parent_ref_status(parent),
            });
        }
        if !parents.is_empty() {
            output.statuses.push(ObjectStatus {
                object: ObjectRef {
                    namespace: namespace.clone(),
                    name: route.name_any(),
                },
                status: RouteStatus { parents },
            });
        }
    }
    memo.finish();
    output
}

#[allow(clippy::too_many_arguments)]
fn attach(
    index: &Index<'_>,
    route: &HttpRouteObject,
    namespace: &str,
    parent: &HttpRouteParentRefs,
    gateway: &GatewayState<'_>,
    compiled: &Arc<CompiledRoute>,
    order: &(String, String, String),
    attachments: &mut Attachments,
) -> Result<(), Problem> {
    let candidates: Vec<_> = gateway
        .listeners
        .iter()
        .filter(|l| {
            parent
                .section_name
                .as_ref()
                .is_none_or(|s| *s == l.spec.name)
        })
        .filter(|l| parent.port.is_none_or(|p| p == l.spec.port))
        .collect();
    if candidates.is_empty() {
        return Err(Problem::new(
            reasons::NO_MATCHING_PARENT,
            format!(
                "Gateway {} has no listener matching the parentRef's sectionName and port",
                gateway.key
            ),
        ));
    }
    let allowed: Vec<_> = candidates
        .into_iter()
        .filter(|l| {
            l.accepts_routes() && l.allows_namespace(index, &gateway.key.namespace, namespace)
        })
        .collect();
    if allowed.is_empty() {
        return Err(Problem::new(
            reasons::NOT_ALLOWED_BY_LISTENERS,
            format!("no listener of Gateway {} allows this route", gateway.key),
        ));
    }
    let route_hostnames = route.spec.hostnames.as_deref().unwrap_or(&[]);
    let matched: Vec<_> = allowed
        .iter()
        .filter_map(|l| {
            hostnames::intersect(l.spec.hostname.as_deref(), route_hostnames).map(|h| (l, h))
        })
        .collect();
    if matched.is_empty() {
        return Err(Problem::new(
            reasons::NO_MATCHING_LISTENER_HOSTNAME,
            "no listener hostname intersects the route's hostnames",
        ));
    }
    let route_key = format!("{namespace}/{}", route.name_any());
    for (listener, hostnames) in matched {
        let pair = (route_key.clone(), listener.key.clone());
        if !attachments.attached.insert(pair) {
            continue;
        }
        *attachments.counts.entry(listener.key.clone()).or_default() += 1;
        attachments
            .routes
            .entry(listener.key.clone())
            .or_default()
            .push(Attached {
                order: order.clone(),
                key: route_key.clone(),
                hostnames,
                compiled: compiled.clone(),
            });
    }
    Ok(())
}

fn parent_ref_status(parent: &HttpRouteParentRefs) -> ParentReference {
    ParentReference {
        group: parent.group.clone(),
        kind: parent.kind.clone(),
        name: parent.name.clone(),
        namespace: parent.namespace.clone(),
        port: parent.port,
        section_name: parent.section_name.clone(),
    }
}

/// Translate a route's rules. An unsupported feature rejects the whole route.
fn compile(
    index: &Index<'_>,
    namespace: &str,
    route: &HttpRouteObject,
) -> Result<CompiledRoute, Problem> {
    let mut compiled = CompiledRoute {
        rules: Vec::new(),
        clusters: Vec::new(),
        unresolved: None,
    };
    let default_rules = [HttpRouteRules::default()];
    let rules = route.spec.rules.as_deref().unwrap_or(&default_rules);
    for rule in rules {
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
            let cluster = match backends::resolve(index, namespace, reference) {
                Ok(cluster) => {
                    let name = cluster.name.clone();
                    if !compiled.clusters.iter().any(|c| c.name == name) {
                        compiled.clusters.push(cluster);
                    }
                    Some(name)
                }
                Err(problem) => {
                    compiled.unresolved.get_or_insert(problem);
                    None
                }
            };
            backends.push(WeightedBackend { cluster, weight });
        }
        compiled.rules.push(HttpRule {
            matches,
            filters,
            backends,
        });
    }
    Ok(compiled)
}

fn unsupported(message: impl Into<String>) -> Problem {
    Problem::new(reasons::UNSUPPORTED_VALUE, message)
}

/// Header names must be RFC 9110 tokens.
fn header_name(name: &str) -> Result<String, Problem> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(unsupported(format!("{name:?} is not a valid header name")));
    }
    Ok(name.to_string())
}

/// Header values may not hold control characters (a YAML block scalar's trailing newline is
/// the usual culprit).
fn header_value(name: &str, value: &str) -> Result<String, Problem> {
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(unsupported(format!(
            "the value for header {name:?} holds a control character"
        )));
    }
    Ok(value.to_string())
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
                            name: h.name.to_ascii_lowercase(),
                            value: h.value.clone(),
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
            let status_code = u16::try_from(status_code)
                .ok()
                .filter(|c| matches!(c, 301 | 302 | 303 | 307 | 308))
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
                    Scheme::Http => "http".to_string(),
                    Scheme::Https => "https".to_string(),
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
