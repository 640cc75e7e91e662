//! The objects a migration writes, as `kubectl apply` reads them: the subset of Gateway,
//! HTTPRoute and ReferenceGrant (`gateway.networking.k8s.io/v1`) that Ingresses need, typed,
//! serialised with the API's field names. Tests read the output back through the translator's
//! strict document parser, so a field the API does not have fails them.

use serde::Serialize;

/// `apiVersion` of every object written.
const API_VERSION: &str = "gateway.networking.k8s.io/v1";

/// Name and namespace of an object written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Metadata {
    /// The object's name.
    pub name: String,
    /// The object's namespace.
    pub namespace: String,
    /// Where it came from, for people reading the objects later.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub annotations: std::collections::BTreeMap<String, String>,
}

/// A Gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Gateway {
    api_version: &'static str,
    kind: &'static str,
    /// Name and namespace.
    pub metadata: Metadata,
    /// Class and listeners.
    pub spec: GatewaySpec,
}

impl Gateway {
    /// A Gateway of `class` with `listeners`.
    pub fn new(metadata: Metadata, class: &str, listeners: Vec<Listener>) -> Self {
        Self {
            api_version: API_VERSION,
            kind: "Gateway",
            metadata,
            spec: GatewaySpec {
                gateway_class_name: class.to_string(),
                listeners,
            },
        }
    }
}

/// A Gateway's spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GatewaySpec {
    /// The GatewayClass.
    pub gateway_class_name: String,
    /// Listeners: `http` on 80, one HTTPS listener per TLS host on 443.
    pub listeners: Vec<Listener>,
}

/// A Gateway listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// Its name (routes' `sectionName`).
    pub name: String,
    /// `HTTP` or `HTTPS`.
    pub protocol: &'static str,
    /// 80 or 443.
    pub port: u16,
    /// The host it serves; any when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Certificates of an HTTPS listener.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<ListenerTls>,
    /// Routes from every namespace may attach (Ingresses live in many).
    pub allowed_routes: AllowedRoutes,
}

/// An HTTPS listener's certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerTls {
    /// The Secrets.
    pub certificate_refs: Vec<SecretRef>,
}

/// A Secret named by a listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    /// The Secret's name.
    pub name: String,
    /// Its namespace (the Ingress's).
    pub namespace: String,
}

/// `allowedRoutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllowedRoutes {
    /// Which namespaces.
    pub namespaces: RouteNamespaces,
}

/// `allowedRoutes.namespaces`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteNamespaces {
    /// Always `All`.
    pub from: &'static str,
}

impl Default for AllowedRoutes {
    fn default() -> Self {
        Self {
            namespaces: RouteNamespaces { from: "All" },
        }
    }
}

/// An HTTPRoute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRoute {
    api_version: &'static str,
    kind: &'static str,
    /// Name and namespace (the Ingress's).
    pub metadata: Metadata,
    /// Parents, hostnames, rules.
    pub spec: HttpRouteSpec,
}

impl HttpRoute {
    /// An HTTPRoute with `spec`.
    pub fn new(metadata: Metadata, spec: HttpRouteSpec) -> Self {
        Self {
            api_version: API_VERSION,
            kind: "HTTPRoute",
            metadata,
            spec,
        }
    }
}

/// An HTTPRoute's spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRouteSpec {
    /// The shared Gateway, by listener.
    pub parent_refs: Vec<ParentRef>,
    /// The Ingress rule's host; none for any host.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hostnames: Vec<String>,
    /// One rule per Ingress path (and per redirect or annotation-made rule).
    pub rules: Vec<Rule>,
}

/// A parentRef to a listener of the shared Gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParentRef {
    /// The Gateway's name.
    pub name: String,
    /// The Gateway's namespace.
    pub namespace: String,
    /// The listener.
    pub section_name: String,
}

/// An HTTPRoute rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// One match.
    pub matches: Vec<Match>,
    /// Redirects and rewrites.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<Filter>,
    /// The Ingress path's Service (none for a redirect).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backend_refs: Vec<BackendRef>,
    /// How long the gateway waits, from ingress-nginx's proxy timeouts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
}

/// A rule's `timeouts`, as Gateway API durations (`30s`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeouts {
    /// From the request's start to the end of the backend's response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend_request: Option<String>,
}

/// A path match, with header matches for canary rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Match {
    /// The path.
    pub path: PathMatch,
    /// Headers the request must carry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<HeaderMatch>,
}

impl Match {
    /// A match of `path` alone.
    pub fn on(path: PathMatch) -> Self {
        Self {
            path,
            headers: Vec::new(),
        }
    }
}

/// A header match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderMatch {
    /// `Exact` or `RegularExpression`.
    #[serde(rename = "type")]
    pub kind: HeaderMatchKind,
    /// The header's name.
    pub name: String,
    /// The value, or the expression it must match whole.
    pub value: String,
}

/// How a header value is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum HeaderMatchKind {
    /// The whole value.
    Exact,
    /// A regular expression over the whole value.
    RegularExpression,
}

/// How a path is matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathMatch {
    /// `Exact`, `PathPrefix` or `RegularExpression`.
    #[serde(rename = "type")]
    pub kind: PathKind,
    /// The path or expression.
    pub value: String,
}

/// The Gateway API path match types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum PathKind {
    /// The whole path.
    Exact,
    /// A prefix on `/` boundaries.
    PathPrefix,
    /// A regular expression over the whole path.
    RegularExpression,
}

/// A backendRef to a Service port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackendRef {
    /// The Service.
    pub name: String,
    /// Its port number.
    pub port: i32,
    /// Its share of the rule's requests (a canary split); 1 when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

/// The filters Ingress annotations become.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "PascalCase")]
pub enum Filter {
    /// A redirect answered by the gateway.
    RequestRedirect {
        /// Where to.
        #[serde(rename = "requestRedirect")]
        redirect: Redirect,
    },
    /// Headers added to the request before it is forwarded.
    RequestHeaderModifier {
        /// Which.
        #[serde(rename = "requestHeaderModifier")]
        modifier: HeaderModifier,
    },
    /// CORS preflights answered and CORS headers added to responses.
    #[serde(rename = "CORS")]
    Cors {
        /// The policy.
        cors: Cors,
    },
    /// The request rewritten before it is forwarded.
    #[serde(rename = "URLRewrite")]
    UrlRewrite {
        /// How.
        #[serde(rename = "urlRewrite")]
        rewrite: Rewrite,
    },
}

/// `requestRedirect`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redirect {
    /// `https` for the TLS redirect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheme: Option<&'static str>,
    /// Another host.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Another path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathModifier>,
    /// Another port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// 301, 302, 303, 307 or 308.
    pub status_code: u16,
}

/// `requestHeaderModifier`: headers set on the request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HeaderModifier {
    /// Headers set (replacing any the client sent).
    pub set: Vec<Header>,
}

/// A header name and value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    /// The name.
    pub name: String,
    /// The value.
    pub value: String,
}

/// `cors`: who may call the route from a browser, and how.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cors {
    /// Origins (`*`, or `scheme://host[:port]` with a `*` label).
    pub allow_origins: Vec<String>,
    /// Methods.
    pub allow_methods: Vec<String>,
    /// Request headers.
    pub allow_headers: Vec<String>,
    /// Response headers a script may read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub expose_headers: Vec<String>,
    /// Whether credentials may be sent.
    pub allow_credentials: bool,
    /// Seconds a preflight answer may be cached.
    pub max_age: u32,
}

/// `urlRewrite`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Rewrite {
    /// The `Host` sent to the backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The path sent to the backend.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathModifier>,
}

/// How a redirect or rewrite changes the path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type")]
pub enum PathModifier {
    /// The whole path replaced.
    ReplaceFullPath {
        /// With this.
        #[serde(rename = "replaceFullPath")]
        path: String,
    },
    /// The matched prefix replaced.
    ReplacePrefixMatch {
        /// With this.
        #[serde(rename = "replacePrefixMatch")]
        prefix: String,
    },
}

/// A ReferenceGrant letting the Gateway use Secrets of an Ingress's namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretGrant {
    api_version: &'static str,
    kind: &'static str,
    /// In the Secrets' namespace.
    pub metadata: Metadata,
    /// From Gateways of the Gateway's namespace, to Secrets.
    pub spec: GrantSpec,
}

impl SecretGrant {
    /// A grant in `metadata`'s namespace for Gateways of `gateway_namespace` to `secrets` there.
    pub fn new(metadata: Metadata, gateway_namespace: &str, secrets: Vec<String>) -> Self {
        Self {
            api_version: API_VERSION,
            kind: "ReferenceGrant",
            metadata,
            spec: GrantSpec {
                from: vec![GrantFrom {
                    group: "gateway.networking.k8s.io",
                    kind: "Gateway",
                    namespace: gateway_namespace.to_string(),
                }],
                to: secrets
                    .into_iter()
                    .map(|name| GrantTo {
                        group: "",
                        kind: "Secret",
                        name,
                    })
                    .collect(),
            },
        }
    }
}

/// A ReferenceGrant's spec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantSpec {
    /// Who may refer.
    pub from: Vec<GrantFrom>,
    /// To what.
    pub to: Vec<GrantTo>,
}

/// `from` of a ReferenceGrant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantFrom {
    /// The referrer's group.
    pub group: &'static str,
    /// The referrer's kind.
    pub kind: &'static str,
    /// The referrer's namespace.
    pub namespace: String,
}

/// `to` of a ReferenceGrant: one Secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantTo {
    /// The target's group (core).
    pub group: &'static str,
    /// The target's kind.
    pub kind: &'static str,
    /// The Secret.
    pub name: String,
}
