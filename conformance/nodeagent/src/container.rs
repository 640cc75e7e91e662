//! Containers as processes. The agent starts each container as
//! `ip netns exec <pod namespace> portico-nodeagent run-container LAUNCH_FILE`: `ip netns exec`
//! enters the pod's network namespace and a private mount namespace (where `/etc/hosts` and
//! `/etc/resolv.conf` are the pod's); there, [`exec`] bind-mounts the pod's volumes at their
//! container paths and replaces itself with the container's program. The agent keeps the
//! process as the container: its exit is the container's exit.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::Context;
use nix::mount::{MsFlags, mount};
use serde::{Deserialize, Serialize};

/// Everything needed to become a container, written to a file for `run-container`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Launch {
    /// Program and arguments.
    pub command: Vec<String>,
    /// The whole environment.
    pub env: Vec<(String, String)>,
    /// Volumes, in mount order.
    pub mounts: Vec<Mount>,
    /// Working directory.
    pub working_dir: Option<String>,
}

/// A directory or file of the pod made visible at a container path.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Mount {
    /// Where the content is on the host.
    pub source: PathBuf,
    /// Where the container sees it.
    pub target: PathBuf,
    /// Mounted read-only.
    pub read_only: bool,
}

/// Inside the pod's namespaces: mount, then run the program in place of this process. Returns
/// only when that fails.
pub fn exec(launch: &Launch) -> anyhow::Error {
    match prepare_and_exec(launch) {
        Ok(never) => match never {},
        Err(error) => error,
    }
}

fn prepare_and_exec(launch: &Launch) -> anyhow::Result<std::convert::Infallible> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let (program, args) = launch
        .command
        .split_first()
        .context("the container has no command")?;
    // Opened before mounting: a volume may cover the program's directory (a pod mounting its
    // config at /root hides a program under /root). Executing the open file still works.
    let path = resolve(program, launch)?;
    let binary =
        std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
    for m in &launch.mounts {
        bind(m).with_context(|| {
            format!("mounting {} at {}", m.source.display(), m.target.display())
        })?;
    }
    let mut command = std::process::Command::new(format!("/proc/self/fd/{}", binary.as_raw_fd()));
    command
        .arg0(program)
        .args(args)
        .env_clear()
        .envs(launch.env.iter().cloned());
    if let Some(dir) = &launch.working_dir {
        command.current_dir(dir);
    }
    Err(command.exec()).with_context(|| format!("starting {program}"))
}

/// The file `program` names: a path as given, a bare name through the container's `PATH`.
fn resolve(program: &str, launch: &Launch) -> anyhow::Result<PathBuf> {
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    let path = launch
        .env
        .iter()
        .rev()
        .find(|(name, _)| name == "PATH")
        .map_or("/usr/local/bin:/usr/bin:/bin", |(_, value)| value.as_str());
    path.split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
        .with_context(|| format!("{program} is not on PATH ({path})"))
}

fn bind(m: &Mount) -> anyhow::Result<()> {
    if m.source.is_dir() {
        std::fs::create_dir_all(&m.target)?;
    } else {
        if let Some(parent) = m.target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if !m.target.exists() {
            std::fs::File::create(&m.target)?;
        }
    }
    let none: Option<&str> = None;
    mount(
        Some(&m.source),
        &m.target,
        none,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        none,
    )?;
    if m.read_only {
        let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(none, &m.target, none, flags, none)?;
    }
    Ok(())
}

/// Start the container described by `launch` in network namespace `namespace`, its output
/// appended to `log`.
pub async fn start(
    namespace: &str,
    launch: &Launch,
    launch_file: &Path,
    log: &Path,
) -> anyhow::Result<tokio::process::Child> {
    tokio::fs::write(launch_file, serde_json::to_vec(launch)?).await?;
    let output = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    let errors = output.try_clone()?;
    let agent = std::env::current_exe().context("finding the agent's executable")?;
    let child = tokio::process::Command::new("ip")
        .args(["netns", "exec", namespace])
        .arg(agent)
        .arg("run-container")
        .arg(launch_file)
        .stdin(Stdio::null())
        .stdout(Stdio::from(output))
        .stderr(Stdio::from(errors))
        .kill_on_drop(true)
        .spawn()
        .context("starting ip netns exec")?;
    Ok(child)
}
