//! Prometheus metrics of the data plane, served on the admin endpoint's `/metrics`.
//!
//! Request counters are resolved per listener when a snapshot is applied ([`ListenerCounters`]),
//! so counting a request is an atomic increment: no label lookup, no lock.

use std::sync::Arc;

use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// All data-plane metrics, registered in their own registry.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    streams: IntCounterVec,
    stream_bytes: IntCounterVec,
    snapshots: IntCounterVec,
    refusals: IntCounterVec,
    mirrors: IntCounterVec,
    /// Route retries granted, by [`RetryCause`].
    retries: RetryCounters,
    /// Counters of requests no listener took (no route matched the host).
    pub unmatched: Arc<ListenerCounters>,
    /// Version of the applied snapshot.
    pub snapshot_version: IntGauge,
    /// Sockets currently bound.
    pub bound_sockets: IntGauge,
}

/// How a request copy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MirrorOutcome {
    /// The endpoint answered (whatever the status).
    Sent,
    /// Connecting, sending or reading failed.
    Failed,
    /// The request ended before its whole body reached the copy, or the copy fell behind.
    Abandoned,
    /// Too many copies were under way.
    Skipped,
}

impl MirrorOutcome {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Abandoned => "abandoned",
            Self::Skipped => "skipped",
        }
    }
}

/// Why a route's rule retried an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryCause {
    /// The backend answered with a status the rule lists.
    Status,
    /// The connection broke, or the backend timeout ran out.
    Error,
    /// No endpoint could be connected to within `--upstream-connect-attempts`.
    Connect,
}

/// One counter per [`RetryCause`].
struct RetryCounters {
    status: IntCounter,
    error: IntCounter,
    connect: IntCounter,
}

/// Status classes a request is counted under; the last is "no response written".
const CLASSES: [&str; 6] = ["1xx", "2xx", "3xx", "4xx", "5xx", "none"];

/// One listener's request counters, one per status class.
pub struct ListenerCounters {
    by_class: [IntCounter; 6],
}

impl ListenerCounters {
    /// Count one finished request with `status` (0 when no response was written).
    pub fn record(&self, status: u16) {
        let class = match status {
            100..=599 => usize::from(status / 100 - 1),
            _ => 5,
        };
        if let Some(counter) = self.by_class.get(class) {
            counter.inc();
        }
    }
}

/// How a TCP connection, TLS stream or UDP flow ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamOutcome {
    /// Forwarded to an endpoint.
    Forwarded,
    /// Refused: no route, an invalid backend, or not the TLS the listener expects.
    Refused,
    /// No endpoint of the chosen backend could be connected to.
    Unreachable,
}

/// One layer-4 route's counters on one listener.
pub struct StreamCounters {
    forwarded: IntCounter,
    refused: IntCounter,
    unreachable: IntCounter,
    /// Bytes received from clients.
    pub from_clients: IntCounter,
    /// Bytes sent to clients.
    pub to_clients: IntCounter,
}

impl StreamCounters {
    /// Count one stream that ended up as `outcome`.
    pub fn record(&self, outcome: StreamOutcome) {
        match outcome {
            StreamOutcome::Forwarded => &self.forwarded,
            StreamOutcome::Refused => &self.refused,
            StreamOutcome::Unreachable => &self.unreachable,
        }
        .inc();
    }
}

impl Metrics {
    /// Create and register every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "portico_dataplane_requests_total",
                "Requests served, by listener and status class",
            ),
            &["listener", "class"],
        )?;
        let streams = IntCounterVec::new(
            Opts::new(
                "portico_dataplane_streams_total",
                "TCP connections, TLS streams and UDP flows taken by layer-4 routes, by \
                 listener, route and outcome (forwarded, refused, unreachable)",
            ),
            &["listener", "route", "outcome"],
        )?;
        let stream_bytes = IntCounterVec::new(
            Opts::new(
                "portico_dataplane_stream_bytes_total",
                "Bytes forwarded by layer-4 routes, by listener, route and direction \
                 (from_clients, to_clients)",
            ),
            &["listener", "route", "direction"],
        )?;
        let snapshots = IntCounterVec::new(
            Opts::new(
                "portico_dataplane_snapshots_total",
                "Snapshots received, by result (applied or rejected)",
            ),
            &["result"],
        )?;
        let snapshot_version = IntGauge::new(
            "portico_dataplane_snapshot_version",
            "Version of the applied snapshot",
        )?;
        let bound_sockets = IntGauge::new(
            "portico_dataplane_bound_sockets",
            "Listening sockets currently bound",
        )?;
        let refusals = IntCounterVec::new(
            Opts::new(
                "portico_dataplane_refused_requests_total",
                "Requests refused before routing, by reason (request_line_too_long, \
                 head_too_large, too_many_headers, head_timeout, proxy_protocol, bad_preface)",
            ),
            &["reason"],
        )?;
        let mirrors = IntCounterVec::new(
            Opts::new(
                "portico_dataplane_mirrored_requests_total",
                "Copies of requests made by RequestMirror filters, by outcome (sent, failed, \
                 abandoned when the copy could not keep up, skipped when too many were under way)",
            ),
            &["outcome"],
        )?;
        let retries = IntCounterVec::new(
            Opts::new(
                "portico_dataplane_retries_total",
                "Attempts at a backend retried by a route's retry, by cause (status: a listed \
                 status; error: a broken connection or the backend timeout; connect: no endpoint \
                 could be connected to)",
            ),
            &["cause"],
        )?;
        registry.register(Box::new(retries.clone()))?;
        let retries = RetryCounters {
            status: retries.with_label_values(&["status"]),
            error: retries.with_label_values(&["error"]),
            connect: retries.with_label_values(&["connect"]),
        };
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(streams.clone()))?;
        registry.register(Box::new(stream_bytes.clone()))?;
        registry.register(Box::new(refusals.clone()))?;
        registry.register(Box::new(mirrors.clone()))?;
        registry.register(Box::new(snapshots.clone()))?;
        registry.register(Box::new(snapshot_version.clone()))?;
        registry.register(Box::new(bound_sockets.clone()))?;
        let unmatched = Arc::new(counters_for(&requests, ""));
        Ok(Self {
            registry,
            requests,
            streams,
            stream_bytes,
            snapshots,
            refusals,
            mirrors,
            retries,
            unmatched,
            snapshot_version,
            bound_sockets,
        })
    }

    /// The counters of `listener`, resolved once (when a snapshot is applied).
    pub fn listener_counters(&self, listener: &str) -> Arc<ListenerCounters> {
        Arc::new(counters_for(&self.requests, listener))
    }

    /// The counters of layer-4 `route` on `listener`, resolved once (when a snapshot is
    /// applied).
    pub fn stream_counters(&self, listener: &str, route: &str) -> Arc<StreamCounters> {
        let outcome = |o: &str| self.streams.with_label_values(&[listener, route, o]);
        let bytes = |d: &str| self.stream_bytes.with_label_values(&[listener, route, d]);
        Arc::new(StreamCounters {
            forwarded: outcome("forwarded"),
            refused: outcome("refused"),
            unreachable: outcome("unreachable"),
            from_clients: bytes("from_clients"),
            to_clients: bytes("to_clients"),
        })
    }

    /// Count a snapshot that was applied (`true`) or rejected.
    pub fn record_snapshot(&self, applied: bool) {
        let result = if applied { "applied" } else { "rejected" };
        self.snapshots.with_label_values(&[result]).inc();
    }

    /// Count an attempt retried for `cause`.
    pub fn record_retry(&self, cause: RetryCause) {
        let counter = match cause {
            RetryCause::Status => &self.retries.status,
            RetryCause::Error => &self.retries.error,
            RetryCause::Connect => &self.retries.connect,
        };
        counter.inc();
    }

    /// Count a request copy that ended with `outcome`.
    pub fn record_mirror(&self, outcome: MirrorOutcome) {
        self.mirrors.with_label_values(&[outcome.as_str()]).inc();
    }

    /// Count a request refused before routing, for `reason`.
    pub fn record_refusal(&self, reason: &str) {
        self.refusals.with_label_values(&[reason]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

fn counters_for(requests: &IntCounterVec, listener: &str) -> ListenerCounters {
    ListenerCounters {
        by_class: CLASSES.map(|class| requests.with_label_values(&[listener, class])),
    }
}
