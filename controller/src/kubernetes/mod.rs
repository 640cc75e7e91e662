//! `portico controller`: the same translator and snapshot server, fed by the Kubernetes API.
//!
//! [`stores`] keeps one watch per kind; every change (debounced) re-translates and publishes;
//! [`status_writer`] writes the resulting statuses back with server-side apply.

mod status_writer;
mod stores;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use portico_translate::{Options, translate};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;

use crate::control::Control;
use status_writer::StatusWriter;
use stores::Stores;

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
    listen_address: String,
    /// How long to gather changes before translating, in milliseconds.
    #[arg(long, default_value_t = 50)]
    debounce_ms: u64,
}

/// Run until SIGINT or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = client(args.kubeconfig.as_deref()).await?;
    let control = Control::start(args.grpc_address, args.admin_address).await?;
    let changed = Arc::new(Notify::new());
    let stores = Arc::new(Stores::start(&client, &changed).await);
    tracing::info!("caches synced");
    let options = Options {
        default_address: args.listen_address,
        ..Options::default()
    };

    let writer = StatusWriter::new(client, options.controller_name.clone());
    let mut rendered = control.rendered.clone();
    let writer_stores = stores.clone();
    tokio::spawn(async move {
        while rendered.changed().await.is_ok() {
            let statuses = rendered.borrow_and_update().clone();
            writer.write(&statuses, &writer_stores).await;
        }
    });

    let mut terminate = signal(SignalKind::terminate())?;
    loop {
        control.publish(translate(&stores.resources(), &options));
        tokio::select! {
            () = changed.notified() => {}
            _ = tokio::signal::ctrl_c() => break,
            _ = terminate.recv() => break,
        }
        tokio::time::sleep(Duration::from_millis(args.debounce_ms)).await;
    }
    tracing::info!("shutting down");
    Ok(())
}

async fn client(kubeconfig: Option<&std::path::Path>) -> anyhow::Result<Client> {
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
