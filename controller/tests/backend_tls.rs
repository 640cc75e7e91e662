//! TLS from the gateway to backends, as BackendTLSPolicies ask for it, in standalone mode with
//! a real TLS echo backend: the server name sent, the certificate checked against the policy's
//! CA and hostname (or its subject alternative names), the Gateway's client certificate
//! presented, and a 5xx (never a plain-text fallback) when the endpoint cannot be trusted.

mod support;

use rcgen::ExtendedKeyUsagePurpose;

use support::authority::{Authority, indented_pem};
use support::*;

/// A Service `name` on port 443 (port name `https`, `appProtocol: HTTPS`) whose endpoint is
/// 127.0.0.1:`port`, and a BackendTLSPolicy for it with `validation` (YAML lines).
fn tls_backend(name: &str, port: u16, validation: &str) -> String {
    format!(
        r#"---
apiVersion: v1
kind: Service
metadata: {{name: {name}, namespace: default}}
spec:
  ports: [{{name: https, port: 443, appProtocol: HTTPS}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}
  namespace: default
  labels: {{kubernetes.io/service-name: {name}}}
addressType: IPv4
ports: [{{name: https, port: {port}}}]
endpoints: [{{addresses: ["127.0.0.1"]}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {{name: {name}, namespace: default}}
spec:
  targetRefs: [{{group: '', kind: Service, name: {name}, sectionName: https}}]
  validation:
{validation}
"#
    )
}

const CA: &str = "    caCertificateRefs: [{group: '', kind: ConfigMap, name: backend-ca}]\n";
const WRONG_CA: &str = "    caCertificateRefs: [{group: '', kind: ConfigMap, name: other-ca}]\n";
const MISSING_CA: &str =
    "    caCertificateRefs: [{group: '', kind: ConfigMap, name: no-such-ca}]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_are_spoken_to_over_verified_tls_with_the_gateways_client_certificate() {
    let authority = Authority::new();
    let other = Authority::new();
    let (server_cert, server_key) = authority.issue(
        &["abc.example.com", "spiffe://abc.example.com/test-identity"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (client_cert, client_key) = authority.issue(&[], ExtendedKeyUsagePurpose::ClientAuth);
    let (http, echo) = (free_port(), free_port());

    let routes: String = [
        "ok",
        "san-uri",
        "san-dns",
        "san-mismatch",
        "host-mismatch",
        "wrong-ca",
        "missing-ca",
    ]
    .iter()
    .map(|name| {
        format!(
            "  - matches: [{{path: {{type: PathPrefix, value: /{name}}}}}]\n    \
             backendRefs: [{{name: {name}, port: 443}}]\n"
        )
    })
    .collect();
    let hostname = |host: &str| format!("    hostname: {host}\n");
    let backends = [
        tls_backend("ok", echo, &format!("{CA}{}", hostname("abc.example.com"))),
        tls_backend(
            "san-uri",
            echo,
            &format!(
                "{CA}{}    subjectAltNames: [{{type: URI, uri: 'spiffe://abc.example.com/test-identity'}}]\n",
                hostname("abc.example.com")
            ),
        ),
        // The certificate does not name the server name, but one of the listed SANs.
        tls_backend(
            "san-dns",
            echo,
            &format!(
                "{CA}{}    subjectAltNames: [{{type: Hostname, hostname: abc.example.com}}]\n",
                hostname("sni.example.com")
            ),
        ),
        // The server name matches, but with SANs listed only they count.
        tls_backend(
            "san-mismatch",
            echo,
            &format!(
                "{CA}{}    subjectAltNames: [{{type: Hostname, hostname: dce.example.com}}]\n",
                hostname("abc.example.com")
            ),
        ),
        tls_backend("host-mismatch", echo, &format!("{CA}{}", hostname("mismatch.example.com"))),
        tls_backend("wrong-ca", echo, &format!("{WRONG_CA}{}", hostname("abc.example.com"))),
        tls_backend("missing-ca", echo, &format!("{MISSING_CA}{}", hostname("abc.example.com"))),
    ]
    .concat();
    let configuration = format!(
        r#"apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {{name: portico}}
spec: {{controllerName: portico.dev/gateway-controller}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {{name: gw, namespace: default}}
spec:
  gatewayClassName: portico
  tls:
    backend:
      clientCertificateRef: {{name: gateway-client}}
  listeners:
  - {{name: http, protocol: HTTP, port: {http}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app, namespace: default}}
spec:
  parentRefs: [{{name: gw}}]
  hostnames: [app.example.com]
  rules:
{routes}---
apiVersion: v1
kind: ConfigMap
metadata: {{name: backend-ca, namespace: default}}
data:
  ca.crt: |
{backend_ca}---
apiVersion: v1
kind: ConfigMap
metadata: {{name: other-ca, namespace: default}}
data:
  ca.crt: |
{other_ca}---
apiVersion: v1
kind: Secret
metadata: {{name: gateway-client, namespace: default}}
type: kubernetes.io/tls
stringData:
  tls.crt: |
{client_cert}  tls.key: |
{client_key}{backends}"#,
        backend_ca = indented_pem(&authority.pem()),
        other_ca = indented_pem(&other.pem()),
        client_cert = indented_pem(&client_cert),
        client_key = indented_pem(&client_key),
    );
    let mut deployment = Deployment::new(&[
        ("gateway.yaml", &configuration),
        ("server.crt", &server_cert),
        ("server.key", &server_key),
        ("client-ca.crt", &authority.pem()),
    ]);
    let dir = deployment.path().to_path_buf();
    deployment.start_echo_with(
        "secure",
        echo,
        &[
            "--tls-cert",
            &dir.join("server.crt").display().to_string(),
            "--tls-key",
            &dir.join("server.key").display().to_string(),
            "--client-ca",
            &dir.join("client-ca.crt").display().to_string(),
        ],
    );
    deployment.start_controller(&[]);
    wait_for_backend(http, "app.example.com", "/ok", "secure", || {
        deployment.controller_log()
    })
    .await;

    let client = client();
    let answer = get(&client, http, "app.example.com", "/ok", &[])
        .await
        .expect("answer");
    let tls = &answer.body["tls"];
    assert_eq!(tls["serverName"], "abc.example.com", "{}", answer.body);
    let presented = tls["peerCertificates"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        presented.first().and_then(|c| c.as_str()).map(str::trim),
        Some(client_cert.trim()),
        "the Gateway presents its client certificate: {}",
        answer.body
    );

    for (path, served) in [
        ("/san-uri", true),
        ("/san-dns", true),
        ("/san-mismatch", false),
        ("/host-mismatch", false),
        ("/wrong-ca", false),
        ("/missing-ca", false),
    ] {
        let answer = get(&client, http, "app.example.com", path, &[])
            .await
            .expect("answer");
        if served {
            assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        } else {
            assert!(
                matches!(answer.status, 500 | 502 | 503),
                "{path} must fail with a 5xx, got {} {}",
                answer.status,
                answer.body
            );
        }
    }
    let san_dns = get(&client, http, "app.example.com", "/san-dns", &[])
        .await
        .expect("answer");
    assert_eq!(san_dns.body["tls"]["serverName"], "sni.example.com");

    // The policies' statuses, as standalone mode shows them.
    let status = deployment.status().await;
    let policies = status["backendTlsPolicies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let conditions_of = |name: &str| {
        policies
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["status"]["ancestors"][0]["conditions"].clone())
            .unwrap_or_default()
    };
    let reason = |name: &str, type_: &str| {
        conditions_of(name)
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == type_).cloned())
            .map(|c| c["reason"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(
        reason("ok", "Accepted").as_deref(),
        Some("Accepted"),
        "{status}"
    );
    assert_eq!(
        reason("missing-ca", "Accepted").as_deref(),
        Some("NoValidCACertificate")
    );
    assert_eq!(
        reason("missing-ca", "ResolvedRefs").as_deref(),
        Some("InvalidCACertificateRef")
    );
}
