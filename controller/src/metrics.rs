//! Prometheus metrics of the controller, served on the admin endpoint's `/metrics`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// Controller metrics in their own registry.
pub struct Metrics {
    registry: Registry,
    /// Translations run.
    pub translations: IntCounter,
    /// Time one translation takes.
    pub translation_seconds: Histogram,
    /// HTTPRoutes and GRPCRoutes compiled by translations (the rest were reused unchanged).
    pub routes_compiled: IntCounter,
    /// Snapshots per Gateway, by result: pushed to a data plane, acked, nacked.
    pub gateway_snapshots: IntCounterVec,
    /// Status writes to the API server, by kind and result (ok or error).
    pub status_writes: IntCounterVec,
    /// Passes comparing the desired statuses with the API server's (each writes what differs).
    pub status_syncs: IntCounter,
    /// Watch events, by kind and effect: `translate` (woke translation) or `ignored` (an
    /// object nothing refers to).
    pub watch_events: IntCounterVec,
    /// Snapshot versions published.
    pub published: IntCounter,
    /// Latest published version.
    pub version: IntGauge,
    /// Reports received, by result.
    pub reports: IntCounterVec,
    /// Data-plane streams open.
    pub connected: IntGauge,
}

impl Metrics {
    /// Create and register every metric.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let translations =
            IntCounter::new("portico_controller_translations_total", "Translations run")?;
        let published = IntCounter::new(
            "portico_controller_snapshots_published_total",
            "Snapshot versions published",
        )?;
        let version = IntGauge::new(
            "portico_controller_snapshot_version",
            "Latest published snapshot version",
        )?;
        let translation_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "portico_controller_translation_seconds",
                "Time one translation takes",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
            ]),
        )?;
        let routes_compiled = IntCounter::new(
            "portico_controller_routes_compiled_total",
            "HTTPRoutes and GRPCRoutes compiled by translations; unchanged routes are reused, not counted",
        )?;
        let gateway_snapshots = IntCounterVec::new(
            Opts::new(
                "portico_controller_gateway_snapshots_total",
                "Snapshots containing a Gateway, by result (pushed, acked, nacked, oversized: not sent)",
            ),
            &["gateway", "result"],
        )?;
        let status_writes = IntCounterVec::new(
            Opts::new(
                "portico_controller_status_writes_total",
                "Status writes, by kind and result",
            ),
            &["kind", "result"],
        )?;
        let status_syncs = IntCounter::new(
            "portico_controller_status_syncs_total",
            "Passes comparing desired statuses with the API server's",
        )?;
        let watch_events = IntCounterVec::new(
            Opts::new(
                "portico_controller_watch_events_total",
                "Watch events, by kind and effect (translate or ignored)",
            ),
            &["effect", "kind"],
        )?;
        let reports = IntCounterVec::new(
            Opts::new(
                "portico_controller_reports_total",
                "Data-plane reports, by result (ack or nack)",
            ),
            &["result"],
        )?;
        let connected = IntGauge::new(
            "portico_controller_connected_dataplanes",
            "Data-plane streams open",
        )?;
        registry.register(Box::new(translations.clone()))?;
        registry.register(Box::new(translation_seconds.clone()))?;
        registry.register(Box::new(routes_compiled.clone()))?;
        registry.register(Box::new(gateway_snapshots.clone()))?;
        registry.register(Box::new(status_writes.clone()))?;
        registry.register(Box::new(status_syncs.clone()))?;
        registry.register(Box::new(watch_events.clone()))?;
        registry.register(Box::new(published.clone()))?;
        registry.register(Box::new(version.clone()))?;
        registry.register(Box::new(reports.clone()))?;
        registry.register(Box::new(connected.clone()))?;
        Ok(Self {
            registry,
            translations,
            translation_seconds,
            routes_compiled,
            gateway_snapshots,
            status_writes,
            status_syncs,
            watch_events,
            published,
            version,
            reports,
            connected,
        })
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}
