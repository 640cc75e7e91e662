//! Harness for tests against a real Kubernetes control plane: a cluster from
//! conformance/localcluster in a temporary directory, the pinned Gateway API CRDs, object
//! helpers, polling, the controller process and ServiceAccount tokens.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::PostParams;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use portico_translate::route_kinds::httproutes::HttpRoute;
use serde::de::DeserializeOwned;

use super::{Process, portico};

pub fn conformance() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conformance")
}

/// A control plane in a temporary directory, stopped on drop.
pub struct Cluster {
    state: tempfile::TempDir,
}

impl Cluster {
    pub fn start() -> Self {
        let state = tempfile::tempdir().expect("temp dir");
        let status = Command::new(conformance().join("localcluster/start.sh"))
            .arg(state.path())
            .status()
            .expect("run start.sh");
        assert!(status.success(), "the local control plane did not start");
        Self { state }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.state.path().join("kubeconfig")
    }

    pub async fn client(&self) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let kubeconfig = Kubeconfig::read_from(self.kubeconfig()).expect("kubeconfig");
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("client config");
        Client::try_from(config).expect("client")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(conformance().join("localcluster/stop.sh"))
            .arg(self.state.path())
            .status();
    }
}

/// Install the given upstream CRDs and wait until they are served.
pub async fn install_crds(client: &Client, names: &[&str]) {
    let output = Command::new(conformance().join("gateway-api-crds.sh"))
        .output()
        .expect("run gateway-api-crds.sh");
    let dir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let paths: Vec<PathBuf> = names
        .iter()
        .map(|name| Path::new(&dir).join(format!("gateway.networking.k8s.io_{name}.yaml")))
        .collect();
    install_crd_files(client, &paths).await;
}

/// Install the CRDs in `paths` (one YAML document each) and wait until they are served.
pub async fn install_crd_files(client: &Client, paths: &[PathBuf]) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for path in paths {
        let yaml =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let crd: CustomResourceDefinition = yaml_serde::from_str(&yaml).expect("CRD");
        names.push(crd.metadata.name.clone().unwrap_or_default());
        api.create(&PostParams::default(), &crd)
            .await
            .expect("create CRD");
    }
    for name in names {
        eventually(Duration::from_secs(30), || async {
            let crd = api.get(&name).await.ok()?;
            let established = crd
                .status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            established.then_some(())
        })
        .await;
    }
}

pub async fn create<K>(api: &Api<K>, yaml: &str)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let object: K = yaml_serde::from_str(yaml).expect("object YAML");
    api.create(&PostParams::default(), &object)
        .await
        .expect("create object");
}

/// Poll `probe` until it yields a value; panic after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "condition not met within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn condition<'a>(
    conditions: &'a [k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> Option<&'a k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

pub fn start_controller(
    cluster: &Cluster,
    dir: &Path,
    grpc: u16,
    admin: u16,
    log: &str,
) -> Process {
    start_controller_with(cluster, dir, grpc, admin, log, &[])
}

pub fn start_controller_with(
    cluster: &Cluster,
    dir: &Path,
    grpc: u16,
    admin: u16,
    log: &str,
    extra: &[&str],
) -> Process {
    let mut command = portico();
    command
        .arg("controller")
        .arg("--kubeconfig")
        .arg(cluster.kubeconfig())
        .args(["--grpc-address", &format!("127.0.0.1:{grpc}")])
        .args(["--admin-address", &format!("127.0.0.1:{admin}")])
        .args(["--listen-address", "127.0.0.1"])
        .args(extra);
    Process::start(command, dir.join(log))
}

pub async fn gateway_class(client: &Client) {
    create(
        &Api::<gateway_api::gatewayclasses::GatewayClass>::all(client.clone()),
        "metadata: {name: portico}\nspec: {controllerName: portico.dev/gateway-controller}\n",
    )
    .await;
}

/// Wait until HTTPRoute `name` carries a parent status written by Portico.
pub async fn route_status_written(routes: &Api<HttpRoute>, name: &str, timeout: Duration) {
    eventually(timeout, || async {
        let parents = routes.get(name).await.ok()?.status?.parents;
        parents
            .iter()
            .any(|p| p.controller_name == "portico.dev/gateway-controller")
            .then_some(())
    })
    .await;
}

/// Mint a one-hour token of ServiceAccount `account` for `audience` into `path`.
pub async fn write_token(
    accounts: &Api<k8s_openapi::api::core::v1::ServiceAccount>,
    account: &str,
    audience: &str,
    path: &Path,
) {
    use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![audience.to_string()],
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        },
        ..TokenRequest::default()
    };
    let issued = accounts
        .create_token_request(account, &PostParams::default(), &request)
        .await
        .expect("token");
    std::fs::write(path, issued.status.map(|s| s.token).unwrap_or_default()).expect("token file");
}
