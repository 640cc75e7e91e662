//! HTTPRoute matches compiled into snapshot matches: path (Exact, PathPrefix,
//! RegularExpression), method, headers and query parameters. Regular expressions are checked
//! here, so a bad one rejects only its route.

use crate::route_kinds::httproutes::{
    HttpRouteRulesMatches, HttpRouteRulesMatchesHeadersType as HeaderType,
    HttpRouteRulesMatchesMethod as RouteMethod, HttpRouteRulesMatchesPathType as PathType,
    HttpRouteRulesMatchesQueryParamsType as QueryType,
};
use portico_snapshot::{
    HeaderMatch, HeaderValue, HttpMatch, Method, PathMatch, QueryParamMatch, RegexPattern,
    ValueMatch,
};

use crate::conditions::Problem;
use crate::http_filters::{header_name, header_value, unsupported};

/// The snapshot matches of a rule: its own, or the spec's default `PathPrefix /`.
pub(crate) fn compile_matches(
    matches: Option<&[HttpRouteRulesMatches]>,
) -> Result<Vec<HttpMatch>, Problem> {
    match matches {
        None | Some([]) => Ok(vec![HttpMatch {
            path_match: PathMatch::PathPrefix,
            path: "/".to_string(),
            ..Default::default()
        }]),
        Some(matches) => matches.iter().map(compile_match).collect(),
    }
}

fn compile_match(m: &HttpRouteRulesMatches) -> Result<HttpMatch, Problem> {
    let (path_match, path) = match &m.path {
        None => (PathMatch::PathPrefix, "/".to_string()),
        Some(p) => {
            let value = p.value.clone().unwrap_or_else(|| "/".to_string());
            match p.r#type.as_ref().unwrap_or(&PathType::PathPrefix) {
                PathType::Exact => (PathMatch::Exact, literal_path(value)?),
                PathType::PathPrefix => (PathMatch::PathPrefix, literal_path(value)?),
                PathType::RegularExpression => {
                    (PathMatch::RegularExpression, regex(&value)?.into())
                }
            }
        }
    };
    Ok(HttpMatch {
        path_match,
        path,
        method: m.method.as_ref().map(method),
        headers: header_matches(m)?,
        query_params: query_param_matches(m)?,
    })
}

fn literal_path(value: String) -> Result<String, Problem> {
    if value.starts_with('/') {
        Ok(value)
    } else {
        Err(unsupported(format!("path {value:?} must start with '/'")))
    }
}

/// A regular expression as the snapshot carries it; a bad one is `UnsupportedValue`.
pub(crate) fn regex(pattern: &str) -> Result<RegexPattern, Problem> {
    RegexPattern::try_from(pattern).map_err(|e| unsupported(e.to_string()))
}

fn method(method: &RouteMethod) -> Method {
    match method {
        RouteMethod::Get => Method::Get,
        RouteMethod::Head => Method::Head,
        RouteMethod::Post => Method::Post,
        RouteMethod::Put => Method::Put,
        RouteMethod::Delete => Method::Delete,
        RouteMethod::Connect => Method::Connect,
        RouteMethod::Options => Method::Options,
        RouteMethod::Trace => Method::Trace,
        RouteMethod::Patch => Method::Patch,
    }
}

/// Header conditions; of several naming the same header (in any case), the first counts.
fn header_matches(m: &HttpRouteRulesMatches) -> Result<Vec<HeaderMatch>, Problem> {
    header_conditions(m.headers.iter().flatten().map(|h| {
        let kind = match h.r#type.as_ref().unwrap_or(&HeaderType::Exact) {
            HeaderType::Exact => ValueType::Exact,
            HeaderType::RegularExpression => ValueType::RegularExpression,
        };
        (h.name.as_str(), kind, h.value.as_str())
    }))
}

/// How a header match compares values, whatever the route kind.
#[derive(Clone, Copy)]
pub(crate) enum ValueType {
    /// Equal to the value.
    Exact,
    /// The whole value matches the expression.
    RegularExpression,
}

/// Header conditions from `(name, type, value)`; of several naming the same header (in any
/// case), the first counts.
pub(crate) fn header_conditions<'h>(
    headers: impl IntoIterator<Item = (&'h str, ValueType, &'h str)>,
) -> Result<Vec<HeaderMatch>, Problem> {
    let mut compiled: Vec<HeaderMatch> = Vec::new();
    for (name, kind, value) in headers {
        let header = header_name(&name.to_ascii_lowercase())?;
        if compiled.iter().any(|c| c.name == header) {
            continue;
        }
        let value = match kind {
            ValueType::Exact => ValueMatch::<HeaderValue>::Exact(header_value(name, value)?),
            ValueType::RegularExpression => ValueMatch::RegularExpression(regex(value)?),
        };
        compiled.push(HeaderMatch {
            name: header,
            value,
        });
    }
    Ok(compiled)
}

/// Query parameter conditions; of several naming the same parameter, the first counts.
fn query_param_matches(m: &HttpRouteRulesMatches) -> Result<Vec<QueryParamMatch>, Problem> {
    let mut compiled: Vec<QueryParamMatch> = Vec::new();
    for q in m.query_params.iter().flatten() {
        if compiled.iter().any(|c| c.name == q.name) {
            continue;
        }
        let value = match q.r#type.as_ref().unwrap_or(&QueryType::Exact) {
            QueryType::Exact => ValueMatch::Exact(q.value.clone()),
            QueryType::RegularExpression => ValueMatch::RegularExpression(regex(&q.value)?),
        };
        compiled.push(QueryParamMatch {
            name: q.name.clone(),
            value,
        });
    }
    Ok(compiled)
}
