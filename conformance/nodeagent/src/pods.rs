//! Pods on this node: unscheduled pods are bound to it, bound pods run, deleted pods stop.
//!
//! One watch over all pods feeds [`run`], which keeps a worker task per running pod. A worker
//! owns its pod from start to end: address, network namespace, volumes, container processes,
//! restarts, readiness probes and the status it writes; asked to stop, it sends SIGTERM, waits
//! the grace period, kills what is left, releases everything and removes the Pod object.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Container, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use tokio::sync::watch;

use crate::container::{self, Launch, Mount};
use crate::env::{self, PodContext};
use crate::images::ImageTable;
use crate::ipam::Pool;
use crate::network::{Bridge, PodNetwork};
use crate::{probes, volumes};

/// Everything workers share.
pub struct Agent {
    pub client: Client,
    pub node_name: String,
    pub bridge: Bridge,
    pub pool: Mutex<Pool>,
    pub images: ImageTable,
    /// Pod directories (volumes, launch files) and container logs live under here.
    pub state_dir: PathBuf,
    /// Host name and port pods reach the API server at.
    pub api_server: (String, u16),
}

impl Agent {
    /// Where the log of a pod's container is.
    pub fn log_path(&self, namespace: &str, pod: &str, container: &str) -> PathBuf {
        self.state_dir
            .join("logs")
            .join(namespace)
            .join(pod)
            .join(format!("{container}.log"))
    }
}

/// Why a worker stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The pod is being deleted: stop within this many seconds, then remove the object.
    Delete(i64),
    /// The agent shuts down: kill the containers and free the network, leave the object.
    Shutdown,
}

type StopSender = watch::Sender<Option<Stop>>;

/// Watch every pod and keep this node's running, until `shutdown` fires; then stop every
/// container and wait for the workers to clean up.
pub async fn run(agent: Arc<Agent>, shutdown: impl std::future::Future<Output = ()>) {
    let api: Api<Pod> = Api::all(agent.client.clone());
    let mut workers: HashMap<String, StopSender> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut events = std::pin::pin!(watcher(api, watcher::Config::default()));
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let event = tokio::select! {
            event = events.next() => match event {
                Some(event) => event,
                None => break,
            },
            () = &mut shutdown => break,
        };
        match event {
            Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => {
                workers.retain(|_, stop| !stop.is_closed());
                handle(&agent, &mut workers, &mut tasks, pod);
            }
            Ok(watcher::Event::Delete(pod)) => {
                if let Some(stop) = pod.uid().and_then(|uid| workers.remove(&uid)) {
                    let _ = stop.send(Some(Stop::Delete(0)));
                }
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
            Err(error) => tracing::warn!(%error, "pod watch error; retrying"),
        }
    }
    for stop in workers.values() {
        let _ = stop.send(Some(Stop::Shutdown));
    }
    while tasks.join_next().await.is_some() {}
}

fn handle(
    agent: &Arc<Agent>,
    workers: &mut HashMap<String, StopSender>,
    tasks: &mut tokio::task::JoinSet<()>,
    pod: Pod,
) {
    let Some(uid) = pod.uid() else { return };
    let spec = pod.spec.clone().unwrap_or_default();
    let node = spec.node_name.clone().unwrap_or_default();
    if node.is_empty() {
        if schedulable(agent, &pod) {
            tokio::spawn(bind(agent.clone(), pod));
        }
        return;
    }
    if node != agent.node_name {
        return;
    }
    if let Some(grace) = pod
        .metadata
        .deletion_timestamp
        .as_ref()
        .map(|_| pod.metadata.deletion_grace_period_seconds.unwrap_or(30))
    {
        match workers.get(&uid) {
            Some(stop) => {
                let _ = stop.send(Some(Stop::Delete(grace)));
            }
            None => {
                tokio::spawn(remove_object(agent.clone(), pod));
            }
        }
        return;
    }
    let finished = pod
        .status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .is_some_and(|p| p == "Succeeded" || p == "Failed");
    if !finished && !workers.contains_key(&uid) {
        let (stop, stopped) = watch::channel(None);
        workers.insert(uid, stop);
        tasks.spawn(worker(agent.clone(), pod, stopped));
    }
}

/// The pod asks for the default scheduler (or none) and its nodeSelector fits this node.
fn schedulable(agent: &Agent, pod: &Pod) -> bool {
    let spec = pod.spec.as_ref();
    let scheduler = spec.and_then(|s| s.scheduler_name.as_deref());
    let selector = spec.and_then(|s| s.node_selector.as_ref());
    let fits = selector.is_none_or(|s| {
        s.iter().all(|(k, v)| match k.as_str() {
            "kubernetes.io/hostname" => *v == agent.node_name,
            "kubernetes.io/os" => v == "linux",
            _ => false,
        })
    });
    matches!(scheduler, None | Some("default-scheduler")) && fits
}

async fn bind(agent: Arc<Agent>, pod: Pod) {
    let namespace = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let api: Api<Pod> = Api::namespaced(agent.client.clone(), &namespace);
    let binding = json!({
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": { "name": name, "uid": pod.uid() },
        "target": { "apiVersion": "v1", "kind": "Node", "name": agent.node_name },
    });
    match api
        .create_subresource::<_, serde_json::Value>(
            "binding",
            &name,
            &PostParams::default(),
            &binding,
        )
        .await
    {
        Ok(_) => tracing::info!(%namespace, pod = %name, "bound to this node"),
        // Already bound (a second event for the same pod): nothing to do.
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(error) => tracing::warn!(%namespace, pod = %name, %error, "cannot bind"),
    }
}

/// Remove a terminating Pod object nothing runs for (e.g. after an agent restart).
async fn remove_object(agent: Arc<Agent>, pod: Pod) {
    let api: Api<Pod> = Api::namespaced(agent.client.clone(), &pod.namespace().unwrap_or_default());
    let params = DeleteParams {
        grace_period_seconds: Some(0),
        preconditions: Some(Preconditions {
            uid: pod.uid(),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    if let Err(error) = api.delete(&pod.name_any(), &params).await
        && !matches!(&error, kube::Error::Api(s) if s.code == 404 || s.code == 409)
    {
        tracing::warn!(pod = %pod.name_any(), %error, "cannot remove the pod object");
    }
}

/// How long to wait before setting up a pod again after a failure.
const SETUP_RETRY: Duration = Duration::from_secs(2);

/// One container's process and what its status reports.
struct Running {
    spec: Container,
    child: Option<tokio::process::Child>,
    restarts: i32,
    started_at: Option<Timestamp>,
    ready: bool,
    last_exit: Option<(i32, Timestamp)>,
    /// Why the container does not run (shown as `waiting`), if it does not.
    waiting: Option<(String, String)>,
    next_start: tokio::time::Instant,
    backoff: Duration,
    launch: Option<Launch>,
}

async fn worker(agent: Arc<Agent>, pod: Pod, mut stop: watch::Receiver<Option<Stop>>) {
    let namespace = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    let uid = pod.uid().unwrap_or_default();
    let Some(address) = agent
        .pool
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .allocate()
    else {
        tracing::error!(%namespace, pod = %name, "the pod network has no free address");
        return;
    };
    let network = PodNetwork::for_pod(&agent.bridge, &uid, address);
    let dir = agent.state_dir.join("pods").join(&uid);
    let started = Timestamp::now();
    let mut state = PodState::new(&pod, address, started);

    let mut written = None;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    // Set up (network, volumes, launches) until it works: a Secret a volume needs may appear
    // later, as with the kubelet.
    let mut set_up = false;
    let mut next_setup = tokio::time::Instant::now();
    let stopped = loop {
        if !set_up && tokio::time::Instant::now() >= next_setup {
            match setup(&agent, &pod, &network, &dir, &mut state).await {
                Ok(()) => set_up = true,
                Err(error) => {
                    tracing::warn!(%namespace, pod = %name, error = %format!("{error:#}"), "cannot start the pod yet; retrying");
                    state.fail_all("CreateContainerConfigError", &format!("{error:#}"));
                    next_setup = tokio::time::Instant::now() + SETUP_RETRY;
                }
            }
        }
        state.supervise(&agent, &network, &dir).await;
        state.probe(&network).await;
        let status = state.status(&agent);
        if written.as_ref() != Some(&status) {
            write_status(&agent, &pod, &status).await;
            written = Some(status);
        }
        if state.finished() {
            break None;
        }
        tokio::select! {
            _ = tick.tick() => {}
            changed = stop.changed() => match changed {
                Ok(()) => break *stop.borrow(),
                Err(_) => break Some(Stop::Shutdown),
            },
        }
    };
    let grace = match stopped {
        Some(Stop::Delete(grace)) => grace,
        _ => 0,
    };
    state.terminate(grace).await;
    network.delete().await;
    agent
        .pool
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .release(address);
    let _ = tokio::fs::remove_dir_all(&dir).await;
    match stopped {
        Some(Stop::Delete(_)) => {
            let logs = agent.log_path(&namespace, &name, "");
            if let Some(dir) = logs.parent() {
                let _ = tokio::fs::remove_dir_all(dir).await;
            }
            remove_object(agent.clone(), pod).await;
            tracing::info!(%namespace, pod = %name, "pod stopped and removed");
        }
        Some(Stop::Shutdown) => {
            tracing::info!(%namespace, pod = %name, "pod stopped (agent shutdown)")
        }
        None => {
            let status = state.status(&agent);
            write_status(&agent, &pod, &status).await;
            tracing::info!(%namespace, pod = %name, "pod finished");
        }
    }
}

/// Network, volumes and launch descriptions; containers start in `supervise`.
async fn setup(
    agent: &Agent,
    pod: &Pod,
    network: &PodNetwork,
    dir: &std::path::Path,
    state: &mut PodState,
) -> anyhow::Result<()> {
    let name = pod.name_any();
    let namespace = pod.namespace().unwrap_or_default();
    let hosts = format!(
        "127.0.0.1 localhost\n{} {name}\n{} {}\n",
        network.address, agent.bridge.gateway, agent.api_server.0
    );
    let resolv = format!(
        "search {namespace}.svc.cluster.local svc.cluster.local cluster.local\nnameserver {}\n",
        agent.bridge.gateway
    );
    network
        .create(&agent.bridge, &hosts, &resolv)
        .await
        .context("creating the pod network")?;
    let context = PodContext {
        pod,
        address: network.address,
        node_name: &agent.node_name,
        host_address: agent.bridge.gateway,
        api_server: (&agent.api_server.0, agent.api_server.1),
    };
    let volumes = volumes::materialize(&agent.client, &context, &dir.join("volumes")).await?;
    for running in &mut state.containers {
        match launch(agent, &context, &running.spec, &volumes).await {
            Ok(launch) => running.launch = Some(launch),
            // An image missing from the table stays missing: report it, do not retry.
            Err(error) if error.downcast_ref::<crate::images::ImageError>().is_some() => {
                running.waiting = Some(("ErrImagePull".to_string(), format!("{error:#}")));
            }
            // A Secret or ConfigMap key may appear later: try the whole setup again.
            Err(error) => return Err(error.context(format!("container {}", running.spec.name))),
        }
    }
    Ok(())
}

async fn launch(
    agent: &Agent,
    context: &PodContext<'_>,
    container: &Container,
    volumes: &HashMap<String, PathBuf>,
) -> anyhow::Result<Launch> {
    let environment = env::environment(&agent.client, context, container).await?;
    let expand = |items: &Option<Vec<String>>| -> Vec<String> {
        items
            .iter()
            .flatten()
            .map(|item| env::expand(item, &environment))
            .collect()
    };
    let image = container.image.clone().unwrap_or_default();
    let command = agent.images.command_line(
        &image,
        &expand(&container.command),
        &expand(&container.args),
    )?;
    let mut mounts = Vec::new();
    for mount in container.volume_mounts.iter().flatten() {
        let source = volumes
            .get(&mount.name)
            .with_context(|| format!("volumeMount {} names no volume", mount.name))?;
        let source = match mount.sub_path.as_deref() {
            Some(sub) if !sub.is_empty() => source.join(sub),
            _ => source.clone(),
        };
        mounts.push(Mount {
            source,
            target: PathBuf::from(&mount.mount_path),
            read_only: mount.read_only.unwrap_or(false),
        });
    }
    Ok(Launch {
        command,
        env: environment,
        mounts,
        working_dir: container.working_dir.clone(),
    })
}

/// A pod's containers and the status they add up to.
struct PodState {
    containers: Vec<Running>,
    restart_policy: String,
    address: Ipv4Addr,
    started: Timestamp,
    namespace: String,
    name: String,
}

impl PodState {
    fn new(pod: &Pod, address: Ipv4Addr, started: Timestamp) -> Self {
        let spec = pod.spec.clone().unwrap_or_default();
        let now = tokio::time::Instant::now();
        Self {
            containers: spec
                .containers
                .into_iter()
                .map(|spec| Running {
                    spec,
                    child: None,
                    restarts: 0,
                    started_at: None,
                    ready: false,
                    last_exit: None,
                    waiting: None,
                    next_start: now,
                    backoff: Duration::from_secs(1),
                    launch: None,
                })
                .collect(),
            restart_policy: spec.restart_policy.unwrap_or_else(|| "Always".into()),
            address,
            started,
            namespace: pod.namespace().unwrap_or_default(),
            name: pod.name_any(),
        }
    }

    fn fail_all(&mut self, reason: &str, message: &str) {
        for running in &mut self.containers {
            running.waiting = Some((reason.to_string(), message.to_string()));
        }
    }

    /// Reap exited containers and (re)start those due, as the restart policy says.
    async fn supervise(&mut self, agent: &Agent, network: &PodNetwork, dir: &std::path::Path) {
        let now = tokio::time::Instant::now();
        for running in &mut self.containers {
            if let Some(child) = running.child.as_mut()
                && let Ok(Some(exit)) = child.try_wait()
            {
                let code = exit.code().unwrap_or(128 + 9);
                tracing::info!(pod = %self.name, container = %running.spec.name, code, "container exited");
                running.child = None;
                running.ready = false;
                running.last_exit = Some((code, Timestamp::now()));
                running.next_start = now + running.backoff;
                running.backoff = (running.backoff * 2).min(Duration::from_secs(30));
            }
            let Some(launch) = running.launch.clone() else {
                continue;
            };
            let due = running.last_exit.is_none() || restarts(&self.restart_policy, running);
            if running.child.is_some() || !due || now < running.next_start {
                continue;
            }
            let log = agent.log_path(&self.namespace, &self.name, &running.spec.name);
            if let Some(parent) = log.parent() {
                let _ = tokio::fs::create_dir_all(parent).await;
            }
            let launch_file = dir.join(format!("{}.launch.json", running.spec.name));
            match container::start(&network.namespace, &launch, &launch_file, &log).await {
                Ok(child) => {
                    if running.last_exit.is_some() {
                        running.restarts += 1;
                    }
                    running.child = Some(child);
                    running.started_at = Some(Timestamp::now());
                    running.waiting = None;
                }
                Err(error) => {
                    running.waiting = Some(("RunContainerError".into(), format!("{error:#}")));
                    running.next_start = now + running.backoff;
                }
            }
        }
    }

    /// Run due readiness probes; a container without one is ready while it runs.
    async fn probe(&mut self, network: &PodNetwork) {
        for running in &mut self.containers {
            if running.child.is_none() {
                running.ready = false;
                continue;
            }
            let Some(probe) = running.spec.readiness_probe.clone() else {
                running.ready = true;
                continue;
            };
            let delay = u64::try_from(probe.initial_delay_seconds.unwrap_or(0)).unwrap_or(0);
            let running_for = running
                .started_at
                .map(|s| Timestamp::now().duration_since(s).as_secs())
                .unwrap_or(0);
            if u64::try_from(running_for).unwrap_or(0) < delay {
                continue;
            }
            running.ready =
                probes::passes(&probe, &running.spec, self.address, &network.namespace).await;
        }
    }

    /// No container runs and none will be started again.
    fn finished(&self) -> bool {
        self.containers.iter().all(|c| {
            c.child.is_none() && c.last_exit.is_some() && !restarts(&self.restart_policy, c)
        })
    }

    /// SIGTERM every container, wait up to `grace` seconds, then kill what is left.
    async fn terminate(&mut self, grace: i64) {
        for running in &mut self.containers {
            if let Some(pid) = running.child.as_ref().and_then(tokio::process::Child::id)
                && let Ok(pid) = i32::try_from(pid)
            {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
        }
        let deadline =
            tokio::time::Instant::now() + Duration::from_secs(u64::try_from(grace).unwrap_or(0));
        for running in &mut self.containers {
            if let Some(mut child) = running.child.take() {
                if tokio::time::timeout_at(deadline, child.wait())
                    .await
                    .is_err()
                {
                    let _ = child.kill().await;
                }
                running.last_exit = Some((137, Timestamp::now()));
            }
        }
    }

    /// The `status` the Pod object should carry.
    fn status(&self, agent: &Agent) -> serde_json::Value {
        let ready = self.containers.iter().all(|c| c.ready);
        let all_ok = self
            .containers
            .iter()
            .all(|c| c.last_exit.is_some_and(|(code, _)| code == 0));
        let phase = if self.finished() {
            if all_ok { "Succeeded" } else { "Failed" }
        } else if self
            .containers
            .iter()
            .any(|c| c.child.is_some() || c.last_exit.is_some())
        {
            "Running"
        } else {
            "Pending"
        };
        let condition = |type_: &str, ok: bool| {
            json!({ "type": type_, "status": if ok { "True" } else { "False" },
                    "lastTransitionTime": Time(self.started) })
        };
        let containers: Vec<_> = self
            .containers
            .iter()
            .map(|c| {
                let state = match (&c.child, &c.waiting, c.last_exit) {
                    (Some(_), _, _) => json!({ "running": { "startedAt": c.started_at.map(Time) } }),
                    (None, Some((reason, message)), _) => {
                        json!({ "waiting": { "reason": reason, "message": message } })
                    }
                    (None, None, Some((code, at))) => json!({ "terminated": {
                        "exitCode": code,
                        "reason": if code == 0 { "Completed" } else { "Error" },
                        "finishedAt": Time(at),
                    } }),
                    (None, None, None) => json!({ "waiting": { "reason": "ContainerCreating" } }),
                };
                let image = c.spec.image.clone().unwrap_or_default();
                json!({
                    "name": c.spec.name,
                    "ready": c.ready,
                    "started": c.child.is_some(),
                    "restartCount": c.restarts,
                    "image": image,
                    "imageID": format!("portico-nodeagent://{image}"),
                    "containerID": format!("portico-nodeagent://{}/{}/{}", self.namespace, self.name, c.spec.name),
                    "state": state,
                })
            })
            .collect();
        json!({
            "phase": phase,
            "hostIP": agent.bridge.gateway.to_string(),
            "hostIPs": [{ "ip": agent.bridge.gateway.to_string() }],
            "podIP": self.address.to_string(),
            "podIPs": [{ "ip": self.address.to_string() }],
            "startTime": Time(self.started),
            "conditions": [
                condition("PodScheduled", true),
                condition("PodReadyToStartContainers", true),
                condition("Initialized", true),
                condition("ContainersReady", ready),
                condition("Ready", ready),
            ],
            "containerStatuses": containers,
        })
    }
}

/// Whether `policy` (a pod's `restartPolicy`) starts `container` again after its last exit.
fn restarts(policy: &str, container: &Running) -> bool {
    match policy {
        "Never" => false,
        "OnFailure" => container.last_exit.is_none_or(|(code, _)| code != 0),
        _ => true,
    }
}

async fn write_status(agent: &Agent, pod: &Pod, status: &serde_json::Value) {
    let api: Api<Pod> = Api::namespaced(agent.client.clone(), &pod.namespace().unwrap_or_default());
    let patch = json!({ "status": status });
    if let Err(error) = api
        .patch_status(
            &pod.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        tracing::warn!(pod = %pod.name_any(), %error, "cannot write pod status");
    }
}
