//! Tests of snapshot validation.

use super::*;
use crate::model::*;
use crate::route::*;

fn listener(key: &str, port: u16, protocol: ListenerProtocol) -> Listener {
    Listener {
        key: key.into(),
        address: [127, 0, 0, 1].into(),
        port,
        protocol,
        ..Default::default()
    }
}

fn https(certificates: Vec<Certificate>) -> ListenerProtocol {
    ListenerProtocol::Https(TlsTermination {
        certificates,
        client_validation: None,
    })
}

fn snapshot(listeners: Vec<Listener>, clusters: Vec<Cluster>) -> Snapshot {
    Snapshot {
        version: 1,
        gateways: vec![GatewayConfig {
            listeners,
            ..Default::default()
        }],
        clusters,
    }
}

fn route_to(cluster: &str) -> HttpRoute {
    HttpRoute {
        key: "default/r".into(),
        hostnames: vec![],
        rules: vec![HttpRule {
            matches: vec![HttpMatch {
                path: "/".into(),
                ..Default::default()
            }],
            backends: vec![WeightedBackend {
                cluster: Some(cluster.into()),
                weight: 1,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[test]
fn accepts_a_consistent_snapshot() {
    let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
    l.routes.push(route_to("a/svc:80"));
    let cluster = Cluster {
        name: "a/svc:80".into(),
        version: 0,
        protocol: BackendProtocol::Http1,
        tls: None,
        endpoints: vec![Endpoint {
            address: [10, 0, 0, 1].into(),
            port: 8080,
        }],
    };
    assert_eq!(validate(&snapshot(vec![l], vec![cluster])), Ok(()));
}

#[test]
fn rejects_a_route_to_a_missing_cluster() {
    let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
    l.routes.push(route_to("a/missing:80"));
    let err = validate(&snapshot(vec![l], vec![])).unwrap_err();
    assert!(err.to_string().contains("a/missing:80"), "{err}");
}

#[test]
fn rejects_protocol_clash_on_one_socket() {
    let http = listener("a/g/http", 8443, ListenerProtocol::Http);
    let https = listener("a/g/https", 8443, https(vec![Certificate::default()]));
    let err = validate(&snapshot(vec![http, https], vec![])).unwrap_err();
    assert!(
        matches!(err, ValidationError::ProtocolClash { .. }),
        "{err}"
    );
}

#[test]
fn rejects_https_without_certificate() {
    let err = validate(&snapshot(
        vec![listener("a/g/s", 443, https(vec![]))],
        vec![],
    ));
    assert_eq!(
        err,
        Err(ValidationError::MissingCertificate("a/g/s".into()))
    );
}

#[test]
fn rejects_duplicate_keys_and_zero_ports() {
    let twice = vec![
        listener("a/g/l", 80, ListenerProtocol::Http),
        listener("a/g/l", 81, ListenerProtocol::Http),
    ];
    assert_eq!(
        validate(&snapshot(twice, vec![])),
        Err(ValidationError::DuplicateListener("a/g/l".into()))
    );
    let zero = vec![listener("a/g/l", 0, ListenerProtocol::Http)];
    assert!(matches!(
        validate(&snapshot(zero, vec![])),
        Err(ValidationError::ZeroPort(_))
    ));
}

#[test]
fn rejects_bad_regex_paths_and_backend_filters_that_do_more_than_edit_headers() {
    let cluster = Cluster {
        name: "a/svc:80".into(),
        ..Default::default()
    };
    let mut regex = route_to("a/svc:80");
    regex.rules[0].matches[0] = HttpMatch {
        path_match: PathMatch::RegularExpression,
        path: "/v[0-9]+".into(),
        ..Default::default()
    };
    let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
    l.routes.push(regex.clone());
    assert_eq!(validate(&snapshot(vec![l], vec![cluster.clone()])), Ok(()));

    regex.rules[0].matches[0].path = "/v[0-9".into();
    let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
    l.routes.push(regex);
    assert!(matches!(
        validate(&snapshot(vec![l], vec![cluster.clone()])),
        Err(ValidationError::InvalidPath { .. })
    ));

    let mut redirecting = route_to("a/svc:80");
    redirecting.rules[0].backends[0].filters =
        vec![HttpFilter::RequestRedirect(RequestRedirect::default())];
    let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
    l.routes.push(redirecting);
    assert_eq!(
        validate(&snapshot(vec![l], vec![cluster])),
        Err(ValidationError::BackendFilter {
            route: "default/r".into()
        })
    );
}

#[test]
fn rejects_mirrors_to_unknown_clusters_or_of_more_than_every_request() {
    let cluster = Cluster {
        name: "a/svc:80".into(),
        ..Default::default()
    };
    let mirrored = |to: &str, numerator: u32, denominator: u32| {
        let mut route = route_to("a/svc:80");
        route.rules[0].filters = vec![HttpFilter::RequestMirror(RequestMirror {
            cluster: to.into(),
            fraction: Fraction {
                numerator,
                denominator,
            },
        })];
        let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
        l.routes.push(route);
        validate(&snapshot(vec![l], vec![cluster.clone()]))
    };
    assert_eq!(mirrored("a/svc:80", 1, 2), Ok(()));
    assert!(matches!(
        mirrored("a/other:80", 1, 1),
        Err(ValidationError::UnknownCluster { .. })
    ));
    assert!(matches!(
        mirrored("a/svc:80", 3, 2),
        Err(ValidationError::InvalidMirrorFraction { .. })
    ));
    assert!(matches!(
        mirrored("a/svc:80", 0, 0),
        Err(ValidationError::InvalidMirrorFraction { .. })
    ));
}

#[test]
fn rejects_grpc_rules_with_malformed_names_redirects_or_unknown_clusters() {
    let cluster = Cluster {
        name: "a/svc:80".into(),
        ..Default::default()
    };
    let check = |service: &str, filters: Vec<HttpFilter>, to: &str| {
        let mut l = listener("a/g/http", 8080, ListenerProtocol::Http);
        l.grpc_routes.push(crate::GrpcRoute {
            key: "a/g".into(),
            hostnames: vec![],
            rules: vec![crate::GrpcRule {
                matches: vec![crate::GrpcMatch {
                    service: Some(ValueMatch::Exact(service.into())),
                    ..Default::default()
                }],
                filters,
                backends: vec![WeightedBackend {
                    cluster: Some(to.into()),
                    weight: 1,
                    ..Default::default()
                }],
            }],
        });
        validate(&snapshot(vec![l], vec![cluster.clone()]))
    };
    assert_eq!(check("pkg.Echo", vec![], "a/svc:80"), Ok(()));
    assert_eq!(
        check("pkg/Echo", vec![], "a/svc:80"),
        Err(ValidationError::InvalidGrpcName {
            route: "a/g".into()
        })
    );
    let redirect = vec![HttpFilter::RequestRedirect(RequestRedirect::default())];
    assert_eq!(
        check("pkg.Echo", redirect, "a/svc:80"),
        Err(ValidationError::GrpcFilter {
            route: "a/g".into()
        })
    );
    assert!(matches!(
        check("pkg.Echo", vec![], "a/other:80"),
        Err(ValidationError::UnknownCluster { .. })
    ));
}

#[test]
fn rejects_clusters_whose_protocol_contradicts_their_tls() {
    let cluster = |protocol, tls: Option<crate::BackendTls>| Cluster {
        name: "a/svc:443".into(),
        protocol,
        tls,
        ..Default::default()
    };
    let tls = Some(crate::BackendTls::default());
    for fine in [
        cluster(BackendProtocol::H2, tls.clone()),
        cluster(BackendProtocol::H2c, None),
        cluster(BackendProtocol::Http1, tls.clone()),
        cluster(BackendProtocol::Http1, None),
    ] {
        assert_eq!(validate(&snapshot(vec![], vec![fine])), Ok(()));
    }
    for contradiction in [
        cluster(BackendProtocol::H2, None),
        cluster(BackendProtocol::H2c, tls),
    ] {
        assert_eq!(
            validate(&snapshot(vec![], vec![contradiction])),
            Err(ValidationError::ClusterProtocol("a/svc:443".into()))
        );
    }
}

fn stream_route(hostnames: &[&str], cluster: &str) -> crate::StreamRoute {
    crate::StreamRoute {
        key: "a/r".into(),
        hostnames: hostnames.iter().map(|h| h.to_string()).collect(),
        backends: vec![crate::StreamBackend {
            cluster: Some(cluster.into()),
            weight: 1,
        }],
    }
}

fn svc_cluster() -> Cluster {
    Cluster {
        name: "a/svc:80".into(),
        ..Default::default()
    }
}

#[test]
fn a_tcp_and_a_udp_listener_share_a_port_but_tcp_and_tls_do_not() {
    let mut tcp = listener("a/g/tcp", 53, ListenerProtocol::Tcp);
    tcp.stream_routes.push(stream_route(&[], "a/svc:80"));
    let mut udp = listener("a/g/udp", 53, ListenerProtocol::Udp);
    udp.stream_routes.push(stream_route(&[], "a/svc:80"));
    let tls = listener("a/g/tls", 53, ListenerProtocol::TlsPassthrough);
    let shared = snapshot(vec![tcp.clone(), udp], vec![svc_cluster()]);
    assert_eq!(validate(&shared), Ok(()));
    assert!(matches!(
        validate(&snapshot(vec![tcp, tls], vec![svc_cluster()])),
        Err(ValidationError::ProtocolClash { .. })
    ));
}

#[test]
fn layer_4_listeners_carry_only_layer_4_routes_and_only_tls_ones_name_servers() {
    let mut tcp_with_http = listener("a/g/tcp", 9000, ListenerProtocol::Tcp);
    tcp_with_http.routes.push(route_to("a/svc:80"));
    let mut http_with_stream = listener("a/g/http", 80, ListenerProtocol::Http);
    http_with_stream
        .stream_routes
        .push(stream_route(&[], "a/svc:80"));
    let mut tcp_with_names = listener("a/g/tcp", 9000, ListenerProtocol::Tcp);
    tcp_with_names
        .stream_routes
        .push(stream_route(&["a.example"], "a/svc:80"));
    for wrong in [tcp_with_http, http_with_stream, tcp_with_names] {
        let key = wrong.key.clone();
        assert_eq!(
            validate(&snapshot(vec![wrong], vec![svc_cluster()])),
            Err(ValidationError::RoutesOfAnotherKind(key))
        );
    }
    let mut tls = listener("a/g/tls", 443, ListenerProtocol::TlsPassthrough);
    tls.stream_routes
        .push(stream_route(&["a.example"], "a/svc:80"));
    assert_eq!(
        validate(&snapshot(vec![tls.clone()], vec![svc_cluster()])),
        Ok(())
    );
    assert!(matches!(
        validate(&snapshot(vec![tls], vec![])),
        Err(ValidationError::UnknownCluster { .. })
    ));
}

#[test]
fn a_terminating_tls_listener_needs_a_certificate() {
    let terminate = ListenerProtocol::TlsTerminate(TlsTermination::default());
    assert_eq!(
        validate(&snapshot(vec![listener("a/g/tls", 443, terminate)], vec![])),
        Err(ValidationError::MissingCertificate("a/g/tls".into()))
    );
}
