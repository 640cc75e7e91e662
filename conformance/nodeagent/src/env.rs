//! A container's environment and the downward API: what the kubelet would put in `env`, and the
//! pod fields `fieldRef` can name.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVarSource, Pod, Secret};
use kube::{Api, Client, ResourceExt};

/// The pod as its containers see it.
pub struct PodContext<'a> {
    pub pod: &'a Pod,
    pub address: Ipv4Addr,
    pub node_name: &'a str,
    pub host_address: Ipv4Addr,
    /// `host:port` the pods reach the API server at.
    pub api_server: (&'a str, u16),
}

/// The value of a downward-API `fieldPath`.
pub fn field(context: &PodContext<'_>, path: &str) -> anyhow::Result<String> {
    let pod = context.pod;
    let spec = pod.spec.as_ref();
    let quoted = |map: &BTreeMap<String, String>| {
        map.iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let value = match path {
        "metadata.name" => pod.name_any(),
        "metadata.namespace" => pod.namespace().unwrap_or_default(),
        "metadata.uid" => pod.uid().unwrap_or_default(),
        "metadata.labels" => quoted(pod.labels()),
        "metadata.annotations" => quoted(pod.annotations()),
        "spec.nodeName" => context.node_name.to_string(),
        "spec.serviceAccountName" => spec
            .and_then(|s| s.service_account_name.clone())
            .unwrap_or_else(|| "default".to_string()),
        "status.podIP" | "status.podIPs" => context.address.to_string(),
        "status.hostIP" | "status.hostIPs" => context.host_address.to_string(),
        other => {
            let key = |prefix: &str| {
                other
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_suffix("']"))
                    .map(str::to_string)
            };
            if let Some(label) = key("metadata.labels['") {
                pod.labels().get(&label).cloned().unwrap_or_default()
            } else if let Some(annotation) = key("metadata.annotations['") {
                pod.annotations()
                    .get(&annotation)
                    .cloned()
                    .unwrap_or_default()
            } else {
                bail!("fieldRef {other} is not supported")
            }
        }
    };
    Ok(value)
}

/// The environment of `container`: the defaults every container gets, `envFrom`, then `env`
/// with `$(NAME)` references to earlier variables expanded.
pub async fn environment(
    client: &Client,
    context: &PodContext<'_>,
    container: &Container,
) -> anyhow::Result<Vec<(String, String)>> {
    let namespace = context.pod.namespace().unwrap_or_default();
    let (api_host, api_port) = context.api_server;
    let mut env: Vec<(String, String)> = vec![
        (
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        ),
        ("HOSTNAME".into(), context.pod.name_any()),
        ("KUBERNETES_SERVICE_HOST".into(), api_host.to_string()),
        ("KUBERNETES_SERVICE_PORT".into(), api_port.to_string()),
        ("KUBERNETES_SERVICE_PORT_HTTPS".into(), api_port.to_string()),
    ];
    let set = |env: &mut Vec<(String, String)>, name: String, value: String| {
        env.retain(|(n, _)| *n != name);
        env.push((name, value));
    };
    for source in container.env_from.iter().flatten() {
        let prefix = source.prefix.clone().unwrap_or_default();
        let data = if let Some(reference) = &source.config_map_ref {
            config_map(client, &namespace, &reference.name, reference.optional)
                .await?
                .unwrap_or_default()
        } else if let Some(reference) = &source.secret_ref {
            secret(client, &namespace, &reference.name, reference.optional)
                .await?
                .unwrap_or_default()
        } else {
            BTreeMap::new()
        };
        for (key, value) in data {
            set(&mut env, format!("{prefix}{key}"), text(value));
        }
    }
    for variable in container.env.iter().flatten() {
        let value = match &variable.value_from {
            None => expand(variable.value.as_deref().unwrap_or(""), &env),
            Some(source) => match value_from(client, context, &namespace, source).await? {
                Some(value) => value,
                None => continue,
            },
        };
        set(&mut env, variable.name.clone(), value);
    }
    Ok(env)
}

/// Replace `$(NAME)` with NAME's value in `env`; unknown references stay as written, `$$`
/// escapes a dollar, as the kubelet does.
pub fn expand(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|a| a.split_once(')')) {
            match env.iter().rev().find(|(n, _)| n == name) {
                Some((_, value)) => out.push_str(value),
                None => out.push_str(&format!("$({name})")),
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

async fn value_from(
    client: &Client,
    context: &PodContext<'_>,
    namespace: &str,
    source: &EnvVarSource,
) -> anyhow::Result<Option<String>> {
    if let Some(field_ref) = &source.field_ref {
        return field(context, &field_ref.field_path).map(Some);
    }
    if let Some(resource) = &source.resource_field_ref {
        // No cgroups here: report a request/limit of one unit of whatever is asked.
        return Ok(Some(match resource.resource.as_str() {
            r if r.contains("memory") => (1u64 << 30).to_string(),
            _ => "1".to_string(),
        }));
    }
    if let Some(key) = &source.config_map_key_ref {
        let data = config_map(client, namespace, &key.name, key.optional).await?;
        return lookup(data, &key.key, key.optional, "ConfigMap", &key.name);
    }
    if let Some(key) = &source.secret_key_ref {
        let data = secret(client, namespace, &key.name, key.optional).await?;
        return lookup(data, &key.key, key.optional, "Secret", &key.name);
    }
    Ok(None)
}

/// A value as an environment variable: text, with invalid UTF-8 replaced.
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn lookup(
    data: Option<BTreeMap<String, Vec<u8>>>,
    key: &str,
    optional: Option<bool>,
    kind: &str,
    name: &str,
) -> anyhow::Result<Option<String>> {
    match data.and_then(|mut d| d.remove(key)) {
        Some(value) => Ok(Some(text(value))),
        None if optional == Some(true) => Ok(None),
        None => bail!("{kind} {name} has no key {key}"),
    }
}

/// A ConfigMap's data and binary data, `None` when it is missing and optional.
pub async fn config_map(
    client: &Client,
    namespace: &str,
    name: &str,
    optional: Option<bool>,
) -> anyhow::Result<Option<BTreeMap<String, Vec<u8>>>> {
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), namespace);
    match api.get_opt(name).await.context("reading a ConfigMap")? {
        Some(map) => {
            let mut data: BTreeMap<String, Vec<u8>> = map
                .data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes()))
                .collect();
            data.extend(
                map.binary_data
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k, v.0)),
            );
            Ok(Some(data))
        }
        None if optional == Some(true) => Ok(None),
        None => bail!("ConfigMap {namespace}/{name} does not exist"),
    }
}

/// A Secret's data, `None` when it is missing and optional.
pub async fn secret(
    client: &Client,
    namespace: &str,
    name: &str,
    optional: Option<bool>,
) -> anyhow::Result<Option<BTreeMap<String, Vec<u8>>>> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    match api.get_opt(name).await.context("reading a Secret")? {
        Some(secret) => {
            let data = secret.data.unwrap_or_default();
            Ok(Some(data.into_iter().map(|(k, v)| (k, v.0)).collect()))
        }
        None if optional == Some(true) => Ok(None),
        None => bail!("Secret {namespace}/{name} does not exist"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_to_earlier_variables_expand_as_the_kubelet_does() {
        let env = vec![("POD".to_string(), "web-1".to_string())];
        assert_eq!(expand("name=$(POD)", &env), "name=web-1");
        assert_eq!(expand("$(MISSING)-$$(POD)-$", &env), "$(MISSING)-$(POD)-$");
    }

    #[test]
    fn downward_api_fields() {
        let pod: Pod = yaml_serde::from_str(
            "metadata: {name: web-1, namespace: apps, uid: u1, labels: {app: web}}\n\
             spec: {containers: [], serviceAccountName: web}\n",
        )
        .unwrap();
        let context = PodContext {
            pod: &pod,
            address: Ipv4Addr::new(10, 244, 0, 5),
            node_name: "local",
            host_address: Ipv4Addr::new(10, 244, 0, 1),
            api_server: ("kubernetes.default.svc", 443),
        };
        let get = |path: &str| field(&context, path).unwrap();
        assert_eq!(get("metadata.namespace"), "apps");
        assert_eq!(get("status.podIP"), "10.244.0.5");
        assert_eq!(get("spec.serviceAccountName"), "web");
        assert_eq!(get("metadata.labels['app']"), "web");
        assert_eq!(get("metadata.labels"), "app=\"web\"");
        assert!(field(&context, "spec.priority").is_err());
    }
}
