//! Prometheus metrics of the data plane, served on the admin endpoint's `/metrics`.

use prometheus::{Encoder, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// All data-plane metrics, registered in their own registry.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    snapshots: IntCounterVec,
    /// Version of the applied snapshot.
    pub snapshot_version: IntGauge,
    /// Sockets currently bound.
    pub bound_sockets: IntGauge,
}

impl Metrics {
    /// Create and register every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "portico_dataplane_requests_total",
                "Requests served, by listener and status code",
            ),
            &["listener", "code"],
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
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(snapshots.clone()))?;
        registry.register(Box::new(snapshot_version.clone()))?;
        registry.register(Box::new(bound_sockets.clone()))?;
        Ok(Self {
            registry,
            requests,
            snapshots,
            snapshot_version,
            bound_sockets,
        })
    }

    /// Count one finished request.
    pub fn record_request(&self, listener: &str, status: u16) {
        let mut code = itoa_buffer();
        self.requests
            .with_label_values(&[listener, format_code(status, &mut code)])
            .inc();
    }

    /// Count a snapshot that was applied (`true`) or rejected.
    pub fn record_snapshot(&self, applied: bool) {
        let result = if applied { "applied" } else { "rejected" };
        self.snapshots.with_label_values(&[result]).inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

fn itoa_buffer() -> [u8; 3] {
    [b'0'; 3]
}

/// Status code as text without allocating (codes are three digits; 0 means no response).
fn format_code(status: u16, buffer: &mut [u8; 3]) -> &str {
    let status = status.min(999);
    buffer[0] = b'0' + (status / 100) as u8;
    buffer[1] = b'0' + (status / 10 % 10) as u8;
    buffer[2] = b'0' + (status % 10) as u8;
    std::str::from_utf8(buffer).unwrap_or("000")
}
