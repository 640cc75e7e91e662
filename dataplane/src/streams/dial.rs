//! Connecting a stream to an endpoint of its backend: round-robin over the cluster's
//! endpoints, each attempt bounded by the connect timeout, as many attempts as HTTP requests
//! get (`--upstream-connect-attempts`).

use std::net::SocketAddr;

use tokio::net::TcpStream;

use crate::state::Balancer;
use crate::upstream::UpstreamSettings;

/// The next endpoint of `balancer` in round-robin order.
pub fn next_endpoint(balancer: &Balancer) -> Option<SocketAddr> {
    let endpoint = balancer.endpoints.select(b"", 256)?;
    endpoint.addr.as_inet().copied()
}

/// A connection to one of `balancer`'s endpoints, or `None` when every attempt failed.
pub async fn connect(balancer: &Balancer, upstream: &UpstreamSettings) -> Option<TcpStream> {
    for _ in 0..upstream.connect_attempts.max(1) {
        let endpoint = next_endpoint(balancer)?;
        match tokio::time::timeout(upstream.connect_timeout, TcpStream::connect(endpoint)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Some(stream);
            }
            Ok(Err(error)) => tracing::debug!(%endpoint, %error, "endpoint refused the stream"),
            Err(_) => tracing::debug!(%endpoint, "connecting to the endpoint timed out"),
        }
    }
    None
}
