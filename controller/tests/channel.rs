//! The snapshot channel carries every Gateway's configuration, private keys included, so it is
//! closed by default: `portico controller` will not offer it beyond the host without
//! authentication and TLS unless told to, and a stream that never says Hello is dropped.
//! Real processes and a real gRPC client.

mod support;

use std::time::{Duration, Instant};

use portico_snapshot::wire::{SnapshotServiceClient, proto};
use support::*;
use tokio_stream::wrappers::ReceiverStream;

#[test]
fn an_unauthenticated_channel_beyond_the_host_is_refused_unless_asked_for() {
    let run = |extra: &[&str]| {
        let port = free_port().to_string();
        portico()
            .args(["controller", "--kubeconfig", "/nonexistent/kubeconfig"])
            .args(["--grpc-address", &format!("0.0.0.0:{port}")])
            .args(["--admin-address", "127.0.0.1:0"])
            .args(extra)
            .output()
            .expect("run portico controller")
    };
    let refused = run(&[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("--insecure-dataplane-channel"), "{stderr}");
    // With authentication alone the channel is still plain text: refused too.
    let refused = run(&["--authenticate-dataplanes"]);
    assert!(!refused.status.success());

    // Asked for explicitly, the check passes (and start-up fails later, on the kubeconfig).
    let insecure = run(&["--insecure-dataplane-channel"]);
    let stderr = String::from_utf8_lossy(&insecure.stderr);
    assert!(!stderr.contains("--insecure-dataplane-channel"), "{stderr}");
    assert!(stderr.contains("kubeconfig"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_without_a_hello_is_dropped() {
    let mut deployment = Deployment::new(&[("gateway.yaml", &gateway_yaml(free_port()))]);
    deployment.start_controller(&["--external-dataplane"]);
    let grpc = format!("http://127.0.0.1:{}", deployment.ports.grpc);
    wait_until(Duration::from_secs(10), || {
        std::net::TcpStream::connect(("127.0.0.1", deployment.ports.grpc)).is_ok()
    });
    let mut client = SnapshotServiceClient::connect(grpc).await.expect("connect");
    let (_silent, messages) = tokio::sync::mpsc::channel::<proto::DataPlaneMessage>(1);
    let started = Instant::now();
    let answer = client.subscribe(ReceiverStream::new(messages)).await;
    let status = answer.expect_err("a stream without a Hello must end");
    assert_eq!(status.code(), tonic::Code::DeadlineExceeded, "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
}
