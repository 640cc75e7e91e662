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
    /// Create the bridge (or keep the existing one) and give it the gateway address. Pods
    /// reach Services through the host (kube-proxy rewrites the address, the host forwards to
    /// the pod), so forwarding is switched on, and a table of ours drops anything forwarded
    /// between the bridge and any other interface: only pod-to-pod traffic is forwarded.
    ///
    /// The same table refuses at once what is sent to a Service or load-balancer address that
    /// kube-proxy has not rewritten (one it does not know yet, such as a load-balancer address
    /// just handed out). Let through, such a packet would go nowhere and, worse, leave a
    /// connection-tracking entry without address translation behind for two minutes: a later
    /// connection from the same source port matches it and is lost too, long after kube-proxy
    /// caught up. Refused, the packet's entry is never confirmed.
    pub async fn up(&self) -> anyhow::Result<()> {
        if !link_exists(&self.name).await {
            ip(&["link", "add", &self.name, "type", "bridge"]).await?;
        }
        let address = format!("{}/{}", self.gateway, self.prefix);
        ip(&["addr", "replace", &address, "dev", &self.name]).await?;
        ip(&["link", "set", &self.name, "up"]).await?;
        let table = self.firewall_table();
        let unrewritten = match self.routed.is_empty() {
            true => String::new(),
            false => format!(
                "ip daddr {{ {} }} ct status & dnat != dnat reject",
                self.routed.join(", ")
            ),
        };
        let rules = format!(
            "table inet {table} {{\n\
             \x20 chain forward {{\n\
             \x20   type filter hook forward priority 0; policy accept;\n\
             \x20   {unrewritten}\n\
             \x20   iifname \"{bridge}\" oifname != \"{bridge}\" drop\n\
             \x20   oifname \"{bridge}\" iifname != \"{bridge}\" drop\n\
             \x20 }}\n\
             \x20 chain output {{\n\
             \x20   type filter hook output priority 0; policy accept;\n\
             \x20   {unrewritten}\n\
             \x20 }}\n\
             }}\n",
            bridge = self.name
        );
        let _ = nft(&["delete", "table", "inet", &table], None).await;
        nft(&["-f", "-"], Some(&rules))
            .await
            .context("installing the forwarding guard")?;
        tokio::fs::write("/proc/sys/net/ipv4/ip_forward", "1")
            .await
            .context("enabling IPv4 forwarding")
    }

    /// Route `cidr` from the host to the bridge.
    pub async fn route(&self, cidr: &str) -> anyhow::Result<()> {
        ip(&["route", "replace", cidr, "dev", &self.name]).await
    }

    /// Remove the bridge and its forwarding guard. (Forwarding stays on: another bridge may
    /// need it, and with no bridge nothing is forwarded through ours.)
    pub async fn down(&self) -> anyhow::Result<()> {
        if link_exists(&self.name).await {
            ip(&["link", "del", &self.name]).await?;
        }
        let _ = nft(&["delete", "table", "inet", &self.firewall_table()], None).await;
        Ok(())
    }

    fn firewall_table(&self) -> String {
        format!("portico_{}", self.name.replace('-', "_"))
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
        // A pod that had this address before left its MAC in the host's neighbour table;
        // until that entry expires, traffic for the new pod would go to the old MAC and be
        // lost. Forget it, so the host asks again.
        let plain = self.address.to_string();
        if let Err(error) = ip(&["neigh", "flush", "to", &plain, "dev", &bridge.name]).await {
            tracing::warn!(address = %plain, %error, "cannot flush the address's neighbour entry");
        }
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

/// Run `nft ARGS` with `input` on stdin, failing with its stderr.
async fn nft(args: &[&str], input: Option<&str>) -> anyhow::Result<()> {
    run("nft", args, input.unwrap_or_default()).await
}

/// Run `ip ARGS`, failing with its stderr.
pub async fn ip(args: &[&str]) -> anyhow::Result<()> {
    run("ip", args, "").await
}

async fn run(program: &str, args: &[&str], input: &str) -> anyhow::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut child = Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running {program}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).await?;
    }
    let output = child.wait_with_output().await?;
    if !output.status.success() {
        bail!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}
