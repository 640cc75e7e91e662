//! Admin endpoints as a cluster exposes them: probes and scrapers reach `/healthz`, `/readyz`
//! and `/metrics` on the pod's address, while the configuration dumps (the controller's
//! `/status`, the data plane's `/config`) are answered only to clients on loopback, where
//! `kubectl port-forward` arrives. Real processes; a client on this host's own non-loopback
//! address plays a client from elsewhere.

mod support;

use std::net::IpAddr;
use std::time::Duration;

use support::*;

/// This host's address on its default route: connecting to it does not come from loopback.
fn outside_address() -> IpAddr {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp socket");
    socket
        .connect("203.0.113.1:9")
        .expect("this test needs a default route to pick a non-loopback address");
    let address = socket.local_addr().expect("local address").ip();
    assert!(!address.is_loopback(), "no non-loopback address: {address}");
    address
}

async fn status_of(url: String) -> u16 {
    reqwest::get(url).await.expect("request").status().as_u16()
}

async fn status_of_maybe(url: &str) -> Option<u16> {
    Some(reqwest::get(url).await.ok()?.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dumps_are_for_loopback_clients_and_probes_for_everyone() {
    let outside = outside_address();
    let (proxy, admin, grpc, dataplane_admin) =
        (free_port(), free_port(), free_port(), free_port());
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("gateway.yaml"), gateway_yaml(proxy)).expect("config");
    let mut command = portico();
    command
        .arg("standalone")
        .arg(dir.path())
        .args(["--listen-address", "127.0.0.1"])
        .args(["--admin-address", &format!("0.0.0.0:{admin}")])
        .args(["--grpc-address", &format!("127.0.0.1:{grpc}")])
        .args([
            "--dataplane-admin-address",
            &format!("0.0.0.0:{dataplane_admin}"),
        ]);
    let controller = Process::start(command, dir.path().join("controller.log"));
    // Ready means the snapshot is applied and its sockets bound.
    let readyz = format!("http://127.0.0.1:{dataplane_admin}/readyz");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while status_of_maybe(&readyz).await != Some(200) {
        assert!(
            std::time::Instant::now() < deadline,
            "never ready; log:\n{}",
            controller.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    for (host, expected) in [("127.0.0.1".to_string(), 200), (outside.to_string(), 403)] {
        assert_eq!(
            status_of(format!("http://{host}:{admin}/status")).await,
            expected,
            "controller /status from {host}; log:\n{}",
            controller.log()
        );
        assert_eq!(
            status_of(format!("http://{host}:{dataplane_admin}/config")).await,
            expected,
            "data plane /config from {host}"
        );
        for path in ["/healthz", "/metrics"] {
            assert_eq!(status_of(format!("http://{host}:{admin}{path}")).await, 200);
        }
        for path in ["/healthz", "/readyz", "/metrics"] {
            assert_eq!(
                status_of(format!("http://{host}:{dataplane_admin}{path}")).await,
                200,
                "data plane {path} from {host}"
            );
        }
    }
}
