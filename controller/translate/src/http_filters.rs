//! HTTPRoute filters compiled into snapshot filters: header modifiers (request and response),
//! RequestRedirect, URLRewrite, RequestMirror and CORS at rule level, and header modifiers at
//! backendRef level. What Portico does not do yet is refused with `UnsupportedValue`, naming
//! the filter. A mirror whose backendRef does not resolve is dropped, and the route's
//! `ResolvedRefs` says why.

use crate::route_kinds::httproutes::{
    HttpRouteRulesBackendRefsFilters, HttpRouteRulesFilters, HttpRouteRulesFiltersCors,
    HttpRouteRulesFiltersRequestMirror, HttpRouteRulesFiltersRequestMirrorBackendRef,
    HttpRouteRulesFiltersRequestRedirect,
    HttpRouteRulesFiltersRequestRedirectPathType as RedirectPathType,
    HttpRouteRulesFiltersRequestRedirectScheme as RedirectScheme,
    HttpRouteRulesFiltersType as FilterType, HttpRouteRulesFiltersUrlRewrite,
    HttpRouteRulesFiltersUrlRewritePathType as RewritePathType,
};
use portico_snapshot::{
    CorsPolicy, Fraction, Header, HeaderName, HeaderValue, HttpFilter, HttpMatch, OriginPattern,
    PathMatch, PathRewrite, RedirectCode, RequestMirror, RequestRedirect, Scheme, UrlRewrite,
};

use crate::backends::{BackendRef, Resolver, backend_ref};
use crate::conditions::{Problem, reasons};

/// A problem that makes the route unsupported as written.
pub(crate) fn unsupported(message: impl Into<String>) -> Problem {
    Problem::new(reasons::UNSUPPORTED_VALUE, message)
}

/// Header names must be RFC 9110 tokens.
pub(crate) fn header_name(name: &str) -> Result<HeaderName, Problem> {
    HeaderName::try_from(name).map_err(|e| unsupported(e.to_string()))
}

/// Header values may not hold control characters (a YAML block scalar's trailing newline is
/// the usual culprit).
pub(crate) fn header_value(name: &str, value: &str) -> Result<HeaderValue, Problem> {
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

/// A snapshot header modifier from any of the API's header modifier types (request or
/// response, rule or backendRef), which share one shape.
macro_rules! header_modifier {
    ($modifier:expr) => {{
        let m = $modifier;
        portico_snapshot::HeaderModifier {
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
        }
    }};
}

/// A rule's filters. `matches` are the rule's compiled matches: a `ReplacePrefixMatch` needs
/// every one of them to be a `PathPrefix`. Mirrors' backendRefs are resolved by `resolver`.
pub(crate) fn compile_filters(
    filters: Option<&[HttpRouteRulesFilters]>,
    matches: &[HttpMatch],
    resolver: &mut Resolver<'_, '_>,
) -> Result<Vec<HttpFilter>, Problem> {
    let filters = filters.unwrap_or(&[]);
    let redirects = filters
        .iter()
        .any(|f| f.r#type == FilterType::RequestRedirect);
    let rewrites = filters.iter().any(|f| f.r#type == FilterType::UrlRewrite);
    if redirects && rewrites {
        return Err(unsupported(
            "a rule cannot have both a RequestRedirect and a URLRewrite filter",
        ));
    }
    let mut compiled = Vec::with_capacity(filters.len());
    for filter in filters {
        if filter.r#type == FilterType::RequestMirror {
            let mirror = filter
                .request_mirror
                .as_ref()
                .ok_or_else(|| unsupported("filter RequestMirror is missing its configuration"))?;
            compiled.extend(request_mirror(mirror, resolver)?);
        } else {
            compiled.push(compile_filter(filter, matches)?);
        }
    }
    Ok(compiled)
}

/// How long browsers may cache a preflight's answer when the filter does not say.
const DEFAULT_CORS_MAX_AGE_SECONDS: u32 = 5;

/// A CORS filter: origins must parse, methods be `*` or methods, header names be `*` or
/// tokens.
fn cors(c: &HttpRouteRulesFiltersCors) -> Result<CorsPolicy, Problem> {
    let allow_origins = c.allow_origins.clone().unwrap_or_default();
    for origin in &allow_origins {
        OriginPattern::parse(origin).map_err(unsupported)?;
    }
    let allow_methods = c.allow_methods.clone().unwrap_or_default();
    for method in allow_methods.iter().filter(|m| *m != "*") {
        portico_snapshot::Method::try_from(method.as_str())
            .map_err(|e| unsupported(e.to_string()))?;
    }
    let names = |list: &Option<Vec<String>>| -> Result<Vec<String>, Problem> {
        let list = list.clone().unwrap_or_default();
        for name in list.iter().filter(|n| *n != "*") {
            header_name(name)?;
        }
        Ok(list)
    };
    let max_age_seconds = match c.max_age {
        None => DEFAULT_CORS_MAX_AGE_SECONDS,
        Some(age) => {
            u32::try_from(age).map_err(|_| unsupported(format!("CORS maxAge {age} is negative")))?
        }
    };
    Ok(CorsPolicy {
        allow_origins,
        allow_credentials: c.allow_credentials.unwrap_or(false),
        allow_methods,
        allow_headers: names(&c.allow_headers)?,
        expose_headers: names(&c.expose_headers)?,
        max_age_seconds,
    })
}

/// A mirror's backendRef as the resolver takes it.
pub(crate) fn mirror_backend_ref(
    reference: &HttpRouteRulesFiltersRequestMirrorBackendRef,
) -> BackendRef<'_> {
    backend_ref!(reference)
}

/// A RequestMirror, or `None` when its backendRef does not resolve (the resolver keeps why).
fn request_mirror(
    mirror: &HttpRouteRulesFiltersRequestMirror,
    resolver: &mut Resolver<'_, '_>,
) -> Result<Option<HttpFilter>, Problem> {
    let fraction = match (mirror.percent, &mirror.fraction) {
        (Some(_), Some(_)) => {
            return Err(unsupported(
                "a RequestMirror may have a percent or a fraction, not both",
            ));
        }
        (Some(percent), None) => (percent, 100),
        (None, Some(f)) => (f.numerator, f.denominator.unwrap_or(100)),
        (None, None) => (1, 1),
    };
    let (numerator, denominator) = fraction;
    let fraction = Fraction {
        numerator: u32::try_from(numerator).unwrap_or(u32::MAX),
        denominator: u32::try_from(denominator).unwrap_or(0),
    };
    if !fraction.is_valid() {
        return Err(unsupported(format!(
            "a RequestMirror cannot copy {}/{} of requests",
            fraction.numerator, fraction.denominator
        )));
    }
    Ok(resolver
        .resolve(&mirror_backend_ref(&mirror.backend_ref))
        .map(|cluster| HttpFilter::RequestMirror(RequestMirror { cluster, fraction })))
}

fn compile_filter(
    filter: &HttpRouteRulesFilters,
    matches: &[HttpMatch],
) -> Result<HttpFilter, Problem> {
    let missing = || {
        unsupported(format!(
            "filter {:?} is missing its configuration",
            filter.r#type
        ))
    };
    match filter.r#type {
        FilterType::RequestHeaderModifier => {
            let m = filter
                .request_header_modifier
                .as_ref()
                .ok_or_else(missing)?;
            Ok(HttpFilter::RequestHeaderModifier(header_modifier!(m)))
        }
        FilterType::ResponseHeaderModifier => {
            let m = filter
                .response_header_modifier
                .as_ref()
                .ok_or_else(missing)?;
            Ok(HttpFilter::ResponseHeaderModifier(header_modifier!(m)))
        }
        FilterType::RequestRedirect => {
            let r = filter.request_redirect.as_ref().ok_or_else(missing)?;
            Ok(HttpFilter::RequestRedirect(redirect(r, matches)?))
        }
        FilterType::UrlRewrite => {
            let r = filter.url_rewrite.as_ref().ok_or_else(missing)?;
            Ok(HttpFilter::UrlRewrite(url_rewrite(r, matches)?))
        }
        FilterType::Cors => {
            let c = filter.cors.as_ref().ok_or_else(missing)?;
            Ok(HttpFilter::Cors(cors(c)?))
        }
        ref other => Err(unsupported(format!(
            "filter {other:?} is not supported yet"
        ))),
    }
}

/// A backendRef's filters: header modifiers only, as Portico applies them per backend.
pub(crate) fn compile_backend_filters(
    filters: Option<&[HttpRouteRulesBackendRefsFilters]>,
) -> Result<Vec<HttpFilter>, Problem> {
    filters
        .unwrap_or(&[])
        .iter()
        .map(|filter| {
            let rule_filter: HttpRouteRulesFilters = same_shape(filter)?;
            let compiled = compile_filter(&rule_filter, &[])?;
            if compiled.edits_headers_only() {
                Ok(compiled)
            } else {
                Err(unsupported(format!(
                    "backendRef filter {:?} is not supported; only header modifiers are",
                    rule_filter.r#type
                )))
            }
        })
        .collect()
}

/// The API generates a separate type per route kind and per place (rule or backendRef) for
/// filters of one schema; one compiler serves them all by reading one as another.
pub(crate) fn same_shape<T: serde::Serialize, U: serde::de::DeserializeOwned>(
    filter: &T,
) -> Result<U, Problem> {
    serde_json::to_value(filter)
        .and_then(serde_json::from_value)
        .map_err(|e| unsupported(format!("filter: {e}")))
}

fn redirect(
    r: &HttpRouteRulesFiltersRequestRedirect,
    matches: &[HttpMatch],
) -> Result<RequestRedirect, Problem> {
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
    let path = match &r.path {
        None => None,
        Some(p) => Some(path_rewrite(
            p.r#type == RedirectPathType::ReplacePrefixMatch,
            p.replace_full_path.as_deref(),
            p.replace_prefix_match.as_deref(),
            matches,
        )?),
    };
    Ok(RequestRedirect {
        scheme: r.scheme.as_ref().map(|s| match s {
            RedirectScheme::Http => Scheme::Http,
            RedirectScheme::Https => Scheme::Https,
        }),
        hostname: r.hostname.clone(),
        path,
        port,
        status_code,
    })
}

fn url_rewrite(
    r: &HttpRouteRulesFiltersUrlRewrite,
    matches: &[HttpMatch],
) -> Result<UrlRewrite, Problem> {
    let path = match &r.path {
        None => None,
        Some(p) => Some(path_rewrite(
            p.r#type == RewritePathType::ReplacePrefixMatch,
            p.replace_full_path.as_deref(),
            p.replace_prefix_match.as_deref(),
            matches,
        )?),
    };
    Ok(UrlRewrite {
        hostname: r
            .hostname
            .as_deref()
            .map(|h| header_value("Host", h))
            .transpose()?,
        path,
    })
}

/// A path modifier: the full path, or a replacement for the matched prefix, which only a rule
/// whose matches are all `PathPrefix` has.
fn path_rewrite(
    replaces_prefix: bool,
    full_path: Option<&str>,
    prefix: Option<&str>,
    matches: &[HttpMatch],
) -> Result<PathRewrite, Problem> {
    let (value, kind) = if replaces_prefix {
        (prefix, "replacePrefixMatch")
    } else {
        (full_path, "replaceFullPath")
    };
    let value = value.ok_or_else(|| unsupported(format!("path modifier is missing {kind}")))?;
    if !value.starts_with('/') {
        return Err(unsupported(format!("{kind} {value:?} must start with '/'")));
    }
    if !replaces_prefix {
        return Ok(PathRewrite::ReplaceFullPath(value.to_string()));
    }
    if matches
        .iter()
        .any(|m| m.path_match != PathMatch::PathPrefix)
    {
        return Err(unsupported(
            "replacePrefixMatch needs every match of its rule to be a PathPrefix match",
        ));
    }
    Ok(PathRewrite::ReplacePrefixMatch(value.to_string()))
}
