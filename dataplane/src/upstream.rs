//! How the data plane talks to endpoints: timeouts for connecting, reading, writing and idle
//! pooled connections, and how often a failed connect moves on to another endpoint. Without
//! them, an endpoint that drops packets holds a request for the kernel's connect retries and
//! one that accepts and stalls holds it forever.

use std::time::Duration;

use pingora_core::upstreams::peer::HttpPeer;

/// Upstream settings of a data plane (`portico dataplane --upstream-*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct UpstreamSettings {
    /// Milliseconds to establish a connection to an endpoint before trying another one.
    #[arg(long = "upstream-connect-timeout-ms", default_value = "5000", value_parser = millis)]
    pub connect_timeout: Duration,
    /// Milliseconds an endpoint may stay silent while a response is awaited or read; then
    /// the client gets 504.
    #[arg(long = "upstream-read-timeout-ms", default_value = "60000", value_parser = millis)]
    pub read_timeout: Duration,
    /// Milliseconds an endpoint may take to accept more of a request body; then the client
    /// gets 504.
    #[arg(long = "upstream-write-timeout-ms", default_value = "60000", value_parser = millis)]
    pub write_timeout: Duration,
    /// Milliseconds an idle pooled connection to an endpoint is kept for reuse.
    #[arg(long = "upstream-idle-timeout-ms", default_value = "60000", value_parser = millis)]
    pub idle_timeout: Duration,
    /// How many endpoints a request tries when connecting fails (at least 1).
    #[arg(long = "upstream-connect-attempts", default_value_t = 3)]
    pub connect_attempts: u8,
}

impl Default for UpstreamSettings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            connect_attempts: 3,
        }
    }
}

impl UpstreamSettings {
    /// Apply the timeouts to a peer about to be dialled, each shortened to `limit` when set: a
    /// route's `backendRequest` timeout, or what is left of its `request` timeout. Connecting,
    /// and every read and write, must then finish within it; a read that does not is answered
    /// with 504.
    pub fn configure(&self, peer: &mut HttpPeer, limit: Option<Duration>) {
        // A deadline already passed still gets a moment, so the attempt fails as a timeout.
        let limit = limit.map(|l| l.max(Duration::from_millis(1)));
        let bounded = |timeout: Duration| Some(limit.map_or(timeout, |l| timeout.min(l)));
        let options = &mut peer.options;
        options.connection_timeout = bounded(self.connect_timeout);
        options.total_connection_timeout = bounded(self.connect_timeout);
        options.read_timeout = bounded(self.read_timeout);
        options.write_timeout = bounded(self.write_timeout);
        options.idle_timeout = Some(self.idle_timeout);
    }
}

pub(crate) fn millis(value: &str) -> Result<Duration, String> {
    let millis: u64 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number of milliseconds"))?;
    if millis == 0 {
        return Err("a timeout of 0 ms would fail every request".to_string());
    }
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        upstream: UpstreamSettings,
    }

    #[test]
    fn defaults_match_the_documented_ones_and_flags_override_them() {
        let defaults = Cli::parse_from(["dataplane"]).upstream;
        assert_eq!(defaults, UpstreamSettings::default());
        let set = Cli::parse_from(["dataplane", "--upstream-read-timeout-ms", "250"]).upstream;
        assert_eq!(set.read_timeout, Duration::from_millis(250));
        assert!(Cli::try_parse_from(["dataplane", "--upstream-connect-timeout-ms", "0"]).is_err());
    }
}
