//! Limits on what clients may send and hold: request head sizes, how long a head may take to
//! arrive, how long an idle keep-alive connection is kept, how many requests an HTTP/2
//! connection has in flight and how many connections a listener holds at once; and how request paths are normalised. Defaults sit in the range Envoy and
//! nginx use.

use std::time::Duration;

use pingora_core::apps::HttpServerOptions;
use pingora_core::protocols::http::v2::server::{H2Options, default_h2_options};
use portico_router::normalize::{EncodedSlashes, PathPolicy};

use portico_edge::request_head::HeadLimits;

/// Downstream settings of a data plane (`portico dataplane --max-request-* ...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct DownstreamSettings {
    /// Longest request line (method, target, version) in bytes; longer is answered 414.
    #[arg(long, default_value_t = 16 * 1024, value_parser = clap::value_parser!(u32).range(64..))]
    pub max_request_line_bytes: u32,
    /// Largest request head (request line and header fields) in bytes; larger is answered 431.
    #[arg(long, default_value_t = 60 * 1024, value_parser = clap::value_parser!(u32).range(256..))]
    pub max_request_head_bytes: u32,
    /// Most header fields in a request; more is answered 431.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_request_headers: u32,
    /// Milliseconds a client has to send a whole request head, from its first byte (from the
    /// connection's start for the first request); then it gets 408 and the connection closes.
    #[arg(long = "request-head-timeout-ms", default_value = "30000", value_parser = crate::upstream::millis)]
    pub request_head_timeout: Duration,
    /// Seconds an idle keep-alive connection is kept open waiting for the next request.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub keepalive_timeout_seconds: u64,
    /// Requests one HTTP/2 connection may have in flight at once (SETTINGS_MAX_CONCURRENT_STREAMS).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_streams: u32,
    /// Connections one listening socket serves at once; further clients wait in the kernel's
    /// accept queue until one closes.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_listener: u32,
    /// Turn runs of `/` in request paths into one before matching and forwarding.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub merge_slashes: bool,
    /// What `%2F` and `%5C` in a path mean: `keep` (data, left encoded), `decode` (separators)
    /// or `reject` (400).
    #[arg(long, default_value = "keep", value_parser = encoded_slashes)]
    pub encoded_slashes: EncodedSlashes,
    /// Proxies in front of the data plane (a cloud load balancer, say) whose
    /// `X-Forwarded-Proto`, `-Host` and `-Port` are kept; with 0 they are replaced.
    #[arg(long, default_value_t = 0)]
    pub trusted_hops: u8,
    /// Expect a PROXY protocol header (version 1 or 2) at the start of every connection and
    /// take the client's address from it; connections without a valid one are closed. For data
    /// planes behind a load balancer that sends it (and reachable only through it).
    #[arg(long)]
    pub proxy_protocol: bool,
}

fn encoded_slashes(value: &str) -> Result<EncodedSlashes, String> {
    match value {
        "keep" => Ok(EncodedSlashes::Keep),
        "decode" => Ok(EncodedSlashes::Decode),
        "reject" => Ok(EncodedSlashes::Reject),
        _ => Err(format!("{value:?} is not keep, decode or reject")),
    }
}

impl Default for DownstreamSettings {
    fn default() -> Self {
        Self {
            max_request_line_bytes: 16 * 1024,
            max_request_head_bytes: 60 * 1024,
            max_request_headers: 100,
            request_head_timeout: Duration::from_secs(30),
            keepalive_timeout_seconds: 60,
            max_concurrent_streams: 100,
            max_connections_per_listener: 10_000,
            merge_slashes: true,
            encoded_slashes: EncodedSlashes::Keep,
            trusted_hops: 0,
            proxy_protocol: false,
        }
    }
}

impl DownstreamSettings {
    /// The size limits of one request head.
    pub fn head_limits(&self) -> HeadLimits {
        let bytes = |n: u32| usize::try_from(n).unwrap_or(usize::MAX);
        HeadLimits {
            request_line_bytes: bytes(self.max_request_line_bytes),
            head_bytes: bytes(self.max_request_head_bytes),
            header_count: bytes(self.max_request_headers),
        }
    }

    /// How request paths are normalised.
    pub fn path_policy(&self) -> PathPolicy {
        PathPolicy {
            merge_slashes: self.merge_slashes,
            encoded_slashes: self.encoded_slashes,
        }
    }

    /// How long an idle keep-alive connection waits for its next request.
    pub fn keepalive_timeout(&self) -> Duration {
        Duration::from_secs(self.keepalive_timeout_seconds)
    }

    /// Pingora's server options: HTTP/2 with prior knowledge on cleartext sockets, and idle
    /// HTTP/2 connections closed after the keep-alive timeout.
    pub fn http2_server_options(&self) -> HttpServerOptions {
        let mut options = HttpServerOptions::default();
        options.h2c = true;
        options.h2_idle_timeout = Some(self.keepalive_timeout());
        options
    }

    /// The HTTP/2 server's limits: a header list as large as an HTTP/1 head may be, and at
    /// most `max_concurrent_streams` requests at once per connection.
    pub fn h2_options(&self) -> H2Options {
        let mut options = default_h2_options();
        options.max_header_list_size(self.max_request_head_bytes);
        options.max_concurrent_streams(self.max_concurrent_streams);
        options
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        downstream: DownstreamSettings,
    }

    #[test]
    fn defaults_match_the_documented_ones_and_flags_override_them() {
        let defaults = Cli::parse_from(["dataplane"]).downstream;
        assert_eq!(defaults, DownstreamSettings::default());
        let set = Cli::parse_from(["dataplane", "--max-request-headers", "20"]).downstream;
        assert_eq!(set.head_limits().header_count, 20);
        assert!(Cli::try_parse_from(["dataplane", "--max-request-headers", "1000"]).is_err());
        assert!(Cli::try_parse_from(["dataplane", "--request-head-timeout-ms", "0"]).is_err());
        let paths = Cli::parse_from([
            "dataplane",
            "--merge-slashes",
            "false",
            "--encoded-slashes",
            "reject",
        ])
        .downstream
        .path_policy();
        assert!(!paths.merge_slashes);
        assert_eq!(paths.encoded_slashes, EncodedSlashes::Reject);
    }
}
