//! The gRPC snapshot service: one stream per data-plane instance, carrying the latest
//! published snapshot for the Gateways it asked for, and its ACK/NACK reports back.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use portico_snapshot::wire::{SnapshotService, encoded_len, proto};
use portico_snapshot::{ObjectRef, Snapshot};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::acks::{Acks, Contents};
use crate::metrics::Metrics;
use crate::publisher::Published;

/// Decides which Gateways the bearer of a token may subscribe to.
#[tonic::async_trait]
pub trait Authenticate: Send + Sync {
    /// The Gateways a data plane presenting `token` serves, or why it may not subscribe.
    async fn gateways_for(&self, token: &str) -> Result<Vec<ObjectRef>, Status>;
}

/// The service implementation.
pub struct SnapshotServer {
    /// When set, every stream must carry `authorization: Bearer <token>`, and may only ask for
    /// the Gateways that token is allowed.
    pub authenticator: Option<Arc<dyn Authenticate>>,
    /// Whether an unauthenticated Hello naming no Gateway gets every Gateway; otherwise it
    /// is refused.
    pub empty_hello_serves_all: bool,
    /// One permit per open stream.
    pub streams: Arc<Semaphore>,
    /// Latest publication.
    pub published: watch::Receiver<Arc<Published>>,
    /// Report bookkeeping.
    pub acks: Arc<Acks>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Snapshots larger than this are not sent (`--max-snapshot-bytes`).
    pub max_snapshot_bytes: usize,
}

type SnapshotStream = Pin<Box<dyn Stream<Item = Result<proto::Snapshot, Status>> + Send>>;

#[tonic::async_trait]
impl SnapshotService for SnapshotServer {
    type SubscribeStream = SnapshotStream;

    async fn subscribe(
        &self,
        request: Request<Streaming<proto::DataPlaneMessage>>,
    ) -> Result<Response<SnapshotStream>, Status> {
        let permit =
            self.streams.clone().try_acquire_owned().map_err(|_| {
                Status::resource_exhausted("too many data-plane streams; retry later")
            })?;
        let allowed = match &self.authenticator {
            None => None,
            Some(authenticator) => {
                let token = request
                    .metadata()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .ok_or_else(|| Status::unauthenticated("a bearer token is required"))?;
                Some(authenticator.gateways_for(token).await?)
            }
        };
        let mut inbound = request.into_inner();
        let first = tokio::time::timeout(HELLO_TIMEOUT, inbound.message())
            .await
            .map_err(|_| Status::deadline_exceeded("no Hello within 10 s"))?;
        let hello = match first? {
            Some(proto::DataPlaneMessage {
                message: Some(proto::data_plane_message::Message::Hello(hello)),
            }) => hello,
            _ => {
                return Err(Status::invalid_argument(
                    "the first message must be a Hello",
                ));
            }
        };
        if hello.instance.is_empty() {
            return Err(Status::invalid_argument("Hello.instance must not be empty"));
        }
        let mut gateways: Vec<ObjectRef> = hello.gateways.into_iter().map(Into::into).collect();
        if allowed.is_none() && gateways.is_empty() && !self.empty_hello_serves_all {
            return Err(Status::invalid_argument(
                "name the Gateways to serve (--gateway): this controller serves every Gateway only to authenticated or local data planes",
            ));
        }
        if let Some(allowed) = allowed {
            if gateways.is_empty() {
                gateways = allowed;
            } else if let Some(other) = gateways.iter().find(|g| !allowed.contains(g)) {
                tracing::warn!(instance = %hello.instance, gateway = %other, "data plane asked for a Gateway it does not belong to");
                return Err(Status::permission_denied(format!(
                    "this data plane may not subscribe to Gateway {other}"
                )));
            }
        }
        let (outbound, outbound_rx) = mpsc::channel(2);
        // Streams are tracked separately even under one instance name, so a quick reconnect
        // is not undone when the old stream's end is noticed.
        let stream = NEXT_STREAM.fetch_add(1, Ordering::Relaxed);
        let session = Session {
            stream: format!("{}#{stream}", hello.instance),
            instance: hello.instance,
            gateways,
            published: self.published.clone(),
            acks: self.acks.clone(),
            metrics: self.metrics.clone(),
            max_snapshot_bytes: self.max_snapshot_bytes,
            _permit: permit,
        };
        tokio::spawn(session.run(inbound, outbound));
        Ok(Response::new(Box::pin(ReceiverStream::new(outbound_rx))))
    }
}

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

struct Session {
    instance: String,
    /// Unique per stream: `instance#n`.
    stream: String,
    gateways: Vec<ObjectRef>,
    published: watch::Receiver<Arc<Published>>,
    acks: Arc<Acks>,
    metrics: Arc<Metrics>,
    max_snapshot_bytes: usize,
    /// Held while the stream is open.
    _permit: OwnedSemaphorePermit,
}

/// Time a data plane has to send its Hello after opening a stream.
const HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl Session {
    async fn run(
        mut self,
        mut inbound: Streaming<proto::DataPlaneMessage>,
        outbound: mpsc::Sender<Result<proto::Snapshot, Status>>,
    ) {
        let instance = self.instance.clone();
        tracing::info!(%instance, gateways = ?self.gateways, "data plane subscribed");
        self.metrics.connected.inc();
        self.published.mark_changed();
        loop {
            tokio::select! {
                changed = self.published.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let published = self.published.borrow_and_update().clone();
                    if published.version == 0 {
                        continue;
                    }
                    let (snapshot, contents) = assemble(&published, &self.gateways);
                    let wire = proto::Snapshot::from(snapshot);
                    let size = encoded_len(&wire);
                    if size > self.max_snapshot_bytes {
                        let reason = format!(
                            "it takes {size} bytes, over the limit of {} (--max-snapshot-bytes); the data plane keeps serving its previous snapshot",
                            self.max_snapshot_bytes
                        );
                        tracing::error!(%instance, version = published.version, %reason, "snapshot not sent");
                        for (gateway, _) in &contents {
                            self.metrics.gateway_snapshots.with_label_values(&[&gateway.to_string(), "oversized"]).inc();
                        }
                        self.acks.record_unsent(&self.stream, published.version, &contents, &reason);
                        continue;
                    }
                    for (gateway, _) in &contents {
                        self.metrics.gateway_snapshots.with_label_values(&[&gateway.to_string(), "pushed"]).inc();
                    }
                    self.acks.record_sent(&self.stream, published.version, contents);
                    if outbound.send(Ok(wire)).await.is_err() {
                        break;
                    }
                }
                message = inbound.message() => match message {
                    Ok(Some(proto::DataPlaneMessage { message: Some(proto::data_plane_message::Message::Report(report)) })) => {
                        let result = if report.applied { "ack" } else { "nack" };
                        self.metrics.reports.with_label_values(&[result]).inc();
                        if report.applied {
                            tracing::info!(%instance, version = report.version, "snapshot applied by data plane");
                        } else {
                            tracing::error!(%instance, version = report.version, reason = %report.reason, "snapshot rejected by data plane");
                        }
                        for failure in &report.listener_failures {
                            tracing::error!(%instance, listener = %failure.listener, reason = %failure.reason, "listener not served");
                        }
                        let result = if report.applied { "acked" } else { "nacked" };
                        for (gateway, _) in self.acks.record_report(&self.stream, &report) {
                            self.metrics.gateway_snapshots.with_label_values(&[&gateway.to_string(), result]).inc();
                        }
                    }
                    Ok(Some(_)) => tracing::warn!(%instance, "unexpected message on snapshot stream"),
                    Ok(None) | Err(_) => break,
                },
            }
        }
        tracing::info!(%instance, "data plane disconnected");
        self.metrics.connected.dec();
        self.acks.forget(&self.stream);
    }
}

/// The snapshot for a subscriber: its Gateways (all when it named none) and their clusters.
fn assemble(published: &Published, wanted: &[ObjectRef]) -> (Snapshot, Contents) {
    let parts = published
        .gateways
        .iter()
        .filter(|part| wanted.is_empty() || wanted.contains(&part.config.gateway));
    let snapshot = portico_translate::merge(published.version, parts);
    let contents = snapshot
        .gateways
        .iter()
        .map(|g| (g.gateway.clone(), g.generation))
        .collect();
    (snapshot, contents)
}

#[cfg(test)]
mod tests {
    use portico_snapshot::wire::{SnapshotServiceClient, proto};
    use tokio_stream::wrappers::ReceiverStream;

    use crate::control::{Control, SnapshotChannel};

    /// A snapshot service on loopback that does not serve every Gateway to an empty Hello and
    /// serves at most `max_streams` streams; its address.
    async fn serve(max_streams: usize) -> (Control, std::net::SocketAddr) {
        let control = Control::start(([127, 0, 0, 1], 0).into())
            .await
            .expect("control");
        let address = control
            .serve_snapshots(SnapshotChannel {
                address: ([127, 0, 0, 1], 0).into(),
                authenticator: None,
                tls: None,
                max_snapshot_bytes: 1024,
                empty_hello_serves_all: false,
                max_streams,
            })
            .await
            .expect("serve");
        (control, address)
    }

    /// Both halves of an open stream; dropping them ends it.
    type Open = (
        tokio::sync::mpsc::Sender<proto::DataPlaneMessage>,
        tonic::Streaming<proto::Snapshot>,
    );

    /// Subscribe to `address` saying `hello`: the open stream, or the status it was refused
    /// with.
    async fn subscribe(
        address: std::net::SocketAddr,
        hello: proto::Hello,
    ) -> Result<Open, tonic::Status> {
        let mut client = SnapshotServiceClient::connect(format!("http://{address}"))
            .await
            .expect("connect");
        let (messages, outbound) = tokio::sync::mpsc::channel(1);
        messages
            .send(proto::DataPlaneMessage {
                message: Some(proto::data_plane_message::Message::Hello(hello)),
            })
            .await
            .expect("queue the Hello");
        let snapshots = client.subscribe(ReceiverStream::new(outbound)).await?;
        Ok((messages, snapshots.into_inner()))
    }

    fn hello(instance: &str, gateways: &[&str]) -> proto::Hello {
        proto::Hello {
            instance: instance.into(),
            gateways: gateways
                .iter()
                .map(|name| proto::ObjectRef {
                    namespace: "default".into(),
                    name: (*name).into(),
                })
                .collect(),
        }
    }

    #[tokio::test]
    async fn streams_beyond_the_cap_are_refused_until_one_ends() {
        let (_control, address) = serve(2).await;
        let first = subscribe(address, hello("a", &["gw"]))
            .await
            .expect("first");
        let _second = subscribe(address, hello("b", &["gw"]))
            .await
            .expect("second");
        let third = subscribe(address, hello("c", &["gw"])).await;
        assert_eq!(
            third.map(|_| ()).map_err(|s| s.code()),
            Err(tonic::Code::ResourceExhausted)
        );
        // The first stream ends; its place is free again.
        drop(first);
        let mut again = subscribe(address, hello("c", &["gw"])).await;
        for _ in 0..50 {
            if again.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            again = subscribe(address, hello("c", &["gw"])).await;
        }
        assert!(again.is_ok(), "{again:?}");
    }

    #[tokio::test]
    async fn an_unauthenticated_hello_must_name_its_gateways_off_loopback() {
        let (_control, address) = serve(8).await;
        let empty = subscribe(address, hello("dp", &[])).await;
        assert_eq!(
            empty.map(|_| ()).map_err(|s| s.code()),
            Err(tonic::Code::InvalidArgument)
        );
        let named = subscribe(address, hello("dp", &["gw"])).await;
        assert!(named.is_ok(), "{named:?}");
    }
}
