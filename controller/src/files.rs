//! The file provider: Kubernetes objects from `.yaml`/`.yml` files under the given paths,
//! re-read when a file changes (detected by polling size and modification time).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

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
