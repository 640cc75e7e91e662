//! Kubernetes objects from YAML text: multi-document streams as `kubectl apply -f` takes them.
//!
//! Pure: text in, objects out. Every error names the line it comes from, and fields the typed
//! object does not know are reported as they are skipped (a typo such as `hostname:` for
//! `hostnames:` would otherwise be silently dropped).

use serde::de::DeserializeOwned;
use yaml_serde::Value;

use crate::resources::Resources;

/// A document that could not be turned into an object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DocumentError {
    /// 1-based line in the text where the problem is (or where its document starts).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Objects parsed from one text, plus warnings about fields that were ignored.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The objects, by kind.
    pub resources: Resources,
    /// Documents skipped because of an error; the rest of the text is still used.
    pub errors: Vec<DocumentError>,
    /// Unknown fields that were ignored, each with the first line of its document.
    pub warnings: Vec<DocumentError>,
    /// Every object taken so far, as group, kind, namespace and name: a second definition of
    /// one is an error, as two objects with one identity cannot exist in a cluster.
    defined: std::collections::HashSet<(String, String, String, String)>,
}

/// Kinds without a namespace.
const CLUSTER_SCOPED: [&str; 3] = ["GatewayClass", "Namespace", "IngressClass"];

/// Kinds this parser knows, as `apiVersion` group and kind. Anything else is reported as an
/// error for that document only.
const KINDS: &[(&str, &str)] = &[
    ("gateway.networking.k8s.io", "GatewayClass"),
    ("gateway.networking.k8s.io", "Gateway"),
    ("gateway.networking.k8s.io", "HTTPRoute"),
    ("gateway.networking.k8s.io", "ReferenceGrant"),
    ("gateway.networking.k8s.io", "GRPCRoute"),
    ("gateway.networking.k8s.io", "TLSRoute"),
    ("gateway.networking.k8s.io", "TCPRoute"),
    ("gateway.networking.k8s.io", "UDPRoute"),
    ("gateway.networking.k8s.io", "ListenerSet"),
    ("gateway.networking.k8s.io", "BackendTLSPolicy"),
    ("", "Namespace"),
    ("", "Service"),
    ("", "Secret"),
    ("", "ConfigMap"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"),
    ("gateway.portico.dev", "PorticoProxy"),
];

/// Parse every document of `text` into `into`. Errors and warnings are collected, never fatal.
pub fn parse_documents(text: &str, into: &mut Parsed) {
    for (start, chunk) in split_documents(text) {
        let value: Value = match yaml_serde::from_str(chunk) {
            Ok(v) => v,
            Err(e) => {
                let line = start + e.location().map_or(0, |l| l.line().saturating_sub(1));
                into.errors.push(DocumentError {
                    line,
                    message: format!("invalid YAML: {e}"),
                });
                continue;
            }
        };
        if value.is_null() {
            continue;
        }
        if let Err(message) = add_object(value, start, into) {
            into.errors.push(DocumentError {
                line: start,
                message,
            });
        }
    }
}

/// Split on `---` lines, returning each document with its 1-based first line.
fn split_documents(text: &str) -> Vec<(usize, &str)> {
    let mut documents = Vec::new();
    let mut start_byte = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim_end();
        if trimmed == "---" || trimmed.starts_with("--- ") {
            documents.push((start_line, &text[start_byte..offset]));
            start_byte = offset + line.len();
            start_line = number + 2;
        }
        offset += line.len();
    }
    documents.push((start_line, &text[start_byte..]));
    documents
}

fn add_object(value: Value, line: usize, into: &mut Parsed) -> Result<(), String> {
    let api_version = value
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let kind = value
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if api_version.is_empty() || kind.is_empty() {
        return Err("document has no apiVersion or kind".to_string());
    }
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    if !KINDS.contains(&(group, kind)) {
        return Err(format!("unsupported kind {kind} ({api_version})"));
    }
    let text = |field: &str| {
        value
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_str)
    };
    let namespace = match CLUSTER_SCOPED.contains(&kind) {
        true => String::new(),
        false => text("namespace").unwrap_or("default").to_string(),
    };
    let name = text("name").unwrap_or_default().to_string();
    let identity = (group.to_string(), kind.to_string(), namespace, name);
    if into.defined.contains(&identity) {
        let (_, _, namespace, name) = identity;
        let object = [namespace, name].join("/");
        return Err(format!(
            "{kind} {} is defined more than once; only its first definition is used",
            object.trim_start_matches('/')
        ));
    }
    let resources = &mut into.resources;
    let warnings = &mut into.warnings;
    match kind {
        "GatewayClass" => resources
            .gateway_classes
            .push(typed(value, line, warnings)?),
        "Gateway" => resources.gateways.push(typed(value, line, warnings)?),
        "HTTPRoute" => resources.http_routes.push(typed(value, line, warnings)?),
        "ReferenceGrant" => resources
            .reference_grants
            .push(typed(value, line, warnings)?),
        "Namespace" => resources.namespaces.push(typed(value, line, warnings)?),
        "Service" => resources.services.push(typed(value, line, warnings)?),
        "Secret" => resources.secrets.push(typed(value, line, warnings)?),
        "EndpointSlice" => resources
            .endpoint_slices
            .push(typed(value, line, warnings)?),
        "GRPCRoute" => resources.grpc_routes.push(typed(value, line, warnings)?),
        "TLSRoute" => resources.tls_routes.push(typed(value, line, warnings)?),
        "TCPRoute" => resources.tcp_routes.push(typed(value, line, warnings)?),
        "UDPRoute" => resources.udp_routes.push(typed(value, line, warnings)?),
        "ListenerSet" => resources.listener_sets.push(typed(value, line, warnings)?),
        "BackendTLSPolicy" => resources
            .backend_tls_policies
            .push(typed(value, line, warnings)?),
        "ConfigMap" => resources.config_maps.push(typed(value, line, warnings)?),
        "Ingress" => resources.ingresses.push(typed(value, line, warnings)?),
        "PorticoProxy" => resources.proxies.push(typed(value, line, warnings)?),
        _ => resources
            .ingress_classes
            .push(typed(value, line, warnings)?),
    }
    into.defined.insert(identity);
    Ok(())
}

fn typed<T: DeserializeOwned>(
    value: Value,
    line: usize,
    warnings: &mut Vec<DocumentError>,
) -> Result<T, String> {
    let name = value
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("<unnamed>")
        .to_string();
    let mut unknown = Vec::new();
    let object: T = serde_ignored::deserialize(without_nulls(value), |path| {
        let path = field_path(&path);
        // Custom resource types take their type from Rust, not from these (checked above).
        if path != "apiVersion" && path != "kind" {
            unknown.push(path);
        }
    })
    .map_err(|e| format!("{name}: {e}"))?;
    warnings.extend(unknown.into_iter().map(|path| DocumentError {
        line,
        message: format!("{name}: unknown field {path} was ignored"),
    }));
    Ok(object)
}

/// `value` without mapping entries whose value is null: `field: null` means "not set", so an
/// unknown field written that way changes nothing and is not worth a warning.
fn without_nulls(value: Value) -> Value {
    match value {
        Value::Mapping(mapping) => Value::Mapping(
            mapping
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Sequence(items) => Value::Sequence(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

/// A field's path as a user writes it: `spec.rules[0].matches`.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Parsed {
        let mut parsed = Parsed::default();
        parse_documents(text, &mut parsed);
        parsed
    }

    #[test]
    fn a_second_definition_of_an_object_is_refused_and_the_first_kept() {
        let gateway = |port: u16| {
            format!(
                "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {{name: gw}}\n\
                 spec:\n  gatewayClassName: c\n  listeners: [{{name: http, port: {port}, protocol: HTTP}}]\n"
            )
        };
        let elsewhere = gateway(82).replace("name: gw}", "name: gw, namespace: other}");
        let parsed = parse(&format!(
            "{}---\n{}---\n{elsewhere}",
            gateway(80),
            gateway(81).replace("name: gw}", "name: gw, namespace: default}")
        ));
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        assert_eq!(
            parsed.errors[0].line, 8,
            "the second document starts on line 8"
        );
        assert!(
            parsed.errors[0]
                .message
                .contains("Gateway default/gw is defined more than once"),
            "{}",
            parsed.errors[0].message
        );
        let ports: Vec<i32> = parsed
            .resources
            .gateways
            .iter()
            .map(|g| g.spec.listeners[0].port)
            .collect();
        assert_eq!(ports, [80, 82]);
    }

    #[test]
    fn reads_multi_document_streams() {
        let parsed = parse(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n\
             apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n  name: c\n\
             spec:\n  controllerName: portico.dev/gateway-controller\n---\n",
        );
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        assert_eq!(parsed.resources.namespaces.len(), 1);
        assert_eq!(parsed.resources.gateway_classes.len(), 1);
    }

    #[test]
    fn a_bad_document_names_its_line_and_spares_its_neighbours() {
        let parsed = parse(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\n\
             apiVersion: v1\nkind: Service\nmetadata: [unclosed\n---\n\
             apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n",
        );
        assert_eq!(parsed.resources.namespaces.len(), 2);
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].line >= 6, "{:?}", parsed.errors);
    }

    #[test]
    fn unknown_kinds_and_fields_are_reported() {
        let parsed = parse(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n---\n\
             apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r\n\
             spec:\n  hostname: [a.example.com]\n",
        );
        assert_eq!(parsed.errors.len(), 1);
        assert!(parsed.errors[0].message.contains("Deployment"));
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
        assert!(
            parsed.warnings[0].message.contains("spec.hostname"),
            "{:?}",
            parsed.warnings
        );
        assert_eq!(parsed.warnings[0].line, 6);
    }

    #[test]
    fn nested_unknown_fields_are_named_as_written_and_null_ones_are_not_reported() {
        let parsed = parse(
            "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: r\n\
             spec:\n  rules:\n  - matches: [{path: {value: /}, paths: x}]\n    timeout: null\n",
        );
        let messages: Vec<_> = parsed.warnings.iter().map(|w| &w.message).collect();
        assert_eq!(
            messages,
            ["r: unknown field spec.rules[0].matches[0].paths was ignored"],
        );
    }
}
