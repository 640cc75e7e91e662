//! The Helm chart against a real control plane: `helm install` with default values succeeds,
//! and the controller, started with the arguments and the ServiceAccount the chart installed
//! (its RBAC, nothing more), serves a Gateway end to end: status, provisioning, the channel's
//! CA, listener certificates from Secrets it could not read when it started (an RBAC race);
//! and that RBAC lets it write Secrets in its own namespace only.
//! The control plane has no nodes, so the chart's own pods never run; the controller runs here
//! as a process instead, with the identity those pods would have.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use gateway_api::gateways::Gateway;
use gateway_api::grpcroutes::GrpcRoute;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::ClusterRole;
use kube::Api;
use kube::api::PostParams;
use portico_translate::route_kinds::httproutes::HttpRoute;
use support::cluster::*;
use support::*;

const NAMESPACE: &str = "portico-system";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_installs_and_its_rbac_is_all_the_controller_needs() {
    let cluster = Cluster::start();
    let client = cluster.client().await;
    install_crds(
        &client,
        &[
            "gatewayclasses",
            "gateways",
            "httproutes",
            "grpcroutes",
            "tlsroutes",
            "tcproutes",
            "udproutes",
            "referencegrants",
            "listenersets",
            "backendtlspolicies",
        ],
    )
    .await;

    let charts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts");
    let helm = Command::new(charts.join("helm.sh"))
        .output()
        .expect("run charts/helm.sh");
    assert!(helm.status.success(), "cannot get helm");
    let helm = String::from_utf8_lossy(&helm.stdout).trim().to_string();
    let installed = Command::new(&helm)
        .args(["install", "portico"])
        .arg(charts.join("portico"))
        .args([
            "--namespace",
            NAMESPACE,
            "--create-namespace",
            "--kubeconfig",
        ])
        .arg(cluster.kubeconfig())
        .status()
        .expect("run helm install");
    assert!(installed.success(), "helm install failed");

    // The controller as the chart runs it: its arguments, its ServiceAccount's token.
    let deployment = Api::<Deployment>::namespaced(client.clone(), NAMESPACE)
        .get("portico-controller")
        .await
        .expect("the chart's controller Deployment");
    let container = deployment
        .spec
        .and_then(|s| s.template.spec)
        .map(|p| p.containers[0].clone())
        .expect("controller container");
    let (grpc, admin) = (free_port(), free_port());
    let args: Vec<String> = container
        .args
        .unwrap_or_default()
        .into_iter()
        .map(|arg| {
            // Ports inside a pod are free; here they must be picked.
            if arg.starts_with("--grpc-address=") {
                format!("--grpc-address=127.0.0.1:{grpc}")
            } else if arg.starts_with("--admin-address=") {
                format!("--admin-address=127.0.0.1:{admin}")
            } else {
                arg
            }
        })
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = dir.path().join("controller.kubeconfig");
    let token = service_account_token(&client, "portico-controller").await;
    std::fs::write(&kubeconfig, with_token(&cluster, &token)).expect("kubeconfig");
    // An RBAC race as during `helm install` or `upgrade`: the controller starts before its
    // role lets it read Secrets, and must pick them up once it may.
    let roles: Api<ClusterRole> = Api::all(client.clone());
    let granted = roles
        .get("portico-controller")
        .await
        .expect("the chart's ClusterRole");
    let mut withheld = granted.clone();
    withheld
        .rules
        .get_or_insert_default()
        .retain(|rule| !rule.resources.iter().flatten().any(|r| r == "secrets"));
    roles
        .replace("portico-controller", &PostParams::default(), &withheld)
        .await
        .expect("withhold Secrets");
    let certificate =
        rcgen::generate_simple_self_signed(vec!["gw.example.com".to_string()]).expect("cert");
    let tls: Secret = yaml_serde::from_str(&format!(
        "metadata: {{name: gw-cert}}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: {:?}\n  tls.key: {:?}\n",
        certificate.cert.pem(),
        certificate.signing_key.serialize_pem()
    ))
    .expect("TLS Secret");
    Api::<Secret>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &tls)
        .await
        .expect("create the TLS Secret");

    let mut command = portico();
    command
        .args(&args)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args(["--listen-address", "127.0.0.1"])
        .env("POD_NAMESPACE", NAMESPACE)
        .env("POD_NAME", "portico-controller-0");
    let log = dir.path().join("controller.log");
    let _controller = Process::start(command, log.clone());

    let gateways: Api<Gateway> = Api::namespaced(client.clone(), "default");
    create(
        &gateways,
        "metadata: {name: gw}\nspec:\n  gatewayClassName: portico\n  listeners:\n  \
         - {name: http, protocol: HTTP, port: 80}\n  \
         - {name: https, protocol: HTTPS, port: 443, tls: {certificateRefs: [{name: gw-cert}]}}\n",
    )
    .await;
    wait_until(Duration::from_secs(30), || {
        std::fs::read_to_string(&log).is_ok_and(|text| text.contains("forbidden"))
    });
    roles
        .replace(
            "portico-controller",
            &PostParams::default(),
            &ClusterRole {
                metadata: roles
                    .get("portico-controller")
                    .await
                    .expect("ClusterRole")
                    .metadata,
                ..granted
            },
        )
        .await
        .expect("grant Secrets again");
    let routes: Api<HttpRoute> = Api::namespaced(client.clone(), "default");
    create(
        &routes,
        "metadata: {name: web}\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: [web.example.com]\n",
    )
    .await;
    let grpc_routes: Api<GrpcRoute> = Api::namespaced(client.clone(), "default");
    create(
        &grpc_routes,
        "metadata: {name: greeter}\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: [grpc.example.com]\n",
    )
    .await;

    // Status of every kind, the data plane provisioned, the channel's CA in place.
    eventually(Duration::from_secs(60), || async {
        let conditions = gateways.get("gw").await.ok()?.status?.conditions?;
        let accepted = condition(&conditions, "Accepted")?;
        (accepted.status == "True").then_some(())
    })
    .await;
    route_status_written(&routes, "web", Duration::from_secs(30)).await;
    // Secrets were picked up once allowed: the HTTPS listener has its certificate.
    eventually(Duration::from_secs(30), || async {
        let listeners = gateways.get("gw").await.ok()?.status?.listeners?;
        let https = listeners.iter().find(|l| l.name == "https")?;
        (condition(&https.conditions, "ResolvedRefs")?.status == "True").then_some(())
    })
    .await;
    eventually(Duration::from_secs(30), || async {
        (!grpc_routes
            .get("greeter")
            .await
            .ok()?
            .status?
            .parents
            .is_empty())
        .then_some(())
    })
    .await;
    eventually(Duration::from_secs(30), || async {
        Api::<Deployment>::namespaced(client.clone(), "default")
            .get("portico-gw")
            .await
            .ok()
    })
    .await;
    eventually(Duration::from_secs(30), || async {
        Api::<Secret>::namespaced(client.clone(), NAMESPACE)
            .get("portico-dataplane-ca")
            .await
            .ok()
    })
    .await;

    // Least privilege: the controller may write Secrets in its own namespace only.
    let as_controller = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(
            yaml_serde::from_str(&with_token(&cluster, &token)).expect("kubeconfig"),
            &Default::default(),
        )
        .await
        .expect("client config"),
    )
    .expect("client");
    let secret = |namespace: &str| -> Secret {
        yaml_serde::from_str(&format!(
            "metadata: {{name: probe, namespace: {namespace}}}\nstringData: {{a: b}}\n"
        ))
        .expect("Secret")
    };
    let written = Api::<Secret>::namespaced(as_controller.clone(), "default")
        .create(&PostParams::default(), &secret("default"))
        .await;
    assert!(
        matches!(&written, Err(kube::Error::Api(status)) if status.code == 403),
        "{written:?}"
    );
    Api::<Secret>::namespaced(as_controller, NAMESPACE)
        .create(&PostParams::default(), &secret(NAMESPACE))
        .await
        .expect("a Secret in the controller's own namespace");

    // The only refusals are the withheld Secrets'.
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    for line in text.lines() {
        let lower = line.to_lowercase();
        if lower.contains("forbidden") || lower.contains("not allowed") {
            assert!(
                lower.contains("secrets"),
                "the chart's RBAC refused something the controller does: {line}\n{text}"
            );
        }
    }
}

/// A token for `account` in the release namespace, for the API server's default audience.
async fn service_account_token(client: &kube::Client, account: &str) -> String {
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), NAMESPACE);
    let issued = accounts
        .create_token_request(account, &PostParams::default(), &TokenRequest::default())
        .await
        .expect("token");
    issued.status.map(|s| s.token).unwrap_or_default()
}

/// The cluster's kubeconfig with its user replaced by `token`.
fn with_token(cluster: &Cluster, token: &str) -> String {
    let admin = std::fs::read_to_string(cluster.kubeconfig()).expect("kubeconfig");
    let mut config: yaml_serde::Value = yaml_serde::from_str(&admin).expect("kubeconfig YAML");
    config["users"][0]["user"] =
        yaml_serde::from_str(&format!("{{token: {token}}}")).expect("user with a token");
    yaml_serde::to_string(&config).expect("kubeconfig YAML")
}
