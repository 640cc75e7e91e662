//! Services of type LoadBalancer get an address from a local pool (`--lb-pool`), written to
//! `status.loadBalancer.ingress` as a cloud provider would. kube-proxy then sends traffic for
//! that address to the Service's endpoints; the host routes the pool to the pod bridge.
//!
//! A Service asking for an address (`spec.loadBalancerIP`) gets it when it is a free address of
//! the pool, and no address otherwise; after a restart, addresses already in statuses are
//! kept. Part of the pool (`--lb-static`) is only ever given to Services asking for it. Services of another
//! `loadBalancerClass` are left to their own controller.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Patch, PatchParams};
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use crate::ipam::Pool;

/// Assign and release addresses as Services come and go, until the watch ends.
pub async fn run(client: Client, mut pool: Pool) {
    let api: Api<Service> = Api::all(client.clone());
    let mut assigned: HashMap<String, Ipv4Addr> = HashMap::new();
    let mut events = std::pin::pin!(watcher(api, watcher::Config::default()));
    while let Some(event) = events.next().await {
        match event {
            Ok(watcher::Event::Apply(service) | watcher::Event::InitApply(service)) => {
                let Some(uid) = service.uid() else { continue };
                if !wants_address(&service) {
                    if let Some(address) = assigned.remove(&uid) {
                        pool.release(address);
                        write(&client, &service, None).await;
                    }
                    continue;
                }
                let current = ingress_ip(&service);
                let requested = service
                    .spec
                    .as_ref()
                    .and_then(|s| s.load_balancer_ip.as_deref())
                    .and_then(|ip| ip.parse().ok());
                // A Service keeps its address unless it asks for another one.
                if let Some(held) = assigned.get(&uid).copied() {
                    if requested.is_none_or(|r| r == held) {
                        if current != Some(held) {
                            write(&client, &service, Some(held)).await;
                        }
                        continue;
                    }
                    pool.release(held);
                    assigned.remove(&uid);
                }
                // A requested address is given or none is, as a cloud's load balancer does;
                // otherwise the address from before a restart is kept, or a free one given.
                let address = match requested {
                    Some(requested) => pool.claim(requested).then_some(requested),
                    None => current
                        .filter(|c| pool.claim(*c))
                        .or_else(|| pool.allocate()),
                };
                match address {
                    Some(address) => {
                        assigned.insert(uid, address);
                        if current != Some(address) {
                            write(&client, &service, Some(address)).await;
                        }
                    }
                    None => {
                        if current.is_some() {
                            write(&client, &service, None).await;
                        }
                        tracing::warn!(
                            service = %service.name_any(),
                            pool = %pool.cidr(),
                            ?requested,
                            "no load-balancer address: the one asked for is outside the pool or \
                             taken, or the pool is exhausted"
                        );
                    }
                }
            }
            Ok(watcher::Event::Delete(service)) => {
                if let Some(address) = service.uid().and_then(|uid| assigned.remove(&uid)) {
                    pool.release(address);
                }
            }
            Ok(watcher::Event::Init | watcher::Event::InitDone) => {}
            Err(error) => tracing::warn!(%error, "service watch error; retrying"),
        }
    }
}

fn wants_address(service: &Service) -> bool {
    let spec = service.spec.as_ref();
    spec.and_then(|s| s.type_.as_deref()) == Some("LoadBalancer")
        && spec.and_then(|s| s.load_balancer_class.as_ref()).is_none()
}

fn ingress_ip(service: &Service) -> Option<Ipv4Addr> {
    service
        .status
        .as_ref()?
        .load_balancer
        .as_ref()?
        .ingress
        .as_ref()?
        .first()?
        .ip
        .as_deref()?
        .parse()
        .ok()
}

async fn write(client: &Client, service: &Service, address: Option<Ipv4Addr>) {
    let api: Api<Service> =
        Api::namespaced(client.clone(), &service.namespace().unwrap_or_default());
    let ingress = address
        .map(|a| json!([{ "ip": a.to_string(), "ipMode": "VIP" }]))
        .unwrap_or_else(|| json!([]));
    let patch = json!({ "status": { "loadBalancer": { "ingress": ingress } } });
    match api
        .patch_status(
            &service.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => tracing::info!(service = %service.name_any(), ?address, "load-balancer address"),
        Err(error) => {
            tracing::warn!(service = %service.name_any(), %error, "cannot write the load-balancer address")
        }
    }
}
