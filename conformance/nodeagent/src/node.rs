//! The Node this agent is: registered with the API server, its status and Lease kept fresh so
//! the node-lifecycle controller counts it Ready and never evicts its pods.

use std::time::Duration;

use anyhow::Context;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

const FIELD_MANAGER: &str = "portico-nodeagent";
/// Lease renewal period; the Lease lasts four times as long, as the kubelet's.
const RENEW_EVERY: Duration = Duration::from_secs(10);
const STATUS_EVERY: Duration = Duration::from_secs(60);

/// What the Node says about itself.
#[derive(Debug, Clone)]
pub struct NodeIdentity {
    pub name: String,
    /// InternalIP, the Node's only address: where the API server reaches the agent's kubelet
    /// port.
    pub address: String,
    pub pod_cidr: String,
    pub kubelet_port: u16,
    pub kubernetes_version: String,
    /// When the agent started: the Ready condition's transition time.
    pub started: Timestamp,
}

/// Create or update the Node and report it Ready.
pub async fn register(client: &Client, node: &NodeIdentity) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let object = json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node.name,
            "labels": {
                "kubernetes.io/hostname": node.name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/arch": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
            },
        },
        "spec": { "podCIDR": node.pod_cidr, "podCIDRs": [node.pod_cidr] },
    });
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&node.name, &params, &Patch::Apply(&object))
        .await
        .context("registering the Node")?;
    report_status(client, node).await
}

/// Write the Node's status: Ready, addresses, capacity, endpoints, versions.
async fn report_status(client: &Client, node: &NodeIdentity) -> anyhow::Result<()> {
    let api: Api<Node> = Api::all(client.clone());
    let now = Time(Timestamp::now());
    let since = Time(node.started);
    let condition = |type_: &str, status: &str, reason: &str, message: &str| {
        json!({
            "type": type_, "status": status, "reason": reason, "message": message,
            "lastHeartbeatTime": now, "lastTransitionTime": since,
        })
    };
    let capacity =
        json!({ "cpu": "8", "memory": "16Gi", "pods": "250", "ephemeral-storage": "100Gi" });
    let status = json!({
        "status": {
            "conditions": [
                condition("Ready", "True", "KubeletReady", "portico-nodeagent is posting ready status"),
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "no memory pressure"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID", "no PID pressure"),
            ],
            "addresses": [{ "type": "InternalIP", "address": node.address }],
            "capacity": capacity,
            "allocatable": capacity,
            "daemonEndpoints": { "kubeletEndpoint": { "Port": node.kubelet_port } },
            "nodeInfo": {
                "machineID": "", "systemUUID": "", "bootID": "",
                "kernelVersion": "", "osImage": "portico-nodeagent",
                "containerRuntimeVersion": "portico-nodeagent://0.1.0",
                "kubeletVersion": node.kubernetes_version,
                "kubeProxyVersion": node.kubernetes_version,
                "operatingSystem": "linux",
                "architecture": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
            },
        }
    });
    api.patch_status(&node.name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .context("writing the Node's status")?;
    Ok(())
}

/// Renew the node Lease every ten seconds and the status every minute, forever.
pub async fn heartbeat(client: Client, node: NodeIdentity) {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-node-lease");
    let mut last_status = tokio::time::Instant::now();
    loop {
        let lease = json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": { "name": node.name },
            "spec": {
                "holderIdentity": node.name,
                "leaseDurationSeconds": 40,
                "renewTime": MicroTime(Timestamp::now()),
            },
        });
        let params = PatchParams::apply(FIELD_MANAGER).force();
        if let Err(error) = leases
            .patch(&node.name, &params, &Patch::Apply(&lease))
            .await
        {
            tracing::warn!(%error, "cannot renew the node Lease");
        }
        if last_status.elapsed() >= STATUS_EVERY {
            if let Err(error) = report_status(&client, &node).await {
                tracing::warn!(error = %format!("{error:#}"), "cannot report node status");
            }
            last_status = tokio::time::Instant::now();
        }
        tokio::time::sleep(RENEW_EVERY).await;
    }
}
