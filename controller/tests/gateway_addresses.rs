//! A provisioned Gateway's addresses against a real control plane, the test playing the load
//! balancer: a static address is asked of the Gateway's Service, reported only once assigned,
//! and `AddressNotUsable` otherwise; an address type Portico does not support is refused; the
//! ports a ListenerSet adds reach the Service, and the ListenerSet's status is written.

mod support;

use std::time::Duration;

use gateway_api::gateways::Gateway;
use gateway_api::listenersets::ListenerSet;
use k8s_openapi::api::core::v1::Service;
use kube::Api;
use kube::api::{Patch, PatchParams};
use support::cluster::*;
use support::*;

/// Play the load balancer: give `address` to the Service (or take its address away).
async fn assign(services: &Api<Service>, name: &str, address: Option<&str>) {
    let ingress = address.map_or_else(
        || serde_json::json!([]),
        |ip| serde_json::json!([{ "ip": ip }]),
    );
    let patch = serde_json::json!({ "status": { "loadBalancer": { "ingress": ingress } } });
    services
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("write the load balancer's address");
}

/// The Gateway's `Programmed` condition once `done` holds for it, with its addresses.
async fn programmed_when(
    gateways: &Api<Gateway>,
    name: &str,
    done: impl Fn(&str, &[String]) -> bool,
) -> (String, Vec<String>) {
    eventually(Duration::from_secs(30), || async {
        let status = gateways.get(name).await.ok()?.status?;
        let programmed = condition(status.conditions.as_deref()?, "Programmed")?.clone();
        let addresses: Vec<String> = status
            .addresses
            .unwrap_or_default()
            .into_iter()
            .map(|a| a.value)
            .collect();
        done(&programmed.reason, &addresses).then_some((programmed.message, addresses))
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_addresses_are_asked_of_the_load_balancer_and_checked() {
    let cluster = Cluster::start();
    let client = cluster.client().await;
    install_crds(
        &client,
        &["gatewayclasses", "gateways", "httproutes", "listenersets"],
    )
    .await;
    gateway_class(&client).await;
    let gateways: Api<Gateway> = Api::namespaced(client.clone(), "default");
    create(
        &gateways,
        "metadata: {name: gw}\nspec:\n  gatewayClassName: portico\n  \
         addresses: [{type: IPAddress, value: 10.250.0.250}]\n  \
         allowedListeners: {namespaces: {from: Same}}\n  \
         listeners: [{name: http, protocol: HTTP, port: 80}]\n",
    )
    .await;
    create(
        &gateways,
        "metadata: {name: named}\nspec:\n  gatewayClassName: portico\n  \
         addresses: [{type: example.com/pool, value: blue}]\n  \
         listeners: [{name: http, protocol: HTTP, port: 80}]\n",
    )
    .await;
    create(
        &Api::<ListenerSet>::namespaced(client.clone(), "default"),
        "metadata: {name: team}\nspec:\n  parentRef: {name: gw}\n  \
         listeners: [{name: admin, protocol: HTTP, port: 9443, hostname: admin.example.com}]\n",
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let _controller = start_controller_with(
        &cluster,
        dir.path(),
        free_port(),
        free_port(),
        "controller.log",
        &["--provision"],
    );

    // The Service asks its load balancer for the address and exposes the ListenerSet's port.
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service = eventually(Duration::from_secs(30), || async {
        services.get("portico-gw").await.ok()
    })
    .await;
    let spec = service.spec.unwrap_or_default();
    assert_eq!(spec.load_balancer_ip.as_deref(), Some("10.250.0.250"));
    let ports: Vec<i32> = spec.ports.iter().flatten().map(|p| p.port).collect();
    assert_eq!(ports, [80, 9443]);

    // Until the load balancer assigns it, the address is not usable, and none is reported.
    let (message, addresses) =
        programmed_when(&gateways, "gw", |reason, _| reason == "AddressNotUsable").await;
    assert!(message.contains("10.250.0.250"), "{message}");
    assert!(addresses.is_empty(), "{addresses:?}");

    // Assigned: the address is reported, exactly.
    assign(&services, "portico-gw", Some("10.250.0.250")).await;
    programmed_when(&gateways, "gw", |reason, addresses| {
        reason != "AddressNotUsable" && addresses == ["10.250.0.250"]
    })
    .await;

    // Another address assigned instead is never reported as the Gateway's.
    assign(&services, "portico-gw", Some("10.250.0.7")).await;
    let (message, addresses) =
        programmed_when(&gateways, "gw", |reason, _| reason == "AddressNotUsable").await;
    assert!(message.contains("10.250.0.7"), "{message}");
    assert!(addresses.is_empty(), "{addresses:?}");

    // An address type Portico does not know refuses the Gateway, which gets no data plane.
    let accepted = eventually(Duration::from_secs(30), || async {
        let conditions = gateways.get("named").await.ok()?.status?.conditions?;
        condition(&conditions, "Accepted").cloned()
    })
    .await;
    assert_eq!(
        (accepted.status.as_str(), accepted.reason.as_str()),
        ("False", "UnsupportedAddress")
    );
    assert!(
        services
            .get_opt("portico-named")
            .await
            .ok()
            .flatten()
            .is_none()
    );

    // The ListenerSet's status is written: accepted, its listener listed.
    let sets: Api<ListenerSet> = Api::namespaced(client.clone(), "default");
    eventually(Duration::from_secs(30), || async {
        let status = sets.get("team").await.ok()?.status?;
        let accepted = condition(status.conditions.as_deref()?, "Accepted")?;
        let listeners = status.listeners?;
        (accepted.status == "True" && listeners.len() == 1 && listeners[0].name == "admin")
            .then_some(())
    })
    .await;
}
