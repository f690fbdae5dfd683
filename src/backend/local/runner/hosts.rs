//! How each host's process is started: in its sandbox when this machine allows sandboxes
//! (`/opt/ml` at its real path, named `algo-N`, the job's hosts file), with the container's
//! environment rather than the desktop's, and the job's interpreter first on `PATH` as
//! `python`, `python3`, `pip` and `pip3`.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::backend::local::contract::{HostLayout, LocalPlan, container_environment};
use crate::backend::local::sandbox::{self, HostSandbox, OPT_ML};

/// What every host of a job starts with.
pub(super) struct Start<'a> {
    pub(super) plan: &'a LocalPlan,
    /// The job's folder: its hosts file and `bin/`.
    pub(super) job_dir: &'a Path,
    /// The interpreter `.py` entry points and the shims run, resolved on `PATH` already.
    pub(super) python: &'a Path,
    /// Whether hosts run in sandboxes.
    pub(super) sandboxed: bool,
    /// The job's AWS variables: its credentials endpoint, region and endpoint URL.
    pub(super) aws: &'a [(String, String)],
    pub(super) num_cpus: usize,
}

impl Start<'_> {
    /// Writes the job's hosts file and its `bin/` of interpreter shims.
    pub(super) fn write_files(&self) -> std::io::Result<()> {
        let system = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        let text = sandbox::hosts_file(&self.plan.job, &self.plan.hosts, &system);
        std::fs::write(self.hosts_file(), text)?;
        let bin = self.bin();
        std::fs::create_dir_all(&bin)?;
        let quoted = crate::request::shell_quote(&self.python.display().to_string());
        for (name, body) in [
            ("python", format!("exec {quoted} \"$@\"")),
            ("python3", format!("exec {quoted} \"$@\"")),
            ("pip", format!("exec {quoted} -m pip \"$@\"")),
            ("pip3", format!("exec {quoted} -m pip \"$@\"")),
        ] {
            write_executable(&bin.join(name), &format!("#!/bin/sh\n{body}\n"))?;
        }
        Ok(())
    }

    fn hosts_file(&self) -> PathBuf {
        self.job_dir.join("hosts")
    }

    fn bin(&self) -> PathBuf {
        self.job_dir.join("bin")
    }

    /// The command that starts host `index` (its tree is `layout`).
    pub(super) fn command(&self, layout: &HostLayout, index: usize) -> std::io::Result<Command> {
        let host = &self.plan.hosts[index];
        // What the process sees: `/opt/ml` in a sandbox, the tree's own path without one.
        let seen = if self.sandboxed {
            HostLayout::new(PathBuf::from(OPT_ML))
        } else {
            layout.clone()
        };
        let (program, args) = self.plan.command(&seen, self.python);
        let mut environment = self.aws.to_vec();
        environment.extend(self.plan.environment(&seen, host, self.num_cpus));
        let mut command = Command::new(&program);
        command.args(&args).env_clear().envs(container_environment(
            &environment,
            &self.bin(),
            self.python,
        ));
        // The toolkit's working folder; with an entry point of the request's own, the
        // image's is not known here, and this one is the job's to write in.
        let cwd = seen.code();
        if self.sandboxed {
            HostSandbox {
                hostname: host.clone(),
                root: layout.root.clone(),
                hosts_file: self.hosts_file(),
                cwd,
                staging: self.job_dir.join(format!(".opt-{host}")),
                user_namespace: sandbox::user_namespaces(),
            }
            .apply(&mut command)?;
        } else {
            command.current_dir(cwd);
        }
        Ok(command)
    }
}

fn write_executable(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}
