//! The listener manager: binds and unbinds sockets as snapshots come and go, without a restart.
//!
//! Pingora binds its listeners once at start-up. Portico's sockets change with the Gateways, so
//! this Pingora service runs one accept loop per address and port and hands every connection to
//! the socket's `pingora_proxy` application, exactly as Pingora's own listening service does
//! (TLS handshake first on HTTPS sockets, then `process_new` until the connection is done).
//! TCP and TLS sockets of layer-4 listeners run [`crate::streams::tcp`]'s accept loop instead,
//! UDP sockets [`crate::streams::udp`]'s datagram loop.
//! A socket that is unchanged keeps its accept loop; a removed one stops accepting while its
//! open connections finish.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use pingora_core::apps::ServerApp;
use pingora_core::listeners::tls::Acceptor;
use pingora_core::server::ShutdownWatch;
use pingora_core::server::configuration::ServerConf;
use pingora_core::services::Service;
use pingora_proxy::HttpProxy;
use portico_snapshot::Protocol;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::accept;
use crate::connection::{self, ConnectionContext};
use crate::downstream::DownstreamSettings;
use crate::drain::Drain;
use crate::metrics::Metrics;
use crate::mirror::Mirrors;
use crate::proxy::PorticoProxy;
use crate::state::{Current, SocketSpec};
use crate::streams::StreamSettings;
use crate::streams::tcp::{self, StreamContext};
use crate::streams::udp::{self, UdpContext};
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
    downstream: DownstreamSettings,
    streams: StreamSettings,
    drain: Drain,
    /// Shared by every socket, so the cap on copies under way is per data plane.
    mirrors: Mirrors,
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
            mirrors: Mirrors::new(UpstreamSettings::default(), metrics.clone()),
            metrics,
            upstream: UpstreamSettings::default(),
            downstream: DownstreamSettings::default(),
            streams: StreamSettings::default(),
            drain: Drain::new(Duration::ZERO, Duration::ZERO),
            requests: Some(requests),
        }
    }

    /// Dial endpoints with `upstream`'s timeouts instead of the defaults.
    pub fn with_upstream(mut self, upstream: UpstreamSettings) -> Self {
        self.upstream = upstream;
        self.mirrors = Mirrors::new(upstream, self.metrics.clone());
        self
    }

    /// Drain with `drain` on SIGTERM: keep accepting through its grace period.
    pub fn with_drain(mut self, drain: Drain) -> Self {
        self.drain = drain;
        self
    }

    /// Hold clients to `downstream`'s limits instead of the defaults.
    pub fn with_downstream(mut self, downstream: DownstreamSettings) -> Self {
        self.downstream = downstream;
        self
    }

    /// Layer-4 sockets with `streams`' limits instead of the defaults.
    pub fn with_streams(mut self, streams: StreamSettings) -> Self {
        self.streams = streams;
        self
    }

    async fn bind(&self, spec: &SocketSpec, shutdown: &ShutdownWatch) -> Result<Running, String> {
        match spec.protocol {
            Protocol::Http | Protocol::Https => self.bind_http(spec, shutdown).await,
            Protocol::Tcp | Protocol::Tls => self.bind_stream(spec).await,
            Protocol::Udp => self.bind_udp(spec).await,
        }
    }

    async fn bind_stream(&self, spec: &SocketSpec) -> Result<Running, String> {
        let listener = TcpListener::bind((spec.address, spec.port))
            .await
            .map_err(|e| format!("cannot listen on {}:{}: {e}", spec.address, spec.port))?;
        let context = StreamContext {
            address: spec.address,
            port: spec.port,
            protocol: spec.protocol,
            current: self.current.clone(),
            metrics: self.metrics.clone(),
            upstream: self.upstream,
            settings: self.streams,
            drain: self.drain.clone(),
        };
        let connections = accept::connection_permits(self.downstream.max_connections_per_listener);
        let (stop, stopped) = watch::channel(false);
        let spec = spec.clone();
        let task = tokio::spawn(async move {
            let drain = context.drain.clone();
            let serve = |tcp| tcp::serve(tcp, context.clone());
            accept::accept_connections(listener, &spec, connections, stopped, &drain, serve).await;
        });
        Ok(Running { stop, task })
    }

    async fn bind_udp(&self, spec: &SocketSpec) -> Result<Running, String> {
        let socket = UdpSocket::bind((spec.address, spec.port))
            .await
            .map_err(|e| format!("cannot bind UDP {}:{}: {e}", spec.address, spec.port))?;
        let context = UdpContext {
            address: spec.address,
            port: spec.port,
            current: self.current.clone(),
            metrics: self.metrics.clone(),
            settings: self.streams,
            drain: self.drain.clone(),
        };
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(udp::serve(socket, context, stopped));
        Ok(Running { stop, task })
    }

    async fn bind_http(
        &self,
        spec: &SocketSpec,
        shutdown: &ShutdownWatch,
    ) -> Result<Running, String> {
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
            paths: self.downstream.path_policy(),
            trusted_hops: self.downstream.trusted_hops,
            mirrors: self.mirrors.clone(),
        };
        let mut app = pingora_proxy::http_proxy(&self.conf, proxy.clone());
        app.server_options = Some(self.downstream.http2_server_options());
        app.h2_options = Some(self.downstream.h2_options());
        let app = Arc::new(app);
        let (stop, stopped) = watch::channel(false);
        let accept = AcceptLoop {
            spec: spec.clone(),
            ip,
            listener,
            current: self.current.clone(),
            connections: accept::connection_permits(self.downstream.max_connections_per_listener),
            context: ConnectionContext {
                app,
                proxy,
                settings: self.downstream,
                metrics: self.metrics.clone(),
                shutdown: shutdown.clone(),
                drain: self.drain.clone(),
            },
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
        shutdown: ShutdownWatch,
        _listeners_per_fd: usize,
    ) {
        let Some(mut requests) = self.requests.take() else {
            return;
        };
        let mut running: HashMap<SocketSpec, Running> = HashMap::new();
        // Sockets stay bound through the drain's grace period, not only until SIGTERM.
        let mut stopped = self.drain.stopped();
        loop {
            let request = tokio::select! {
                request = requests.recv() => request,
                _ = stopped.wait_for(|&stop| stop) => None,
            };
            let Some(Reconcile { sockets, reply }) = request else {
                // The subscriber stops at SIGTERM; the sockets serve on until the drain's
                // grace period ends.
                if *shutdown.borrow() {
                    let _ = stopped.wait_for(|&stop| stop).await;
                }
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
    current: Current,
    /// One permit per connection being served.
    connections: Arc<Semaphore>,
    context: ConnectionContext,
}

impl AcceptLoop {
    async fn run(self, stopped: watch::Receiver<bool>) {
        let Self {
            spec,
            ip,
            listener,
            current,
            connections,
            context,
        } = self;
        let drain = context.drain.clone();
        let serve = |tcp| {
            // The TLS configuration of the snapshot served when the connection arrived.
            let tls = (spec.protocol == Protocol::Https)
                .then(|| {
                    let current = current.load();
                    current
                        .as_ref()
                        .and_then(|applied| applied.tls.get(&(ip, spec.port)).cloned())
                })
                .map(|config| config.map(Acceptor::from_server_config));
            connection::serve(tcp, tls, context.clone())
        };
        accept::accept_connections(listener, &spec, connections, stopped, &drain, serve).await;
        app_cleanup(&context.app).await;
    }
}

async fn app_cleanup(app: &Arc<HttpProxy<PorticoProxy>>) {
    ServerApp::cleanup(app.as_ref()).await;
}

#[cfg(test)]
mod tests {
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
