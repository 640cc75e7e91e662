//! Readiness probes, run from the host against the pod's address (HTTP GET, TCP connect) or
//! inside its network namespace (exec).

use std::net::Ipv4Addr;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// One probe attempt: true when it passes.
pub async fn passes(probe: &Probe, container: &Container, address: Ipv4Addr, netns: &str) -> bool {
    let timeout =
        Duration::from_secs(u64::try_from(probe.timeout_seconds.unwrap_or(1)).unwrap_or(1));
    let attempt = async {
        if let Some(get) = &probe.http_get {
            let Some(port) = port(&get.port, container) else {
                return false;
            };
            let scheme = get.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
            let host = get.host.clone().unwrap_or_else(|| address.to_string());
            let path = get.path.as_deref().unwrap_or("/");
            let url = format!("{scheme}://{host}:{port}{path}");
            let Ok(client) = reqwest::Client::builder()
                .danger_accept_invalid_certs(true)
                .no_proxy()
                .build()
            else {
                return false;
            };
            let mut request = client.get(&url);
            for header in get.http_headers.iter().flatten() {
                request = request.header(&header.name, &header.value);
            }
            matches!(request.send().await, Ok(r) if r.status().as_u16() < 400)
        } else if let Some(tcp) = &probe.tcp_socket {
            let Some(port) = port(&tcp.port, container) else {
                return false;
            };
            tokio::net::TcpStream::connect((address, port))
                .await
                .is_ok()
        } else if let Some(exec) = &probe.exec {
            let command = exec.command.clone().unwrap_or_default();
            tokio::process::Command::new("ip")
                .args(["netns", "exec", netns])
                .args(&command)
                .kill_on_drop(true)
                .status()
                .await
                .is_ok_and(|s| s.success())
        } else {
            tracing::warn!(container = %container.name, "probe kind not supported; treated as failing");
            false
        }
    };
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or(false)
}

/// A probe's port: a number, or the name of one of the container's ports.
fn port(port: &IntOrString, container: &Container) -> Option<u16> {
    match port {
        IntOrString::Int(number) => u16::try_from(*number).ok(),
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name))
            .and_then(|p| u16::try_from(p.container_port).ok()),
    }
}
