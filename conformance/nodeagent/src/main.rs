//! # portico-nodeagent
//!
//! A node for the local conformance cluster without Docker or any container runtime: it
//! registers a Node, keeps its Lease fresh, binds pending pods to itself and runs each pod's
//! containers as local processes (chosen through an image table) inside the pod's own network
//! namespace on a bridge. Pods get their env (downward API included), Secret, ConfigMap and
//! projected-token volumes, readiness probes and status, and stop gracefully when deleted.
//!
//! ```text
//! portico-nodeagent --kubeconfig KUBECONFIG --images images.yaml [--node-name portico-local]
//!                   [--pod-cidr 10.244.0.0/24] [--bridge portico0] [--state-dir DIR]
//!                   [--service-cidr 10.96.0.0/16] [--lb-pool 10.250.0.0/24]
//!                   [--lb-static 10.250.0.240/28]
//! ```
//!
//! Pods reach the API server as `kubernetes.default.svc:443` (mapped in their `/etc/hosts` to
//! the bridge address, where the agent relays to the API server).
//!
//! Modules: [`images`] (image table), [`ipam`] (pod addresses), [`network`] (bridge, netns),
//! [`container`] (a container as a process), [`env`] and [`volumes`] (what a container sees),
//! [`probes`], [`node`] (Node and Lease), [`pods`] (the pod lifecycle), [`relay`],
//! [`loadbalancers`] (addresses for LoadBalancer Services), [`logs`] (`kubectl logs`).

mod container;
mod env;
mod images;
mod ipam;
mod loadbalancers;
mod logs;
mod network;
mod node;
mod pods;
mod probes;
mod relay;
mod volumes;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::{Parser, Subcommand};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};

/// Host name pods use for the API server, in the serving certificate of every cluster.
const API_SERVER_NAME: &str = "kubernetes.default.svc";

#[derive(Debug, Parser)]
#[command(
    version,
    about = "A Docker-free Kubernetes node: pods as local processes"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Internal>,
    #[command(flatten)]
    args: Args,
}

#[derive(Debug, clap::Args)]
struct Args {
    /// Credentials of the agent (it needs to bind pods, write pod and node status, read
    /// Secrets and ConfigMaps, and request ServiceAccount tokens).
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// YAML list of `{image, entrypoint}`: which local program plays which image.
    #[arg(long)]
    images: Option<PathBuf>,
    #[arg(long, default_value = "portico-local")]
    node_name: String,
    /// The pods' network; its first address is the bridge's.
    #[arg(long, default_value = "10.244.0.0/24")]
    pod_cidr: String,
    /// Bridge interface (at most 15 characters); pod namespaces are named after it.
    #[arg(long, default_value = "portico0")]
    bridge: String,
    /// Pod volumes and container logs.
    #[arg(long, default_value = "/var/lib/portico-nodeagent")]
    state_dir: PathBuf,
    /// Port of the agent's kubelet API (container logs), on the node address.
    #[arg(long, default_value_t = 10250)]
    kubelet_port: u16,
    /// The cluster's Service addresses (the API server's --service-cluster-ip-range); pods
    /// route them through the bridge.
    #[arg(long, default_value = "10.96.0.0/16")]
    service_cidr: String,
    /// Addresses given to LoadBalancer Services, routed from the host to the bridge.
    #[arg(long, default_value = "10.250.0.0/24")]
    lb_pool: String,
    /// Part of `--lb-pool` given only to Services asking for an address of it
    /// (`spec.loadBalancerIP`), never assigned dynamically: static Gateway addresses.
    #[arg(long)]
    lb_static: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Internal {
    /// (internal) Inside a pod's namespaces: mount its volumes and become the container.
    #[command(hide = true)]
    RunContainer { launch: PathBuf },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Internal::RunContainer { launch }) = cli.command {
        let text =
            std::fs::read(&launch).with_context(|| format!("reading {}", launch.display()))?;
        let launch: container::Launch = serde_json::from_slice(&text)?;
        return Err(container::exec(&launch));
    }
    tracing_subscriber::fmt()
        // Colour only for a terminal: the agent's log usually goes to a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    tokio::runtime::Runtime::new()?.block_on(run(cli.args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let images_path = args.images.context("--images is required")?;
    let table = std::fs::read_to_string(&images_path)
        .with_context(|| format!("reading {}", images_path.display()))?;
    let images = images::ImageTable::parse(&table, |name| std::env::var(name).ok())?;
    let pool = ipam::Pool::new(&args.pod_cidr)?;
    let mut lb_pool = ipam::Pool::new(&args.lb_pool)?;
    if let Some(range) = &args.lb_static {
        lb_pool = lb_pool.reserve_for_requests(range)?;
    }
    let bridge = network::Bridge {
        name: args.bridge.clone(),
        gateway: pool.gateway(),
        prefix: pool.prefix(),
        routed: vec![args.service_cidr.clone(), lb_pool.cidr()],
    };
    let (client, api_server) = connect(args.kubeconfig.as_deref()).await?;
    let version = client
        .apiserver_version()
        .await
        .context("asking the API server for its version")?;

    network::remove_stale_namespaces(&bridge).await;
    bridge.up().await.context("setting up the pod bridge")?;
    // Load-balancer and Service addresses go to the bridge, never out of the machine; kube-proxy
    // rewrites them to pod addresses on the way.
    for network in &bridge.routed {
        bridge
            .route(network)
            .await
            .with_context(|| format!("routing {network} to the bridge"))?;
    }
    let relay = relay::start((bridge.gateway, 443).into(), api_server.clone()).await?;
    let node = node::NodeIdentity {
        name: args.node_name.clone(),
        // The API server reaches the log endpoint here; pods do not.
        address: "127.0.0.1".to_string(),
        pod_cidr: args.pod_cidr.clone(),
        kubelet_port: args.kubelet_port,
        kubernetes_version: version.git_version,
        started: k8s_openapi::jiff::Timestamp::now(),
    };
    node::register(&client, &node).await?;
    tokio::spawn(node::heartbeat(client.clone(), node));
    tokio::spawn(loadbalancers::run(client.clone(), lb_pool));
    tracing::info!(node = %args.node_name, bridge = %bridge.name, cidr = %args.pod_cidr, "node ready");

    let agent = Arc::new(pods::Agent {
        client,
        node_name: args.node_name,
        bridge: bridge.clone(),
        pool: Mutex::new(pool),
        images,
        state_dir: args.state_dir,
        api_server: (API_SERVER_NAME.to_string(), 443),
    });
    let logs = logs::serve(([127, 0, 0, 1], args.kubelet_port).into(), agent.clone()).await?;
    pods::run(agent, shutdown_signal()).await;
    logs.abort();
    relay.abort();
    bridge.down().await?;
    tracing::info!("stopped");
    Ok(())
}

/// A client for the kubeconfig, and the API server's `host:port` for the relay.
async fn connect(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<(Client, String)> {
    let config = match kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?
        }
        None => Config::infer().await?,
    };
    let host = config
        .cluster_url
        .host()
        .context("API server URL has no host")?;
    let port = config.cluster_url.port_u16().unwrap_or(443);
    let address = format!("{host}:{port}");
    Ok((Client::try_from(config)?, address))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    tracing::info!("stopping: containers get SIGTERM, the network is removed");
}
