//! An HTTPRoute as a listener carries it: rules of matches (path, method, headers, query
//! parameters), filters (header edits, redirects, rewrites), timeouts and weighted backends.

use serde::{Deserialize, Serialize};

use crate::http_values::{HeaderName, HeaderValue, Method, RedirectCode, RegexPattern, Scheme};
use crate::names::ClusterName;

/// An HTTPRoute as attached to one listener.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    /// `namespace/name` of the HTTPRoute.
    pub key: String,
    /// Hostnames served, already intersected with the listener's hostname. Empty means any.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// The route's rules, in their declared order.
    pub rules: Vec<HttpRule>,
}

/// One HTTPRoute rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRule {
    /// Alternatives: the rule applies when any of them matches. Never empty (the translator
    /// fills in the spec's default, a `PathPrefix /` match).
    pub matches: Vec<HttpMatch>,
    /// Filters applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<HttpFilter>,
    /// Weighted backends. Empty (or all weights zero) with no redirect means 500.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<WeightedBackend>,
    /// How long the data plane waits for an answer.
    #[serde(default, skip_serializing_if = "Timeouts::is_unset")]
    pub timeouts: Timeouts,
    /// Whether and how a failed attempt at a backend is tried again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<Retry>,
}

/// How a request path is compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PathMatch {
    /// The whole path equals the value.
    Exact,
    /// The path starts with the value, on a `/` boundary.
    #[default]
    PathPrefix,
    /// The whole path matches the value, a [`RegexPattern`].
    RegularExpression,
}

/// Conditions a request must all meet.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpMatch {
    /// Kind of path comparison.
    pub path_match: PathMatch,
    /// The path to compare with: starts with `/`, or is a [`RegexPattern`] for
    /// [`PathMatch::RegularExpression`].
    pub path: String,
    /// The method the request must have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// Headers that must be present with matching values (names compare case-insensitively).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatch>,
    /// Query parameters that must be present with matching values (names compare exactly).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query_params: Vec<QueryParamMatch>,
}

/// How a header or query parameter value is compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ValueMatch<T> {
    /// The value equals this one.
    Exact(T),
    /// The whole value matches this expression.
    RegularExpression(RegexPattern),
}

/// A header that must be present with a matching value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderMatch {
    /// Header name (compared case-insensitively).
    pub name: HeaderName,
    /// What the value must be.
    #[serde(flatten)]
    pub value: ValueMatch<HeaderValue>,
}

/// A query parameter that must be present with a matching value. When a request repeats the
/// parameter, its first value is the one compared.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryParamMatch {
    /// Parameter name (compared exactly, after percent-decoding).
    pub name: String,
    /// What the value must be (compared after percent-decoding).
    #[serde(flatten)]
    pub value: ValueMatch<String>,
}

/// A filter applied to matching requests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HttpFilter {
    /// Edit the request's headers before it is proxied.
    RequestHeaderModifier(HeaderModifier),
    /// Edit the response's headers before it is returned.
    ResponseHeaderModifier(HeaderModifier),
    /// Answer with a redirect instead of proxying.
    RequestRedirect(RequestRedirect),
    /// Change the host or path the request is proxied with.
    UrlRewrite(UrlRewrite),
    /// Also send a copy of the request to another cluster, ignoring its answer.
    RequestMirror(RequestMirror),
    /// Answer CORS preflights and add `Access-Control-*` headers to responses.
    Cors(CorsPolicy),
}

impl HttpFilter {
    /// Whether the filter only edits headers (all a backendRef's filters may do).
    pub const fn edits_headers_only(&self) -> bool {
        matches!(
            self,
            Self::RequestHeaderModifier(_) | Self::ResponseHeaderModifier(_)
        )
    }
}

/// Header edits: set replaces, add appends, remove deletes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeaderModifier {
    /// Headers to set, replacing any existing value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub set: Vec<Header>,
    /// Headers to append.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<Header>,
    /// Header names to remove.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove: Vec<HeaderName>,
}

/// A header name and value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Header name.
    pub name: HeaderName,
    /// Header value.
    pub value: HeaderValue,
}

/// A new path for a request: the whole of it, or the part its `PathPrefix` match matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PathRewrite {
    /// Replace the whole path.
    ReplaceFullPath(String),
    /// Replace the matched prefix, keeping the rest of the path.
    ReplacePrefixMatch(String),
}

/// A redirect response. Unset parts keep the request's values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRedirect {
    /// Replacement scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<Scheme>,
    /// Replacement host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Replacement path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathRewrite>,
    /// Replacement port; when unset, the scheme's well-known port is implied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The redirect's status.
    pub status_code: RedirectCode,
}

/// Changes to the request as it is proxied. Unset parts keep the request's values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UrlRewrite {
    /// Replacement `Host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<HeaderValue>,
    /// Replacement path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathRewrite>,
}

/// A copy of a share of a rule's requests, sent to one endpoint of `cluster`; the copy's
/// answer is dropped and its failure never affects the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestMirror {
    /// Name of a [`crate::Cluster`] in the same snapshot.
    pub cluster: ClusterName,
    /// The share of requests copied.
    pub fraction: Fraction,
}

/// `numerator / denominator`, at most 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Fraction {
    /// How many of every `denominator`.
    pub numerator: u32,
    /// Out of how many; more than 0.
    pub denominator: u32,
}

impl Fraction {
    /// All of them.
    pub const ALL: Self = Self {
        numerator: 1,
        denominator: 1,
    };

    /// Whether the fraction is well formed: a denominator, and a numerator not above it.
    pub const fn is_valid(&self) -> bool {
        self.denominator > 0 && self.numerator <= self.denominator
    }
}

/// Cross-origin resource sharing for a rule's requests. Origins are `*`, or
/// `scheme://host[:port]` where the host may be `*` or start with `*.`; methods and header
/// names may be `*`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorsPolicy {
    /// Origins whose requests are allowed.
    pub allow_origins: Vec<String>,
    /// Whether requests may carry credentials (`Access-Control-Allow-Credentials`).
    #[serde(default)]
    pub allow_credentials: bool,
    /// Methods allowed (`Access-Control-Allow-Methods`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_methods: Vec<String>,
    /// Request header names allowed (`Access-Control-Allow-Headers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_headers: Vec<String>,
    /// Response header names exposed (`Access-Control-Expose-Headers`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    /// How long a preflight's answer may be cached (`Access-Control-Max-Age`).
    pub max_age_seconds: u32,
}

/// A rule's timeouts, in milliseconds; unset means none beyond the data plane's own limits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeouts {
    /// From the request's arrival until the response has started: 504 when exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_ms: Option<u64>,
    /// For each attempt at a backend, until its response has started: 504 when exceeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend_request_ms: Option<u64>,
}

impl Timeouts {
    /// Whether neither timeout is set.
    pub const fn is_unset(&self) -> bool {
        self.request_ms.is_none() && self.backend_request_ms.is_none()
    }
}

/// A rule's retries: an attempt at a backend that failed (a response with one of `codes`, a
/// connection that could not be made or broke, or `backend_request_ms` running out) is tried
/// again, on the cluster's next endpoint, while the request can be replayed and the request
/// timeout allows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    /// Response statuses (400 to 599) that make an attempt fail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codes: Vec<u16>,
    /// Tries after the first one, at most [`Retry::MAX_ATTEMPTS`].
    pub attempts: u32,
    /// The least wait before each retry, in milliseconds.
    pub backoff_ms: u64,
}

impl Retry {
    /// The most retries a rule may ask for.
    pub const MAX_ATTEMPTS: u32 = 10;
}

/// A share of a rule's traffic going to one cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightedBackend {
    /// Name of a [`crate::Cluster`] in the same snapshot; `None` when the backendRef is
    /// invalid, in which case requests given to it are answered with 500.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterName>,
    /// Relative weight; 0 means never chosen.
    pub weight: u32,
    /// Header edits for requests sent to this backend, after the rule's own
    /// ([`HttpFilter::edits_headers_only`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<HttpFilter>,
}
