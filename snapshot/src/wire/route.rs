//! Wire conversions of an HTTP route: rules, matches, filters, timeouts and backends.

use super::{WireError, collect, non_empty, port, proto, typed};
use crate::names::ClusterName;
use crate::route as model;

impl From<model::HttpRoute> for proto::HttpRoute {
    fn from(r: model::HttpRoute) -> Self {
        Self {
            key: r.key,
            hostnames: r.hostnames,
            rules: r.rules.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<proto::HttpRoute> for model::HttpRoute {
    type Error = WireError;
    fn try_from(r: proto::HttpRoute) -> Result<Self, WireError> {
        Ok(Self {
            key: r.key,
            hostnames: r.hostnames,
            rules: collect(r.rules)?,
        })
    }
}

impl From<model::HttpRule> for proto::HttpRule {
    fn from(r: model::HttpRule) -> Self {
        Self {
            matches: r.matches.into_iter().map(Into::into).collect(),
            filters: r.filters.into_iter().map(Into::into).collect(),
            backends: r.backends.into_iter().map(Into::into).collect(),
            timeouts: (!r.timeouts.is_unset()).then(|| proto::Timeouts {
                request_ms: r.timeouts.request_ms.unwrap_or_default(),
                backend_request_ms: r.timeouts.backend_request_ms.unwrap_or_default(),
            }),
            retry: r.retry.map(|retry| proto::Retry {
                codes: retry.codes.into_iter().map(u32::from).collect(),
                attempts: retry.attempts,
                backoff_ms: retry.backoff_ms,
            }),
        }
    }
}

impl TryFrom<proto::HttpRule> for model::HttpRule {
    type Error = WireError;
    fn try_from(r: proto::HttpRule) -> Result<Self, WireError> {
        let timeouts = r.timeouts.unwrap_or_default();
        let set = |ms: u64| (ms > 0).then_some(ms);
        Ok(Self {
            matches: collect(r.matches)?,
            filters: collect(r.filters)?,
            backends: collect(r.backends)?,
            timeouts: model::Timeouts {
                request_ms: set(timeouts.request_ms),
                backend_request_ms: set(timeouts.backend_request_ms),
            },
            retry: r.retry.map(retry).transpose()?,
        })
    }
}

fn retry(retry: proto::Retry) -> Result<model::Retry, WireError> {
    let codes = retry
        .codes
        .into_iter()
        .map(|code| {
            u16::try_from(code).map_err(|_| WireError::OutOfRange {
                field: "retry.codes",
                value: u64::from(code),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(model::Retry {
        codes,
        attempts: retry.attempts,
        backoff_ms: retry.backoff_ms,
    })
}

impl From<model::WeightedBackend> for proto::WeightedBackend {
    fn from(b: model::WeightedBackend) -> Self {
        Self {
            cluster: b.cluster.map(|c| c.0).unwrap_or_default(),
            weight: b.weight,
            filters: b.filters.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<proto::WeightedBackend> for model::WeightedBackend {
    type Error = WireError;
    fn try_from(b: proto::WeightedBackend) -> Result<Self, WireError> {
        Ok(Self {
            cluster: non_empty(b.cluster).map(ClusterName),
            weight: b.weight,
            filters: collect(b.filters)?,
        })
    }
}

impl From<model::HttpMatch> for proto::HttpMatch {
    fn from(m: model::HttpMatch) -> Self {
        let kind = match m.path_match {
            model::PathMatch::Exact => proto::PathMatchKind::Exact,
            model::PathMatch::PathPrefix => proto::PathMatchKind::Prefix,
            model::PathMatch::RegularExpression => proto::PathMatchKind::RegularExpression,
        };
        Self {
            path_kind: kind.into(),
            path: m.path,
            headers: m.headers.into_iter().map(Into::into).collect(),
            method: m.method.map(|m| m.as_str().to_string()).unwrap_or_default(),
            query_params: m.query_params.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<proto::HttpMatch> for model::HttpMatch {
    type Error = WireError;
    fn try_from(m: proto::HttpMatch) -> Result<Self, WireError> {
        let path_match = match proto::PathMatchKind::try_from(m.path_kind) {
            Ok(proto::PathMatchKind::Exact) => model::PathMatch::Exact,
            Ok(proto::PathMatchKind::Prefix) => model::PathMatch::PathPrefix,
            Ok(proto::PathMatchKind::RegularExpression) => model::PathMatch::RegularExpression,
            _ => {
                return Err(WireError::UnknownEnum {
                    field: "match.pathKind",
                    value: m.path_kind,
                });
            }
        };
        Ok(Self {
            path_match,
            path: m.path,
            method: non_empty(m.method)
                .map(|method| typed("match.method", method))
                .transpose()?,
            headers: collect(m.headers)?,
            query_params: collect(m.query_params)?,
        })
    }
}

/// A value match as its wire kind and value.
pub(super) fn value_match<T: Into<String>>(
    value: model::ValueMatch<T>,
) -> (proto::ValueMatchKind, String) {
    match value {
        model::ValueMatch::Exact(v) => (proto::ValueMatchKind::Exact, v.into()),
        model::ValueMatch::RegularExpression(p) => {
            (proto::ValueMatchKind::RegularExpression, p.into())
        }
    }
}

/// The value match a wire kind and value describe.
pub(super) fn typed_value_match<T>(
    field: &'static str,
    kind: i32,
    value: String,
) -> Result<model::ValueMatch<T>, WireError>
where
    T: TryFrom<String>,
    T::Error: std::fmt::Display,
{
    match proto::ValueMatchKind::try_from(kind) {
        Ok(proto::ValueMatchKind::Exact) => Ok(model::ValueMatch::Exact(typed(field, value)?)),
        Ok(proto::ValueMatchKind::RegularExpression) => {
            Ok(model::ValueMatch::RegularExpression(typed(field, value)?))
        }
        Err(_) => Err(WireError::UnknownEnum { field, value: kind }),
    }
}

impl From<model::HeaderMatch> for proto::HeaderMatch {
    fn from(h: model::HeaderMatch) -> Self {
        let (kind, value) = value_match(h.value);
        Self {
            name: h.name.into(),
            value,
            kind: kind.into(),
        }
    }
}

impl TryFrom<proto::HeaderMatch> for model::HeaderMatch {
    type Error = WireError;
    fn try_from(h: proto::HeaderMatch) -> Result<Self, WireError> {
        Ok(Self {
            name: typed("match.headers.name", h.name)?,
            value: typed_value_match("match.headers.value", h.kind, h.value)?,
        })
    }
}

impl From<model::QueryParamMatch> for proto::QueryParamMatch {
    fn from(q: model::QueryParamMatch) -> Self {
        let (kind, value) = value_match(q.value);
        Self {
            name: q.name,
            value,
            kind: kind.into(),
        }
    }
}

impl TryFrom<proto::QueryParamMatch> for model::QueryParamMatch {
    type Error = WireError;
    fn try_from(q: proto::QueryParamMatch) -> Result<Self, WireError> {
        Ok(Self {
            name: q.name,
            value: typed_value_match("match.queryParams.value", q.kind, q.value)?,
        })
    }
}

impl From<model::Header> for proto::Header {
    fn from(h: model::Header) -> Self {
        Self {
            name: h.name.into(),
            value: h.value.into(),
        }
    }
}

impl TryFrom<proto::Header> for model::Header {
    type Error = WireError;
    fn try_from(h: proto::Header) -> Result<Self, WireError> {
        Ok(Self {
            name: typed("header.name", h.name)?,
            value: typed("header.value", h.value)?,
        })
    }
}

impl From<model::HeaderModifier> for proto::HeaderModifier {
    fn from(m: model::HeaderModifier) -> Self {
        Self {
            set: m.set.into_iter().map(Into::into).collect(),
            add: m.add.into_iter().map(Into::into).collect(),
            remove: m.remove.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<proto::HeaderModifier> for model::HeaderModifier {
    type Error = WireError;
    fn try_from(m: proto::HeaderModifier) -> Result<Self, WireError> {
        Ok(Self {
            set: collect(m.set)?,
            add: collect(m.add)?,
            remove: m
                .remove
                .into_iter()
                .map(|name| typed("headerModifier.remove", name))
                .collect::<Result<_, _>>()?,
        })
    }
}

impl From<model::PathRewrite> for proto::PathRewrite {
    fn from(p: model::PathRewrite) -> Self {
        use proto::path_rewrite::Path;
        Self {
            path: Some(match p {
                model::PathRewrite::ReplaceFullPath(path) => Path::ReplaceFullPath(path),
                model::PathRewrite::ReplacePrefixMatch(path) => Path::ReplacePrefixMatch(path),
            }),
        }
    }
}

impl TryFrom<proto::PathRewrite> for model::PathRewrite {
    type Error = WireError;
    fn try_from(p: proto::PathRewrite) -> Result<Self, WireError> {
        use proto::path_rewrite::Path;
        Ok(
            match p.path.ok_or(WireError::Missing("pathRewrite.path"))? {
                Path::ReplaceFullPath(path) => model::PathRewrite::ReplaceFullPath(path),
                Path::ReplacePrefixMatch(path) => model::PathRewrite::ReplacePrefixMatch(path),
            },
        )
    }
}

impl From<model::HttpFilter> for proto::HttpFilter {
    fn from(f: model::HttpFilter) -> Self {
        use proto::http_filter::Filter;
        let filter = match f {
            model::HttpFilter::RequestHeaderModifier(m) => Filter::RequestHeaderModifier(m.into()),
            model::HttpFilter::ResponseHeaderModifier(m) => {
                Filter::ResponseHeaderModifier(m.into())
            }
            model::HttpFilter::RequestRedirect(r) => {
                Filter::RequestRedirect(proto::RequestRedirect {
                    scheme: r.scheme.map(|s| s.as_str().to_string()).unwrap_or_default(),
                    hostname: r.hostname.unwrap_or_default(),
                    port: r.port.map(u32::from).unwrap_or_default(),
                    status_code: r.status_code.as_u16().into(),
                    path: r.path.map(Into::into),
                })
            }
            model::HttpFilter::UrlRewrite(r) => Filter::UrlRewrite(proto::UrlRewrite {
                hostname: r.hostname.map(Into::into).unwrap_or_default(),
                path: r.path.map(Into::into),
            }),
            model::HttpFilter::RequestMirror(m) => Filter::RequestMirror(proto::RequestMirror {
                cluster: m.cluster.0,
                numerator: m.fraction.numerator,
                denominator: m.fraction.denominator,
            }),
            model::HttpFilter::Cors(c) => Filter::Cors(proto::Cors {
                allow_origins: c.allow_origins,
                allow_credentials: c.allow_credentials,
                allow_methods: c.allow_methods,
                allow_headers: c.allow_headers,
                expose_headers: c.expose_headers,
                max_age_seconds: c.max_age_seconds,
            }),
        };
        Self {
            filter: Some(filter),
        }
    }
}

impl TryFrom<proto::HttpFilter> for model::HttpFilter {
    type Error = WireError;
    fn try_from(f: proto::HttpFilter) -> Result<Self, WireError> {
        use proto::http_filter::Filter;
        Ok(match f.filter.ok_or(WireError::Missing("filter"))? {
            Filter::RequestHeaderModifier(m) => {
                model::HttpFilter::RequestHeaderModifier(m.try_into()?)
            }
            Filter::ResponseHeaderModifier(m) => {
                model::HttpFilter::ResponseHeaderModifier(m.try_into()?)
            }
            Filter::RequestRedirect(r) => {
                model::HttpFilter::RequestRedirect(model::RequestRedirect {
                    scheme: non_empty(r.scheme)
                        .map(|s| typed("redirect.scheme", s.as_str()))
                        .transpose()?,
                    hostname: non_empty(r.hostname),
                    path: r.path.map(TryInto::try_into).transpose()?,
                    port: match r.port {
                        0 => None,
                        p => Some(port("redirect.port", p)?),
                    },
                    status_code: typed("redirect.statusCode", r.status_code)?,
                })
            }
            Filter::UrlRewrite(r) => model::HttpFilter::UrlRewrite(model::UrlRewrite {
                hostname: non_empty(r.hostname)
                    .map(|h| typed("urlRewrite.hostname", h))
                    .transpose()?,
                path: r.path.map(TryInto::try_into).transpose()?,
            }),
            Filter::RequestMirror(m) => model::HttpFilter::RequestMirror(model::RequestMirror {
                cluster: ClusterName(m.cluster),
                fraction: model::Fraction {
                    numerator: m.numerator,
                    denominator: m.denominator,
                },
            }),
            Filter::Cors(c) => model::HttpFilter::Cors(model::CorsPolicy {
                allow_origins: c.allow_origins,
                allow_credentials: c.allow_credentials,
                allow_methods: c.allow_methods,
                allow_headers: c.allow_headers,
                expose_headers: c.expose_headers,
                max_age_seconds: c.max_age_seconds,
            }),
        })
    }
}
