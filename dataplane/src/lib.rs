//! # portico-dataplane
//!
//! Portico's data plane: a Pingora server that subscribes to the controller over gRPC, applies
//! each snapshot atomically, and proxies HTTP and HTTPS traffic (gRPC calls included), TCP
//! connections, TLS streams and UDP datagrams by the snapshot's routes.
//!
//! Services (each a Pingora service, so they share Pingora's lifecycle and graceful shutdown):
//! - [`listeners::ListenerManager`]: binds and unbinds proxy sockets as snapshots change.
//! - [`subscriber::Subscriber`]: the snapshot stream, ACK/NACK reports, reconnects.
//! - [`admin::Admin`]: `/healthz`, `/readyz`, `/metrics`, `/config`.
//!
//! Run: `portico-dataplane --controller http://127.0.0.1:18000`, or `portico dataplane ...`
//! (the same code in the `portico` binary; `portico standalone` starts it for you).

mod accept;
mod admin;
mod backend_tls;
pub mod backoff;
mod bare_answer;
mod ca_roots;
mod client_certificates;
mod connection;
mod cors;
mod downstream;
mod drain;
mod forwarded;
mod grpc;
mod header_edits;
mod hop_by_hop;
mod http1_head;
mod listeners;
mod metrics;
mod mirror;
mod phases;
mod proxy;
mod replay;
mod retries;
mod routing;
mod state;
mod streams;
mod subscriber;
mod tls;
mod upgrade;
mod upstream;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::Context;
use pingora_core::server::Server;
use pingora_core::server::configuration::ServerConf;
use pingora_core::services::background::background_service;
use portico_snapshot::ObjectRef;

/// Command-line options.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// gRPC URL of the controller's snapshot service.
    #[arg(
        long,
        env = "PORTICO_CONTROLLER",
        default_value = "http://127.0.0.1:18000"
    )]
    controller: String,
    /// Name of this instance, reported to the controller.
    #[arg(long, env = "PORTICO_INSTANCE")]
    instance: Option<String>,
    /// Gateway to serve, as namespace/name; repeat for several. None means all.
    #[arg(long = "gateway", value_parser = parse_object_ref)]
    gateways: Vec<ObjectRef>,
    /// File holding the token to present to the controller (a projected ServiceAccount token
    /// in Kubernetes). Read again on every connection, since such tokens rotate.
    #[arg(long, env = "PORTICO_TOKEN_FILE")]
    token_file: Option<std::path::PathBuf>,
    /// File with the CA certificate (PEM) the controller's certificate must chain to. Enables
    /// TLS; use an `https://` controller URL.
    #[arg(long, env = "PORTICO_TLS_CA_FILE", conflicts_with = "tls_ca")]
    tls_ca_file: Option<std::path::PathBuf>,
    /// The same CA certificate as PEM text (how provisioned data planes get it).
    #[arg(long, env = "PORTICO_TLS_CA", allow_hyphen_values = true)]
    tls_ca: Option<String>,
    /// Address of the admin endpoints.
    #[arg(long, default_value = "127.0.0.1:9902")]
    admin_address: String,
    /// Seconds to keep accepting and serving after SIGTERM, with /readyz answering 503 and
    /// responses carrying `Connection: close`, so load balancers and kube-proxy move traffic
    /// away before listeners close.
    #[arg(long, default_value_t = 5)]
    grace_period_seconds: u64,
    /// Seconds requests in flight get to finish once listeners close; the process exits as
    /// soon as none is left.
    #[arg(long, default_value_t = 10)]
    shutdown_timeout_seconds: u64,
    /// Worker threads per service.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Largest snapshot accepted from the controller, in bytes (at least the controller's
    /// --max-snapshot-bytes).
    #[arg(long, default_value_t = portico_snapshot::wire::DEFAULT_MAX_SNAPSHOT_BYTES)]
    max_snapshot_bytes: usize,
    /// How endpoints are dialled and waited for.
    #[command(flatten)]
    upstream: upstream::UpstreamSettings,
    /// What clients may send and hold.
    #[command(flatten)]
    downstream: downstream::DownstreamSettings,
    /// Limits of TCP, TLS and UDP forwarding.
    #[command(flatten)]
    streams: streams::StreamSettings,
}

fn parse_object_ref(value: &str) -> Result<ObjectRef, String> {
    let (namespace, name) = value
        .split_once('/')
        .ok_or_else(|| format!("{value:?} is not namespace/name"))?;
    Ok(ObjectRef {
        namespace: namespace.to_string(),
        name: name.to_string(),
    })
}

/// Run the data plane until SIGTERM/SIGINT. Logging must already be set up. Never returns on
/// success: Pingora exits the process after its graceful shutdown.
pub fn run(args: Args) -> anyhow::Result<()> {
    let drain = drain::Drain::new(
        Duration::from_secs(args.grace_period_seconds),
        Duration::from_secs(args.shutdown_timeout_seconds),
    );
    // The drain exits the process; Pingora's own grace period (after which it cancels every
    // task) is only the backstop, so it ends later.
    let conf = ServerConf {
        grace_period_seconds: Some(
            args.grace_period_seconds
                .saturating_add(args.shutdown_timeout_seconds)
                .saturating_add(2),
        ),
        graceful_shutdown_timeout_seconds: Some(1),
        threads: args.threads,
        // Every connect attempt and every retry a rule may grant is one of Pingora's tries.
        max_retries: usize::from(args.upstream.connect_attempts)
            + usize::try_from(portico_snapshot::Retry::MAX_ATTEMPTS).unwrap_or(usize::MAX)
            + 1,
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let conf = server.configuration.clone();

    let metrics = Arc::new(metrics::Metrics::new().context("registering metrics")?);
    let current: state::Current = Arc::default();
    let ready = Arc::new(AtomicBool::new(false));
    let (reconcile_tx, reconcile_rx) = tokio::sync::mpsc::channel(4);

    let instance = args
        .instance
        .unwrap_or_else(|| format!("dataplane-{}", std::process::id()));
    let subscriber = subscriber::Subscriber {
        controller: args.controller,
        instance,
        gateways: args.gateways,
        token_file: args.token_file,
        controller_ca: match (args.tls_ca_file, args.tls_ca) {
            (Some(file), _) => Some(subscriber::ControllerCa::File(file)),
            (None, Some(pem)) => Some(subscriber::ControllerCa::Pem(pem)),
            (None, None) => None,
        },
        max_snapshot_bytes: args.max_snapshot_bytes,
        current: current.clone(),
        listeners: reconcile_tx,
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    let listeners =
        listeners::ListenerManager::new(conf, current.clone(), metrics.clone(), reconcile_rx)
            .with_upstream(args.upstream)
            .with_downstream(args.downstream)
            .with_streams(args.streams)
            .with_drain(drain.clone());
    let admin = admin::AdminServer::bind(
        &args.admin_address,
        admin::Admin {
            current,
            metrics,
            ready,
            drain: drain.clone(),
        },
    )
    .with_context(|| format!("cannot listen on {} (admin)", args.admin_address))?;

    server.add_service(listeners);
    server.add_service(background_service("portico-subscriber", subscriber));
    server.add_service(background_service("portico-admin", admin));
    server.add_service(background_service("portico-drain", drain));
    tracing::info!(admin = %args.admin_address, "data plane starting");
    server.run_forever()
}

/// Log to stdout, filtered by `RUST_LOG` (default: info, quieter Pingora internals), in colour
/// only when stdout is a terminal (log collectors get plain text).
pub fn init_logging() {
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_ansi(std::io::stdout().is_terminal())
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,pingora_core=warn,pingora_proxy=warn".into()),
        )
        .init();
}
