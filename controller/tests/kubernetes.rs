//! End-to-end tests of `portico controller` against a real control plane (etcd,
//! kube-apiserver, kube-controller-manager from conformance/localcluster) with the pinned
//! upstream Gateway API CRDs: status written back, Programmed after a data-plane ACK, no
//! needless writes, transition times kept across a controller restart.

mod support;

use std::time::{Duration, Instant};

use gateway_api::gateways::Gateway;
use kube::Api;
use kube::api::{Patch, PatchParams};
use portico_translate::route_kinds::httproutes::HttpRoute;
use support::cluster::*;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_when_the_leader_dies() {
    let cluster = Cluster::start();
    let client = cluster.client().await;
    install_crds(&client, &["gatewayclasses", "gateways", "httproutes"]).await;
    gateway_class(&client).await;
    let gateways: Api<Gateway> = Api::namespaced(client.clone(), "default");
    let routes: Api<HttpRoute> = Api::namespaced(client.clone(), "default");
    create(
        &gateways,
        "metadata: {name: gw}\nspec:\n  gatewayClassName: portico\n  listeners: [{name: http, protocol: HTTP, port: 80}]\n",
    )
    .await;
    let route =
        |name: &str| format!("metadata: {{name: {name}}}\nspec:\n  parentRefs: [{{name: gw}}]\n");
    create(&routes, &route("early")).await;

    let dir = tempfile::tempdir().expect("temp dir");
    let election = ["--leader-elect", "--lease-duration-seconds", "6"];
    let (leader_grpc, standby_grpc) = (free_port(), free_port());
    let mut leader = start_controller_with(
        &cluster,
        dir.path(),
        leader_grpc,
        free_port(),
        "leader.log",
        &[&election[..], &["--identity", "first"]].concat(),
    );
    route_status_written(&routes, "early", Duration::from_secs(30)).await;
    let standby = start_controller_with(
        &cluster,
        dir.path(),
        standby_grpc,
        free_port(),
        "standby.log",
        &[&election[..], &["--identity", "second"]].concat(),
    );
    // Once the standby found the Lease taken, it must not serve snapshots.
    wait_until(Duration::from_secs(30), || {
        standby.log().contains("waiting for leadership")
    });
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", standby_grpc)).is_err(),
        "a standby must not serve snapshots"
    );

    leader.kill();
    let killed = Instant::now();
    create(&routes, &route("late")).await;
    route_status_written(&routes, "late", Duration::from_secs(30)).await;
    let failover = killed.elapsed();
    assert!(
        failover < Duration::from_secs(15),
        "failover took {failover:?}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", standby_grpc)).is_ok(),
        "the new leader serves snapshots"
    );
    let lease =
        Api::<k8s_openapi::api::coordination::v1::Lease>::namespaced(client.clone(), "default")
            .get("portico-controller")
            .await
            .expect("lease");
    assert_eq!(
        lease.spec.and_then(|s| s.holder_identity).as_deref(),
        Some("second")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_programs_gateways_and_writes_status_back() {
    let cluster = Cluster::start();
    let client = cluster.client().await;
    // ReferenceGrant's CRD is left out on purpose: a missing kind is skipped, not fatal.
    install_crds(&client, &["gatewayclasses", "gateways", "httproutes"]).await;

    let proxy = free_port();
    let gateways: Api<Gateway> = Api::namespaced(client.clone(), "default");
    let routes: Api<HttpRoute> = Api::namespaced(client.clone(), "default");
    gateway_class(&client).await;
    create(
        &gateways,
        &format!("metadata: {{name: gw}}\nspec:\n  gatewayClassName: portico\n  listeners: [{{name: http, protocol: HTTP, port: {proxy}}}]\n"),
    )
    .await;
    create(
        &routes,
        "metadata: {name: redirect}\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: [old.example.com]\n  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect: {hostname: new.example.com, statusCode: 301}\n",
    )
    .await;
    create(
        &routes,
        "metadata: {name: broken}\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: [broken.example.com]\n  rules:\n  - backendRefs: [{name: missing, port: 80}]\n",
    )
    .await;

    let dir = tempfile::tempdir().expect("temp dir");
    let (grpc, admin, dataplane_admin) = (free_port(), free_port(), free_port());
    let mut controller = start_controller(&cluster, dir.path(), grpc, admin, "controller.log");

    // Accepted from translation alone; Programmed waits for a data plane.
    let accepted = eventually(Duration::from_secs(30), || async {
        let status = gateways.get("gw").await.ok()?.status?;
        let conditions = status.conditions?;
        let accepted = condition(&conditions, "Accepted")?.clone();
        (accepted.status == "True").then_some(accepted)
    })
    .await;
    let programmed = gateways
        .get("gw")
        .await
        .expect("gateway")
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default();
    assert_eq!(
        condition(&programmed, "Programmed").map(|c| c.reason.as_str()),
        Some("Pending")
    );

    let mut dataplane = portico();
    dataplane.args([
        "dataplane",
        "--instance",
        "kube-e2e",
        "--controller",
        &format!("http://127.0.0.1:{grpc}"),
        "--admin-address",
        &format!("127.0.0.1:{dataplane_admin}"),
    ]);
    let mut dataplane_process = Process::start(dataplane, dir.path().join("dataplane.log"));
    let gateway = eventually(Duration::from_secs(30), || async {
        let gateway = gateways.get("gw").await.ok()?;
        let conditions = gateway.status.clone()?.conditions?;
        (condition(&conditions, "Programmed")?.status == "True").then_some(gateway)
    })
    .await;
    let status = gateway.status.clone().unwrap_or_default();
    let listeners = status.listeners.unwrap_or_default();
    assert_eq!(listeners.first().map(|l| l.attached_routes), Some(2));
    assert_eq!(
        status
            .addresses
            .unwrap_or_default()
            .first()
            .map(|a| a.value.as_str()),
        Some("127.0.0.1")
    );
    let managers: Vec<_> = gateway
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| m.subresource.as_deref() == Some("status"))
        .filter_map(|m| m.manager.clone())
        .collect();
    assert_eq!(
        managers,
        ["portico-controller"],
        "status is applied under Portico's field manager"
    );

    let broken = eventually(Duration::from_secs(30), || async {
        let parents = routes.get("broken").await.ok()?.status?.parents;
        let resolved = condition(&parents.first()?.conditions, "ResolvedRefs")?.clone();
        (resolved.status == "False").then_some(resolved)
    })
    .await;
    assert_eq!(broken.reason, "BackendNotFound");
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(client.clone(), "default");
    let event = eventually(Duration::from_secs(30), || async {
        let list = events.list(&Default::default()).await.ok()?;
        list.items.into_iter().find(|e| {
            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("broken")
                && e.reason.as_deref() == Some("BackendNotFound")
        })
    })
    .await;
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert_eq!(
        event.reporting_controller.as_deref(),
        Some("portico-controller")
    );

    let redirect = get(&support::client(), proxy, "old.example.com", "/x", &[])
        .await
        .expect("request");
    assert_eq!(redirect.status, 301);
    assert_eq!(
        redirect.location.as_deref(),
        Some(format!("http://new.example.com:{proxy}/x").as_str())
    );

    let metrics = reqwest::get(format!("http://127.0.0.1:{admin}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    let value = |series: &str| {
        metrics
            .lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    assert!(
        value(r#"portico_controller_gateway_snapshots_total{gateway="default/gw",result="acked"}"#)
            >= 1.0,
        "{metrics}"
    );
    assert!(
        value(r#"portico_controller_status_writes_total{kind="Gateway",result="ok"}"#) >= 1.0,
        "{metrics}"
    );
    assert!(
        value("portico_controller_translation_seconds_count") >= 1.0,
        "{metrics}"
    );

    // Nothing changed, so nothing is written: after a pass that compared statuses with the
    // API server (woken by a label on a route), the Gateway is untouched.
    let counter = |series: &'static str| async move {
        let metrics = reqwest::get(format!("http://127.0.0.1:{admin}/metrics"))
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        metrics
            .lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let version = gateways
        .get("gw")
        .await
        .expect("gateway")
        .metadata
        .resource_version;
    let syncs = counter("portico_controller_status_syncs_total ")
        .await
        .unwrap_or(0);
    let label = serde_json::json!({"metadata": {"labels": {"touched": "yes"}}});
    routes
        .patch("broken", &PatchParams::default(), &Patch::Merge(&label))
        .await
        .expect("label the route");
    eventually(Duration::from_secs(30), || async {
        (counter("portico_controller_status_syncs_total ").await? > syncs).then_some(())
    })
    .await;
    assert_eq!(
        gateways
            .get("gw")
            .await
            .expect("gateway")
            .metadata
            .resource_version,
        version
    );

    // Objects nothing refers to do not cost a translation (once the controller has seen them
    // all); the one a route names does.
    let translations = || counter("portico_controller_translations_total ");
    let ignored_services =
        || counter(r#"portico_controller_watch_events_total{effect="ignored",kind="Service"} "#);
    let services: Api<k8s_openapi::api::core::v1::Service> =
        Api::namespaced(client.clone(), "default");
    let before = translations().await.expect("translation count");
    let ignored = ignored_services().await.unwrap_or(0);
    for i in 0..10 {
        create(
            &services,
            &format!("metadata: {{name: unrelated-{i}}}\nspec: {{ports: [{{port: 80}}]}}\n"),
        )
        .await;
    }
    eventually(Duration::from_secs(30), || async {
        (ignored_services().await? >= ignored + 10).then_some(())
    })
    .await;
    assert_eq!(
        translations().await,
        Some(before),
        "unrelated Services must not trigger translations"
    );
    create(
        &services,
        "metadata: {name: missing}\nspec: {ports: [{port: 80}]}\n",
    )
    .await;
    eventually(Duration::from_secs(30), || async {
        let parents = routes.get("broken").await.ok()?.status?.parents;
        (condition(&parents.first()?.conditions, "ResolvedRefs")?.status == "True").then_some(())
    })
    .await;

    // Clients keep sending while the controller dies and comes back: none may fail.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = (0..2)
        .map(|_| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let http = support::client();
                let (mut served, mut failed) = (0, Vec::new());
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match get(&http, proxy, "old.example.com", "/x", &[]).await {
                        Ok(answer) if answer.status == 301 => served += 1,
                        other => failed.push(format!("{other:?}")),
                    }
                }
                (served, failed)
            })
        })
        .collect::<Vec<_>>();

    // A restarted controller keeps the transition times of conditions that did not change.
    controller.kill();
    let _controller = start_controller(&cluster, dir.path(), grpc, admin, "controller-2.log");
    // The new controller has the data plane's ACK once its own /status says Programmed.
    eventually(Duration::from_secs(30), || async {
        let status: serde_json::Value = reqwest::get(format!("http://127.0.0.1:{admin}/status"))
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let programmed = status["gateways"][0]["status"]["conditions"]
            .as_array()?
            .iter()
            .any(|c| c["type"] == "Programmed" && c["status"] == "True");
        programmed.then_some(())
    })
    .await;
    let gateway = gateways.get("gw").await.expect("gateway");
    let conditions = gateway
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default();
    assert_eq!(
        condition(&conditions, "Accepted").map(|c| c.last_transition_time.clone()),
        Some(accepted.last_transition_time),
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in load {
        let (served, failed) = task.await.expect("client task");
        assert!(
            failed.is_empty(),
            "{} requests failed across the controller restart, e.g. {:?}",
            failed.len(),
            failed.first()
        );
        assert!(served > 10, "the clients barely ran ({served} requests)");
    }
    assert!(
        dataplane_process.is_running(),
        "the data plane must not restart with the controller"
    );
    let log = std::fs::read_to_string(dir.path().join("controller.log")).unwrap_or_default();
    assert!(
        log.contains("ReferenceGrant"),
        "the skipped kind should be logged:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_planes_may_only_subscribe_to_their_own_gateway() {
    use k8s_openapi::api::core::v1::ServiceAccount;

    let cluster = Cluster::start();
    let client = cluster.client().await;
    install_crds(&client, &["gatewayclasses", "gateways", "httproutes"]).await;
    gateway_class(&client).await;
    let (own_port, other_port) = (free_port(), free_port());
    let gateways: Api<Gateway> = Api::namespaced(client.clone(), "default");
    let routes: Api<HttpRoute> = Api::namespaced(client.clone(), "default");
    for (name, port) in [("gw", own_port), ("other", other_port)] {
        create(
            &gateways,
            &format!("metadata: {{name: {name}}}\nspec:\n  gatewayClassName: portico\n  listeners: [{{name: http, protocol: HTTP, port: {port}}}]\n"),
        )
        .await;
        create(
            &routes,
            &format!("metadata: {{name: {name}}}\nspec:\n  parentRefs: [{{name: {name}}}]\n  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect: {{hostname: {name}.example.com}}\n"),
        )
        .await;
    }
    let accounts: Api<ServiceAccount> = Api::namespaced(client.clone(), "default");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut token_files = Vec::new();
    for account in ["portico-gw", "portico-other"] {
        create(&accounts, &format!("metadata: {{name: {account}}}\n")).await;
    }
    for (account, audience) in [
        ("portico-gw", "portico-controller"),
        ("portico-other", "portico-controller"),
        ("portico-gw", "somebody-else"),
    ] {
        let path = dir.path().join(format!("{account}-{audience}.token"));
        write_token(&accounts, account, audience, &path).await;
        token_files.push(path);
    }

    let grpc = free_port();
    let _controller = start_controller_with(
        &cluster,
        dir.path(),
        grpc,
        free_port(),
        "controller.log",
        &["--authenticate-dataplanes"],
    );
    let dataplane = |name: &str, extra: &[&str]| {
        let mut command = portico();
        command
            .args([
                "dataplane",
                "--instance",
                name,
                "--controller",
                &format!("http://127.0.0.1:{grpc}"),
            ])
            .args(["--admin-address", &format!("127.0.0.1:{}", free_port())])
            .args(extra);
        Process::start(command, dir.path().join(format!("{name}.log")))
    };
    let own = token_files[0].to_string_lossy().to_string();
    let foreign = token_files[1].to_string_lossy().to_string();
    let wrong_audience = token_files[2].to_string_lossy().to_string();

    // No --gateway: the token alone decides which Gateway this data plane serves.
    let _honest = dataplane("honest", &["--token-file", &own]);
    let http = support::client();
    let redirected = eventually(Duration::from_secs(30), || async {
        let answer = get(&http, own_port, "any.example.com", "/", &[])
            .await
            .ok()?;
        (answer.status == 302).then_some(answer)
    })
    .await;
    // Its token was reviewed before this moment.
    let reviewed_by = Instant::now();
    assert_eq!(
        redirected.location.as_deref(),
        Some(format!("http://gw.example.com:{own_port}/").as_str())
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", other_port)).is_err(),
        "only its own Gateway's listeners are served"
    );

    let impostor = dataplane(
        "impostor",
        &["--token-file", &foreign, "--gateway", "default/gw"],
    );
    let anonymous = dataplane("anonymous", &[]);
    let outsider = dataplane("outsider", &["--token-file", &wrong_audience]);
    let refused = |process: &Process, why: &str| {
        let log = process.log();
        log.contains("the controller refused this data plane") && log.contains(why)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(refused(&impostor, "may not subscribe to Gateway default/gw")
        && refused(&anonymous, "a bearer token is required")
        && refused(&outsider, "valid authentication credentials"))
    {
        assert!(
            Instant::now() < deadline,
            "refusals not seen; impostor:\n{}\nanonymous:\n{}\noutsider:\n{}",
            impostor.log(),
            anonymous.log(),
            outsider.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // An accepted token is trusted for 30 s without asking the API server again: with its
    // ServiceAccount gone, the token still subscribes within that window, and not after it.
    accounts
        .delete("portico-gw", &Default::default())
        .await
        .expect("delete the ServiceAccount");
    let cached = dataplane("cached", &["--token-file", &own]);
    wait_until(Duration::from_secs(10), || {
        cached.log().contains("snapshot applied")
    });
    assert!(
        reviewed_by.elapsed() < Duration::from_secs(30),
        "too slow to see the cache at work"
    );
    tokio::time::sleep(
        (reviewed_by + Duration::from_secs(31)).saturating_duration_since(Instant::now()),
    )
    .await;
    let expired = dataplane("expired", &["--token-file", &own]);
    wait_until(Duration::from_secs(30), || {
        refused(&expired, "the controller refused this data plane")
    });
    assert!(
        !expired.log().contains("snapshot applied"),
        "{}",
        expired.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_travel_over_tls_to_data_planes_holding_a_token() {
    use k8s_openapi::api::apps::v1::Deployment;
    use k8s_openapi::api::core::v1::{Secret, ServiceAccount};

    let cluster = Cluster::start();
    let client = cluster.client().await;
    install_crds(&client, &["gatewayclasses", "gateways", "httproutes"]).await;
    gateway_class(&client).await;
    let port = free_port();
    let gateways: Api<Gateway> = Api::namespaced(client.clone(), "default");
    create(
        &gateways,
        &format!("metadata: {{name: gw}}\nspec:\n  gatewayClassName: portico\n  listeners: [{{name: http, protocol: HTTP, port: {port}}}]\n"),
    )
    .await;
    create(
        &Api::<HttpRoute>::namespaced(client.clone(), "default"),
        "metadata: {name: r}\nspec:\n  parentRefs: [{name: gw}]\n  rules:\n  - filters:\n    - type: RequestRedirect\n      requestRedirect: {hostname: secure.example.com}\n",
    )
    .await;

    let dir = tempfile::tempdir().expect("temp dir");
    let grpc = free_port();
    let url = format!("https://127.0.0.1:{grpc}");
    let _controller = start_controller_with(
        &cluster,
        dir.path(),
        grpc,
        free_port(),
        "controller.log",
        &[
            "--dataplane-tls",
            "--provision",
            "--authenticate-dataplanes",
            "--lease-namespace",
            "kube-system",
            "--dataplane-controller-url",
            &url,
        ],
    );

    // The CA lives in the controller's namespace; provisioned pods get only its certificate,
    // in their Deployment, and no Secret is written to the Gateway's namespace.
    let ca = eventually(Duration::from_secs(30), || async {
        Api::<Secret>::namespaced(client.clone(), "kube-system")
            .get("portico-dataplane-ca")
            .await
            .ok()
    })
    .await;
    let ca_pem = String::from_utf8(ca.data.unwrap_or_default()["ca.crt"].0.clone()).expect("PEM");
    let deployment = eventually(Duration::from_secs(30), || async {
        Api::<Deployment>::namespaced(client.clone(), "default")
            .get("portico-gw")
            .await
            .ok()
    })
    .await;
    let env = deployment
        .spec
        .and_then(|s| s.template.spec)
        .and_then(|s| s.containers[0].env.clone())
        .unwrap_or_default();
    let given = env
        .iter()
        .find(|e| e.name == "PORTICO_TLS_CA")
        .and_then(|e| e.value.clone());
    assert_eq!(given.as_deref(), Some(ca_pem.as_str()));
    let secrets = Api::<Secret>::namespaced(client.clone(), "default")
        .list(&Default::default())
        .await
        .expect("list Secrets");
    assert!(secrets.items.is_empty(), "{:?}", secrets.items);

    std::fs::write(dir.path().join("ca.crt"), &ca_pem).expect("write");
    let accounts = Api::<ServiceAccount>::namespaced(client.clone(), "default");
    write_token(
        &accounts,
        "portico-gw",
        "portico-controller",
        &dir.path().join("token"),
    )
    .await;
    let path = |file: &str| dir.path().join(file).to_string_lossy().to_string();
    let dataplane = |name: &str, args: &[String]| {
        let mut command = portico();
        command
            .args(["dataplane", "--instance", name])
            .args(["--admin-address", &format!("127.0.0.1:{}", free_port())])
            .args(args);
        Process::start(command, dir.path().join(format!("{name}.log")))
    };
    let arg = |a: &str| a.to_string();
    let _trusted = dataplane(
        "trusted",
        &[
            arg("--controller"),
            url.clone(),
            arg("--token-file"),
            path("token"),
            arg("--tls-ca"),
            ca_pem.clone(),
        ],
    );
    let http = support::client();
    let answer = eventually(Duration::from_secs(30), || async {
        let answer = get(&http, port, "any.example.com", "/", &[]).await.ok()?;
        (answer.status == 302).then_some(answer)
    })
    .await;
    assert_eq!(
        answer.location.as_deref(),
        Some(format!("http://secure.example.com:{port}/").as_str())
    );

    // Trusting another CA, speaking plain text, or holding no token gets nothing.
    let stranger =
        rcgen::generate_simple_self_signed(vec!["stranger".to_string()]).expect("certificate");
    std::fs::write(dir.path().join("stranger.crt"), stranger.cert.pem()).expect("write");
    let deceived = dataplane(
        "deceived",
        &[
            arg("--controller"),
            url.clone(),
            arg("--token-file"),
            path("token"),
            arg("--tls-ca-file"),
            path("stranger.crt"),
        ],
    );
    let plain = dataplane(
        "plain",
        &[
            arg("--controller"),
            format!("http://127.0.0.1:{grpc}"),
            arg("--token-file"),
            path("token"),
        ],
    );
    let tokenless = dataplane(
        "tokenless",
        &[
            arg("--controller"),
            url.clone(),
            arg("--gateway"),
            arg("default/gw"),
            arg("--tls-ca-file"),
            path("ca.crt"),
        ],
    );
    for (process, refusal) in [
        (&deceived, "cannot reach the controller"),
        (&plain, "cannot reach the controller"),
        (&tokenless, "the controller refused this data plane"),
    ] {
        // First the refusal, then the proof that nothing got through before it.
        wait_until(Duration::from_secs(30), || process.log().contains(refusal));
        let log = process.log();
        assert!(
            !log.contains("snapshot applied"),
            "a data plane got a snapshot it should not have:\n{log}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_routes_are_served_tcp_routes_refused_by_http_listeners_and_kinds_installed_later_picked_up()
 {
    use gateway_api::grpcroutes::GrpcRoute;
    use portico_translate::route_kinds::TcpRoute;

    let cluster = Cluster::start();
    let client = cluster.client().await;
    install_crds(
        &client,
        &["gatewayclasses", "gateways", "grpcroutes", "tcproutes"],
    )
    .await;
    gateway_class(&client).await;
    create(
        &Api::<Gateway>::namespaced(client.clone(), "default"),
        "metadata: {name: gw}\nspec:\n  gatewayClassName: portico\n  listeners: [{name: http, protocol: HTTP, port: 80}]\n",
    )
    .await;
    let grpc: Api<GrpcRoute> = Api::namespaced(client.clone(), "default");
    let tcp: Api<TcpRoute> = Api::namespaced(client.clone(), "default");
    create(
        &grpc,
        "metadata: {name: greeter}\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: [grpc.example.com]\n  rules: [{backendRefs: [{name: greeter, port: 50051}]}]\n",
    )
    .await;
    create(
        &tcp,
        "metadata: {name: db}\nspec:\n  parentRefs: [{name: gw}]\n  rules: [{backendRefs: [{name: postgres, port: 5432}]}]\n",
    )
    .await;

    let dir = tempfile::tempdir().expect("temp dir");
    let _controller = start_controller(
        &cluster,
        dir.path(),
        free_port(),
        free_port(),
        "controller.log",
    );

    // GRPCRoute is served: accepted, its missing Service reported.
    let grpc_conditions = eventually(Duration::from_secs(30), || async {
        let status = grpc.get("greeter").await.ok()?.status?;
        Some(status.parents.first()?.conditions.clone())
    })
    .await;
    let accepted = condition(&grpc_conditions, "Accepted").expect("Accepted");
    assert_eq!(accepted.status, "True", "{}", accepted.message);
    let resolved = condition(&grpc_conditions, "ResolvedRefs").expect("ResolvedRefs");
    assert_eq!(
        (resolved.status.as_str(), resolved.reason.as_str()),
        ("False", "BackendNotFound")
    );
    let tcp_parents = eventually(Duration::from_secs(30), || async {
        Some(tcp.get("db").await.ok()?.status?.parents)
    })
    .await;
    assert_eq!(tcp_parents.len(), 1);
    assert_eq!(
        tcp_parents[0].controller_name,
        "portico.dev/gateway-controller"
    );
    let accepted = condition(&tcp_parents[0].conditions, "Accepted").expect("Accepted");
    assert_eq!(accepted.reason, "NotAllowedByListeners");

    // HTTPRoute's CRD was not installed when the controller started: installed now, its
    // routes are served without a restart (the watch retries, it does not give up).
    install_crds(&client, &["httproutes"]).await;
    let routes: Api<HttpRoute> = Api::namespaced(client.clone(), "default");
    create(
        &routes,
        "metadata: {name: web}\nspec:\n  parentRefs: [{name: gw}]\n  hostnames: [web.example.com]\n  rules: [{backendRefs: [{name: web, port: 80}]}]\n",
    )
    .await;
    let accepted = eventually(Duration::from_secs(90), || async {
        let status = routes.get("web").await.ok()?.status?;
        condition(&status.parents.first()?.conditions, "Accepted").cloned()
    })
    .await;
    assert_eq!(accepted.status, "True", "{}", accepted.message);
}
