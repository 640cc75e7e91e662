//! The node agent against a real control plane (conformance/localcluster): a Deployment's pods
//! are bound, run as processes in their own network namespaces, serve on their pod IPs (their
//! output readable through the API server, as `kubectl logs` reads it) with
//! their ConfigMap and downward-API volumes mounted (and an empty directory mounted over the
//! program's own directory), cannot route off the machine, become Ready, appear in
//! EndpointSlices of a LoadBalancer Service that gets a pool address, stop when deleted; an
//! unknown image fails its pod visibly; a pod whose Secret appears later runs then; the
//! load-balancer address (through kube-proxy) and the Service's DNS name (through the cluster
//! DNS, from inside a pod) answer; stopping the node removes every namespace and the bridge.
//! The node is started by start-node.sh, as `make conformance` does. The "image" is python3's
//! HTTP server, so the test needs nothing built besides the agent.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::{DeleteParams, ListParams, LogParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, ResourceExt};

/// As conformance/localcluster/network.env says.
const BRIDGE: &str = "portico0";

fn localcluster() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../localcluster")
}

/// A control plane in a temporary directory, stopped on drop.
struct Cluster {
    state: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Self {
        let state = tempfile::tempdir().expect("temp dir");
        let started = Command::new(localcluster().join("start.sh"))
            .arg(state.path())
            .status()
            .expect("start.sh");
        assert!(started.success(), "the local control plane did not start");
        Self { state }
    }

    fn kubeconfig(&self) -> PathBuf {
        self.state.path().join("kubeconfig")
    }

    async fn client(&self) -> Client {
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
        let _ = Command::new(localcluster().join("stop.sh"))
            .arg(self.state.path())
            .status();
    }
}

/// The node (agent, kube-proxy, cluster DNS) started by start-node.sh; the image table maps a
/// test image to python3.
struct Node {
    state: PathBuf,
}

impl Node {
    fn start(cluster: &Cluster) -> Self {
        let state = cluster.state.path().to_path_buf();
        let images = state.join("images.yaml");
        std::fs::write(
            &images,
            "- image: test/python-http\n  entrypoint: [python3]\n",
        )
        .expect("image table");
        let started = Command::new(localcluster().join("start-node.sh"))
            .arg(&state)
            .arg(env!("CARGO_BIN_EXE_portico-nodeagent"))
            .arg(&images)
            .status()
            .expect("start-node.sh");
        assert!(started.success(), "the node did not start");
        Self { state }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.state.join("portico-nodeagent.log")).unwrap_or_default()
    }
}

async fn eventually<T, F, Fut>(what: &str, agent: &Node, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; agent log:\n{}",
            agent.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn namespaces() -> Vec<String> {
    let output = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(BRIDGE))
        .map(str::to_string)
        .collect()
}

fn ready(pod: &Pod) -> bool {
    pod.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| c.type_ == "Ready" && c.status == "True")
}

fn pod_ip(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.pod_ip.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pods_run_as_processes_in_their_own_network_namespaces() {
    let cluster = Cluster::start();
    let client = cluster.client().await;
    let agent = Node::start(&cluster);

    let create = |yaml: &str| yaml_serde::from_str::<yaml_serde::Value>(yaml).expect("YAML");
    let config_maps: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let config_map: ConfigMap = yaml_serde::from_value(create(
        "metadata: {name: site}\ndata: {index.html: hello from a ConfigMap}\n",
    ))
    .expect("ConfigMap");
    config_maps
        .create(&PostParams::default(), &config_map)
        .await
        .expect("create ConfigMap");
    let deployment: Deployment = yaml_serde::from_value(create(
        "metadata: {name: web}\n\
         spec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n  template:\n\
         \x20   metadata: {labels: {app: web}}\n    spec:\n\
         \x20     terminationGracePeriodSeconds: 5\n\
         \x20     containers:\n      - name: http\n        image: test/python-http:3\n\
         \x20       args: [-m, http.server, '8080', --directory, /srv/www]\n\
         \x20       ports: [{name: http, containerPort: 8080}]\n\
         \x20       readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 1}\n\
         \x20       volumeMounts:\n        - {name: site, mountPath: /srv/www}\n\
         \x20       - {name: about, mountPath: /srv/www/about}\n\
         \x20       - {name: cover, mountPath: /usr/bin}\n\
         \x20     volumes:\n      - {name: site, configMap: {name: site}}\n\
         \x20     - {name: cover, emptyDir: {}}\n\
         \x20     - name: about\n        downwardAPI:\n          items: [{path: name, fieldRef: {fieldPath: metadata.name}}]\n",
    ))
    .expect("Deployment");
    Api::<Deployment>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &deployment)
        .await
        .expect("create Deployment");

    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let web = ListParams::default().labels("app=web");
    let running = eventually("two Ready pods", &agent, || async {
        let list = pods.list(&web).await.ok()?.items;
        (list.len() == 2 && list.iter().all(ready)).then_some(list)
    })
    .await;
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    for pod in &running {
        let ip = pod_ip(pod);
        assert!(ip.starts_with("10.244.0."), "{ip}");
        let index = http
            .get(format!("http://{ip}:8080/index.html"))
            .send()
            .await
            .expect("pod answers on its IP")
            .text()
            .await
            .expect("body");
        assert_eq!(index, "hello from a ConfigMap");
        let name = http
            .get(format!("http://{ip}:8080/about/name"))
            .send()
            .await
            .expect("downward API file")
            .text()
            .await
            .expect("body");
        assert_eq!(name, pod.name_any());
    }
    assert_eq!(namespaces().len(), 2);

    // The API server serves the containers' output (`kubectl logs`), tails included.
    let first = running[0].name_any();
    let logs = pods
        .logs(&first, &LogParams::default())
        .await
        .expect("pod logs through the API server");
    assert!(logs.contains("GET /index.html"), "{logs}");
    let last = pods
        .logs(
            &first,
            &LogParams {
                tail_lines: Some(1),
                ..LogParams::default()
            },
        )
        .await
        .expect("tail");
    assert_eq!(last.trim_end().lines().count(), 1, "{last}");

    // Pods reach the cluster's networks only: there is no route off the machine.
    for namespace in namespaces() {
        let route = Command::new("ip")
            .args(["-n", &namespace, "route", "get", "8.8.8.8"])
            .output()
            .expect("ip route get");
        assert!(
            !route.status.success(),
            "{namespace} can route off the machine"
        );
    }

    // Both pods are endpoints of a LoadBalancer Service selecting them, which gets an address
    // from the pool.
    let service: k8s_openapi::api::core::v1::Service = yaml_serde::from_value(create(
        "metadata: {name: web}\n\
         spec: {type: LoadBalancer, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}\n",
    ))
    .expect("Service");
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(client.clone(), "default");
    services
        .create(&PostParams::default(), &service)
        .await
        .expect("create Service");
    let address = eventually("a load-balancer address", &agent, || async {
        let ingress = services
            .get("web")
            .await
            .ok()?
            .status?
            .load_balancer?
            .ingress?;
        ingress.first()?.ip.clone()
    })
    .await;
    assert!(address.starts_with("10.250.0."), "{address}");
    let slices: Api<EndpointSlice> = Api::namespaced(client.clone(), "default");
    let mut expected: Vec<String> = running.iter().map(pod_ip).collect();
    expected.sort();
    eventually("an EndpointSlice with both pods", &agent, || async {
        let list = slices
            .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
            .await
            .ok()?;
        let mut ready: Vec<String> = list
            .items
            .iter()
            .flat_map(|s| s.endpoints.iter())
            .filter(|e| e.conditions.as_ref().and_then(|c| c.ready) == Some(true))
            .flat_map(|e| e.addresses.clone())
            .collect();
        ready.sort();
        (ready == expected).then_some(())
    })
    .await;

    // A deleted pod stops, its namespace goes, and the Deployment's replacement runs.
    let victim = running[0].name_any();
    pods.delete(&victim, &DeleteParams::default())
        .await
        .expect("delete pod");
    eventually("the deleted pod to be gone", &agent, || async {
        matches!(pods.get_opt(&victim).await, Ok(None)).then_some(())
    })
    .await;
    eventually("a replacement pod", &agent, || async {
        let list = pods.list(&web).await.ok()?.items;
        (list.len() == 2 && list.iter().all(ready) && namespaces().len() == 2).then_some(())
    })
    .await;

    // An image the table does not know fails its pod, saying so.
    let unknown: Pod = yaml_serde::from_value(create(
        "metadata: {name: unknown}\nspec: {containers: [{name: c, image: 'example.com/nope:1'}]}\n",
    ))
    .expect("Pod");
    pods.create(&PostParams::default(), &unknown)
        .await
        .expect("create pod");
    let waiting = eventually("the unknown image to be reported", &agent, || async {
        let status = pods.get("unknown").await.ok()?.status?;
        status.container_statuses?.first()?.state.clone()?.waiting
    })
    .await;
    assert_eq!(waiting.reason.as_deref(), Some("ErrImagePull"));
    assert!(
        waiting
            .message
            .unwrap_or_default()
            .contains("example.com/nope:1"),
        "the message names the image"
    );

    // A pod whose Secret does not exist yet waits for it, then runs.
    let waiting: Pod = yaml_serde::from_value(create(
        "metadata: {name: patient}\n\
         spec:\n  containers:\n  - {name: c, image: test/python-http, args: [-m, http.server, '8080'],\n\
         \x20    volumeMounts: [{name: s, mountPath: /etc/s}]}\n\
         \x20 volumes: [{name: s, secret: {secretName: late}}]\n",
    ))
    .expect("Pod");
    pods.create(&PostParams::default(), &waiting)
        .await
        .expect("create pod");
    eventually("the missing Secret to be reported", &agent, || async {
        let status = pods.get("patient").await.ok()?.status?;
        let waiting = status.container_statuses?.first()?.state.clone()?.waiting?;
        (waiting.reason.as_deref() == Some("CreateContainerConfigError")).then_some(())
    })
    .await;
    let secret: k8s_openapi::api::core::v1::Secret =
        yaml_serde::from_value(create("metadata: {name: late}\nstringData: {key: value}\n"))
            .expect("Secret");
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), "default")
        .create(&PostParams::default(), &secret)
        .await
        .expect("create Secret");
    eventually("the pod to run once its Secret exists", &agent, || async {
        ready(&pods.get("patient").await.ok()?).then_some(())
    })
    .await;

    // kube-proxy sends the load-balancer address to the pods; inside a pod, the Service's name
    // resolves through the cluster DNS and answers.
    let through_lb = eventually("the load-balancer address to answer", &agent, || async {
        let response = http
            .get(format!("http://{address}/index.html"))
            .send()
            .await
            .ok()?;
        response.text().await.ok()
    })
    .await;
    assert_eq!(through_lb, "hello from a ConfigMap");
    let pod_namespace = namespaces().into_iter().next().expect("a pod namespace");
    let fetch = Command::new("ip")
        .args(["netns", "exec", &pod_namespace, "python3", "-c"])
        .arg("import urllib.request; print(urllib.request.urlopen('http://web.default.svc.cluster.local/index.html', timeout=5).read().decode())")
        .output()
        .expect("fetch from inside a pod");
    assert_eq!(
        String::from_utf8_lossy(&fetch.stdout).trim(),
        "hello from a ConfigMap",
        "{}",
        String::from_utf8_lossy(&fetch.stderr)
    );

    // Stopping the node stops every container and removes the network.
    let stopped = Command::new(localcluster().join("stop.sh"))
        .arg(&agent.state)
        .status()
        .expect("stop.sh");
    assert!(stopped.success());
    assert!(
        namespaces().is_empty(),
        "namespaces left: {:?}",
        namespaces()
    );
    let bridge = Command::new("ip")
        .args(["link", "show", BRIDGE])
        .output()
        .expect("ip");
    assert!(!bridge.status.success(), "the bridge is left");
}
