//! Golden tests of the Ingress migration: every `tests/migrate/<scenario>.in.yaml` (Ingresses
//! and the Services they name) is migrated with the default options, and the report (as
//! comments) and the objects compared with `<scenario>.out.yaml`
//! (`UPDATE_GOLDEN=1 cargo test -p portico-translate --test migrate` rewrites them).
//!
//! The objects are then read back by the translator's strict parser (a field Gateway API does
//! not have fails) and translated beside the input and a GatewayClass of Portico's: the
//! Gateway and every listener must be accepted, and every HTTPRoute accepted by every parent
//! it names, so what `portico migrate` prints is what Portico serves.

use std::path::{Path, PathBuf};

use portico_translate::ingress::{MigrationOptions, migrate};
use portico_translate::{Options, Parsed, parse_documents, translate};

fn scenarios() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/migrate")
}

const GATEWAY_CLASS: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n\
                             metadata: {name: portico}\n\
                             spec: {controllerName: portico.dev/gateway-controller}\n";

fn parse(text: &str, what: &str) -> Parsed {
    let mut parsed = Parsed::default();
    parse_documents(text, &mut parsed);
    if let Some(problem) = parsed.errors.iter().chain(&parsed.warnings).next() {
        panic!("{what}: {problem}");
    }
    parsed
}

/// The report and the objects, as the golden file holds them.
fn render(input: &Path) -> (String, String) {
    let text = std::fs::read_to_string(input).expect("input");
    let parsed = parse(&text, &input.display().to_string());
    let migration = migrate(&parsed.resources, &MigrationOptions::default());
    let report: String = migration
        .findings
        .iter()
        .map(|f| format!("# {f}\n"))
        .collect();
    let objects = migration.to_yaml().expect("yaml");
    (format!("{report}{objects}"), objects)
}

/// Portico accepts the Gateway, its listeners and every route's parents.
fn check_served(input: &Path, objects: &str) {
    let text = std::fs::read_to_string(input).expect("input");
    let served = parse(
        &format!("{GATEWAY_CLASS}---\n{objects}---\n{text}"),
        "migrated objects",
    );
    let output = translate(&served.resources, &Options::default());
    let gateway = &output.statuses.gateways[0].status;
    let accepted = |conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]| {
        conditions
            .iter()
            .any(|c| c.type_ == "Accepted" && c.status == "True")
    };
    assert!(
        accepted(gateway.conditions.as_deref().unwrap_or_default()),
        "{}: Gateway not accepted: {gateway:?}",
        input.display()
    );
    for listener in gateway.listeners.iter().flatten() {
        let resolved = listener
            .conditions
            .iter()
            .find(|c| c.type_ == "Conflicted")
            .is_some_and(|c| c.status == "False");
        assert!(
            accepted(&listener.conditions) && resolved,
            "{}: listener {} not accepted: {:?}",
            input.display(),
            listener.name,
            listener.conditions
        );
    }
    // A route naming no listener of the Gateway gets no status at all.
    assert_eq!(
        output.statuses.http_routes.len(),
        served.resources.http_routes.len(),
        "{}: a route names no listener of the Gateway",
        input.display()
    );
    for route in &output.statuses.http_routes {
        for parent in &route.status.parents {
            assert!(
                accepted(&parent.conditions),
                "{}: route {} not accepted by {:?}: {:?}",
                input.display(),
                route.object,
                parent.parent_ref.section_name,
                parent.conditions
            );
        }
    }
}

#[test]
fn migrations_match_their_golden_files_and_are_served() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(scenarios())
        .expect("scenarios")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".in.yaml"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 3, "scenarios missing");
    let mut failures = Vec::new();
    for input in &inputs {
        let (golden, objects) = render(input);
        check_served(input, &objects);
        let expected = PathBuf::from(input.to_string_lossy().replace(".in.yaml", ".out.yaml"));
        if update {
            std::fs::write(&expected, &golden).expect("write golden file");
        } else if std::fs::read_to_string(&expected).ok().as_deref() != Some(golden.as_str()) {
            failures.push(format!(
                "{} differs; rerun with UPDATE_GOLDEN=1",
                expected.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
