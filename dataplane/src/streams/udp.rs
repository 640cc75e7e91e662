//! UDP listening sockets: datagrams forwarded per client. A client's first datagram opens a
//! flow: a socket of the data plane's own, connected to one endpoint of the route's backend,
//! whose replies are sent back to that client from the listener's socket. A flow ends after
//! the idle timeout without a datagram either way, or within a second once the route that
//! opened it is no longer the one the listener serves. A listener keeps at most
//! `--udp-max-flows-per-listener` flows (a new client then ends the flow idle longest, so
//! clients sending from forged addresses cannot lock real ones out), each with one buffer of
//! `--udp-max-datagram-bytes` (larger datagrams are dropped).
//!
//! One task owns the flow table, so no lock is taken per datagram.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::dial;
use super::settings::StreamSettings;
use crate::drain::Drain;
use crate::metrics::{Metrics, StreamCounters, StreamOutcome};
use crate::state::Current;

/// A buffer for datagrams of at most `max` bytes, one byte longer: a read that fills it was a
/// larger datagram, cut short by the kernel, and is dropped.
fn datagram_buffer(max: u32) -> Vec<u8> {
    vec![0u8; max as usize + 1]
}

/// Whether a read of `length` bytes into a [`datagram_buffer`] was cut short.
fn truncated(length: usize, buffer: &[u8]) -> bool {
    length >= buffer.len()
}

/// What a UDP socket's loop needs.
pub struct UdpContext {
    /// The socket's address.
    pub address: IpAddr,
    /// The socket's port.
    pub port: u16,
    /// The configuration served.
    pub current: Current,
    /// Where datagrams no route takes are counted.
    pub metrics: Arc<Metrics>,
    /// Layer-4 limits.
    pub settings: StreamSettings,
    /// The data plane's drain.
    pub drain: Drain,
}

/// One client's flow.
struct Flow {
    /// Tells this flow from a later one of the same client.
    id: u64,
    /// Connected to the flow's endpoint.
    upstream: Arc<UdpSocket>,
    /// The listener and route that opened it.
    listener: Arc<str>,
    route: Arc<str>,
    counters: Arc<StreamCounters>,
    /// Milliseconds since the loop started at the last datagram either way.
    last: Arc<AtomicU64>,
    replies: tokio::task::JoinHandle<()>,
}

impl Drop for Flow {
    fn drop(&mut self) {
        self.replies.abort();
    }
}

/// How often flows are checked against the routes served: a flow whose route is no longer the
/// listener's ends within this time.
const SWEEP: Duration = Duration::from_secs(1);

/// Forward datagrams arriving on `socket` until `stopped` or the drain's grace period ends.
pub async fn serve(socket: UdpSocket, context: UdpContext, mut stopped: watch::Receiver<bool>) {
    let socket = Arc::new(socket);
    let started = Instant::now();
    let mut draining = context.drain.stopped();
    let mut flows: HashMap<SocketAddr, Flow> = HashMap::new();
    let (ended_tx, mut ended) = mpsc::unbounded_channel::<(SocketAddr, u64)>();
    let mut next_id = 0u64;
    let mut sweep = tokio::time::interval(SWEEP);
    let mut buffer = datagram_buffer(context.settings.udp_max_datagram_bytes);
    loop {
        let received = tokio::select! {
            received = socket.recv_from(&mut buffer) => received,
            Some((client, id)) = ended.recv() => {
                // The flow went idle; the client may have a newer one since.
                if flows.get(&client).is_some_and(|f| f.id == id) {
                    flows.remove(&client);
                }
                continue;
            }
            _ = sweep.tick() => {
                let route = current_route(&context);
                flows.retain(|_, f| {
                    route.as_ref().is_some_and(|(l, r)| *l == f.listener && *r == f.route)
                });
                continue;
            }
            _ = stopped.changed() => break,
            _ = draining.wait_for(|&stop| stop) => break,
        };
        let (length, client) = match received {
            Ok(received) => received,
            Err(error) => {
                // An ICMP error from an earlier send to a client; the socket is fine.
                tracing::debug!(port = context.port, %error, "UDP receive failed");
                continue;
            }
        };
        if truncated(length, &buffer) {
            tracing::debug!(port = context.port, %client, "UDP datagram too large; dropped");
            context.metrics.record_refusal("udp_datagram_too_large");
            continue;
        }
        // A flow whose reply task ended (idle) is replaced, even before the loop hears of it.
        if flows.get(&client).is_some_and(|f| f.replies.is_finished()) {
            flows.remove(&client);
        }
        if !flows.contains_key(&client) {
            if flows.len() >= context.settings.udp_max_flows_per_listener as usize {
                // Make room by ending the flow idle longest: a client that is still talking
                // keeps its flow, however many others have come and gone.
                let idlest = flows
                    .iter()
                    .min_by_key(|(_, f)| f.last.load(Ordering::Relaxed))
                    .map(|(client, _)| *client);
                if let Some(idlest) = idlest {
                    flows.remove(&idlest);
                }
                context.metrics.record_refusal("udp_flow_evicted");
            }
            next_id += 1;
            let opened = open_flow(&context, &socket, client, (next_id, started), &ended_tx);
            match opened.await {
                Some(flow) => {
                    flows.insert(client, flow);
                }
                None => continue,
            }
        }
        if let Some(flow) = flows.get(&client) {
            flow.last.store(elapsed_ms(started), Ordering::Relaxed);
            match flow.upstream.send(&buffer[..length]).await {
                Ok(_) => flow.counters.from_clients.inc_by(length as u64),
                Err(error) => tracing::debug!(%client, %error, "datagram not forwarded"),
            }
        }
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The listener and route the socket's datagrams go to now.
fn current_route(context: &UdpContext) -> Option<(Arc<str>, Arc<str>)> {
    let current = context.current.load();
    let applied = current.as_deref()?;
    let matched = applied
        .streams
        .socket(context.address, context.port, true)?
        .route(None)?;
    Some((matched.listener.key.clone(), matched.target.route.clone()))
}

/// Open a flow for `client`: route, choose a backend and endpoint, connect a socket to it and
/// start relaying its replies. `None` when the datagram is dropped instead.
async fn open_flow(
    context: &UdpContext,
    socket: &Arc<UdpSocket>,
    client: SocketAddr,
    (id, started): (u64, Instant),
    ended: &mpsc::UnboundedSender<(SocketAddr, u64)>,
) -> Option<Flow> {
    let applied = context.current.load_full()?;
    let Some(matched) = applied
        .streams
        .socket(context.address, context.port, true)
        .and_then(|s| s.route(None))
    else {
        context.metrics.record_refusal("no_stream_route");
        return None;
    };
    let counters = applied
        .stream_counters(&matched.listener.key, &matched.target.route)?
        .clone();
    let balancer = applied.stream_backend(matched.target);
    let Some(endpoint) = balancer.and_then(|b| dial::next_endpoint(&b)) else {
        counters.record(StreamOutcome::Refused);
        return None;
    };
    let local: SocketAddr = match endpoint {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let upstream = match UdpSocket::bind(local).await {
        Ok(upstream) if upstream.connect(endpoint).await.is_ok() => Arc::new(upstream),
        _ => {
            counters.record(StreamOutcome::Unreachable);
            return None;
        }
    };
    counters.record(StreamOutcome::Forwarded);
    let last = Arc::new(AtomicU64::new(elapsed_ms(started)));
    let replies = tokio::spawn(relay_replies(
        upstream.clone(),
        socket.clone(),
        (client, id),
        counters.clone(),
        datagram_buffer(context.settings.udp_max_datagram_bytes),
        Idle {
            last: last.clone(),
            started,
            timeout_ms: u64::try_from(context.settings.udp_idle_timeout.as_millis())
                .unwrap_or(u64::MAX),
        },
        ended.clone(),
    ));
    Some(Flow {
        id,
        upstream,
        listener: matched.listener.key.clone(),
        route: matched.target.route.clone(),
        counters,
        last,
        replies,
    })
}

/// When a flow last moved, and how long it may rest.
struct Idle {
    last: Arc<AtomicU64>,
    started: Instant,
    timeout_ms: u64,
}

/// Send the endpoint's replies to `client` until the flow stays idle; then tell the loop.
async fn relay_replies(
    upstream: Arc<UdpSocket>,
    socket: Arc<UdpSocket>,
    (client, id): (SocketAddr, u64),
    counters: Arc<StreamCounters>,
    mut buffer: Vec<u8>,
    idle: Idle,
    ended: mpsc::UnboundedSender<(SocketAddr, u64)>,
) {
    loop {
        let rested = elapsed_ms(idle.started).saturating_sub(idle.last.load(Ordering::Relaxed));
        let left = idle.timeout_ms.saturating_sub(rested);
        if left == 0 {
            break;
        }
        let wait = std::time::Duration::from_millis(left);
        match tokio::time::timeout(wait, upstream.recv(&mut buffer)).await {
            Ok(Ok(length)) if truncated(length, &buffer) => {
                tracing::debug!(%client, "UDP reply too large; dropped");
            }
            Ok(Ok(length)) => {
                idle.last.store(elapsed_ms(idle.started), Ordering::Relaxed);
                if socket.send_to(&buffer[..length], client).await.is_ok() {
                    counters.to_clients.inc_by(length as u64);
                }
            }
            // The endpoint refused a datagram (ICMP port unreachable): keep the flow, as the
            // client may retry.
            Ok(Err(error)) => tracing::debug!(%client, %error, "UDP endpoint error"),
            Err(_) => {} // Check the idle time again: the client may have sent meanwhile.
        }
    }
    let _ = ended.send((client, id));
}
