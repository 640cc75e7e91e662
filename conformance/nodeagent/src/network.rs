//! Pod networking with iproute2: one bridge per node holding the pods' gateway address, and
//! per pod a network namespace joined to the bridge by a veth pair. Names of namespaces,
//! interfaces and `/etc/netns` files derive from the bridge and the pod's uid, so a restarted
//! agent finds and removes what an earlier run left behind, and agents on different bridges
//! never touch each other's.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use tokio::process::Command;

/// The node's bridge.
#[derive(Debug, Clone)]
pub struct Bridge {
    /// Interface name, at most 15 characters.
    pub name: String,
    /// The pods' gateway, on the bridge.
    pub gateway: Ipv4Addr,
    /// Prefix length of the pod network.
    pub prefix: u8,
    /// Networks pods reach through the bridge besides their own (Service and load-balancer
    /// addresses). Pods get no default route: nothing they send can leave the machine.
    pub routed: Vec<String>,
}

impl Bridge {
    /// Create the bridge (or keep the existing one) and give it the gateway address.
    pub async fn up(&self) -> anyhow::Result<()> {
        if !link_exists(&self.name).await {
            ip(&["link", "add", &self.name, "type", "bridge"]).await?;
        }
        let address = format!("{}/{}", self.gateway, self.prefix);
        ip(&["addr", "replace", &address, "dev", &self.name]).await?;
        ip(&["link", "set", &self.name, "up"]).await
    }

    /// Route `cidr` from the host to the bridge (load-balancer addresses live there).
    pub async fn route(&self, cidr: &str) -> anyhow::Result<()> {
        ip(&["route", "replace", cidr, "dev", &self.name]).await
    }

    /// Remove the bridge.
    pub async fn down(&self) -> anyhow::Result<()> {
        if link_exists(&self.name).await {
            ip(&["link", "del", &self.name]).await?;
        }
        Ok(())
    }
}

/// A pod's network namespace and addresses.
#[derive(Debug, Clone)]
pub struct PodNetwork {
    /// Namespace name, for `ip netns exec`.
    pub namespace: String,
    host_side: String,
    /// The pod's address.
    pub address: Ipv4Addr,
}

impl PodNetwork {
    /// Names for the pod with `uid` on `bridge`: the namespace is `<bridge>-<uid prefix>`.
    pub fn for_pod(bridge: &Bridge, uid: &str, address: Ipv4Addr) -> Self {
        let short: String = uid
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(13)
            .collect();
        Self {
            namespace: format!("{}-{short}", bridge.name),
            host_side: format!("v{short}"),
            address,
        }
    }

    /// Create the namespace, plug it into `bridge`, and write the name-resolution files
    /// `ip netns exec` shows the pod as `/etc/hosts` and `/etc/resolv.conf`.
    pub async fn create(&self, bridge: &Bridge, hosts: &str, resolv: &str) -> anyhow::Result<()> {
        self.delete().await;
        let ns = self.namespace.as_str();
        ip(&["netns", "add", ns]).await?;
        ip(&[
            "link",
            "add",
            &self.host_side,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            ns,
        ])
        .await?;
        ip(&["link", "set", &self.host_side, "master", &bridge.name, "up"]).await?;
        let address = format!("{}/{}", self.address, bridge.prefix);
        ip(&["-n", ns, "addr", "add", &address, "dev", "eth0"]).await?;
        ip(&["-n", ns, "link", "set", "eth0", "up"]).await?;
        ip(&["-n", ns, "link", "set", "lo", "up"]).await?;
        let gateway = bridge.gateway.to_string();
        for network in &bridge.routed {
            ip(&["-n", ns, "route", "add", network, "via", &gateway]).await?;
        }
        let etc = self.etc();
        tokio::fs::create_dir_all(&etc).await?;
        tokio::fs::write(etc.join("hosts"), hosts).await?;
        tokio::fs::write(etc.join("resolv.conf"), resolv).await?;
        Ok(())
    }

    /// Remove the namespace (its veth pair goes with it) and its files; missing parts are fine.
    pub async fn delete(&self) {
        if ip(&["netns", "del", &self.namespace]).await.is_ok() {
            tracing::debug!(namespace = %self.namespace, "network namespace removed");
        }
        let _ = tokio::fs::remove_dir_all(self.etc()).await;
    }

    fn etc(&self) -> PathBuf {
        PathBuf::from("/etc/netns").join(&self.namespace)
    }
}

/// Kill the processes of, and remove, the network namespaces an earlier run of the agent on
/// `bridge` left behind.
pub async fn remove_stale_namespaces(bridge: &Bridge) {
    let prefix = format!("{}-", bridge.name);
    let Ok(output) = Command::new("ip").args(["netns", "list"]).output().await else {
        return;
    };
    let listed = String::from_utf8_lossy(&output.stdout).into_owned();
    for namespace in listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
    {
        if let Ok(pids) = Command::new("ip")
            .args(["netns", "pids", namespace])
            .output()
            .await
        {
            for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status().await;
            }
        }
        tracing::info!(%namespace, "removing a network namespace left by an earlier run");
        let _ = ip(&["netns", "del", namespace]).await;
        let _ = tokio::fs::remove_dir_all(PathBuf::from("/etc/netns").join(namespace)).await;
    }
}

async fn link_exists(name: &str) -> bool {
    ip(&["link", "show", name]).await.is_ok()
}

/// Run `ip ARGS`, failing with its stderr.
pub async fn ip(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .await
        .context("running ip (iproute2)")?;
    if !output.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
