//! What every controller mode shares: the gRPC snapshot server, the admin endpoint, versioned
//! publication of translations, and statuses as users see them (translation merged with
//! data-plane progress, transition times stamped). A mode only feeds it translations.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use k8s_openapi::jiff::Timestamp;
use portico_snapshot::wire::{MAX_DATA_PLANE_MESSAGE_BYTES, SnapshotServiceServer};
use portico_translate::{GatewayFacts, Options, Output, Resources, RouteMemo, Statuses};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;

use crate::acks::Acks;
use crate::admin;
use crate::infrastructure::InfrastructureProblems;
use crate::metrics::Metrics;
use crate::publisher::Publisher;
use crate::server::{Authenticate, SnapshotServer};
use crate::status::{self, Finish, apply_progress};

/// TLS for the snapshot service: its certificate and key. Data planes authenticate with tokens
/// (see [`SnapshotChannel::authenticator`]), not certificates.
pub struct ServerTls {
    /// PEM certificate of the service.
    pub cert_pem: String,
    /// PEM private key of the service.
    pub key_pem: String,
}

/// How the snapshot service is offered to data planes.
pub struct SnapshotChannel {
    /// Where it listens.
    pub address: SocketAddr,
    /// When set, data planes must present a token, and may subscribe only to the Gateways it
    /// allows.
    pub authenticator: Option<Arc<dyn Authenticate>>,
    /// When set, the channel is TLS.
    pub tls: Option<ServerTls>,
    /// Snapshots larger than this are not sent.
    pub max_snapshot_bytes: usize,
    /// Whether a Hello naming no Gateway (and carrying no token) gets every Gateway: only
    /// where every data plane that can connect is trusted (standalone mode, a loopback bind).
    pub empty_hello_serves_all: bool,
    /// Streams served at once ([`MAX_STREAMS`] outside tests); further subscriptions are
    /// refused with `RESOURCE_EXHAUSTED` until one ends.
    pub max_streams: usize,
}

/// Snapshot streams served at once; further subscriptions are refused until one ends.
pub const MAX_STREAMS: usize = 1024;

/// The running shared services.
pub struct Control {
    /// Controller metrics.
    pub metrics: Arc<Metrics>,
    publisher: Publisher,
    acks: Arc<Acks>,
    /// Why provisioned Gateways' data planes could not be put in place.
    pub infrastructure: Arc<InfrastructureProblems>,
    translated: watch::Sender<Translated>,
    /// Routes compiled by earlier translations, reused while their inputs are unchanged.
    memo: Mutex<RouteMemo>,
    /// Statuses as users see them, re-rendered whenever a translation or a report arrives.
    pub rendered: watch::Receiver<Arc<Statuses>>,
}

impl Control {
    /// Start the admin endpoint and status rendering. Snapshots are served only once
    /// [`Self::serve_snapshots`] is called (a standby replica never does).
    pub async fn start(admin_address: SocketAddr) -> anyhow::Result<Self> {
        let metrics = Arc::new(Metrics::new().context("registering metrics")?);
        let admin_listener = TcpListener::bind(admin_address)
            .await
            .with_context(|| format!("cannot listen on {admin_address} (admin)"))?;
        let acks = Arc::new(Acks::default());
        let (translated, translated_rx) = watch::channel(Translated::default());
        let (rendered_tx, rendered) = watch::channel(Arc::new(Statuses::default()));
        let infrastructure = Arc::new(InfrastructureProblems::default());
        tokio::spawn(render_statuses(
            translated_rx,
            Progress {
                acks: acks.clone(),
                infrastructure: infrastructure.clone(),
            },
            rendered_tx,
        ));
        tokio::spawn(admin::run(
            admin_listener,
            rendered.clone(),
            metrics.clone(),
        ));
        tracing::info!(admin = %admin_address, "admin endpoint serving");
        Ok(Self {
            metrics,
            publisher: Publisher::new(),
            acks,
            infrastructure,
            translated,
            memo: Mutex::default(),
            rendered,
        })
    }

    /// Bind the gRPC snapshot service and start serving data planes as `channel` says.
    /// Returns its address.
    pub async fn serve_snapshots(&self, channel: SnapshotChannel) -> anyhow::Result<SocketAddr> {
        let SnapshotChannel {
            address: grpc_address,
            authenticator,
            tls,
            max_snapshot_bytes,
            empty_hello_serves_all,
            max_streams,
        } = channel;
        let mut builder = tonic::transport::Server::builder()
            // Keepalives notice data planes that vanished without closing their stream.
            .http2_keepalive_interval(Some(Duration::from_secs(10)))
            .http2_keepalive_timeout(Some(Duration::from_secs(5)));
        if let Some(tls) = tls {
            let config = tonic::transport::ServerTlsConfig::new().identity(
                tonic::transport::Identity::from_pem(tls.cert_pem, tls.key_pem),
            );
            builder = builder.tls_config(config).context("snapshot service TLS")?;
        }
        let grpc = TcpListener::bind(grpc_address)
            .await
            .with_context(|| format!("cannot listen on {grpc_address} (gRPC)"))?;
        let grpc_address = grpc.local_addr()?;
        let server = SnapshotServer {
            authenticator,
            empty_hello_serves_all,
            streams: Arc::new(tokio::sync::Semaphore::new(max_streams)),
            published: self.publisher.subscribe(),
            acks: self.acks.clone(),
            metrics: self.metrics.clone(),
            max_snapshot_bytes,
        };
        let service = SnapshotServiceServer::new(server)
            .max_decoding_message_size(MAX_DATA_PLANE_MESSAGE_BYTES)
            .max_encoding_message_size(max_snapshot_bytes);
        tokio::spawn(async move {
            let result = builder
                .add_service(service)
                .serve_with_incoming(TcpListenerStream::new(grpc))
                .await;
            if let Err(error) = result {
                tracing::error!(%error, "gRPC server stopped");
            }
        });
        tracing::info!(grpc = %grpc_address, "snapshot service serving");
        Ok(grpc_address)
    }

    /// Translate `resources` and publish the result: a new snapshot version when the
    /// configuration changed, and the statuses either way. Returns what translation decided
    /// about the accepted Gateways.
    pub fn translate(&self, resources: &Resources, options: &Options) -> Vec<GatewayFacts> {
        let timer = self.metrics.translation_seconds.start_timer();
        let output = {
            let mut memo = self.memo.lock().unwrap_or_else(|p| p.into_inner());
            let output = portico_translate::translate_with(resources, options, &mut memo);
            self.metrics
                .routes_compiled
                .inc_by(u64::try_from(memo.compiled_last()).unwrap_or(u64::MAX));
            output
        };
        timer.observe_duration();
        let accepted = output
            .facts
            .iter()
            .filter(|g| g.accepted)
            .cloned()
            .collect();
        self.publish(output);
        accepted
    }

    fn publish(&self, output: Output) {
        self.metrics.translations.inc();
        let gateways = output.gateways.len();
        if let Some(version) = self.publisher.publish(output.gateways) {
            self.metrics.published.inc();
            self.metrics
                .version
                .set(i64::try_from(version).unwrap_or(i64::MAX));
            tracing::info!(version, gateways, "snapshot published");
        }
        self.translated.send_replace(Translated {
            statuses: output.statuses,
            facts: output.facts,
        });
    }
}

/// The statuses of the latest translation, and its facts about Gateways.
#[derive(Debug, Default)]
struct Translated {
    statuses: Statuses,
    facts: Vec<GatewayFacts>,
}

/// What becomes of a translation: data-plane reports and provisioning problems.
struct Progress {
    acks: Arc<Acks>,
    infrastructure: Arc<InfrastructureProblems>,
}

/// Merge translation statuses with data-plane progress whenever either changes.
async fn render_statuses(
    mut translated: watch::Receiver<Translated>,
    progress: Progress,
    rendered: watch::Sender<Arc<Statuses>>,
) {
    let mut previous = Statuses::default();
    loop {
        tokio::select! {
            changed = translated.changed() => if changed.is_err() { return },
            () = progress.acks.changed.notified() => {}
            () = progress.infrastructure.changed.notified() => {}
        }
        let mut current = {
            let latest = translated.borrow_and_update();
            let mut current = latest.statuses.clone();
            apply_progress(
                &mut current,
                &latest.facts,
                &progress.acks,
                &progress.infrastructure,
            );
            current
        };
        status::finish(
            &mut current,
            Finish {
                previous: &previous,
                now: Timestamp::now(),
                reconnecting: false,
                addresses: None,
            },
        );
        previous = current.clone();
        rendered.send_replace(Arc::new(current));
    }
}
