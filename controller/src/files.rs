//! The file provider: Kubernetes objects from `.yaml`/`.yml` files under the given paths,
//! re-read when a file changes (detected by polling size and modification time).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use portico_translate::{Parsed, Resources, parse_documents};

/// What the files looked like at one poll: each file with its size and modification time.
pub type Fingerprint = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// Every YAML file under `paths` (files are taken as given; folders are walked), sorted.
pub fn fingerprint(paths: &[PathBuf]) -> Fingerprint {
    let mut files = Vec::new();
    for path in paths {
        collect(path, true, &mut files);
    }
    files.sort();
    files.dedup();
    files
        .into_iter()
        .map(|file| {
            let meta = std::fs::metadata(&file).ok();
            let len = meta.as_ref().map_or(0, |m| m.len());
            let modified = meta.and_then(|m| m.modified().ok());
            (file, len, modified)
        })
        .collect()
}

fn collect(path: &Path, explicit: bool, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            tracing::warn!(path = %path.display(), "cannot read directory");
            return;
        };
        for entry in entries.flatten() {
            collect(&entry.path(), false, out);
        }
    } else if explicit || is_yaml(path) {
        out.push(path.to_path_buf());
    }
}

fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Read and parse every file of `fingerprint`. Problems are logged with file and line; a bad
/// document is skipped and its neighbours still load.
pub fn load(fingerprint: &Fingerprint) -> Resources {
    let mut parsed = Parsed::default();
    for (file, _, _) in fingerprint {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) => {
                tracing::error!(file = %file.display(), %error, "cannot read file");
                continue;
            }
        };
        let (errors, warnings) = (parsed.errors.len(), parsed.warnings.len());
        parse_documents(&text, &mut parsed);
        for problem in &parsed.errors[errors..] {
            tracing::error!(file = %file.display(), line = problem.line, error = %problem.message, "object skipped");
        }
        for problem in &parsed.warnings[warnings..] {
            tracing::warn!(file = %file.display(), line = problem.line, warning = %problem.message, "object loaded with a problem");
        }
    }
    parsed.resources
}

/// What the API server would fill in and files usually leave out: `metadata.generation`
/// (1 when an object first appears, +1 whenever its spec changes) and `creationTimestamp`
/// (when it was first seen), so `observedGeneration` and route age work as in a cluster.
/// Values written in the files are kept, except `uid`, which is dropped: translation's route
/// memo trusts `uid` and `generation` only as an API server sets them.
#[derive(Default)]
pub struct ServerSideMetadata {
    seen: HashMap<(&'static str, String, String), Seen>,
}

#[derive(Clone, Copy)]
struct Seen {
    spec: u64,
    generation: i64,
    created: Timestamp,
}

impl ServerSideMetadata {
    /// Fill in GatewayClasses, Gateways, ListenerSets and routes of `resources`, as of `now`.
    pub fn fill(&mut self, resources: &mut Resources, now: Timestamp) {
        let mut seen = HashMap::new();
        for class in &mut resources.gateway_classes {
            let spec = spec_hash(&class.spec);
            self.fill_one("GatewayClass", &mut class.metadata, spec, now, &mut seen);
        }
        for gateway in &mut resources.gateways {
            let spec = spec_hash(&gateway.spec);
            self.fill_one("Gateway", &mut gateway.metadata, spec, now, &mut seen);
        }
        for set in &mut resources.listener_sets {
            let spec = spec_hash(&set.spec);
            self.fill_one("ListenerSet", &mut set.metadata, spec, now, &mut seen);
        }
        for route in &mut resources.http_routes {
            let spec = spec_hash(&route.spec);
            self.fill_one("HTTPRoute", &mut route.metadata, spec, now, &mut seen);
        }
        for route in &mut resources.grpc_routes {
            let spec = spec_hash(&route.spec);
            self.fill_one("GRPCRoute", &mut route.metadata, spec, now, &mut seen);
        }
        for route in &mut resources.tls_routes {
            let spec = spec_hash(&route.spec);
            self.fill_one("TLSRoute", &mut route.metadata, spec, now, &mut seen);
        }
        for route in &mut resources.tcp_routes {
            let spec = spec_hash(&route.spec);
            self.fill_one("TCPRoute", &mut route.metadata, spec, now, &mut seen);
        }
        for route in &mut resources.udp_routes {
            let spec = spec_hash(&route.spec);
            self.fill_one("UDPRoute", &mut route.metadata, spec, now, &mut seen);
        }
        // Objects that disappeared are forgotten: re-creating one starts again at generation 1.
        self.seen = seen;
    }

    fn fill_one(
        &self,
        kind: &'static str,
        metadata: &mut ObjectMeta,
        spec: u64,
        now: Timestamp,
        seen: &mut HashMap<(&'static str, String, String), Seen>,
    ) {
        let key = (
            kind,
            metadata.namespace.clone().unwrap_or_default(),
            metadata.name.clone().unwrap_or_default(),
        );
        let entry = match self.seen.get(&key) {
            Some(previous) if previous.spec == spec => *previous,
            Some(previous) => Seen {
                spec,
                generation: previous.generation + 1,
                created: previous.created,
            },
            None => Seen {
                spec,
                generation: 1,
                created: now,
            },
        };
        // The uid is the API server's to give: one copied into a file (from `kubectl get -o
        // yaml`) would let a changed spec pass for the remembered one (see RouteMemo).
        metadata.uid = None;
        metadata.generation.get_or_insert(entry.generation);
        metadata
            .creation_timestamp
            .get_or_insert(Time(entry.created));
        seen.insert(key, entry);
    }
}

fn spec_hash<T: serde::Serialize>(spec: &T) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    serde_json::to_vec(spec)
        .unwrap_or_default()
        .hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway_api::gateways::Gateway;

    fn gateway(class: &str) -> Gateway {
        let mut gateway = Gateway::default();
        gateway.metadata.name = Some("gw".into());
        gateway.metadata.namespace = Some("default".into());
        gateway.spec.gateway_class_name = class.into();
        gateway
    }

    fn fill(metadata: &mut ServerSideMetadata, class: &str, second: i64) -> Gateway {
        let mut resources = Resources {
            gateways: vec![gateway(class)],
            ..Resources::default()
        };
        let now = Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH);
        metadata.fill(&mut resources, now);
        resources.gateways.remove(0)
    }

    #[test]
    fn generation_follows_spec_changes_and_creation_time_stays() {
        let mut metadata = ServerSideMetadata::default();
        let first = fill(&mut metadata, "a", 100);
        assert_eq!(first.metadata.generation, Some(1));
        let same = fill(&mut metadata, "a", 200);
        assert_eq!(same.metadata.generation, Some(1));
        let changed = fill(&mut metadata, "b", 300);
        assert_eq!(changed.metadata.generation, Some(2));
        assert_eq!(
            changed.metadata.creation_timestamp,
            first.metadata.creation_timestamp
        );
    }

    #[test]
    fn values_written_in_files_win() {
        let mut metadata = ServerSideMetadata::default();
        let mut resources = Resources {
            gateways: vec![gateway("a")],
            ..Resources::default()
        };
        resources.gateways[0].metadata.generation = Some(7);
        metadata.fill(&mut resources, Timestamp::UNIX_EPOCH);
        assert_eq!(resources.gateways[0].metadata.generation, Some(7));
    }

    #[test]
    fn uids_copied_into_files_are_dropped() {
        let mut metadata = ServerSideMetadata::default();
        let mut route = portico_translate::route_kinds::httproutes::HttpRoute::default();
        route.metadata.name = Some("exported".into());
        route.metadata.uid = Some("0a1b2c".into());
        let mut resources = Resources {
            http_routes: vec![route],
            ..Resources::default()
        };
        metadata.fill(&mut resources, Timestamp::UNIX_EPOCH);
        assert_eq!(resources.http_routes[0].metadata.uid, None);
    }

    #[test]
    fn listener_sets_get_an_age_so_the_older_keeps_its_listeners() {
        let mut metadata = ServerSideMetadata::default();
        let set = |name: &str| {
            let mut set = gateway_api::listenersets::ListenerSet::default();
            set.metadata.name = Some(name.into());
            set
        };
        let mut resources = Resources {
            listener_sets: vec![set("zz-first")],
            ..Resources::default()
        };
        metadata.fill(
            &mut resources,
            Timestamp::from_second(100).unwrap_or_default(),
        );
        resources.listener_sets.push(set("aa-later"));
        metadata.fill(
            &mut resources,
            Timestamp::from_second(200).unwrap_or_default(),
        );
        let created: Vec<_> = resources
            .listener_sets
            .iter()
            .map(|s| {
                s.metadata
                    .creation_timestamp
                    .clone()
                    .map(|t| t.0.as_second())
            })
            .collect();
        assert_eq!(created, [Some(100), Some(200)]);
        assert_eq!(resources.listener_sets[0].metadata.generation, Some(1));
    }
}
