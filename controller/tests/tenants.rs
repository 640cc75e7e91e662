//! Data planes serve some Gateways, not all: what one reports must change only the status of
//! the Gateways it serves. Real controller, a real data plane for one Gateway, and a gRPC
//! client playing a data plane that lies about another Gateway's listeners.

mod support;

use std::time::{Duration, Instant};

use portico_snapshot::wire::{SnapshotServiceClient, proto};
use support::*;
use tokio_stream::wrappers::ReceiverStream;

fn gateways(a_port: u16, b_port: u16) -> String {
    let gateway = |name: &str, port: u16| {
        format!(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n\
             metadata: {{name: {name}, namespace: default, generation: 1}}\n\
             spec:\n  gatewayClassName: portico\n  listeners:\n  \
             - {{name: http, protocol: HTTP, port: {port}}}\n"
        )
    };
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: portico}}\n\
         spec: {{controllerName: portico.dev/gateway-controller}}\n---\n{}---\n{}",
        gateway("a", a_port),
        gateway("b", b_port)
    )
}

/// `Programmed` of listener `http` of Gateway `name`: (status, message).
fn listener_programmed(status: &serde_json::Value, name: &str) -> Option<(String, String)> {
    let gateway = status["gateways"]
        .as_array()?
        .iter()
        .find(|g| g["name"] == name)?;
    let listener = gateway["status"]["listeners"]
        .as_array()?
        .iter()
        .find(|l| l["name"] == "http")?;
    let condition = listener["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Programmed")?;
    Some((
        condition["status"].as_str()?.to_string(),
        condition["message"].as_str()?.to_string(),
    ))
}

async fn wait_for_listener(
    deployment: &Deployment,
    gateway: &str,
    wanted: impl Fn(&(String, String)) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = deployment.status().await;
        if listener_programmed(&status, gateway).is_some_and(|p| wanted(&p)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "listener of {gateway} never reached the expected state: {status}\n{}",
            deployment.controller_log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_plane_cannot_fail_listeners_of_a_gateway_it_does_not_serve() {
    let (a_port, b_port) = (free_port(), free_port());
    let mut deployment = Deployment::new(&[("gateways.yaml", &gateways(a_port, b_port))]);
    deployment.start_controller(&["--external-dataplane"]);
    let grpc = format!("http://127.0.0.1:{}", deployment.ports.grpc);

    let _honest = deployment.start_dataplane("honest", &["--gateway", "default/b"]);
    wait_for_listener(&deployment, "b", |(status, _)| status == "True").await;

    // A data plane serving Gateway a acknowledges its snapshot, claiming failures on its own
    // listener and on Gateway b's.
    let mut client = SnapshotServiceClient::connect(grpc.clone())
        .await
        .expect("connect to the snapshot service");
    let (outbound, messages) = tokio::sync::mpsc::channel(4);
    let message = |message| proto::DataPlaneMessage {
        message: Some(message),
    };
    outbound
        .send(message(proto::data_plane_message::Message::Hello(
            proto::Hello {
                instance: "rogue".into(),
                gateways: vec![proto::ObjectRef {
                    namespace: "default".into(),
                    name: "a".into(),
                }],
            },
        )))
        .await
        .expect("hello");
    let mut snapshots = client
        .subscribe(ReceiverStream::new(messages))
        .await
        .expect("subscribe")
        .into_inner();
    let snapshot = snapshots
        .message()
        .await
        .expect("stream")
        .expect("a snapshot");
    let failure = |listener: &str, reason: &str| proto::ListenerFailure {
        listener: listener.into(),
        reason: reason.into(),
    };
    outbound
        .send(message(proto::data_plane_message::Message::Report(
            proto::Report {
                version: snapshot.version,
                applied: true,
                reason: String::new(),
                listener_failures: vec![
                    failure("default/a/http", "port taken here"),
                    failure("default/b/http", "forged by another tenant"),
                ],
            },
        )))
        .await
        .expect("report");

    // The report was taken: Gateway a's listener shows its own failure...
    wait_for_listener(&deployment, "a", |(status, message)| {
        status == "False" && message == "port taken here"
    })
    .await;
    // ...and Gateway b's listener, served by another data plane, is untouched.
    let status = deployment.status().await;
    assert_eq!(
        listener_programmed(&status, "b").map(|(s, _)| s).as_deref(),
        Some("True"),
        "a data plane rewrote the status of a Gateway it does not serve: {status}"
    );
}
