//! Golden-file tests: every `testdata/<kind>-<scenario>.in.yaml` is translated and the output
//! (statuses and snapshots) compared with `<kind>-<scenario>.out.yaml`.
//!
//! `UPDATE_GOLDEN=1 cargo test -p portico-translate` rewrites the outputs and deletes stale ones.
//! Inputs are parsed strictly: an unknown field or a bad document fails the test. Every snapshot
//! produced must pass the data plane's validation and compile into its routing table.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use portico_snapshot::Snapshot;
use portico_translate::{GatewaySnapshot, Options, Output, Parsed, parse_documents, translate};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata")
}

fn render(input: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let mut parsed = Parsed::default();
    parse_documents(&text, &mut parsed);
    if let Some(problem) = parsed.errors.iter().chain(&parsed.warnings).next() {
        return Err(format!("{}: {problem}", input.display()));
    }
    let output = translate(&parsed.resources, &Options::default());
    check_dataplane_accepts(&output).map_err(|e| format!("{}: {e}", input.display()))?;
    let yaml = yaml_serde::to_string(&output).map_err(|e| e.to_string())?;
    Ok(format!(
        "# Generated from {} by `UPDATE_GOLDEN=1 cargo test -p portico-translate`.\n{yaml}",
        input
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ))
}

/// The data plane must accept what the translator emits: each Gateway's snapshot alone (a
/// provisioned data plane), and all of them together (one data plane serving every Gateway).
fn check_dataplane_accepts(output: &Output) -> Result<(), String> {
    let alone = output
        .gateways
        .iter()
        .map(|g| snapshot(std::slice::from_ref(g)));
    for snapshot in alone.chain([snapshot(&output.gateways)]) {
        portico_snapshot::validate(&snapshot).map_err(|e| format!("invalid snapshot: {e}"))?;
        portico_router::Router::build(&snapshot)
            .map_err(|e| format!("unroutable snapshot: {e}"))?;
    }
    Ok(())
}

/// A snapshot of `gateways` with their clusters, each once, as the controller serves it.
fn snapshot(gateways: &[GatewaySnapshot]) -> Snapshot {
    let clusters: BTreeMap<_, _> = gateways
        .iter()
        .flat_map(|g| &g.clusters)
        .map(|c| (c.name.clone(), c.clone()))
        .collect();
    Snapshot {
        version: 1,
        gateways: gateways.iter().map(|g| g.config.clone()).collect(),
        clusters: clusters.into_values().collect(),
    }
}

#[test]
fn golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(testdata())
        .expect("testdata directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".in.yaml"))
        .collect();
    inputs.sort();
    assert!(
        inputs.len() >= 30,
        "expected at least 30 scenarios, found {}",
        inputs.len()
    );

    let mut failures = Vec::new();
    for input in &inputs {
        let expected_path = PathBuf::from(input.to_string_lossy().replace(".in.yaml", ".out.yaml"));
        let actual = match render(input) {
            Ok(actual) => actual,
            Err(e) => {
                failures.push(e);
                continue;
            }
        };
        if update {
            std::fs::write(&expected_path, &actual).expect("write golden file");
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(_) => failures.push(format!(
                "{} differs from the translation of its input; rerun with UPDATE_GOLDEN=1 and review the diff",
                expected_path.display()
            )),
            Err(_) => failures.push(format!("{} is missing", expected_path.display())),
        }
    }

    for entry in std::fs::read_dir(testdata())
        .expect("testdata directory")
        .flatten()
    {
        let path = entry.path();
        let name = path.to_string_lossy().to_string();
        if name.ends_with(".out.yaml")
            && !Path::new(&name.replace(".out.yaml", ".in.yaml")).exists()
        {
            if update {
                std::fs::remove_file(&path).expect("remove stale golden file");
            } else {
                failures.push(format!("{name} has no input; remove it"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden failures:\n{}",
        failures.join("\n")
    );
}

/// With a data plane per Gateway (provisioning), Gateways never share a socket, so the
/// cross-Gateway conflicts of `gateway-cross-gateway-conflicts` disappear.
#[test]
fn gateways_with_their_own_dataplanes_never_conflict() {
    let text = std::fs::read_to_string(testdata().join("gateway-cross-gateway-conflicts.in.yaml"))
        .expect("scenario");
    let mut parsed = Parsed::default();
    parse_documents(&text, &mut parsed);
    let conflicted = |options: &Options| {
        translate(&parsed.resources, options)
            .statuses
            .gateways
            .iter()
            .flat_map(|g| g.status.listeners.iter().flatten())
            .flat_map(|l| &l.conditions)
            .filter(|c| c.type_ == "Conflicted" && c.status == "True")
            .count()
    };
    assert_eq!(
        conflicted(&Options::default()),
        2,
        "shared data planes: two listeners clash"
    );
    let own = Options {
        shared_dataplanes: false,
        ..Options::default()
    };
    assert_eq!(conflicted(&own), 0);
}
