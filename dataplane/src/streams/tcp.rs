//! Connections of TCP and TLS listening sockets (accepted by [`crate::accept`]), each routed on
//! its own.
//!
//! A TCP connection goes to the oldest route of the socket's listener. A TLS connection's
//! ClientHello is read first (bounded in size and time) and its server name picks listener and
//! route; a passthrough listener forwards the hello and everything after it unchanged, a
//! terminating one completes the handshake with the listener's certificate and forwards the
//! decrypted stream. Connections nothing routes are closed without a byte sent back (a TLS
//! client sees the connection end, not an alert). A stream keeps its endpoint for life; when
//! a new snapshot no longer routes it, it is closed after the drain timeout.

use std::net::IpAddr;
use std::sync::Arc;

use bytes::BytesMut;
use pingora_core::protocols::l4::stream::Stream as L4Stream;
use portico_edge::client_hello::{self, MAX_RECORD, Scan};
use portico_router::streams::StreamTarget;
use portico_snapshot::{Protocol, TlsMode};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::dial;
use super::relay::{self, Ended, Limits};
use super::settings::StreamSettings;
use crate::drain::Drain;
use crate::metrics::{Metrics, StreamCounters, StreamOutcome};
use crate::replay::Replay;
use crate::state::Current;
use crate::upstream::UpstreamSettings;

/// Bytes read at a time while a ClientHello is incomplete.
const READ_CHUNK: usize = 4096;

/// What every connection of a TCP or TLS socket needs.
#[derive(Clone)]
pub struct StreamContext {
    /// The socket's address and port.
    pub address: IpAddr,
    /// The socket's port.
    pub port: u16,
    /// `Tcp` or `Tls`.
    pub protocol: Protocol,
    /// The configuration served.
    pub current: Current,
    /// Where refusals are counted when no listener takes a stream.
    pub metrics: Arc<Metrics>,
    /// How endpoints are dialled.
    pub upstream: UpstreamSettings,
    /// Layer-4 limits.
    pub settings: StreamSettings,
    /// The data plane's drain (connections are counted in it).
    pub drain: Drain,
}

/// Route and forward one connection.
pub async fn serve(tcp: TcpStream, context: StreamContext) {
    let context = &context;
    let _open = context.drain.connection();
    let _ = tcp.set_nodelay(true);
    let client = tcp.peer_addr().ok();
    let mut tcp = tcp;
    // The ClientHello, and on a terminating listener the whole handshake, within this.
    let deadline = Instant::now() + context.settings.client_hello_timeout;
    let (hello, server_name) = if context.protocol == Protocol::Tls {
        match read_client_hello(&mut tcp, deadline).await {
            Some(read) => read,
            None => {
                tracing::debug!(
                    ?client,
                    port = context.port,
                    "no valid TLS ClientHello; closing"
                );
                context.metrics.record_refusal("client_hello");
                return;
            }
        }
    } else {
        (BytesMut::new(), None)
    };
    let Some(routed) = Routed::find(context, server_name.as_deref()) else {
        tracing::debug!(
            ?client,
            port = context.port,
            server_name,
            "no route takes the stream; closing"
        );
        context.metrics.record_refusal("no_stream_route");
        return;
    };
    let counters = routed.counters.clone();
    let Some(balancer) = routed.balancer.clone() else {
        tracing::debug!(?client, route = %routed.target.route, "the backend chosen is invalid; closing");
        counters.record(StreamOutcome::Refused);
        return;
    };
    let limits = |routed: &Routed| {
        let mut still = StillRouted {
            context: context.clone(),
            server_name: server_name.clone(),
            listener: routed.listener.clone(),
            route: routed.target.route.clone(),
            checked: None,
        };
        Limits {
            idle: context.settings.stream_idle_timeout,
            drain: context.settings.stream_drain_timeout,
            routed: move || still.check(),
        }
    };
    let ended = if let Some(config) = routed.terminate.clone() {
        // Terminate: the client's handshake first, so a client that never finishes it costs
        // no endpoint a connection.
        let replayed = Replay::new(hello.freeze(), Box::new(L4Stream::from(tcp)));
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let handshake = acceptor.accept(replayed);
        let tls = match tokio::time::timeout_at(deadline, handshake).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                tracing::debug!(?client, %error, "TLS handshake failed");
                counters.record(StreamOutcome::Refused);
                return;
            }
            Err(_) => {
                tracing::debug!(?client, "TLS handshake timed out");
                counters.record(StreamOutcome::Refused);
                return;
            }
        };
        let Some(upstream) = dial::connect(&balancer, &context.upstream).await else {
            counters.record(StreamOutcome::Unreachable);
            return;
        };
        counters.record(StreamOutcome::Forwarded);
        let limits = limits(&routed);
        relay::relay(
            tls,
            upstream,
            &counters.from_clients,
            &counters.to_clients,
            limits,
        )
        .await
    } else {
        let Some(upstream) = dial::connect(&balancer, &context.upstream).await else {
            counters.record(StreamOutcome::Unreachable);
            return;
        };
        counters.record(StreamOutcome::Forwarded);
        // The hello already read goes first, unchanged.
        let client = Replay::new(hello.freeze(), Box::new(L4Stream::from(tcp)));
        let limits = limits(&routed);
        relay::relay(
            client,
            upstream,
            &counters.from_clients,
            &counters.to_clients,
            limits,
        )
        .await
    };
    match ended {
        Ended::Done => {}
        Ended::Idle => {
            tracing::debug!(?client, route = %routed.target.route, "stream idle; closed")
        }
        Ended::Unrouted => {
            tracing::info!(?client, route = %routed.target.route, "stream's route is gone; closed after the drain timeout")
        }
    }
}

/// Read the ClientHello by `deadline`: the bytes read, and the server name it asks for
/// (lowercase). `None` when the client sends something else, too slowly, or closes.
async fn read_client_hello(
    tcp: &mut TcpStream,
    deadline: Instant,
) -> Option<(BytesMut, Option<String>)> {
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    loop {
        match client_hello::scan(&buffer) {
            Scan::Hello(name) => {
                let name = name.map(str::to_ascii_lowercase);
                return Some((buffer, name));
            }
            Scan::Invalid => return None,
            Scan::Incomplete => {}
        }
        // `scan` decides by one whole record; this only bounds the buffer should it not.
        if buffer.len() >= 5 + MAX_RECORD {
            return None;
        }
        buffer.reserve(READ_CHUNK);
        let read = tokio::time::timeout_at(deadline, tcp.read_buf(&mut buffer)).await;
        match read {
            Ok(Ok(n)) if n > 0 => {}
            _ => return None,
        }
    }
}

/// Where a stream was routed: the listener, the route, and what forwarding needs of them.
struct Routed {
    listener: Arc<str>,
    target: Arc<StreamTarget>,
    counters: Arc<StreamCounters>,
    /// The chosen backend's endpoints; `None` for an invalid backend.
    balancer: Option<Arc<crate::state::Balancer>>,
    /// The listener's TLS, when it terminates.
    terminate: Option<Arc<pingora_core::tls::ServerConfig>>,
}

impl Routed {
    fn find(context: &StreamContext, server_name: Option<&str>) -> Option<Self> {
        let applied = context.current.load_full()?;
        let socket = applied
            .streams
            .socket(context.address, context.port, false)?;
        let matched = socket.route(server_name)?;
        let key = matched.listener.key.clone();
        let counters = applied
            .stream_counters(&key, &matched.target.route)?
            .clone();
        let balancer = applied.stream_backend(matched.target);
        let terminate = match matched.listener.tls_mode {
            Some(TlsMode::Terminate) => Some(applied.stream_tls.get(&*key)?.clone()),
            _ => None,
        };
        Some(Self {
            listener: key,
            target: matched.target.clone(),
            counters,
            balancer,
            terminate,
        })
    }
}

/// Whether the current configuration still sends a stream's name to its listener and route.
struct StillRouted {
    context: StreamContext,
    server_name: Option<String>,
    listener: Arc<str>,
    route: Arc<str>,
    /// The snapshot version last looked at, and the answer then: routing is looked up again
    /// only after a swap.
    checked: Option<(u64, bool)>,
}

impl StillRouted {
    fn check(&mut self) -> bool {
        let current = self.context.current.load();
        let Some(applied) = current.as_deref() else {
            return false;
        };
        let version = applied.snapshot.version;
        if let Some((seen, routed)) = self.checked
            && seen == version
        {
            return routed;
        }
        let routed = applied
            .streams
            .socket(self.context.address, self.context.port, false)
            .and_then(|s| s.route(self.server_name.as_deref()))
            .is_some_and(|m| m.listener.key == self.listener && m.target.route == self.route);
        self.checked = Some((version, routed));
        routed
    }
}
