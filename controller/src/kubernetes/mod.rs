//! `portico controller`: the same translator and snapshot server, fed by the Kubernetes API.
//!
//! [`stores`] keeps one watch per kind; every change (debounced) re-translates and publishes;
//! [`status_writer`] writes the resulting statuses back with server-side apply.

mod addresses;
mod auth;
mod gateway_parameters;
mod leader;
mod manifests;
mod naming;
mod ownership;
pub mod parameters;
mod pki;
mod provisioner;
mod status_changes;
mod status_writer;
mod stores;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use portico_dataplane::backoff::Backoff;
use portico_translate::Options;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;

use crate::control::{Control, ServerTls, SnapshotChannel};
use leader::Elector;
use provisioner::Provisioner;
use status_writer::StatusWriter;
use stores::Stores;

/// Refuse to offer snapshots (which carry private keys) beyond this host without
/// authentication and TLS, unless the operator said so.
fn check_channel(args: &Args) -> anyhow::Result<()> {
    let secured = args.authenticate_dataplanes && args.dataplane_tls;
    if secured || args.grpc_address.ip().is_loopback() || args.insecure_dataplane_channel {
        return Ok(());
    }
    anyhow::bail!(
        "--grpc-address {} is reachable from other hosts, so data planes must be authenticated and the channel encrypted: add --authenticate-dataplanes and --dataplane-tls (the Helm chart's defaults), bind a loopback address, or accept the risk with --insecure-dataplane-channel",
        args.grpc_address
    )
}

/// Options of `portico controller`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Kubeconfig to use; by default $KUBECONFIG, ~/.kube/config or the in-cluster service account.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
    /// Address of the gRPC snapshot service data planes subscribe to.
    #[arg(long, default_value = "0.0.0.0:18000")]
    grpc_address: SocketAddr,
    /// Address of the admin endpoint (/status, /healthz, /metrics).
    #[arg(long, default_value = "0.0.0.0:9901")]
    admin_address: SocketAddr,
    /// Address data-plane listeners bind to when a Gateway has no spec.addresses.
    #[arg(long, default_value = "0.0.0.0")]
    listen_address: std::net::IpAddr,
    /// How long to gather changes before translating, in milliseconds.
    #[arg(long, default_value_t = 50)]
    debounce_ms: u64,
    /// Largest snapshot sent to a data plane, in bytes; a larger one is not sent and its
    /// Gateways get `Programmed=False`. Data planes accept the same size by default.
    #[arg(long, default_value_t = portico_snapshot::wire::DEFAULT_MAX_SNAPSHOT_BYTES)]
    max_snapshot_bytes: usize,
    /// Run as one of several replicas: only the holder of the Lease serves snapshots and
    /// writes status.
    #[arg(long)]
    leader_elect: bool,
    /// Name of the Lease.
    #[arg(long, default_value = "portico-controller")]
    lease_name: String,
    /// Namespace of the Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,
    /// How long a silent leader keeps the Lease; a standby takes over after this.
    #[arg(long, default_value_t = 15)]
    lease_duration_seconds: u64,
    /// This replica's name in the Lease (default: $POD_NAME, else host name and process id).
    #[arg(long, env = "POD_NAME")]
    identity: Option<String>,
    /// Require data planes to present a ServiceAccount token (checked with TokenReview) and let
    /// each subscribe only to the Gateway its ServiceAccount was provisioned for.
    #[arg(long)]
    authenticate_dataplanes: bool,
    /// Serve snapshots on a non-loopback address without requiring both
    /// --authenticate-dataplanes and --dataplane-tls: anyone who can reach the port can then
    /// read every Gateway's configuration, private keys included.
    #[arg(long)]
    insecure_dataplane_channel: bool,
    /// Audience data-plane tokens must be issued for.
    #[arg(long, default_value = "portico-controller")]
    token_audience: String,
    /// Serve snapshots over TLS with a certificate from a CA kept in Secret --ca-secret (created
    /// on first use); provisioned data planes are given the CA certificate to check it with.
    #[arg(long)]
    dataplane_tls: bool,
    /// Secret (in the controller's namespace, --lease-namespace) holding the data-plane CA.
    #[arg(long, default_value = "portico-dataplane-ca")]
    ca_secret: String,
    /// Create a data-plane Deployment, Service and ServiceAccount for every accepted Gateway.
    #[arg(long)]
    provision: bool,
    /// gRPC URL of this controller as provisioned data planes reach it.
    #[arg(
        long,
        default_value = "http://portico-controller.portico-system.svc:18000"
    )]
    dataplane_controller_url: String,
    /// Data-plane image when a Gateway's parameters name none.
    #[arg(long, default_value = concat!("portico/dataplane:", env!("CARGO_PKG_VERSION")))]
    dataplane_image: String,
}

/// Run until SIGINT or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<()> {
    check_channel(&args)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = client(args.kubeconfig.as_deref()).await?;
    let control = Control::start(args.admin_address).await?;
    let mut terminate = signal(SignalKind::terminate())?;
    // Standbys keep their caches warm, so a takeover only has to translate.
    let changed = Arc::new(Notify::new());
    let stores = tokio::select! {
        stores = Stores::start(&client, &changed, &control.metrics) => Arc::new(stores),
        _ = tokio::signal::ctrl_c() => return Ok(()),
        _ = terminate.recv() => return Ok(()),
    };
    tracing::info!("caches synced");
    let identity = args.identity.clone().unwrap_or_else(default_identity);
    let mut elector = args.leader_elect.then(|| {
        Elector::new(
            Api::namespaced(client.clone(), &args.lease_namespace),
            args.lease_name.clone(),
            identity.clone(),
            Duration::from_secs(args.lease_duration_seconds),
        )
    });
    if let Some(elector) = elector.as_mut() {
        tokio::select! {
            () = elector.acquire() => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
            _ = terminate.recv() => return Ok(()),
        }
    }
    let authenticator: Option<Arc<dyn crate::server::Authenticate>> =
        args.authenticate_dataplanes.then(|| {
            Arc::new(auth::TokenReviewer::new(
                client.clone(),
                args.token_audience.clone(),
                stores.clone(),
            )) as Arc<dyn crate::server::Authenticate>
        });
    let authority = if args.dataplane_tls {
        Some(pki::Authority::load_or_create(&client, &args.lease_namespace, &args.ca_secret).await?)
    } else {
        None
    };
    let tls = match &authority {
        Some(authority) => {
            let host = controller_host(&args.dataplane_controller_url);
            let issued =
                authority.issue_server(vec![host, "localhost".into(), "127.0.0.1".into()])?;
            Some(ServerTls {
                cert_pem: issued.cert_pem,
                key_pem: issued.key_pem,
            })
        }
        None => None,
    };
    let local = args.grpc_address.ip().is_loopback();
    control
        .serve_snapshots(SnapshotChannel {
            address: args.grpc_address,
            authenticator,
            tls,
            max_snapshot_bytes: args.max_snapshot_bytes,
            empty_hello_serves_all: local,
            max_streams: crate::control::MAX_STREAMS,
        })
        .await?;
    let options = Options {
        default_address: args.listen_address,
        // Provisioned Gateways each get their own data planes, so they never share a socket.
        shared_dataplanes: !args.provision,
        ..Options::default()
    };

    let writer = StatusWriter::new(
        client.clone(),
        options.controller_name.clone(),
        identity,
        control.metrics.clone(),
        args.provision,
    );
    let mut rendered = control.rendered.clone();
    let writer_stores = stores.clone();
    tokio::spawn(async move {
        let mut backoff = Backoff::new(RETRY_BASE, RETRY_MAX);
        let mut retry_in = None;
        loop {
            let changed = tokio::select! {
                changed = rendered.changed() => changed.is_ok(),
                () = sleep_for(retry_in) => true,
            };
            if !changed {
                return;
            }
            let statuses = rendered.borrow_and_update().clone();
            retry_in = match writer.write(&statuses, &writer_stores).await {
                Ok(()) => {
                    backoff.reset();
                    None
                }
                Err(error) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(%error, retry_in = ?delay, "statuses not all written; retrying");
                    Some(delay)
                }
            };
        }
    });

    let mut provisioner = args.provision.then(|| {
        Provisioner::new(
            client.clone(),
            manifests::Settings {
                controller_url: args.dataplane_controller_url.clone(),
                image: args.dataplane_image.clone(),
                token_audience: args.token_audience.clone(),
                max_snapshot_bytes: args.max_snapshot_bytes,
                controller_ca_pem: authority.as_ref().map(|a| a.ca_pem().to_string()),
            },
            control.infrastructure.clone(),
        )
    });
    let translate_forever = async {
        let mut backoff = Backoff::new(RETRY_BASE, RETRY_MAX);
        loop {
            let resources = stores.resources();
            *stores
                .references
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                portico_translate::references(&resources);
            let accepted = control.translate(&resources, &options);
            let mut retry_in = None;
            if let Some(provisioner) = provisioner.as_mut() {
                match provisioner.reconcile(&accepted, &stores).await {
                    Ok(()) => backoff.reset(),
                    Err(error) => {
                        let delay = backoff.next_delay();
                        tracing::warn!(%error, retry_in = ?delay, "provisioning incomplete; retrying");
                        retry_in = Some(delay);
                    }
                }
            }
            tokio::select! {
                () = changed.notified() => {}
                () = sleep_for(retry_in) => {}
            }
            tokio::time::sleep(Duration::from_millis(args.debounce_ms)).await;
        }
    };
    let leadership_lost = async {
        match elector.as_mut() {
            Some(elector) => elector.keep().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = translate_forever => {}
        () = leadership_lost => {
            anyhow::bail!("lost leadership; exiting so that only the leader acts");
        }
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
    if let Some(elector) = elector.as_mut() {
        elector.release().await;
    }
    Ok(())
}

/// Failed status writes and provisioning are retried after a jittered delay growing from
/// `RETRY_BASE` to `RETRY_MAX` (or at once when something changes).
const RETRY_BASE: Duration = Duration::from_millis(500);
/// See [`RETRY_BASE`].
const RETRY_MAX: Duration = Duration::from_secs(60);

/// Sleep for `delay`, or forever when there is none.
async fn sleep_for(delay: Option<Duration>) {
    match delay {
        Some(delay) => tokio::time::sleep(delay).await,
        None => std::future::pending().await,
    }
}

/// The host part of a URL such as `https://portico-controller.portico-system.svc:18000`.
fn controller_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or(rest);
    authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
        .trim_matches(['[', ']'])
        .to_string()
}

fn default_identity() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "portico".to_string());
    format!("{host}-{}", std::process::id())
}

/// A client for the cluster `kubeconfig` names, or the one the environment points at.
pub(crate) async fn client(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<Client> {
    let config = match kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .context("loading kubeconfig")?
        }
        None => Config::infer()
            .await
            .context("finding Kubernetes credentials")?,
    };
    Client::try_from(config).context("creating the Kubernetes client")
}
