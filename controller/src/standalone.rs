//! `portico standalone`: the controller fed by YAML files, plus one data-plane child process
//! connected to it over gRPC. Everything a cluster deployment has, on one machine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use portico_translate::Options;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

use crate::control::{Control, SnapshotChannel};
use crate::files;

/// Set on children so they can stop when this process dies (see [`exit_with_parent`]).
const PARENT_PID_ENV: &str = "PORTICO_PARENT_PID";

/// In a child started by [`supervise`]: ask the kernel for SIGTERM when the parent dies, so a
/// killed controller never leaves orphaned data planes or backends behind.
pub fn exit_with_parent() {
    let Some(parent) = std::env::var(PARENT_PID_ENV)
        .ok()
        .and_then(|p| p.parse::<i32>().ok())
    else {
        return;
    };
    if let Err(error) = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM) {
        tracing::warn!(%error, "cannot arrange to stop with the parent process");
    }
    if nix::unistd::getppid().as_raw() != parent {
        tracing::warn!("parent process already gone; exiting");
        std::process::exit(1);
    }
}

/// Options of `portico standalone`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// YAML files or folders holding the objects (folders are read recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Address listeners bind to when a Gateway has no spec.addresses.
    #[arg(long, default_value = "0.0.0.0")]
    listen_address: std::net::IpAddr,
    /// Address of the controller's admin endpoint (/status, /healthz, /metrics).
    #[arg(long, default_value = "127.0.0.1:9901")]
    admin_address: SocketAddr,
    /// Address of the gRPC snapshot service the data plane subscribes to.
    #[arg(long, default_value = "127.0.0.1:18000")]
    grpc_address: SocketAddr,
    /// Address of the data plane's admin endpoint (/healthz, /readyz, /metrics, /config).
    #[arg(long, default_value = "127.0.0.1:9902")]
    dataplane_admin_address: SocketAddr,
    /// Do not start a data plane; one started separately subscribes to --grpc-address.
    #[arg(long)]
    external_dataplane: bool,
    /// Also start a demo backend (`portico echo`) on this loopback port; repeatable.
    #[arg(long = "with-echo", value_name = "PORT")]
    echo_ports: Vec<u16>,
    /// How often the files are checked for changes, in milliseconds.
    #[arg(long, default_value_t = 100)]
    poll_interval_ms: u64,
    /// Largest snapshot sent to a data plane, in bytes; a larger one is not sent and its
    /// Gateways get `Programmed=False`. Data planes accept the same size by default.
    #[arg(long, default_value_t = portico_snapshot::wire::DEFAULT_MAX_SNAPSHOT_BYTES)]
    max_snapshot_bytes: usize,
}

/// Run until SIGINT or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let control = Control::start(args.admin_address).await?;
    let grpc_address = control
        .serve_snapshots(SnapshotChannel {
            address: args.grpc_address,
            authenticator: None,
            tls: None,
            max_snapshot_bytes: args.max_snapshot_bytes,
            // Standalone mode serves the data planes its operator starts.
            empty_hello_serves_all: true,
            max_streams: crate::control::MAX_STREAMS,
        })
        .await?;
    let options = Options {
        default_address: args.listen_address,
        ..Options::default()
    };
    tokio::spawn(watch_files(
        args.paths.clone(),
        Duration::from_millis(args.poll_interval_ms),
        options,
        control,
    ));

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut children = Vec::new();
    for port in &args.echo_ports {
        let args = vec!["echo".to_string(), "--port".to_string(), port.to_string()];
        children.push(tokio::spawn(supervise(
            format!("echo backend on port {port}"),
            args,
            stop_rx.clone(),
        )));
    }
    let dataplane_args = [
        "dataplane",
        "--instance",
        "standalone",
        "--grace-period-seconds",
        "0",
        "--controller",
        &format!("http://{grpc_address}"),
        "--admin-address",
        &args.dataplane_admin_address.to_string(),
        "--max-snapshot-bytes",
        &args.max_snapshot_bytes.to_string(),
    ]
    .map(String::from)
    .to_vec();
    if !args.external_dataplane {
        children.push(tokio::spawn(supervise(
            "data plane".to_string(),
            dataplane_args,
            stop_rx,
        )));
    }
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    for child in children {
        let _ = child.await;
    }
    Ok(())
}

/// Poll the files; on any change, re-read, translate and publish.
async fn watch_files(paths: Vec<PathBuf>, interval: Duration, options: Options, control: Control) {
    let mut last = None;
    let mut metadata = files::ServerSideMetadata::default();
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        let fingerprint = files::fingerprint(&paths);
        if last.as_ref() == Some(&fingerprint) {
            continue;
        }
        let mut resources = files::load(&fingerprint);
        metadata.fill(&mut resources, Timestamp::now());
        let _accepted = control.translate(&resources, &options);
        last = Some(fingerprint);
    }
}

/// Keep a child process (this same binary with `args`) running until `stop`, then stop it
/// with SIGTERM so it can drain.
async fn supervise(what: String, args: Vec<String>, mut stop: watch::Receiver<bool>) {
    let program = match std::env::current_exe() {
        Ok(program) => program,
        Err(error) => {
            tracing::error!(%error, "cannot locate the portico binary to start the {what}");
            return;
        }
    };
    loop {
        let spawned = tokio::process::Command::new(&program)
            .args(&args)
            .env(PARENT_PID_ENV, std::process::id().to_string())
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(error) => {
                tracing::error!(%error, "cannot start the {what}");
                return;
            }
        };
        tracing::info!(pid = child.id(), "{what} started");
        tokio::select! {
            status = child.wait() => {
                tracing::error!(?status, "{what} exited; restarting in 1s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ = stop.changed() => {
                if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
                }
                match tokio::time::timeout(Duration::from_secs(15), child.wait()).await {
                    Ok(status) => tracing::info!(?status, "{what} stopped"),
                    Err(_) => tracing::warn!("{what} did not stop in time; killing it"),
                }
                return;
            }
        }
    }
}
