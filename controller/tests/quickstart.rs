//! README.md's quickstart, as a user follows it: the arguments of its `cargo run` line given to
//! the `portico` binary, then its `curl` line, whose answer must come from the demo backend;
//! then `/status` and `/config`, which the README points to. The commands are read from the
//! README itself, so the test fails when the README stops being true. (The README's ports are
//! fixed: 8080, 3000, 9901 and 9902 must be free.)

mod support;

use std::time::Duration;

use support::*;

/// The README's section `## Run it`.
fn run_it_section() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme.find("## Run it").expect("a '## Run it' section");
    let rest = &readme[start + 1..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The arguments after `--` on the `cargo run ... --bin portico --` line.
fn portico_arguments(section: &str) -> Vec<String> {
    let line = section
        .lines()
        .find(|l| l.starts_with("cargo run") && l.contains("--bin portico"))
        .expect("a 'cargo run --bin portico' line");
    let (_, arguments) = line.split_once(" -- ").expect("arguments after --");
    arguments.split_whitespace().map(str::to_string).collect()
}

/// The URL and Host header of the `curl -H 'Host: ...' URL` line.
fn curl_request(section: &str) -> (String, String) {
    let line = section
        .lines()
        .find(|l| l.starts_with("curl -H 'Host:"))
        .expect("a curl line with a Host header");
    let host = line
        .split('\'')
        .nth(1)
        .and_then(|h| h.strip_prefix("Host: "))
        .expect("Host header");
    let url = line.rsplit(' ').next().expect("URL");
    (host.to_string(), url.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_quickstart_works_as_written() {
    let section = run_it_section();
    let arguments = portico_arguments(&section);
    let (host, url) = curl_request(&section);
    let logs = tempfile::tempdir().expect("temp dir");
    let mut command = portico();
    command
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(&arguments);
    let quickstart = Process::start(command, logs.path().join("quickstart.log"));

    let client = client();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let answer = loop {
        let response = client.get(&url).header("host", &host).send().await;
        if let Ok(response) = response
            && response.status() == 200
        {
            break response
                .json::<serde_json::Value>()
                .await
                .expect("the demo backend answers JSON");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{url} (Host: {host}) never answered 200; log:\n{}",
            quickstart.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        answer["path"], "/anything",
        "the backend describes the request: {answer}"
    );

    let status: serde_json::Value = client
        .get("http://127.0.0.1:9901/status")
        .send()
        .await
        .expect("controller admin")
        .json()
        .await
        .expect("status JSON");
    let route = &status["httpRoutes"][0];
    assert_eq!(route["name"], "demo", "{status}");
    let config = client
        .get("http://127.0.0.1:9902/config")
        .send()
        .await
        .expect("data-plane admin")
        .text()
        .await
        .expect("config");
    assert!(config.contains("demo.example.com"), "{config}");
}
