//! What the data plane does with a request, decided purely from the request and the routing
//! table: forward to a backend (with the matched rule's header edits, possibly to a rewritten
//! path), redirect, or answer with a status. Every HTTP feature is decided and unit-tested here;
//! the proxy only carries it out.

use portico_snapshot::{PathRewrite, Protocol, RequestRedirect};

use crate::table::{Request, RouteMatch, SocketRouter};

/// The router's decision for one request.
#[derive(Debug)]
pub struct Decision<'a> {
    /// The listener and rule that took the request; `None` when nothing matched.
    pub matched: Option<RouteMatch<'a>>,
    /// What to do.
    pub action: Action<'a>,
}

/// What to do with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Proxy to an endpoint of this cluster, after the matched rule's request header edits.
    Forward {
        /// Name of the cluster.
        cluster: &'a str,
        /// Which of the rule's backends was picked (its own header edits apply too).
        backend: usize,
        /// The path to send instead of the request's, when the rule rewrites it.
        path: Option<String>,
    },
    /// Answer with a redirect.
    Redirect {
        /// 301, 302, 303, 307 or 308.
        status: u16,
        /// The `Location` header.
        location: String,
    },
    /// Answer with a bare status: 404 when no rule matched; when the matched rule has no
    /// valid backend for this request, 500 (HTTPRoute) or 503 (GRPCRoute).
    Respond {
        /// The status code.
        status: u16,
    },
}

impl SocketRouter {
    /// Decide what to do with `request`; `random` (uniform) picks among weighted backends.
    pub fn decide<'a>(&'a self, request: &Request<'_>, random: u64) -> Decision<'a> {
        let Some(matched) = self.route(request) else {
            return Decision {
                matched: None,
                action: Action::Respond { status: 404 },
            };
        };
        let rule = matched.action.as_ref();
        let action = if let Some(redirect) = &rule.redirect {
            let path = redirect
                .path
                .as_ref()
                .map(|p| rewritten_path(p, request.path, matched.prefix));
            let path = path.as_deref().unwrap_or(request.path);
            Action::Redirect {
                status: redirect.status_code.as_u16(),
                location: location(redirect, self.protocol, self.port, request, path),
            }
        } else {
            let picked = rule.backends.pick(random).and_then(|index| {
                let cluster = rule.backends.get(index)?.cluster.as_ref()?;
                Some((index, cluster.as_str()))
            });
            match picked {
                Some((backend, cluster)) => Action::Forward {
                    cluster,
                    backend,
                    path: rule
                        .rewrite
                        .path
                        .as_ref()
                        .map(|p| rewritten_path(p, request.path, matched.prefix)),
                },
                None => Action::Respond {
                    status: rule.kind.no_backend_status(),
                },
            }
        };
        Decision {
            matched: Some(matched),
            action,
        }
    }
}

/// `path` with a rule's path modifier applied. A prefix replacement swaps the `prefix` the
/// request matched (`/`-bounded) and keeps the rest, with one `/` at the seam: prefix `/foo`
/// replaced by `/bar` makes `/foo/x` into `/bar/x`, replaced by `/` makes it `/x`.
fn rewritten_path(rewrite: &PathRewrite, path: &str, prefix: Option<&str>) -> String {
    match rewrite {
        PathRewrite::ReplaceFullPath(full) => full.clone(),
        PathRewrite::ReplacePrefixMatch(replacement) => {
            let rest = match prefix {
                Some("/") if path == "/" => "",
                Some("/") => path,
                Some(prefix) => path.get(prefix.len()..).unwrap_or_default(),
                None => "",
            };
            let joined = format!("{}{rest}", replacement.trim_end_matches('/'));
            if joined.is_empty() {
                "/".to_string()
            } else {
                joined
            }
        }
    }
}

/// The `Location` of a redirect, per the HTTPRoute RequestRedirect rules: unset parts keep the
/// request's; a port is derived from the scheme, and omitted when it is the scheme's default.
fn location(
    redirect: &RequestRedirect,
    protocol: Protocol,
    listener_port: u16,
    request: &Request<'_>,
    path: &str,
) -> String {
    let scheme = redirect.scheme.unwrap_or(protocol.scheme());
    let port = redirect.port.unwrap_or(match redirect.scheme {
        Some(scheme) => scheme.default_port(),
        None => listener_port,
    });
    let host = redirect.hostname.as_deref().unwrap_or(request.host);
    let default_port = port == scheme.default_port();
    let scheme = scheme.as_str();
    let query = request.query.map(|q| format!("?{q}")).unwrap_or_default();
    if default_port {
        format!("{scheme}://{host}{path}{query}")
    } else {
        format!("{scheme}://{host}:{port}{path}{query}")
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use http::HeaderMap;
    use portico_snapshot::*;

    use super::*;
    use crate::Router;

    fn router(protocol: Protocol, port: u16, rule: HttpRule) -> Router {
        let protocol = if protocol == Protocol::Https {
            ListenerProtocol::Https(TlsTermination::default())
        } else {
            ListenerProtocol::Http
        };
        let snapshot = Snapshot {
            version: 1,
            gateways: vec![GatewayConfig {
                listeners: vec![Listener {
                    key: "ns/gw/l".into(),
                    address: [0, 0, 0, 0].into(),
                    port,
                    protocol,
                    routes: vec![HttpRoute {
                        key: "ns/r".into(),
                        hostnames: vec![],
                        rules: vec![rule],
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
            clusters: vec![],
        };
        Router::build(&snapshot).expect("valid snapshot")
    }

    fn rule(filters: Vec<HttpFilter>, backends: Vec<WeightedBackend>) -> HttpRule {
        prefix_rule("/", filters, backends)
    }

    fn prefix_rule(
        prefix: &str,
        filters: Vec<HttpFilter>,
        backends: Vec<WeightedBackend>,
    ) -> HttpRule {
        HttpRule {
            matches: vec![HttpMatch {
                path: prefix.into(),
                ..Default::default()
            }],
            filters,
            backends,
            ..Default::default()
        }
    }

    fn redirect(scheme: Option<Scheme>, port: Option<u16>) -> HttpFilter {
        HttpFilter::RequestRedirect(RequestRedirect {
            scheme,
            port,
            status_code: RedirectCode::MovedPermanently,
            ..Default::default()
        })
    }

    fn backend(cluster: Option<&str>) -> WeightedBackend {
        WeightedBackend {
            cluster: cluster.map(Into::into),
            weight: 1,
            ..Default::default()
        }
    }

    /// The decision for a GET of `path?query` on `example.com`, in words.
    fn decide(router: &Router, port: u16, path: &str, query: Option<&str>) -> String {
        let headers = HeaderMap::new();
        let request = Request {
            host: "example.com",
            method: &http::Method::GET,
            path,
            query,
            headers: &headers,
        };
        let socket = router
            .socket(IpAddr::from([0, 0, 0, 0]), port)
            .expect("socket");
        match socket.decide(&request, 0).action {
            Action::Forward {
                cluster,
                path: None,
                ..
            } => format!("forward to {cluster}"),
            Action::Forward {
                cluster,
                path: Some(path),
                ..
            } => format!("forward {path} to {cluster}"),
            Action::Redirect { status, location } => format!("{status} to {location}"),
            Action::Respond { status } => format!("answer {status}"),
        }
    }

    #[test]
    fn prefix_rewrites_replace_the_matched_segments_and_keep_the_rest() {
        let rewrite = |prefix: &str, to: PathRewrite| {
            let filter = HttpFilter::UrlRewrite(UrlRewrite {
                path: Some(to),
                ..Default::default()
            });
            router(
                Protocol::Http,
                80,
                prefix_rule(prefix, vec![filter], vec![backend(Some("svc"))]),
            )
        };
        let prefix = |to: &str| PathRewrite::ReplacePrefixMatch(to.into());
        let one = rewrite("/prefix/one", prefix("/one"));
        assert_eq!(
            decide(&one, 80, "/prefix/one/two", None),
            "forward /one/two to svc"
        );
        assert_eq!(decide(&one, 80, "/prefix/one", None), "forward /one to svc");
        assert_eq!(
            decide(&one, 80, "/prefix/one/", None),
            "forward /one/ to svc"
        );
        let strip = rewrite("/strip-prefix", prefix("/"));
        assert_eq!(
            decide(&strip, 80, "/strip-prefix/three", None),
            "forward /three to svc"
        );
        assert_eq!(
            decide(&strip, 80, "/strip-prefix", None),
            "forward / to svc"
        );
        let trailing = rewrite("/api/", prefix("/v2/"));
        assert_eq!(
            decide(&trailing, 80, "/api/users", None),
            "forward /v2/users to svc"
        );
        let root = rewrite("/", prefix("/app"));
        assert_eq!(decide(&root, 80, "/x/y", None), "forward /app/x/y to svc");
        assert_eq!(decide(&root, 80, "/", None), "forward /app to svc");
        let full = rewrite("/full/one", PathRewrite::ReplaceFullPath("/one".into()));
        assert_eq!(
            decide(&full, 80, "/full/one/two", None),
            "forward /one to svc"
        );
    }

    #[test]
    fn path_redirects_replace_the_path_and_keep_the_query() {
        let filter = HttpFilter::RequestRedirect(RequestRedirect {
            hostname: Some("example.org".into()),
            path: Some(PathRewrite::ReplacePrefixMatch(
                "/replacement-prefix".into(),
            )),
            ..Default::default()
        });
        let r = router(
            Protocol::Http,
            80,
            prefix_rule("/original-prefix", vec![filter], vec![]),
        );
        assert_eq!(
            decide(&r, 80, "/original-prefix/lemon", Some("a=1")),
            "302 to http://example.org/replacement-prefix/lemon?a=1"
        );
        let full = HttpFilter::RequestRedirect(RequestRedirect {
            path: Some(PathRewrite::ReplaceFullPath(
                "/full-path-replacement".into(),
            )),
            status_code: RedirectCode::MovedPermanently,
            ..Default::default()
        });
        let r = router(Protocol::Http, 80, prefix_rule("/full", vec![full], vec![]));
        assert_eq!(
            decide(&r, 80, "/full/path/original", None),
            "301 to http://example.com/full-path-replacement"
        );
    }

    #[test]
    fn redirects_keep_the_path_and_query_and_drop_default_ports() {
        let to_https = rule(vec![redirect(Some(Scheme::Https), None)], vec![]);
        let to_https = router(Protocol::Http, 8080, to_https);
        assert_eq!(
            decide(&to_https, 8080, "/a/b", Some("x=1")),
            "301 to https://example.com/a/b?x=1"
        );
        let same_scheme = router(
            Protocol::Http,
            8080,
            rule(vec![redirect(None, None)], vec![]),
        );
        assert_eq!(
            decide(&same_scheme, 8080, "/", None),
            "301 to http://example.com:8080/",
            "without a scheme, the listener's port is kept"
        );
        let explicit = rule(vec![redirect(Some(Scheme::Http), Some(8081))], vec![]);
        let explicit = router(Protocol::Https, 443, explicit);
        assert_eq!(
            decide(&explicit, 443, "/p", None),
            "301 to http://example.com:8081/p"
        );
    }

    #[test]
    fn forwards_to_a_picked_cluster_or_answers_500_or_404() {
        let valid = router(
            Protocol::Http,
            80,
            rule(vec![], vec![backend(Some("ns/svc:80"))]),
        );
        assert_eq!(decide(&valid, 80, "/x", None), "forward to ns/svc:80");
        let invalid = router(Protocol::Http, 80, rule(vec![], vec![backend(None)]));
        assert_eq!(decide(&invalid, 80, "/x", None), "answer 500");
        assert_eq!(decide(&invalid, 80, "no-slash", None), "answer 404");
    }
}
