//! Client certificate validation on HTTPS listeners (a Gateway's `spec.tls.frontend`) in
//! standalone mode, with real TLS clients: on an `AllowValidOnly` port the handshake fails for
//! a client without a certificate the configured CA vouches for; on an `AllowInsecureFallback`
//! port every client is served, and both ask for a certificate.

mod support;

use rcgen::ExtendedKeyUsagePurpose;

use support::authority::{Authority, indented_pem};
use support::*;

fn configuration(
    strict: u16,
    fallback: u16,
    echo: u16,
    ca: &str,
    server: &(String, String),
) -> String {
    format!(
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
    frontend:
      default:
        validation:
          caCertificateRefs: [{{group: '', kind: ConfigMap, name: client-ca}}]
      perPort:
      - port: {fallback}
        tls:
          validation:
            mode: AllowInsecureFallback
            caCertificateRefs: [{{group: '', kind: ConfigMap, name: client-ca}}]
  listeners:
  - {{name: strict, protocol: HTTPS, port: {strict}, tls: {{certificateRefs: [{{name: server}}]}}}}
  - {{name: fallback, protocol: HTTPS, port: {fallback}, tls: {{certificateRefs: [{{name: server}}]}}}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: app, namespace: default}}
spec:
  parentRefs: [{{name: gw}}]
  hostnames: [app.example.com]
  rules: [{{backendRefs: [{{name: app, port: 80}}]}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: client-ca, namespace: default}}
data:
  ca.crt: |
{ca}---
apiVersion: v1
kind: Secret
metadata: {{name: server, namespace: default}}
type: kubernetes.io/tls
stringData:
  tls.crt: |
{cert}  tls.key: |
{key}---
{backend}"#,
        ca = indented_pem(ca),
        cert = indented_pem(&server.0),
        key = indented_pem(&server.1),
        backend = backend_yaml("app", echo),
    )
}

/// GET `/` on `port` as app.example.com, presenting `identity` (certificate and key PEM) if
/// given: the status, or the error that ended the exchange.
async fn fetch(
    port: u16,
    trusted: &str,
    identity: Option<&(String, String)>,
) -> Result<u16, String> {
    let mut builder = https_client_builder(trusted, "app.example.com");
    if let Some((cert, key)) = identity {
        let identity = reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes())
            .expect("client identity");
        builder = builder.identity(identity);
    }
    let client = builder.build().expect("client");
    client
        .get(format!("https://app.example.com:{port}/"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_need_a_valid_certificate_unless_the_port_allows_insecure_fallback() {
    let authority = Authority::new();
    let stranger = Authority::new();
    let server = authority.issue(&["app.example.com"], ExtendedKeyUsagePurpose::ServerAuth);
    let valid = authority.issue(&[], ExtendedKeyUsagePurpose::ClientAuth);
    let unknown = stranger.issue(&[], ExtendedKeyUsagePurpose::ClientAuth);
    let (strict, fallback, echo) = (free_port(), free_port(), free_port());
    let mut deployment = Deployment::new(&[(
        "gateway.yaml",
        &configuration(strict, fallback, echo, &authority.pem(), &server),
    )]);
    deployment.start_echo("app", echo);
    deployment.start_controller(&[]);
    let ca = authority.pem();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while fetch(strict, &ca, Some(&valid)).await != Ok(200) {
        assert!(
            std::time::Instant::now() < deadline,
            "the strict listener never served a valid client: {}",
            deployment.controller_log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    for (name, identity) in [
        ("no certificate", None),
        ("an unknown CA's certificate", Some(&unknown)),
    ] {
        let outcome = fetch(strict, &ca, identity).await;
        assert!(
            outcome.is_err(),
            "a client with {name} must fail the handshake, got {outcome:?}"
        );
    }
    for (name, identity) in [
        ("a valid certificate", Some(&valid)),
        ("no certificate", None),
        ("an unknown CA's certificate", Some(&unknown)),
    ] {
        assert_eq!(
            fetch(fallback, &ca, identity).await,
            Ok(200),
            "the fallback port serves a client with {name}"
        );
    }

    let status = deployment.status().await;
    let conditions = status["gateways"][0]["status"]["conditions"].clone();
    let insecure = conditions
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["type"] == "InsecureFrontendValidationMode")
                .cloned()
        })
        .unwrap_or_default();
    assert_eq!(insecure["status"], "True", "{conditions}");
    assert_eq!(insecure["reason"], "ConfigurationChanged");
}
