//! SIGTERM drains a data plane without refusing or cutting a request: `/readyz` turns 503 at
//! once, listeners keep accepting through the grace period with `Connection: close` on every
//! response, a request in flight finishes, a connection accepted in the grace period gets its
//! first request answered even when it comes later, then listeners close and the process exits
//! as soon as nothing is left. Real controller, data plane, backends and sockets.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::raw::{connect, read_response};
use support::*;

/// A backend on `port` that answers every request after `delay`.
fn slow_backend(port: u16, delay: Duration) {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind");
    std::thread::spawn(move || {
        for mut connection in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n")
                    && connection.read(&mut byte).is_ok_and(|n| n == 1)
                {
                    head.push(byte[0]);
                }
                std::thread::sleep(delay);
                let _ = connection.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow");
            });
        }
    });
}

fn request(host: &str) -> Vec<u8> {
    format!("GET / HTTP/1.1\r\nHost: {host}.example.com\r\n\r\n").into_bytes()
}

fn closes(head: &str) -> bool {
    head.to_ascii_lowercase().contains("connection: close")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_without_refusing_or_cutting_requests() {
    let (proxy, web, slow) = (free_port(), free_port(), free_port());
    slow_backend(slow, Duration::from_secs(2));
    let config = [
        gateway_yaml(proxy),
        backend_yaml("web", web),
        backend_yaml("slow", slow),
        route_yaml("web.example.com", "web"),
        route_yaml("slow.example.com", "slow"),
    ]
    .join("---\n");
    let mut deployment = Deployment::new(&[("config.yaml", &config)]);
    deployment.start_echo("web", web);
    deployment.start_controller(&["--external-dataplane"]);
    let mut dataplane = deployment.start_dataplane(
        "dataplane",
        &[
            "--grace-period-seconds",
            "2",
            "--shutdown-timeout-seconds",
            "5",
        ],
    );
    wait_for_backend(proxy, "web.example.com", "/", "web", || dataplane.log()).await;
    let readyz = format!(
        "http://127.0.0.1:{}/readyz",
        deployment.ports.dataplane_admin
    );
    assert_eq!(reqwest::get(&readyz).await.expect("readyz").status(), 200);

    // A keep-alive connection, and a request that takes 2 s, both open at SIGTERM.
    let mut kept = connect(proxy);
    kept.write_all(&request("web")).expect("send");
    let (status, head, _) = read_response(&mut kept);
    assert!(status == 200 && !closes(&head), "{head}");
    let in_flight = std::thread::spawn(move || {
        let mut stream = connect(proxy);
        stream.write_all(&request("slow")).expect("send");
        read_response(&mut stream)
    });
    std::thread::sleep(Duration::from_millis(300));

    kill(Pid::from_raw(dataplane.pid()), Signal::SIGTERM).expect("SIGTERM");
    let signalled = Instant::now();

    // Out of rotation at once, still serving: new connections and kept ones are answered,
    // told to close.
    let not_ready = async {
        loop {
            if let Ok(answer) = reqwest::get(&readyz).await
                && answer.status() == 503
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_millis(500), not_ready)
        .await
        .expect("/readyz must answer 503 right after SIGTERM");
    let (status, head, _) = {
        let mut fresh = connect(proxy);
        fresh.write_all(&request("web")).expect("send");
        read_response(&mut fresh)
    };
    assert!(
        status == 200 && closes(&head),
        "new connection while draining: {head}"
    );
    kept.write_all(&request("web")).expect("send");
    let (status, head, _) = read_response(&mut kept);
    assert!(
        status == 200 && closes(&head),
        "kept connection while draining: {head}"
    );
    // A connection accepted during the grace period whose request arrives only after it.
    let mut late = connect(proxy);
    assert!(
        signalled.elapsed() < Duration::from_secs(2),
        "the checks above ran past the grace period"
    );

    // After the grace period, listeners close.
    wait_until(Duration::from_secs(4), || {
        std::net::TcpStream::connect(("127.0.0.1", proxy)).is_err()
    });
    assert!(signalled.elapsed() >= Duration::from_millis(1900));
    // Its client may have sent the request before it knew: the first request is still read.
    late.write_all(&request("web")).expect("send");
    let (status, head, _) = read_response(&mut late);
    assert!(
        status == 200 && closes(&head),
        "first request of a connection accepted while draining: {head}"
    );

    // The request in flight was not cut, and the process left once it was done, well before
    // its shutdown timeout.
    let (status, _, body) = in_flight.join().expect("in-flight request");
    assert_eq!(
        (status, body.as_str()),
        (200, "slow"),
        "log:\n{}",
        dataplane.log()
    );
    wait_until(Duration::from_secs(3), || !dataplane.is_running());
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "{:?}",
        signalled.elapsed()
    );
    assert!(
        dataplane.log().contains("drained; exiting"),
        "{}",
        dataplane.log()
    );
}
