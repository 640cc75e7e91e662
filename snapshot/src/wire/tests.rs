//! Wire round trips and the errors a broken peer's message becomes.

use super::*;
use crate::backend_tls::*;
use crate::client_validation::*;
use crate::grpc_route::*;
use crate::http_values::{HeaderName, HeaderValue, Method, RedirectCode, RegexPattern, Scheme};
use crate::model::*;
use crate::route::*;
use crate::stream_route::*;

fn header_name(name: &str) -> HeaderName {
    HeaderName::try_from(name).expect("valid header name")
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::try_from(value).expect("valid header value")
}

fn regex(pattern: &str) -> RegexPattern {
    RegexPattern::try_from(pattern).expect("valid pattern")
}

#[test]
fn a_snapshot_survives_the_wire_unchanged() {
    let snapshot = Snapshot {
        version: 7,
        gateways: vec![GatewayConfig {
            gateway: ObjectRef {
                namespace: "ns".into(),
                name: "gw".into(),
            },
            generation: 3,
            listeners: vec![Listener {
                key: "ns/gw/https".into(),
                version: 11,
                address: [0, 0, 0, 0].into(),
                port: 8443,
                protocol: ListenerProtocol::Https(TlsTermination {
                    certificates: vec![Certificate {
                        name: "ns/cert".into(),
                        cert_chain_pem: "CERT".into(),
                        private_key_pem: "KEY".into(),
                    }],
                    client_validation: Some(ClientValidation {
                        ca_certificates_pem: "CA".into(),
                        mode: ClientValidationMode::AllowInsecureFallback,
                    }),
                }),
                hostname: Some("*.example.com".into()),
                routes: vec![HttpRoute {
                    key: "ns/r".into(),
                    hostnames: vec!["a.example.com".into()],
                    rules: vec![HttpRule {
                        matches: vec![
                            HttpMatch {
                                path_match: PathMatch::Exact,
                                path: "/x".into(),
                                method: Some(Method::Patch),
                                headers: vec![HeaderMatch {
                                    name: header_name("version"),
                                    value: ValueMatch::Exact(header_value("2")),
                                }],
                                query_params: vec![QueryParamMatch {
                                    name: "q".into(),
                                    value: ValueMatch::RegularExpression(regex("[a-z]+")),
                                }],
                            },
                            HttpMatch {
                                path_match: PathMatch::RegularExpression,
                                path: "/v[0-9]+/.*".into(),
                                headers: vec![HeaderMatch {
                                    name: header_name("tenant"),
                                    value: ValueMatch::RegularExpression(regex("t-.*")),
                                }],
                                ..Default::default()
                            },
                        ],
                        filters: vec![
                            HttpFilter::RequestHeaderModifier(HeaderModifier {
                                set: vec![Header {
                                    name: header_name("a"),
                                    value: header_value("b"),
                                }],
                                add: vec![],
                                remove: vec![header_name("c")],
                            }),
                            HttpFilter::ResponseHeaderModifier(HeaderModifier {
                                add: vec![Header {
                                    name: header_name("x-served-by"),
                                    value: header_value("portico"),
                                }],
                                ..Default::default()
                            }),
                            HttpFilter::RequestRedirect(RequestRedirect {
                                scheme: Some(Scheme::Https),
                                hostname: None,
                                path: Some(PathRewrite::ReplacePrefixMatch("/new".into())),
                                port: Some(8443),
                                status_code: RedirectCode::MovedPermanently,
                            }),
                            HttpFilter::UrlRewrite(UrlRewrite {
                                hostname: Some(header_value("b.example.com")),
                                path: Some(PathRewrite::ReplaceFullPath("/full".into())),
                            }),
                        ],
                        timeouts: Timeouts {
                            request_ms: Some(1500),
                            backend_request_ms: None,
                        },
                        retry: Some(Retry {
                            codes: vec![502, 503],
                            attempts: 2,
                            backoff_ms: 100,
                        }),
                        backends: vec![
                            WeightedBackend {
                                cluster: Some("ns/svc:80".into()),
                                weight: 3,
                                filters: vec![HttpFilter::RequestHeaderModifier(HeaderModifier {
                                    remove: vec![header_name("cookie")],
                                    ..Default::default()
                                })],
                            },
                            WeightedBackend {
                                cluster: None,
                                weight: 1,
                                filters: vec![],
                            },
                        ],
                    }],
                }],
                grpc_routes: vec![GrpcRoute {
                    key: "ns/g".into(),
                    hostnames: vec![],
                    rules: vec![GrpcRule {
                        matches: vec![
                            GrpcMatch {
                                service: Some(ValueMatch::Exact("pkg.Echo".into())),
                                method: Some(ValueMatch::RegularExpression(regex("Echo.*"))),
                                headers: vec![HeaderMatch {
                                    name: header_name("tenant"),
                                    value: ValueMatch::Exact(header_value("a")),
                                }],
                            },
                            GrpcMatch::default(),
                        ],
                        filters: vec![HttpFilter::RequestMirror(RequestMirror {
                            cluster: "ns/svc:80".into(),
                            fraction: Fraction::ALL,
                        })],
                        backends: vec![WeightedBackend {
                            cluster: Some("ns/svc:80".into()),
                            weight: 1,
                            filters: vec![],
                        }],
                    }],
                }],
                stream_routes: vec![],
            }],
        }],
        clusters: vec![
            Cluster {
                name: "ns/svc:80".into(),
                version: 5,
                protocol: BackendProtocol::H2c,
                tls: None,
                endpoints: vec![Endpoint {
                    address: [10, 1, 2, 3].into(),
                    port: 3000,
                }],
            },
            Cluster {
                name: "ns/secure:443".into(),
                version: 6,
                protocol: BackendProtocol::Http1,
                tls: Some(BackendTls {
                    policy: "ns/secure".into(),
                    server_name: "secure.example.com".into(),
                    trust: BackendTrust::Certificates("-----BEGIN CERTIFICATE-----".into()),
                    subject_alt_names: vec![
                        SubjectAltName::Hostname("a.example.com".into()),
                        SubjectAltName::Uri("spiffe://example.com/a".into()),
                    ],
                    client_certificate: Some(Certificate {
                        name: "infra/client".into(),
                        cert_chain_pem: "chain".into(),
                        private_key_pem: "key".into(),
                    }),
                }),
                endpoints: vec![],
            },
            Cluster {
                name: "ns/public:443".into(),
                tls: Some(BackendTls {
                    trust: BackendTrust::System,
                    ..Default::default()
                }),
                ..Default::default()
            },
            Cluster {
                name: "ns/grpc:443/h2".into(),
                protocol: BackendProtocol::H2,
                tls: Some(BackendTls::default()),
                ..Default::default()
            },
            Cluster {
                name: "ns/refused:443".into(),
                tls: Some(BackendTls::default()),
                ..Default::default()
            },
        ],
    };
    let wire = proto::Snapshot::from(snapshot.clone());
    assert_eq!(Snapshot::try_from(wire), Ok(snapshot));
}

#[test]
fn layer_4_listeners_and_their_routes_survive_the_wire_and_documents_unchanged() {
    let route = |key: &str, hostnames: &[&str]| StreamRoute {
        key: key.into(),
        hostnames: hostnames.iter().map(|h| h.to_string()).collect(),
        backends: vec![
            StreamBackend {
                cluster: Some("ns/svc:3000".into()),
                weight: 3,
            },
            StreamBackend {
                cluster: None,
                weight: 1,
            },
        ],
    };
    let listener = |key: &str, protocol, routes| Listener {
        key: key.into(),
        port: 9000,
        protocol,
        stream_routes: routes,
        ..Default::default()
    };
    let certificate = Certificate {
        name: "ns/cert".into(),
        cert_chain_pem: "chain".into(),
        private_key_pem: "key".into(),
    };
    let listeners = vec![
        listener("ns/gw/tcp", ListenerProtocol::Tcp, vec![route("ns/t", &[])]),
        listener("ns/gw/udp", ListenerProtocol::Udp, vec![route("ns/u", &[])]),
        listener(
            "ns/gw/pass",
            ListenerProtocol::TlsPassthrough,
            vec![route("ns/p", &["a.example.com"])],
        ),
        listener(
            "ns/gw/term",
            ListenerProtocol::TlsTerminate(TlsTermination {
                certificates: vec![certificate],
                client_validation: None,
            }),
            vec![route("ns/x", &["*.example.com"])],
        ),
    ];
    for listener in listeners {
        let wire = proto::Listener::from(listener.clone());
        assert_eq!(Listener::try_from(wire), Ok(listener.clone()));
        let document = serde_json::to_string(&listener).expect("serialised");
        // Documents redact private keys, so they are compared as written again.
        let read: Listener = serde_json::from_str(&document).expect("read back");
        let again = serde_json::to_string(&read).expect("serialised");
        assert_eq!(again, document);
        assert_eq!(read.protocol.protocol(), listener.protocol.protocol());
    }
}

#[test]
fn a_tls_mode_on_a_listener_that_is_not_tls_is_refused() {
    let wire = proto::Listener {
        key: "ns/gw/tcp".into(),
        address: "0.0.0.0".into(),
        port: 9000,
        protocol: proto::Protocol::Tcp.into(),
        tls_mode: proto::TlsMode::Passthrough.into(),
        ..Default::default()
    };
    assert!(matches!(
        Listener::try_from(wire),
        Err(WireError::Invalid {
            field: "listener.protocol",
            ..
        })
    ));
}

#[test]
fn unknown_protocol_is_an_error_not_a_default() {
    let wire = proto::Listener {
        protocol: 42,
        ..Default::default()
    };
    assert_eq!(
        Listener::try_from(wire),
        Err(WireError::UnknownEnum {
            field: "listener.protocol",
            value: 42
        })
    );
}

#[test]
fn out_of_range_port_is_an_error() {
    let wire = proto::Listener {
        protocol: proto::Protocol::Http.into(),
        address: "127.0.0.1".into(),
        port: 70_000,
        ..Default::default()
    };
    assert!(matches!(
        Listener::try_from(wire),
        Err(WireError::OutOfRange { .. })
    ));
}

#[test]
fn values_a_broken_peer_sends_are_refused_where_they_enter_the_model() {
    let listener = |address: &str| proto::Listener {
        key: "ns/gw/l".into(),
        protocol: proto::Protocol::Http.into(),
        address: address.into(),
        port: 80,
        ..Default::default()
    };
    assert!(matches!(
        Listener::try_from(listener("not-an-ip")),
        Err(WireError::Invalid {
            field: "listener.address",
            ..
        })
    ));
    let header = proto::Header {
        name: "bad header".into(),
        value: "v".into(),
    };
    assert!(matches!(
        Header::try_from(header),
        Err(WireError::Invalid {
            field: "header.name",
            ..
        })
    ));
    let redirect = proto::HttpFilter {
        filter: Some(proto::http_filter::Filter::RequestRedirect(
            proto::RequestRedirect {
                status_code: 200,
                ..Default::default()
            },
        )),
    };
    assert!(matches!(
        HttpFilter::try_from(redirect),
        Err(WireError::Invalid {
            field: "redirect.statusCode",
            ..
        })
    ));
    let mut plain_with_certificates = listener("127.0.0.1");
    plain_with_certificates
        .certificates
        .push(proto::Certificate::default());
    assert!(Listener::try_from(plain_with_certificates).is_err());
}
