//! Limits of layer-4 proxying: how long a TLS client has to send its ClientHello, how long a
//! stream or UDP flow may stay silent, how long a stream outlives its route, how many UDP
//! flows a listener keeps and how large a datagram may be. Defaults follow Envoy's TCP and UDP proxies (one hour and one
//! minute idle).

use std::time::Duration;

use crate::upstream::millis;

/// Layer-4 settings of a data plane (`portico dataplane --stream-* --udp-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct StreamSettings {
    /// Milliseconds a client of a TLS listener has to send its whole ClientHello; then the
    /// connection closes.
    #[arg(long = "client-hello-timeout-ms", default_value = "10000", value_parser = millis)]
    pub client_hello_timeout: Duration,
    /// Milliseconds a TCP or TLS stream may carry nothing either way before it is closed.
    #[arg(long = "stream-idle-timeout-ms", default_value = "3600000", value_parser = millis)]
    pub stream_idle_timeout: Duration,
    /// Milliseconds a stream keeps flowing once its route is no longer served (removed, or
    /// the name now goes elsewhere); then it is closed.
    #[arg(long = "stream-drain-timeout-ms", default_value = "30000", value_parser = millis)]
    pub stream_drain_timeout: Duration,
    /// Milliseconds a UDP client's flow (its socket towards the endpoint) lives without a
    /// datagram either way.
    #[arg(long = "udp-idle-timeout-ms", default_value = "60000", value_parser = millis)]
    pub udp_idle_timeout: Duration,
    /// UDP clients one listener forwards for at once; a further client's flow replaces the
    /// flow idle longest.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub udp_max_flows_per_listener: u32,
    /// Largest UDP datagram forwarded either way, in bytes; larger ones are dropped. Each flow
    /// holds a buffer of this size, so it bounds a listener's memory with the flow cap.
    #[arg(long, default_value_t = 9216, value_parser = clap::value_parser!(u32).range(512..=65_507))]
    pub udp_max_datagram_bytes: u32,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            client_hello_timeout: Duration::from_secs(10),
            stream_idle_timeout: Duration::from_secs(3600),
            stream_drain_timeout: Duration::from_secs(30),
            udp_idle_timeout: Duration::from_secs(60),
            udp_max_flows_per_listener: 4096,
            udp_max_datagram_bytes: 9216,
        }
    }
}
