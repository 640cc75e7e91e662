//! Test harness: real `portico` processes (standalone controller, data plane, echo backends)
//! on ephemeral loopback ports, and an HTTP client. Processes are stopped with SIGTERM when
//! their handle drops.

#![allow(dead_code)]

pub mod authority;
pub mod cluster;
pub mod grpc;
pub mod raw;
pub mod streams;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn portico() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portico"))
}

/// A loopback port that is free now, for a process the test starts to listen on.
///
/// Ports come from 20000–31999, below Linux's ephemeral range (32768 and up): a port the kernel
/// handed out for `127.0.0.1:0` could be given next to an outgoing connection (a data plane
/// dialling a backend) before the process binds it. Each test process walks its own stretch
/// of the range, and every port is checked free before it is returned.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    const FIRST: u16 = 20000;
    const SPAN: u16 = 12000;
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let stretch = u16::try_from(std::process::id() % 60).unwrap_or(0) * 200;
    for _ in 0..SPAN {
        let step = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = FIRST + (stretch + step) % SPAN;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {FIRST}..{}", FIRST + SPAN);
}

/// A running process, stopped with SIGTERM (then SIGKILL) on drop.
pub struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    pub fn start(mut command: Command, log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).expect("log file");
        let err = file.try_clone().expect("log file");
        let child = command
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start process");
        Self { child, log }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: the process gets no chance to clean up.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid()),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.is_running() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            self.kill();
        }
    }
}

/// Ports of one standalone deployment.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    pub admin: u16,
    pub grpc: u16,
    pub dataplane_admin: u16,
}

impl Ports {
    pub fn new() -> Self {
        Self {
            admin: free_port(),
            grpc: free_port(),
            dataplane_admin: free_port(),
        }
    }
}

/// A config folder plus the processes serving it.
pub struct Deployment {
    pub dir: tempfile::TempDir,
    pub ports: Ports,
    pub controller: Option<Process>,
    pub backends: Vec<Process>,
}

impl Deployment {
    /// A folder with `files` (name, content), not yet running.
    pub fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, content) in files {
            std::fs::write(dir.path().join(name), content).expect("write config");
        }
        Self {
            dir,
            ports: Ports::new(),
            controller: None,
            backends: Vec::new(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write (or replace) a config file atomically, as an editor or `kubectl apply` would.
    pub fn write(&self, name: &str, content: &str) {
        let temp = self.dir.path().join(format!(".{name}.tmp"));
        std::fs::write(&temp, content).expect("write config");
        std::fs::rename(&temp, self.dir.path().join(name)).expect("replace config");
    }

    /// Start an echo backend answering with `name` on `port`.
    pub fn start_echo(&mut self, name: &str, port: u16) {
        self.start_echo_with(name, port, &[]);
    }

    /// [`Deployment::start_echo`] with `extra` flags (TLS, say).
    pub fn start_echo_with(&mut self, name: &str, port: u16, extra: &[&str]) {
        let mut command = portico();
        command.args(["echo", "--port", &port.to_string(), "--name", name]);
        command.args(extra);
        let log = self.dir.path().join(format!("echo-{name}.log"));
        self.backends.push(Process::start(command, log));
        wait_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
    }

    /// What the echo backend `name` has logged (a line per request it answered).
    pub fn echo_log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("echo-{name}.log")))
            .unwrap_or_default()
    }

    /// Start `portico standalone` on the folder; `extra` adds flags.
    pub fn start_controller(&mut self, extra: &[&str]) {
        let mut command = portico();
        command
            .arg("standalone")
            .arg(self.dir.path())
            .args(["--listen-address", "127.0.0.1", "--poll-interval-ms", "20"])
            .args([
                "--admin-address",
                &format!("127.0.0.1:{}", self.ports.admin),
            ])
            .args(["--grpc-address", &format!("127.0.0.1:{}", self.ports.grpc)])
            .args([
                "--dataplane-admin-address",
                &format!("127.0.0.1:{}", self.ports.dataplane_admin),
            ])
            .args(extra);
        let log = self.dir.path().join("controller.log");
        self.controller = Some(Process::start(command, log));
    }

    /// Start a data plane of its own (for a controller started with `--external-dataplane`),
    /// named `instance`, subscribed to this deployment's controller; `extra` adds flags. It
    /// logs to `<instance>.log`.
    pub fn start_dataplane(&self, instance: &str, extra: &[&str]) -> Process {
        let mut command = portico();
        command
            .args(["dataplane", "--instance", instance])
            .args([
                "--controller",
                &format!("http://127.0.0.1:{}", self.ports.grpc),
            ])
            .args([
                "--admin-address",
                &format!("127.0.0.1:{}", self.ports.dataplane_admin),
            ])
            .args(extra);
        Process::start(command, self.dir.path().join(format!("{instance}.log")))
    }

    pub fn controller_log(&self) -> String {
        self.controller
            .as_ref()
            .map(Process::log)
            .unwrap_or_default()
    }

    /// GET the controller's `/status`.
    pub async fn status(&self) -> serde_json::Value {
        let url = format!("http://127.0.0.1:{}/status", self.ports.admin);
        match reqwest::get(url).await {
            Ok(response) => response.json().await.unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        }
    }

    /// The first Gateway's `Programmed` condition once `done` holds for it (30 s at most):
    /// serving traffic comes before the data plane's ACK reaches the controller, so status
    /// is polled, never read once.
    pub async fn programmed_when(
        &self,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = self.status().await;
            let programmed = status["gateways"][0]["status"]["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "Programmed"))
                .cloned()
                .unwrap_or_default();
            if done(&programmed) {
                return programmed;
            }
            assert!(
                Instant::now() < deadline,
                "{programmed}\n{}",
                self.controller_log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Poll `condition` every 20 ms until it holds; panic after `timeout`.
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "condition not met within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// An HTTP client that keeps connections alive and shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// What a request through the gateway got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The echo backend's name, when one answered.
    pub backend: Option<String>,
    pub body: serde_json::Value,
    pub location: Option<String>,
}

/// GET `http://127.0.0.1:port{path}` with a Host header and extra headers.
pub async fn get(
    client: &reqwest::Client,
    port: u16,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Answer, reqwest::Error> {
    let mut request = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("host", host);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let backend = body
        .get("name")
        .and_then(|n| n.as_str())
        .map(str::to_string);
    Ok(Answer {
        status,
        backend,
        body,
        location,
    })
}

/// Wait until `host{path}` on `port` is answered by `backend`.
pub async fn wait_for_backend(
    port: u16,
    host: &str,
    path: &str,
    backend: &str,
    log: impl Fn() -> String,
) {
    let client = client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(answer) = get(&client, port, host, path, &[]).await
            && answer.backend.as_deref() == Some(backend)
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{host}{path} was not routed to {backend} in time; log:\n{}",
            log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// YAML for a GatewayClass and a Gateway `gw` in `default` with one HTTP listener on `port`.
pub fn gateway_yaml(port: u16) -> String {
    format!(
        r#"apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: portico
spec:
  controllerName: portico.dev/gateway-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
  namespace: default
  generation: 1
spec:
  gatewayClassName: portico
  listeners:
  - name: http
    protocol: HTTP
    port: {port}
"#
    )
}

/// YAML for an HTTPRoute named after Service `backend`, on Gateway `gw` for `hostname`,
/// sending every request to `backend` port 80.
pub fn route_yaml(hostname: &str, backend: &str) -> String {
    format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n\
         metadata: {{name: {backend}, namespace: default}}\n\
         spec:\n  parentRefs: [{{name: gw}}]\n  hostnames: [{hostname}]\n  \
         rules: [{{backendRefs: [{{name: {backend}, port: 80}}]}}]\n"
    )
}

/// YAML for GatewayClass `portico` (ours) and the start of Gateway `gw` in `default`, up to
/// its `listeners:` key: a test's configuration goes on with the listeners.
pub const GATEWAY_PREAMBLE: &str = "apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: portico}
spec: {controllerName: portico.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: portico
  listeners:
";

/// YAML for a Service `name` (port 80) whose one endpoint is 127.0.0.1:`port`.
pub fn backend_yaml(name: &str, port: u16) -> String {
    format!(
        r#"apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: default
spec:
  ports:
  - name: http
    port: 80
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}
  namespace: default
  labels:
    kubernetes.io/service-name: {name}
addressType: IPv4
ports:
- name: http
  port: {port}
endpoints:
- addresses: ["127.0.0.1"]
"#
    )
}

/// A TLS Secret for `hostname` with a fresh self-signed certificate; returns (yaml, cert PEM).
pub fn tls_secret(name: &str, hostname: &str) -> (String, String) {
    let generated =
        rcgen::generate_simple_self_signed(vec![hostname.to_string()]).expect("certificate");
    let cert = generated.cert.pem();
    let key = generated.signing_key.serialize_pem();
    let indent = |pem: &str| {
        pem.lines()
            .map(|l| format!("    {l}\n"))
            .collect::<String>()
    };
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: default}}\ntype: kubernetes.io/tls\n\
         stringData:\n  tls.crt: |\n{}  tls.key: |\n{}",
        indent(&cert),
        indent(&key)
    );
    (yaml, cert)
}

/// An HTTPS client trusting only `trusted_pem`, sending requests for `host` to loopback.
pub fn https_client(trusted_pem: &str, host: &str) -> reqwest::Client {
    https_client_builder(trusted_pem, host)
        .build()
        .expect("client")
}

/// [`https_client`]'s builder, for further settings.
pub fn https_client_builder(trusted_pem: &str, host: &str) -> reqwest::ClientBuilder {
    let root = reqwest::Certificate::from_pem(trusted_pem.as_bytes()).expect("certificate");
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .resolve(host, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
}
