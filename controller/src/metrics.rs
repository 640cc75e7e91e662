//! Prometheus metrics of the controller, served on the admin endpoint's `/metrics`.

use prometheus::{Encoder, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder};

/// Controller metrics in their own registry.
pub struct Metrics {
    registry: Registry,
    /// Translations run.
    pub translations: IntCounter,
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
        registry.register(Box::new(published.clone()))?;
        registry.register(Box::new(version.clone()))?;
        registry.register(Box::new(reports.clone()))?;
        registry.register(Box::new(connected.clone()))?;
        Ok(Self {
            registry,
            translations,
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
