//! A pod's volumes as directories on the host, filled the way the kubelet fills them: Secrets,
//! ConfigMaps, projected ServiceAccount tokens (bound to the pod), the downward API, empty
//! directories and host paths. Containers see them through bind mounts ([`crate::container`]).

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use k8s_openapi::api::authentication::v1::{BoundObjectReference, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{DownwardAPIVolumeFile, KeyToPath, ServiceAccount, Volume};
use kube::api::PostParams;
use kube::{Api, Client, ResourceExt};

use crate::env::{self, PodContext};

/// Default lifetime of projected tokens, as the API server's default.
const TOKEN_SECONDS: i64 = 3607;

/// Fill every volume of the pod under `dir`; returns each volume's host path by name.
pub async fn materialize(
    client: &Client,
    context: &PodContext<'_>,
    dir: &Path,
) -> anyhow::Result<HashMap<String, PathBuf>> {
    let mut paths = HashMap::new();
    let volumes = context
        .pod
        .spec
        .iter()
        .flat_map(|s| s.volumes.iter().flatten());
    for volume in volumes {
        let path = fill(client, context, volume, &dir.join(&volume.name))
            .await
            .with_context(|| format!("volume {}", volume.name))?;
        paths.insert(volume.name.clone(), path);
    }
    Ok(paths)
}

async fn fill(
    client: &Client,
    context: &PodContext<'_>,
    volume: &Volume,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    if let Some(host) = &volume.host_path {
        return Ok(PathBuf::from(&host.path));
    }
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    let namespace = context.pod.namespace().unwrap_or_default();
    if volume.empty_dir.is_some() {
        return Ok(dir.to_path_buf());
    }
    if let Some(source) = &volume.secret {
        let name = source.secret_name.clone().unwrap_or_default();
        let data = env::secret(client, &namespace, &name, source.optional).await?;
        write_keys(dir, data, source.items.as_deref(), source.default_mode)?;
    } else if let Some(source) = &volume.config_map {
        let data = env::config_map(client, &namespace, &source.name, source.optional).await?;
        write_keys(dir, data, source.items.as_deref(), source.default_mode)?;
    } else if let Some(source) = &volume.downward_api {
        write_fields(
            context,
            dir,
            source.items.as_deref().unwrap_or_default(),
            source.default_mode,
        )?;
    } else if let Some(projected) = &volume.projected {
        let mode = projected.default_mode;
        for source in projected.sources.iter().flatten() {
            if let Some(token) = &source.service_account_token {
                let seconds = token.expiration_seconds.unwrap_or(TOKEN_SECONDS);
                let audience = token.audience.clone();
                let issued = service_account_token(client, context, audience, seconds).await?;
                write_file(&dir.join(&token.path), issued.as_bytes(), mode)?;
            } else if let Some(source) = &source.config_map {
                let data =
                    env::config_map(client, &namespace, &source.name, source.optional).await?;
                write_keys(dir, data, source.items.as_deref(), mode)?;
            } else if let Some(source) = &source.secret {
                let data = env::secret(client, &namespace, &source.name, source.optional).await?;
                write_keys(dir, data, source.items.as_deref(), mode)?;
            } else if let Some(source) = &source.downward_api {
                write_fields(
                    context,
                    dir,
                    source.items.as_deref().unwrap_or_default(),
                    mode,
                )?;
            } else {
                bail!("projected source kind is not supported");
            }
        }
    } else {
        bail!("volume type is not supported by the node agent");
    }
    Ok(dir.to_path_buf())
}

/// A token of the pod's ServiceAccount, bound to the pod (invalid once the pod is gone).
async fn service_account_token(
    client: &Client,
    context: &PodContext<'_>,
    audience: Option<String>,
    seconds: i64,
) -> anyhow::Result<String> {
    let pod = context.pod;
    let account = pod
        .spec
        .as_ref()
        .and_then(|s| s.service_account_name.clone())
        .unwrap_or_else(|| "default".to_string());
    let api: Api<ServiceAccount> =
        Api::namespaced(client.clone(), &pod.namespace().unwrap_or_default());
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: audience.into_iter().collect(),
            expiration_seconds: Some(seconds),
            bound_object_ref: Some(BoundObjectReference {
                api_version: Some("v1".into()),
                kind: Some("Pod".into()),
                name: Some(pod.name_any()),
                uid: pod.uid(),
            }),
        },
        ..TokenRequest::default()
    };
    let issued = api
        .create_token_request(&account, &PostParams::default(), &request)
        .await
        .with_context(|| format!("requesting a token for ServiceAccount {account}"))?;
    issued
        .status
        .map(|s| s.token)
        .context("the API server issued no token")
}

fn write_keys(
    dir: &Path,
    data: Option<BTreeMap<String, Vec<u8>>>,
    items: Option<&[KeyToPath]>,
    default_mode: Option<i32>,
) -> anyhow::Result<()> {
    let Some(data) = data else {
        return Ok(()); // optional and missing: an empty volume
    };
    match items {
        None => {
            for (key, value) in &data {
                write_file(&dir.join(key), value, default_mode)?;
            }
        }
        Some(items) => {
            for item in items {
                let value = data
                    .get(&item.key)
                    .with_context(|| format!("no key {}", item.key))?;
                write_file(&dir.join(&item.path), value, item.mode.or(default_mode))?;
            }
        }
    }
    Ok(())
}

fn write_fields(
    context: &PodContext<'_>,
    dir: &Path,
    items: &[DownwardAPIVolumeFile],
    default_mode: Option<i32>,
) -> anyhow::Result<()> {
    for item in items {
        let value = match &item.field_ref {
            Some(field_ref) => env::field(context, &field_ref.field_path)?,
            None => "1".to_string(), // resourceFieldRef: no cgroups here
        };
        write_file(
            &dir.join(&item.path),
            value.as_bytes(),
            item.mode.or(default_mode),
        )?;
    }
    Ok(())
}

fn write_file(path: &Path, content: &[u8], mode: Option<i32>) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, content).with_context(|| format!("writing {}", path.display()))?;
    let mode = u32::try_from(mode.unwrap_or(0o644)).unwrap_or(0o644);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}
