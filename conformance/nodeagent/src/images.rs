//! The image table: which local program stands in for which container image.
//!
//! There is no container runtime here, so an image is only a name: the table maps its
//! repository (tag and digest ignored) to an entrypoint, a local executable plus fixed leading
//! arguments. `${NAME}` in an entrypoint is replaced by the agent's environment variable NAME,
//! so one committed table serves every machine. An image missing from the table fails its pod
//! visibly instead of running something else.

use std::collections::HashMap;

use serde::Deserialize;

/// One row of the table.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ImageEntry {
    /// Repository, e.g. `registry.k8s.io/coredns/coredns`.
    pub image: String,
    /// Program and leading arguments that play the image's ENTRYPOINT.
    pub entrypoint: Vec<String>,
}

/// Why an image table or a container's command cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    /// The table file is not a list of entries.
    #[error("image table: {0}")]
    Table(String),
    /// An entrypoint names an environment variable that is not set.
    #[error("image {image}: environment variable {variable} is not set")]
    Unset { image: String, variable: String },
    /// No entry for the image.
    #[error("image {0} is not in the node agent's image table")]
    Unknown(String),
}

/// Entrypoints by repository.
#[derive(Debug, Clone, Default)]
pub struct ImageTable {
    entrypoints: HashMap<String, Vec<String>>,
}

impl ImageTable {
    /// Parse a YAML list of entries, expanding `${NAME}` with `env`.
    pub fn parse(yaml: &str, env: impl Fn(&str) -> Option<String>) -> Result<Self, ImageError> {
        let entries: Vec<ImageEntry> =
            yaml_serde::from_str(yaml).map_err(|e| ImageError::Table(e.to_string()))?;
        let mut entrypoints = HashMap::new();
        for entry in entries {
            let mut expanded = Vec::new();
            for part in &entry.entrypoint {
                expanded.push(expand(part, &env).map_err(|variable| ImageError::Unset {
                    image: entry.image.clone(),
                    variable,
                })?);
            }
            if expanded.is_empty() {
                return Err(ImageError::Table(format!(
                    "{}: empty entrypoint",
                    entry.image
                )));
            }
            entrypoints.insert(entry.image, expanded);
        }
        Ok(Self { entrypoints })
    }

    /// The command line a container runs: the image's entrypoint unless the pod gives
    /// `command` (which replaces it, as in Kubernetes), followed by `args`.
    pub fn command_line(
        &self,
        image: &str,
        command: &[String],
        args: &[String],
    ) -> Result<Vec<String>, ImageError> {
        let entrypoint = self
            .entrypoints
            .get(repository(image))
            .ok_or_else(|| ImageError::Unknown(image.to_string()))?;
        let mut line = if command.is_empty() {
            entrypoint.clone()
        } else {
            // A command names a program inside the image: its first word is replaced by the
            // image's program when it names the same file, else the command runs as given.
            let mut line = command.to_vec();
            if file_name(&command[0]) == file_name(&entrypoint[0]) {
                line[0] = entrypoint[0].clone();
            }
            line
        };
        line.extend(args.iter().cloned());
        Ok(line)
    }
}

/// `registry/name:tag@sha256:...` without tag and digest.
fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rsplit_once(':') {
        // A colon after the last slash separates the tag; before it, a registry port.
        Some((name, tag)) if !tag.contains('/') => name,
        _ => image,
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Replace every `${NAME}` in `text`; the error is the first unset NAME.
fn expand(text: &str, env: &impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let name = &after[..end];
        out.push_str(&env(name).ok_or_else(|| name.to_string())?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> ImageTable {
        ImageTable::parse(
            "- image: portico/dataplane\n  entrypoint: ['${PORTICO}', dataplane]\n\
             - image: registry.local:5000/echo\n  entrypoint: [/opt/echo/bin/echo-basic]\n",
            |name| (name == "PORTICO").then(|| "/build/portico".to_string()),
        )
        .unwrap()
    }

    #[test]
    fn images_map_to_local_programs_whatever_their_tag() {
        let table = table();
        assert_eq!(
            table
                .command_line("portico/dataplane:0.1.0", &[], &["--gateway".into()])
                .unwrap(),
            ["/build/portico", "dataplane", "--gateway"]
        );
        assert_eq!(
            table
                .command_line("registry.local:5000/echo@sha256:abc", &[], &[])
                .unwrap(),
            ["/opt/echo/bin/echo-basic"]
        );
    }

    #[test]
    fn a_command_replaces_the_entrypoint() {
        let line = table()
            .command_line(
                "registry.local:5000/echo",
                &["echo-basic".into(), "-v".into()],
                &[],
            )
            .unwrap();
        assert_eq!(line, ["/opt/echo/bin/echo-basic", "-v"]);
    }

    #[test]
    fn unknown_images_and_unset_variables_are_errors() {
        assert_eq!(
            table().command_line("nginx:1.27", &[], &[]),
            Err(ImageError::Unknown("nginx:1.27".into()))
        );
        let unset = ImageTable::parse("- image: a\n  entrypoint: ['${NOPE}']\n", |_| None);
        assert!(matches!(unset, Err(ImageError::Unset { variable, .. }) if variable == "NOPE"));
    }
}
