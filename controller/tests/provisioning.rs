//! The provisioner against a real control plane: each accepted Gateway gets a ServiceAccount,
//! Deployment and Service shaped by its PorticoProxy parameters; routes never touch them; a
//! Gateway that stops being accepted loses them, also when that happened while no controller
//! ran; deleting the Gateway garbage-collects them.

mod support;

use std::path::Path;
use std::time::Duration;

use gateway_api::gateways::Gateway;
use kube::Api;
use kube::api::PostParams;
use portico_translate::route_kinds::httproutes::HttpRoute;
use support::cluster::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_gateways_are_provisioned_and_collected_with_them() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Service, ServiceAccount};

    let cluster = Cluster::start();
    let client = cluster.client().await;
    install_crds(&client, &["gatewayclasses", "gateways", "httproutes"]).await;
    let ours = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crds/gateway.portico.dev_porticoproxies.yaml");
    install_crd_files(&client, &[ours]).await;

    let proxies: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &kube::api::ApiResource::from_gvk_with_plural(
            &kube::api::GroupVersionKind::gvk("gateway.portico.dev", "v1alpha1", "PorticoProxy"),
            "porticoproxies",
        ),
    );
    let parameters: kube::api::DynamicObject = yaml_serde::from_str(
        "apiVersion: gateway.portico.dev/v1alpha1\nkind: PorticoProxy\nmetadata: {name: small}\n\
         spec: {replicas: 2, service: {type: ClusterIP}}\n",
    )
    .expect("parameters YAML");
    proxies
        .create(&PostParams::default(), &parameters)
        .await
        .expect("create parameters");
    create(
        &Api::<gateway_api::gatewayclasses::GatewayClass>::all(client.clone()),
        "metadata: {name: portico}\nspec:\n  controllerName: portico.dev/gateway-controller\n  \
         parametersRef: {group: gateway.portico.dev, kind: PorticoProxy, name: small, namespace: default}\n",
    )
    .await;
    let gateways: Api<Gateway> = Api::namespaced(client.clone(), "default");
    create(
        &gateways,
        "metadata: {name: gw}\nspec:\n  gatewayClassName: portico\n  listeners:\n  \
         - {name: http, protocol: HTTP, port: 80}\n  - {name: alt, protocol: HTTP, port: 8080}\n",
    )
    .await;

    // A second class and Gateway, to see a Gateway lose its data plane when it is no longer ours.
    create(
        &Api::<gateway_api::gatewayclasses::GatewayClass>::all(client.clone()),
        "metadata: {name: portico-b}\nspec: {controllerName: portico.dev/gateway-controller}\n",
    )
    .await;
    create(
        &gateways,
        "metadata: {name: gw2}\nspec:\n  gatewayClassName: portico-b\n  listeners: [{name: http, protocol: HTTP, port: 80}]\n",
    )
    .await;
    // A third, to see a Gateway that stops being ours while no controller runs lose its data plane.
    create(
        &Api::<gateway_api::gatewayclasses::GatewayClass>::all(client.clone()),
        "metadata: {name: portico-c}\nspec: {controllerName: portico.dev/gateway-controller}\n",
    )
    .await;
    create(
        &gateways,
        "metadata: {name: gw3}\nspec:\n  gatewayClassName: portico-c\n  listeners: [{name: http, protocol: HTTP, port: 80}]\n",
    )
    .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut controller = start_controller_with(
        &cluster,
        dir.path(),
        free_port(),
        free_port(),
        "controller.log",
        &["--provision"],
    );
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let deployment = eventually(Duration::from_secs(30), || async {
        deployments.get("portico-gw").await.ok()
    })
    .await;
    let spec = deployment.spec.clone().unwrap_or_default();
    assert_eq!(
        spec.replicas,
        Some(2),
        "replicas come from the class's PorticoProxy"
    );
    let args = spec.template.spec.clone().unwrap_or_default().containers[0]
        .args
        .clone()
        .unwrap_or_default();
    assert!(
        args.windows(2)
            .any(|w| w[0] == "--gateway" && w[1] == "default/gw"),
        "{args:?}"
    );
    let owner = deployment
        .metadata
        .owner_references
        .clone()
        .unwrap_or_default();
    assert_eq!(
        owner
            .first()
            .map(|o| (o.kind.as_str(), o.name.as_str(), o.controller)),
        Some(("Gateway", "gw", Some(true)))
    );

    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let service = eventually(Duration::from_secs(30), || async {
        services.get("portico-gw").await.ok()
    })
    .await;
    let service_spec = service.spec.clone().unwrap_or_default();
    assert_eq!(service_spec.type_.as_deref(), Some("ClusterIP"));
    let ports: Vec<i32> = service_spec
        .ports
        .iter()
        .flatten()
        .map(|p| p.port)
        .collect();
    assert_eq!(ports, [80, 8080]);
    Api::<ServiceAccount>::namespaced(client.clone(), "default")
        .get("portico-gw")
        .await
        .expect("service account");

    // Without a load balancer, the Gateway reports its Service's cluster IP.
    let cluster_ip = service_spec.cluster_ip.clone().unwrap_or_default();
    eventually(Duration::from_secs(30), || async {
        let addresses = gateways.get("gw").await.ok()?.status?.addresses?;
        (addresses.first()?.value == cluster_ip).then_some(())
    })
    .await;

    // Routes never touch the Deployment.
    let routes: Api<HttpRoute> = Api::namespaced(client.clone(), "default");
    create(
        &routes,
        "metadata: {name: r}\nspec:\n  parentRefs: [{name: gw}]\n",
    )
    .await;
    route_status_written(&routes, "r", Duration::from_secs(30)).await;
    let after = deployments.get("portico-gw").await.expect("deployment");
    assert_eq!(after.metadata.generation, deployment.metadata.generation);

    // A Gateway that is no longer accepted (its class is gone) loses its data plane.
    eventually(Duration::from_secs(30), || async {
        deployments.get("portico-gw2").await.ok()
    })
    .await;
    Api::<gateway_api::gatewayclasses::GatewayClass>::all(client.clone())
        .delete("portico-b", &Default::default())
        .await
        .expect("delete class");
    eventually(Duration::from_secs(30), || async {
        matches!(deployments.get_opt("portico-gw2").await, Ok(None)).then_some(())
    })
    .await;
    assert!(
        gateways.get("gw2").await.is_ok(),
        "the Gateway itself stays"
    );

    // Its class goes while the controller is down: the restarted controller finds the objects
    // by label and removes them, and leaves the accepted Gateway's alone.
    eventually(Duration::from_secs(30), || async {
        deployments.get("portico-gw3").await.ok()
    })
    .await;
    controller.kill();
    Api::<gateway_api::gatewayclasses::GatewayClass>::all(client.clone())
        .delete("portico-c", &Default::default())
        .await
        .expect("delete class");
    let _restarted = start_controller_with(
        &cluster,
        dir.path(),
        free_port(),
        free_port(),
        "restarted.log",
        &["--provision"],
    );
    eventually(Duration::from_secs(30), || async {
        let deployment = deployments.get_opt("portico-gw3").await.ok()?;
        let service = services.get_opt("portico-gw3").await.ok()?;
        (deployment.is_none() && service.is_none()).then_some(())
    })
    .await;
    let kept = deployments.get("portico-gw").await.expect("deployment");
    assert_eq!(kept.metadata.uid, deployment.metadata.uid);

    // Deleting the Gateway garbage-collects what was provisioned for it.
    gateways
        .delete("gw", &Default::default())
        .await
        .expect("delete gateway");
    eventually(Duration::from_secs(60), || async {
        matches!(deployments.get_opt("portico-gw").await, Ok(None)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_portico_did_not_create_are_never_taken_over_or_deleted() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::Service;

    let cluster = Cluster::start();
    let client = cluster.client().await;
    install_crds(&client, &["gatewayclasses", "gateways", "httproutes"]).await;
    // Someone's own Service already has the name Portico would give the Gateway's.
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    create(
        &services,
        "metadata: {name: portico-gw, labels: {team: payments}}\n\
         spec: {ports: [{port: 1234}], selector: {app: payments}}\n",
    )
    .await;
    let theirs = services.get("portico-gw").await.expect("their Service");
    let classes = Api::<gateway_api::gatewayclasses::GatewayClass>::all(client.clone());
    let class =
        "metadata: {name: portico}\nspec: {controllerName: portico.dev/gateway-controller}\n";
    create(&classes, class).await;
    let gateways: Api<Gateway> = Api::namespaced(client.clone(), "default");
    create(
        &gateways,
        "metadata: {name: gw}\nspec:\n  gatewayClassName: portico\n  listeners:\n  \
         - {name: http, protocol: HTTP, port: 80}\n",
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

    // The Gateway says why it has no data plane, naming the object in the way.
    let programmed = eventually(Duration::from_secs(30), || async {
        let conditions = gateways.get("gw").await.ok()?.status?.conditions?;
        let programmed = condition(&conditions, "Programmed")?.clone();
        (programmed.reason == "NoResources").then_some(programmed)
    })
    .await;
    assert_eq!(programmed.status, "False");
    assert!(
        programmed.message.contains("Service/default/portico-gw"),
        "{}",
        programmed.message
    );
    // What is not in the way is provisioned; their Service is untouched.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    eventually(Duration::from_secs(30), || async {
        deployments.get("portico-gw").await.ok()
    })
    .await;
    let after = services.get("portico-gw").await.expect("their Service");
    assert_eq!(
        after.metadata.resource_version,
        theirs.metadata.resource_version
    );
    assert_eq!(after.metadata.owner_references, None);

    // The Gateway stops being Portico's: what Portico made goes, their Service stays.
    classes
        .delete("portico", &Default::default())
        .await
        .expect("delete class");
    eventually(Duration::from_secs(30), || async {
        matches!(deployments.get_opt("portico-gw").await, Ok(None)).then_some(())
    })
    .await;
    let kept = services
        .get("portico-gw")
        .await
        .expect("their Service stays");
    assert_eq!(kept.metadata.uid, theirs.metadata.uid);

    // Once the name is free, the Gateway gets its Service and the condition clears.
    services
        .delete("portico-gw", &Default::default())
        .await
        .expect("delete their Service");
    create(&classes, class).await;
    let ours = eventually(Duration::from_secs(90), || async {
        services.get_opt("portico-gw").await.ok()?
    })
    .await;
    assert_eq!(
        ours.metadata
            .owner_references
            .unwrap_or_default()
            .first()
            .map(|o| o.name.as_str()),
        Some("gw")
    );
    eventually(Duration::from_secs(30), || async {
        let conditions = gateways.get("gw").await.ok()?.status?.conditions?;
        (condition(&conditions, "Programmed")?.reason != "NoResources").then_some(())
    })
    .await;
}
