//! The listener manager: binds and unbinds sockets as snapshots come and go, without a restart.
//!
//! Pingora binds its listeners once at start-up. Portico's sockets change with the Gateways, so
//! this Pingora service runs one accept loop per address and port and hands every connection to
//! the socket's `pingora_proxy` application, exactly as Pingora's own listening service does
//! (TLS handshake first on HTTPS sockets, then `process_new` until the connection is done).
//! A socket that is unchanged keeps its accept loop; a removed one stops accepting while its
//! open connections finish.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use pingora_core::apps::ServerApp;
use pingora_core::listeners::tls::Acceptor;
use pingora_core::protocols::Stream;
use pingora_core::protocols::l4::stream::Stream as L4Stream;
use pingora_core::server::ShutdownWatch;
use pingora_core::server::configuration::ServerConf;
use pingora_core::services::Service;
use pingora_proxy::HttpProxy;
use portico_snapshot::Protocol;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use crate::metrics::Metrics;
use crate::proxy::PorticoProxy;
use crate::state::{Current, SocketSpec};
use crate::upstream::UpstreamSettings;

/// A request to serve exactly `sockets`; the reply lists those that could not be bound.
pub struct Reconcile {
    /// Every socket the applied snapshot needs.
    pub sockets: BTreeSet<SocketSpec>,
    /// Sockets that failed, with the reason.
    pub reply: oneshot::Sender<Vec<(SocketSpec, String)>>,
}

/// The Pingora service owning every proxy socket.
pub struct ListenerManager {
    conf: Arc<ServerConf>,
    current: Current,
    metrics: Arc<Metrics>,
    upstream: UpstreamSettings,
    requests: Option<mpsc::Receiver<Reconcile>>,
}

impl ListenerManager {
    /// A manager fed by `requests` (sent by the snapshot subscriber).
    pub fn new(
        conf: Arc<ServerConf>,
        current: Current,
        metrics: Arc<Metrics>,
        requests: mpsc::Receiver<Reconcile>,
    ) -> Self {
        Self {
            conf,
            current,
            metrics,
            upstream: UpstreamSettings::default(),
            requests: Some(requests),
        }
    }

    /// Dial endpoints with `upstream`'s timeouts instead of the defaults.
    pub fn with_upstream(mut self, upstream: UpstreamSettings) -> Self {
        self.upstream = upstream;
        self
    }

    async fn bind(&self, spec: &SocketSpec, shutdown: &ShutdownWatch) -> Result<Running, String> {
        let ip = spec.address;
        let listener = TcpListener::bind((ip, spec.port))
            .await
            .map_err(|e| format!("cannot listen on {}:{}: {e}", spec.address, spec.port))?;
        let proxy = PorticoProxy {
            address: ip,
            port: spec.port,
            protocol: spec.protocol,
            current: self.current.clone(),
            metrics: self.metrics.clone(),
            upstream: self.upstream,
        };
        let app = Arc::new(pingora_proxy::http_proxy(&self.conf, proxy));
        let (stop, stopped) = watch::channel(false);
        let accept = AcceptLoop {
            spec: spec.clone(),
            ip,
            listener,
            app,
            current: self.current.clone(),
            shutdown: shutdown.clone(),
        };
        let task = tokio::spawn(accept.run(stopped));
        Ok(Running { stop, task })
    }
}

/// A bound socket's accept loop.
struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stop accepting and wait until the socket is closed (open connections carry on).
    async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

#[async_trait]
impl Service for ListenerManager {
    async fn start_service(
        &mut self,
        #[cfg(unix)] _fds: Option<pingora_core::server::ListenFds>,
        mut shutdown: ShutdownWatch,
        _listeners_per_fd: usize,
    ) {
        let Some(mut requests) = self.requests.take() else {
            return;
        };
        let mut running: HashMap<SocketSpec, Running> = HashMap::new();
        loop {
            let request = tokio::select! {
                request = requests.recv() => request,
                _ = shutdown.changed() => None,
            };
            let Some(Reconcile { sockets, reply }) = request else {
                break;
            };
            // Close removed sockets first: a socket that changed protocol reuses the same port.
            let removed: Vec<SocketSpec> = running
                .keys()
                .filter(|s| !sockets.contains(*s))
                .cloned()
                .collect();
            for spec in removed {
                if let Some(socket) = running.remove(&spec) {
                    tracing::info!(address = %spec.address, port = spec.port, "socket no longer needed; draining");
                    socket.stop().await;
                }
            }
            let mut failures = Vec::new();
            for spec in sockets {
                if running.contains_key(&spec) {
                    continue;
                }
                match self.bind(&spec, &shutdown).await {
                    Ok(socket) => {
                        tracing::info!(address = %spec.address, port = spec.port, protocol = ?spec.protocol, "listening");
                        running.insert(spec, socket);
                    }
                    Err(reason) => {
                        tracing::error!(%reason, "listener not bound");
                        failures.push((spec, reason));
                    }
                }
            }
            self.metrics.bound_sockets.set(running.len() as i64);
            let _ = reply.send(failures);
        }
        for (_, socket) in running.drain() {
            socket.stop().await;
        }
    }

    fn name(&self) -> &str {
        "portico-listeners"
    }

    fn threads(&self) -> Option<usize> {
        None
    }
}

struct AcceptLoop {
    spec: SocketSpec,
    ip: IpAddr,
    listener: TcpListener,
    app: Arc<HttpProxy<PorticoProxy>>,
    current: Current,
    shutdown: ShutdownWatch,
}

impl AcceptLoop {
    async fn run(self, mut stopped: watch::Receiver<bool>) {
        let mut shutdown = self.shutdown.clone();
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = stopped.changed() => break,
                _ = shutdown.changed() => break,
            };
            match accepted {
                Ok((tcp, _peer)) => {
                    let tls = (self.spec.protocol == Protocol::Https)
                        .then(|| {
                            let current = self.current.load();
                            current.as_ref().and_then(|applied| {
                                applied.tls.get(&(self.ip, self.spec.port)).cloned()
                            })
                        })
                        .map(|config| config.map(Acceptor::from_server_config));
                    tokio::spawn(serve_connection(
                        tcp,
                        tls,
                        self.app.clone(),
                        self.shutdown.clone(),
                    ));
                }
                Err(error) => {
                    tracing::warn!(address = %self.spec.address, port = self.spec.port, %error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            }
        }
        app_cleanup(&self.app).await;
    }
}

async fn app_cleanup(app: &Arc<HttpProxy<PorticoProxy>>) {
    ServerApp::cleanup(app.as_ref()).await;
}

/// A client that does not finish its handshake in this time is disconnected, so idle
/// connections cannot pile up and exhaust file descriptors.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// `tls` is `None` for plain HTTP, `Some(None)` when an HTTPS socket has no TLS config yet.
async fn serve_connection(
    tcp: TcpStream,
    tls: Option<Option<Acceptor>>,
    app: Arc<HttpProxy<PorticoProxy>>,
    shutdown: ShutdownWatch,
) {
    let _ = tcp.set_nodelay(true);
    let l4 = L4Stream::from(tcp);
    let stream: Stream = match tls {
        None => Box::new(l4),
        Some(None) => return,
        Some(Some(acceptor)) => {
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.tls_handshake(l4)).await {
                Ok(Ok(tls)) => Box::new(tls),
                Ok(Err(error)) => {
                    tracing::debug!(%error, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!("TLS handshake timed out");
                    return;
                }
            }
        }
    };
    let mut next = app.process_new(stream, &shutdown).await;
    while let Some(stream) = next {
        next = app.process_new(stream, &shutdown).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A loopback port nothing listens on now.
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    }

    fn socket(port: u16) -> SocketSpec {
        SocketSpec {
            address: [127, 0, 0, 1].into(),
            port,
            protocol: Protocol::Http,
        }
    }

    /// Ask the manager to serve exactly `sockets`; the ones it could not bind.
    async fn reconcile(
        requests: &mpsc::Sender<Reconcile>,
        sockets: &[SocketSpec],
    ) -> Vec<(SocketSpec, String)> {
        let (reply, failures) = oneshot::channel();
        let sockets = sockets.iter().cloned().collect();
        requests
            .send(Reconcile { sockets, reply })
            .await
            .expect("manager running");
        failures.await.expect("a reply")
    }

    fn accepts(port: u16) -> bool {
        std::net::TcpStream::connect_timeout(
            &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(1),
        )
        .is_ok()
    }

    #[tokio::test]
    async fn binds_what_a_snapshot_needs_reports_what_it_cannot_and_closes_the_rest() {
        let metrics = Arc::new(Metrics::new().expect("metrics"));
        let (requests, receiver) = mpsc::channel(1);
        let mut manager = ListenerManager::new(
            Arc::new(ServerConf::default()),
            Current::default(),
            metrics.clone(),
            receiver,
        );
        let (_shutdown, watch) = watch::channel(false);
        let service = tokio::spawn(async move { manager.start_service(None, watch, 1).await });

        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let taken_port = taken.local_addr().expect("address").port();
        let (first, second) = (free_port(), free_port());

        let failures = reconcile(&requests, &[socket(first), socket(taken_port)]).await;
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].0, socket(taken_port));
        assert!(accepts(first));
        assert_eq!(metrics.bound_sockets.get(), 1);

        // The next snapshot keeps `first`'s accept loop, adds `second`.
        let failures = reconcile(&requests, &[socket(first), socket(second)]).await;
        assert!(failures.is_empty(), "{failures:?}");
        assert!(accepts(first) && accepts(second));

        // A socket no snapshot needs stops accepting.
        reconcile(&requests, &[socket(second)]).await;
        assert!(!accepts(first), "a removed socket still accepts");
        assert!(accepts(second));

        drop(requests);
        service.await.expect("manager stopped");
        assert!(!accepts(second), "sockets close when the manager stops");
    }
}
