//! How each host's process is started: in its sandbox when this machine allows sandboxes
//! (`/opt/ml` at its real path, named `algo-N`, the job's hosts file), with the container's
//! environment rather than the desktop's, and the job's interpreter first on `PATH` as
//! `python`, `python3`, `pip` and `pip3`. For an `mpirun` across hosts, each host's
//! sandbox and environment are also written down for the agent that enters it.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use crate::backend::local::contract::{
    HostLayout, Launcher, LocalPlan, container_environment, private_dir,
};
use crate::backend::local::sandbox::{self, HostEntry, HostSandbox, OPT_ML};

/// The remote shell agent `mpirun` runs to start its daemon on another host.
const AGENT: &str = "sagedesk-rsh";

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
    /// This program, which enters a host's sandbox for the agent.
    pub(super) sagedesk: Option<PathBuf>,
    /// The debugger's port of the first host, when the job runs under debugpy.
    pub(super) debug_port: Option<u16>,
}

impl Start<'_> {
    /// Writes the job's hosts file, its `bin/` of interpreter shims and, for an `mpirun`
    /// across hosts, the agent and each host's entry.
    pub(super) fn write_files(&self, layouts: &[HostLayout]) -> std::io::Result<()> {
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
        let mpi = self
            .plan
            .hosts
            .iter()
            .any(|h| matches!(self.plan.launcher_of(h), Launcher::Mpi { .. }));
        // Each host's entry: for `mpirun`'s agent, and for `sagedesk shell` after the job.
        if self.sandboxed {
            let entries = self.entries();
            private_dir(&entries)?;
            for (index, layout) in layouts.iter().enumerate() {
                let host = &self.plan.hosts[index];
                let command = self
                    .program(layout, index)
                    .map(|(program, args)| {
                        std::iter::once(program.display().to_string())
                            .chain(args)
                            .collect()
                    })
                    .unwrap_or_default();
                let entry = HostEntry {
                    sandbox: self.sandbox(layout, index),
                    environment: self.environment(layout, host),
                    command,
                };
                entry.write(&entries, host)?;
            }
        }
        if mpi && self.sandboxed {
            let sagedesk = self.sagedesk.as_ref().ok_or_else(|| {
                std::io::Error::other("the program that enters the hosts is not known")
            })?;
            let body = format!(
                "#!/bin/sh\nexec {} enter-host {} \"$@\"\n",
                crate::request::shell_quote(&sagedesk.display().to_string()),
                crate::request::shell_quote(&self.entries().display().to_string()),
            );
            write_executable(&self.agent(), &body)?;
        }
        Ok(())
    }

    fn hosts_file(&self) -> PathBuf {
        self.job_dir.join("hosts")
    }

    fn bin(&self) -> PathBuf {
        self.job_dir.join("bin")
    }

    fn entries(&self) -> PathBuf {
        self.job_dir.join(sandbox::HOST_ENTRIES)
    }

    fn agent(&self) -> PathBuf {
        self.bin().join(AGENT)
    }

    /// The tree as the process sees it: `/opt/ml` in a sandbox, its own path without one.
    fn seen(&self, layout: &HostLayout) -> HostLayout {
        if self.sandboxed {
            HostLayout::new(PathBuf::from(OPT_ML))
        } else {
            layout.clone()
        }
    }

    /// The whole environment of `host`'s processes.
    fn environment(&self, layout: &HostLayout, host: &str) -> Vec<(String, String)> {
        let mut environment = self.aws.to_vec();
        environment.extend(
            self.plan
                .environment(&self.seen(layout), host, self.num_cpus),
        );
        container_environment(&environment, &self.bin(), self.python)
    }

    /// The sandbox of host `index`, whose tree is `layout`.
    fn sandbox(&self, layout: &HostLayout, index: usize) -> HostSandbox {
        let host = &self.plan.hosts[index];
        // The toolkit's working folder; with an entry point of the request's own, the
        // image's is not known here, and this one is the job's to write in.
        HostSandbox {
            hostname: host.clone(),
            root: layout.root.clone(),
            hosts_file: self.hosts_file(),
            cwd: self.seen(layout).code(),
            staging: self.job_dir.join(format!(".opt-{host}")),
            user_namespace: sandbox::user_namespaces(),
        }
    }

    /// The program and arguments host `index` starts with.
    pub(super) fn program(
        &self,
        layout: &HostLayout,
        index: usize,
    ) -> Result<(PathBuf, Vec<String>), String> {
        let host = &self.plan.hosts[index];
        let (program, args) =
            self.plan
                .launch(&self.seen(layout), host, self.python, &self.agent())?;
        Ok(match self.debug_port {
            Some(port) => (
                program,
                super::debug::wrap(args, super::debug::port_of(port, index)),
            ),
            None => (program, args),
        })
    }

    /// The `launch.json` entry that attaches to host `index` (its tree is `layout`).
    pub(super) fn launch_json(&self, layout: &HostLayout, index: usize) -> Option<String> {
        let port = super::debug::port_of(self.debug_port?, index);
        let local = self.plan.submit_path.clone();
        Some(super::debug::launch_json(
            &self.plan.job,
            &self.plan.hosts[index],
            port,
            &self.seen(layout).code(),
            &local,
        ))
    }

    /// The command that starts host `index` (its tree is `layout`); `None` for a host
    /// whose processes another host's `mpirun` starts. The error is the job's
    /// `FailureReason`.
    pub(super) fn command(
        &self,
        layout: &HostLayout,
        index: usize,
    ) -> Result<Option<Command>, String> {
        let host = &self.plan.hosts[index];
        if !self.plan.runs_process(host) {
            return Ok(None);
        }
        let (program, args) = self.program(layout, index)?;
        let mut command = Command::new(&program);
        command
            .args(&args)
            .env_clear()
            .envs(self.environment(layout, host));
        if self.sandboxed {
            self.sandbox(layout, index)
                .apply(command.as_std_mut())
                .map_err(|e| format!("ClientError: cannot make the sandbox of {host}: {e}"))?;
        } else {
            command.current_dir(self.seen(layout).code());
        }
        Ok(Some(command))
    }
}

fn write_executable(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}
