//! GRPCRoute matches filed as paths. A gRPC call is a `POST` to `/{service}/{method}`, so a
//! match naming both exactly is an exact path; any other is a regular expression over the two
//! path segments, with exact names spelled out and the rest any segment, while the match's own
//! regular expressions for service and method are checked on their segment as conditions
//! ([`RpcNames`], anchored like header values). The exact names' lengths ([`ExactNames`])
//! carry the GRPCRoute precedence into the path table, where every non-exact gRPC match
//! competes in one regular-expression pass.

use portico_snapshot::{GrpcMatch, ValueMatch};

use crate::conditions::{Conditions, ExactNames, RpcNames, compile_regex, header_conditions};
use crate::error::BuildError;
use crate::paths::PathKind;

/// Any one path segment.
const ANY_SEGMENT: &str = "[^/]+";

/// Where a gRPC match of `route` is filed: the kind of path, the path (or pattern), and its
/// conditions.
pub(crate) fn filed(
    route: &str,
    m: &GrpcMatch,
) -> Result<(PathKind, String, Conditions), BuildError> {
    // Snapshots are validated before routing is built; checked again so a malformed name can
    // never be spliced into a path whoever builds the router.
    if !m.names_are_valid() {
        return Err(BuildError(format!(
            "route {route}: malformed gRPC service or method name"
        )));
    }
    let exact = |value: &Option<ValueMatch<String>>| match value {
        Some(ValueMatch::Exact(name)) => Some(name.strip_prefix('.').unwrap_or(name).to_string()),
        _ => None,
    };
    let pattern = |value: &Option<ValueMatch<String>>| match value {
        Some(ValueMatch::RegularExpression(pattern)) => compile_regex(route, pattern).map(Some),
        _ => Ok(None),
    };
    let (service, method) = (exact(&m.service), exact(&m.method));
    let conditions = Conditions {
        exact_names: ExactNames {
            service: service.as_ref().map_or(0, String::len),
            method: method.as_ref().map_or(0, String::len),
        },
        rpc_names: RpcNames {
            service: pattern(&m.service)?,
            method: pattern(&m.method)?,
        },
        headers: header_conditions(route, &m.headers)?,
        ..Default::default()
    };
    let (kind, path) = match (service, method) {
        (Some(service), Some(method)) => (PathKind::Exact, format!("/{service}/{method}")),
        (service, method) => {
            let segment = |name: Option<String>| {
                name.map_or_else(|| ANY_SEGMENT.to_string(), |n| regex::escape(&n))
            };
            (
                PathKind::Regex,
                format!("/{}/{}", segment(service), segment(method)),
            )
        }
    };
    Ok((kind, path, conditions))
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_snapshot::RegexPattern;

    fn exact(name: &str) -> Option<ValueMatch<String>> {
        Some(ValueMatch::Exact(name.into()))
    }

    fn regex(pattern: &str) -> Option<ValueMatch<String>> {
        Some(ValueMatch::RegularExpression(
            RegexPattern::try_from(pattern).expect("valid pattern"),
        ))
    }

    fn filed_as(
        service: Option<ValueMatch<String>>,
        method: Option<ValueMatch<String>>,
    ) -> (PathKind, String, ExactNames) {
        let m = GrpcMatch {
            service,
            method,
            headers: Vec::new(),
        };
        let (kind, path, conditions) = filed("ns/r", &m).expect("valid match");
        (kind, path, conditions.exact_names)
    }

    #[test]
    fn exact_service_and_method_is_an_exact_path() {
        let (kind, path, names) = filed_as(exact(".pkg.Echo"), exact("Say"));
        assert_eq!((kind, path.as_str()), (PathKind::Exact, "/pkg.Echo/Say"));
        assert_eq!(
            names,
            ExactNames {
                service: 8,
                method: 3
            }
        );
    }

    #[test]
    fn a_match_on_neither_name_is_any_call() {
        let (kind, path, _) = filed_as(None, None);
        assert_eq!((kind, path.as_str()), (PathKind::Regex, "/[^/]+/[^/]+"));
    }

    #[test]
    fn other_matches_are_patterns_over_both_segments() {
        let (kind, path, names) = filed_as(exact("pkg.Echo"), None);
        assert_eq!(
            (kind, path.as_str()),
            (PathKind::Regex, r"/pkg\.Echo/[^/]+")
        );
        assert_eq!(
            names,
            ExactNames {
                service: 8,
                method: 0
            }
        );
        let (_, path, names) = filed_as(regex(r"pkg\..*"), exact("Say"));
        assert_eq!(
            path, "/[^/]+/Say",
            "an expression is a condition, not part of the path"
        );
        assert_eq!(
            names,
            ExactNames {
                service: 0,
                method: 3
            }
        );
    }

    #[test]
    fn malformed_exact_names_are_refused() {
        assert!(
            filed(
                "ns/r",
                &GrpcMatch {
                    method: exact("Say/Hello"),
                    ..Default::default()
                }
            )
            .is_err()
        );
    }

    /// Routing through a whole table, as the conformance suite's GRPCRouteHeaderMatching and
    /// GRPCExactMethodMatching exercise it.
    mod precedence {
        use http::HeaderMap;
        use portico_snapshot::*;

        use crate::{Request, Router};

        fn header(name: &str, value: &str) -> HeaderMatch {
            HeaderMatch {
                name: HeaderName::try_from(name).expect("valid name"),
                value: ValueMatch::Exact(HeaderValue::try_from(value).expect("valid value")),
            }
        }

        fn rule(
            service: Option<&str>,
            method: Option<&str>,
            headers: &[(&str, &str)],
            to: &str,
        ) -> GrpcRule {
            GrpcRule {
                matches: vec![GrpcMatch {
                    service: service.map(|s| ValueMatch::Exact(s.into())),
                    method: method.map(|m| ValueMatch::Exact(m.into())),
                    headers: headers.iter().map(|(n, v)| header(n, v)).collect(),
                }],
                backends: vec![WeightedBackend {
                    cluster: Some(to.into()),
                    weight: 1,
                    ..Default::default()
                }],
                ..Default::default()
            }
        }

        fn router(rules: Vec<GrpcRule>) -> Router {
            let listener = Listener {
                key: "ns/gw/http".into(),
                address: [0, 0, 0, 0].into(),
                port: 80,
                grpc_routes: vec![GrpcRoute {
                    key: "ns/grpc".into(),
                    hostnames: vec![],
                    rules,
                }],
                ..Default::default()
            };
            let snapshot = Snapshot {
                version: 1,
                gateways: vec![GatewayConfig {
                    listeners: vec![listener],
                    ..Default::default()
                }],
                clusters: vec![],
            };
            Router::build(&snapshot).expect("valid snapshot")
        }

        fn call(
            router: &Router,
            path: &str,
            metadata: &[(&'static str, &'static str)],
        ) -> Option<String> {
            let mut headers = HeaderMap::new();
            for (name, value) in metadata {
                headers.insert(*name, http::HeaderValue::from_static(value));
            }
            let request = Request {
                host: "grpc.example.com",
                method: &http::Method::POST,
                path,
                query: None,
                headers: &headers,
            };
            let matched = router.socket([0, 0, 0, 0].into(), 80)?.route(&request)?;
            let backend = matched.action.backends.get(0)?;
            backend.cluster.as_ref().map(|c| c.to_string())
        }

        #[test]
        fn more_header_matches_win_and_ties_go_to_the_earlier_rule() {
            let echo = Some("pkg.Echo");
            let router = router(vec![
                rule(echo, Some("Say"), &[("version", "one")], "v1"),
                rule(echo, Some("Say"), &[("version", "two")], "v2"),
                rule(
                    echo,
                    Some("Say"),
                    &[("version", "two"), ("color", "orange")],
                    "v1",
                ),
                rule(echo, Some("Say"), &[("color", "blue")], "v1"),
                rule(echo, Some("Say"), &[("color", "blue")], "v2"),
            ]);
            let say = "/pkg.Echo/Say";
            assert_eq!(
                call(&router, say, &[("version", "one")]).as_deref(),
                Some("v1")
            );
            assert_eq!(
                call(&router, say, &[("version", "two")]).as_deref(),
                Some("v2")
            );
            let both = [("version", "two"), ("color", "orange")];
            assert_eq!(call(&router, say, &both).as_deref(), Some("v1"));
            assert_eq!(
                call(&router, say, &[("color", "blue")]).as_deref(),
                Some("v1")
            );
            assert_eq!(call(&router, say, &[("color", "orange")]), None);
        }

        #[test]
        fn exact_service_outranks_exact_method_which_outranks_any_call() {
            let router = router(vec![
                rule(None, None, &[], "any"),
                rule(None, Some("Say"), &[("a", "1"), ("b", "2")], "method"),
                rule(Some("pkg.Echo"), None, &[], "service"),
                rule(Some("pkg.Echo"), Some("Say"), &[], "both"),
            ]);
            let both = [("a", "1"), ("b", "2")];
            assert_eq!(
                call(&router, "/pkg.Echo/Say", &both).as_deref(),
                Some("both")
            );
            assert_eq!(
                call(&router, "/pkg.Echo/Shout", &both).as_deref(),
                Some("service")
            );
            assert_eq!(
                call(&router, "/pkg.Other/Say", &both).as_deref(),
                Some("method")
            );
            assert_eq!(call(&router, "/pkg.Other/Say", &[]).as_deref(), Some("any"));
            assert_eq!(
                call(&router, "/pkg.Other/Shout", &[]).as_deref(),
                Some("any")
            );
        }

        fn regex_rule(service: &str, method: &str, to: &str) -> GrpcRule {
            let pattern = |p: &str| {
                Some(ValueMatch::RegularExpression(
                    RegexPattern::try_from(p).expect("valid pattern"),
                ))
            };
            let mut rule = rule(None, None, &[], to);
            rule.matches[0].service = pattern(service);
            rule.matches[0].method = pattern(method);
            rule
        }

        #[test]
        fn expressions_match_whole_names_of_one_segment_each() {
            let router = router(vec![
                regex_rule(r"^pkg\.Echo$", "Say.*", "anchored"),
                regex_rule(".*", ".*", "any"),
            ]);
            let to = |path| call(&router, path, &[]);
            assert_eq!(to("/pkg.Echo/SayHello").as_deref(), Some("anchored"));
            assert_eq!(to("/pkg.Echo/Shout").as_deref(), Some("any"));
            assert_eq!(to("/pkg.EchoX/SayHello").as_deref(), Some("any"));
            assert_eq!(to("/a/b/SayHello"), None, "a name never spans a '/'");
        }

        #[test]
        fn without_exact_names_more_headers_win_over_expressions() {
            let router = router(vec![
                rule(None, None, &[("a", "1"), ("b", "2")], "any-call"),
                regex_rule(".*", ".*", "expressions"),
            ]);
            let both = [("a", "1"), ("b", "2")];
            assert_eq!(
                call(&router, "/pkg.Echo/Say", &both).as_deref(),
                Some("any-call")
            );
            assert_eq!(
                call(&router, "/pkg.Echo/Say", &[]).as_deref(),
                Some("expressions")
            );
        }

        #[test]
        fn a_rule_without_a_valid_backend_answers_unavailable() {
            let mut unbacked = rule(Some("pkg.Echo"), None, &[], "v1");
            unbacked.backends.clear();
            let router = router(vec![unbacked]);
            let headers = HeaderMap::new();
            let request = Request {
                host: "grpc.example.com",
                method: &http::Method::POST,
                path: "/pkg.Echo/Say",
                query: None,
                headers: &headers,
            };
            let socket = router.socket([0, 0, 0, 0].into(), 80).expect("socket");
            let decision = socket.decide(&request, 0);
            assert_eq!(decision.action, crate::Action::Respond { status: 503 });
        }
    }
}
