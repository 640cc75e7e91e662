//! The snapshot subscriber: keeps a stream open to the controller, applies every snapshot it
//! receives (or rejects it and keeps the last good one), and reports the outcome per version.
//! When the controller is away it keeps serving and reconnects with capped backoff.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use pingora_core::server::ShutdownWatch;
use pingora_core::services::background::BackgroundService;
use portico_snapshot::wire::{MAX_DATA_PLANE_MESSAGE_BYTES, SnapshotServiceClient, proto};
use portico_snapshot::{ObjectRef, Snapshot};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::wrappers::ReceiverStream;

use crate::backoff::Backoff;
use crate::listeners::Reconcile;
use crate::metrics::Metrics;
use crate::state::{Applied, Current};

/// Subscribes to the controller for this instance's Gateways.
pub struct Subscriber {
    /// Controller gRPC URL, e.g. `http://127.0.0.1:18000`.
    pub controller: String,
    /// This instance's name.
    pub instance: String,
    /// Gateways served; empty for all (or, when authenticated, the controller decides).
    pub gateways: Vec<ObjectRef>,
    /// Token presented to the controller, read afresh on every connection.
    pub token_file: Option<std::path::PathBuf>,
    /// When set, the controller is reached over TLS and must prove itself with a certificate
    /// from this CA.
    pub controller_ca: Option<ControllerCa>,
    /// Largest snapshot accepted.
    pub max_snapshot_bytes: usize,
    /// The served configuration.
    pub current: Current,
    /// Channel to the listener manager.
    pub listeners: mpsc::Sender<Reconcile>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Set once a first snapshot is applied (readiness).
    pub ready: Arc<AtomicBool>,
}

/// The CA certificate the controller's certificate must chain to (TLS to the controller).
pub enum ControllerCa {
    /// A PEM file, read on every connection.
    File(std::path::PathBuf),
    /// PEM text.
    Pem(String),
}

impl ControllerCa {
    fn pem(&self) -> Result<String, String> {
        match self {
            Self::File(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read {}: {e}", path.display())),
            Self::Pem(pem) => Ok(pem.clone()),
        }
    }
}

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

#[async_trait]
impl BackgroundService for Subscriber {
    async fn start(&self, mut shutdown: ShutdownWatch) {
        let mut backoff = Backoff::new(MIN_BACKOFF, MAX_BACKOFF);
        loop {
            let mut received = false;
            let outcome = tokio::select! {
                outcome = self.session(&mut received) => outcome,
                _ = shutdown.changed() => return,
            };
            if received {
                backoff.reset();
            }
            let retry_in = backoff.next_delay();
            match outcome {
                Ok(()) => {
                    tracing::warn!(controller = %self.controller, "snapshot stream closed by the controller; serving the last snapshot");
                }
                Err(error) => match error
                    .downcast_ref::<tonic::Status>()
                    .map(tonic::Status::code)
                {
                    Some(tonic::Code::Unauthenticated | tonic::Code::PermissionDenied) => {
                        tracing::error!(controller = %self.controller, error = %error, retry_in = ?retry_in, "the controller refused this data plane (check its token and Gateway); serving the last snapshot");
                    }
                    _ => {
                        tracing::warn!(controller = %self.controller, error = %error, retry_in = ?retry_in, "cannot reach the controller; serving the last snapshot");
                    }
                },
            }
            tokio::select! {
                _ = tokio::time::sleep(retry_in) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}

impl Subscriber {
    /// One stream's lifetime. Sets `received` once a snapshot arrives.
    async fn session(
        &self,
        received: &mut bool,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        // Keepalives notice a controller that vanished without closing the stream (a dead node
        // or a partition), so the data plane reconnects, possibly to a new leader.
        let mut endpoint = tonic::transport::Endpoint::from_shared(self.controller.clone())?
            .connect_timeout(Duration::from_secs(5))
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true);
        if let Some(ca) = &self.controller_ca {
            let config = tonic::transport::ClientTlsConfig::new()
                .ca_certificate(tonic::transport::Certificate::from_pem(ca.pem()?));
            endpoint = endpoint.tls_config(config)?;
        }
        let channel = endpoint.connect().await?;
        let mut client = SnapshotServiceClient::new(channel)
            .max_decoding_message_size(self.max_snapshot_bytes)
            .max_encoding_message_size(MAX_DATA_PLANE_MESSAGE_BYTES);
        let (outbound, outbound_rx) = mpsc::channel(8);
        let hello = proto::Hello {
            instance: self.instance.clone(),
            gateways: self.gateways.iter().cloned().map(Into::into).collect(),
        };
        outbound
            .send(proto::DataPlaneMessage {
                message: Some(proto::data_plane_message::Message::Hello(hello)),
            })
            .await?;
        let mut request = tonic::Request::new(ReceiverStream::new(outbound_rx));
        if let Some(path) = &self.token_file {
            let token = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read token file {}: {e}", path.display()))?;
            let value = format!("Bearer {}", token.trim()).parse()?;
            request.metadata_mut().insert("authorization", value);
        }
        let mut inbound = client.subscribe(request).await?.into_inner();
        tracing::info!(controller = %self.controller, instance = %self.instance, "subscribed");
        while let Some(snapshot) = inbound.message().await? {
            *received = true;
            let report = self.apply(snapshot).await;
            outbound
                .send(proto::DataPlaneMessage {
                    message: Some(proto::data_plane_message::Message::Report(report)),
                })
                .await?;
        }
        Ok(())
    }

    async fn apply(&self, wire: proto::Snapshot) -> proto::Report {
        let version = wire.version;
        let previous = self.current.load_full();
        let built = Snapshot::try_from(wire)
            .map_err(|e| e.to_string())
            .and_then(|snapshot| Applied::build(snapshot, &self.metrics, previous.as_deref()));
        let applied = match built {
            Ok(applied) => applied,
            Err(reason) => {
                tracing::error!(version, %reason, "snapshot rejected; keeping the last good one");
                self.metrics.record_snapshot(false);
                return proto::Report {
                    version,
                    applied: false,
                    reason,
                    listener_failures: Vec::new(),
                };
            }
        };
        let sockets: BTreeSet<_> = applied.listeners.keys().cloned().collect();
        let listeners_of = applied.listeners.clone();
        self.current.store(Some(Arc::new(applied)));
        self.metrics.record_snapshot(true);
        self.metrics
            .snapshot_version
            .set(i64::try_from(version).unwrap_or(i64::MAX));

        let (reply, failures) = oneshot::channel();
        let failures = match self.listeners.send(Reconcile { sockets, reply }).await {
            Ok(()) => failures.await.unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        // Ready only once the snapshot's sockets are bound: a load balancer told "ready"
        // earlier would send connections to ports not yet listening.
        self.ready.store(true, Ordering::Release);
        let listener_failures = failures
            .into_iter()
            .flat_map(|(spec, reason)| {
                listeners_of
                    .get(&spec)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(move |listener| proto::ListenerFailure {
                        listener,
                        reason: reason.clone(),
                    })
            })
            .collect();
        tracing::info!(version, "snapshot applied");
        proto::Report {
            version,
            applied: true,
            reason: String::new(),
            listener_failures,
        }
    }
}
