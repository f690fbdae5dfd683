//! How the framework toolkits launch the entry point for a distribution, from the
//! hyperparameters the SDK writes: `torchrun` on each host, one `mpirun` from the master
//! across the hosts (the MPI and SMDataParallel runners), or one process per host. The
//! launcher itself comes from the job's interpreter; where it is missing the job is refused
//! rather than run as something else.

use std::path::{Path, PathBuf};

use super::uri::Problems;
use super::{EntryKind, HostLayout, LocalPlan, UNSUPPORTED};

/// The port the toolkit gives `torchrun` and `MASTER_PORT`.
pub const MASTER_PORT: &str = "7777";
/// The interface the hosts of a local job talk over: they share this machine's loopback.
const LOCAL_INTERFACE: &str = "lo";

/// How a distributed host starts the entry point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launcher {
    /// One process per host.
    Process,
    /// `torchrun` (`python -m torch.distributed.run`) on each host of the distribution.
    Torchrun,
    /// One `mpirun` on the master across the distribution's hosts; the others run only
    /// what `mpirun` starts on them. `smddp` for the SMDataParallel runner's options.
    Mpi { smddp: bool },
}

/// Distributions the toolkits launch in ways local mode does not, with why.
const UNHONOURED: [(&str, &str); 3] = [
    (
        "sagemaker_pytorch_xla_multi_worker_enabled",
        "PyTorch XLA runs on Trainium and TPU devices",
    ),
    (
        "sagemaker_parameter_server_enabled",
        "TensorFlow's parameter servers are not started locally",
    ),
    (
        "sagemaker_multi_worker_mirrored_strategy_enabled",
        "TensorFlow's MultiWorkerMirroredStrategy is not configured locally",
    ),
];

impl LocalPlan {
    /// The launcher the PyTorch toolkit picks, in its order: MPI, PyTorch DDP (through
    /// SMDataParallel's `mpirun`), `torch_distributed`, SMDataParallel.
    pub fn launcher(&self) -> Launcher {
        if self.framework_flag("sagemaker_mpi_enabled") {
            Launcher::Mpi { smddp: false }
        } else if self.framework_flag("sagemaker_pytorch_ddp_enabled") {
            Launcher::Mpi { smddp: true }
        } else if self.framework_flag("sagemaker_torch_distributed_enabled") {
            Launcher::Torchrun
        } else if self.framework_flag("sagemaker_distributed_dataparallel_enabled") {
            Launcher::Mpi { smddp: true }
        } else {
            Launcher::Process
        }
    }

    /// How `host` starts: its group's launcher when the group is distributed.
    pub fn launcher_of(&self, host: &str) -> Launcher {
        if self.container_command.is_none() && self.distributed(host) {
            self.launcher()
        } else {
            Launcher::Process
        }
    }

    /// Whether `host` runs a process of its own: not the workers of an `mpirun`, whose
    /// processes the master's `mpirun` starts in their sandboxes.
    pub fn runs_process(&self, host: &str) -> bool {
        !matches!(self.launcher_of(host), Launcher::Mpi { .. })
            || self.master_hostname(host) == host
    }

    /// Processes per host: `sagemaker_mpi_num_of_processes_per_host`, else one (no GPUs
    /// here).
    pub fn processes_per_host(&self) -> u64 {
        self.framework_parameter("sagemaker_mpi_num_of_processes_per_host")
            .and_then(|v| v.as_count())
            .filter(|n| *n > 0)
            .unwrap_or(1)
    }

    /// Distribution settings local mode cannot honour, and launchers that need sandboxes
    /// (which name the hosts) where this machine refuses them.
    pub(super) fn distribution_problems(&self, p: &mut Problems) {
        if self.container_command.is_some() {
            return;
        }
        for (flag, why) in UNHONOURED {
            if self.framework_flag(flag) {
                p.error(
                    format!("HyperParameters.{flag}"),
                    UNSUPPORTED,
                    format!("this distribution is not available locally: {why}"),
                );
            }
        }
        let host = &self.hosts[0];
        let spans = self.distribution_hosts(host).len();
        let needs_names = match self.launcher() {
            Launcher::Mpi { .. } => true,
            Launcher::Torchrun => spans > 1,
            Launcher::Process => false,
        };
        if needs_names
            && let crate::backend::local::sandbox::Availability::Refused { reason } =
                crate::backend::local::sandbox::availability()
        {
            p.error(
                "HyperParameters",
                UNSUPPORTED,
                format!(
                    "{} across hosts needs each host in a sandbox named algo-N: {reason}",
                    self.launcher_name()
                ),
            );
        }
    }

    /// The launcher's name, as users know it.
    pub fn launcher_name(&self) -> &'static str {
        match self.launcher() {
            Launcher::Torchrun => "torchrun",
            Launcher::Mpi { .. } => "mpirun",
            Launcher::Process => "python",
        }
    }

    /// Why the job cannot start with `python` as its interpreter, if it cannot: its
    /// launcher is not there. `has_torch` says whether `python` has `torch`.
    pub fn missing_launcher(&self, python: &Path, has_torch: bool) -> Option<String> {
        let what = match self.launcher() {
            Launcher::Process => return None,
            Launcher::Torchrun if has_torch => return None,
            Launcher::Torchrun => format!(
                "torch_distributed runs torchrun, which {} does not have (no torch)",
                python.display()
            ),
            Launcher::Mpi { .. } if mpirun(python).is_some() => return None,
            Launcher::Mpi { .. } => format!(
                "this distribution runs mpirun, which is neither next to {} nor on PATH \
                 (Open MPI: on Debian and Ubuntu, the openmpi-bin package)",
                python.display()
            ),
        };
        Some(format!(
            "{what}: install it, or point the runtime table row for this image at an \
             interpreter that has it (sagedesk runtime add PATTERN INTERPRETER)"
        ))
    }

    /// Whether the code folder's `requirements.txt` (where it is on this machine) names
    /// `package`, which the job then installs before it starts.
    pub fn installs(&self, package: &str) -> bool {
        let file = self.submit_path.join("requirements.txt");
        std::fs::read_to_string(file).is_ok_and(|text| {
            text.lines().any(|line| {
                let name: String = line
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                    .collect();
                name.eq_ignore_ascii_case(package)
            })
        })
    }

    /// The program and arguments that start `host` (whose tree is `layout`, as the process
    /// sees it): its launcher around the entry point, or the entry point itself.
    pub fn launch(
        &self,
        layout: &HostLayout,
        host: &str,
        python: &Path,
        agent: &Path,
    ) -> Result<(PathBuf, Vec<String>), String> {
        let entry = self.command(layout, python);
        match self.launcher_of(host) {
            Launcher::Process => Ok(entry),
            Launcher::Torchrun => self.torchrun(layout, host, python),
            Launcher::Mpi { smddp } => {
                let program = mpirun(python).ok_or("mpirun is not on this machine")?;
                Ok((program, self.mpirun_args(host, agent, smddp, entry)))
            }
        }
    }

    /// `torchrun --nnodes N --nproc_per_node P [--master_addr … --node_rank i] entry args`
    /// as the toolkit's `TorchDistributedRunner` builds it, run as the interpreter's module
    /// so that the ranks run the job's interpreter.
    fn torchrun(
        &self,
        layout: &HostLayout,
        host: &str,
        python: &Path,
    ) -> Result<(PathBuf, Vec<String>), String> {
        match self.entry_kind {
            EntryKind::Program => {}
            EntryKind::Package => {
                return Err("ClientError: Python packages are not supported for \
                            torch_distributed. Please use a python script as the entry-point"
                    .into());
            }
            EntryKind::Command => {
                return Err(
                    "ClientError: Unsupported entry point type for torch_distributed".into(),
                );
            }
        }
        let hosts = self.distribution_hosts(host);
        let mut args: Vec<String> = vec!["-m".into(), "torch.distributed.run".into()];
        args.extend([
            "--nnodes".into(),
            hosts.len().to_string(),
            "--nproc_per_node".into(),
            self.processes_per_host().to_string(),
        ]);
        if hosts.len() > 1 {
            let rank = hosts.iter().position(|h| h == host).unwrap_or(0);
            args.extend([
                "--master_addr".into(),
                self.master_hostname(host),
                "--master_port".into(),
                MASTER_PORT.into(),
                "--node_rank".into(),
                rank.to_string(),
            ]);
        }
        args.push(layout.code().join(&self.program).display().to_string());
        args.extend(self.user_args());
        Ok((python.to_path_buf(), args))
    }

    /// `mpirun`'s arguments as the toolkit's MPI runner (or SMDataParallel runner) gives
    /// them, with the hosts reached through `agent` (into each host's sandbox) over this
    /// machine's loopback, then `entry`.
    fn mpirun_args(
        &self,
        host: &str,
        agent: &Path,
        smddp: bool,
        entry: (PathBuf, Vec<String>),
    ) -> Vec<String> {
        let hosts = self.distribution_hosts(host);
        let per_host = self.processes_per_host();
        let num_processes = self
            .framework_parameter("sagemaker_mpi_num_processes")
            .and_then(|v| v.as_count())
            .filter(|n| *n > 0)
            .unwrap_or(per_host * hosts.len() as u64);
        let host_list: Vec<String> = if per_host == 1 && !smddp {
            hosts.clone()
        } else {
            hosts.iter().map(|h| format!("{h}:{per_host}")).collect()
        };
        let custom = if smddp {
            "sagemaker_distributed_dataparallel_custom_mpi_options"
        } else {
            "sagemaker_mpi_custom_mpi_options"
        };
        let custom: Vec<String> = match self.framework_parameter(custom) {
            Some(crate::backend::local::pyvalue::PyValue::Str(s)) => {
                s.split_whitespace().map(String::from).collect()
            }
            _ => Vec::new(),
        };
        // `--NCCL_DEBUG X` among the custom options sets NCCL_DEBUG; the rest are passed on.
        let mut nccl_debug = "INFO".to_string();
        let mut extra = Vec::new();
        let mut words = custom.into_iter();
        while let Some(word) = words.next() {
            if word == "--NCCL_DEBUG" {
                nccl_debug = words.next().unwrap_or(nccl_debug);
            } else if let Some(value) = word.strip_prefix("--NCCL_DEBUG=") {
                nccl_debug = value.to_string();
            } else {
                extra.push(word);
            }
        }
        let mut args: Vec<String> = vec![
            "--host".into(),
            host_list.join(","),
            "-np".into(),
            num_processes.to_string(),
            "--allow-run-as-root".into(),
        ];
        if smddp {
            args.extend(["--tag-output".into(), "--oversubscribe".into()]);
        } else {
            args.extend(["--display-map".into(), "--tag-output".into()]);
        }
        let mca = |args: &mut Vec<String>, name: &str, value: &str| {
            args.extend(["-mca".into(), name.into(), value.into()]);
        };
        mca(&mut args, "btl_tcp_if_include", LOCAL_INTERFACE);
        mca(&mut args, "oob_tcp_if_include", LOCAL_INTERFACE);
        mca(&mut args, "plm_rsh_no_tree_spawn", "1");
        mca(&mut args, "plm_rsh_agent", &agent.display().to_string());
        if !smddp {
            args.extend(["-bind-to".into(), "none".into()]);
            args.extend(["-map-by".into(), "slot".into()]);
        }
        mca(&mut args, "pml", "ob1");
        mca(&mut args, "btl", "^openib");
        mca(&mut args, "orte_abort_on_non_zero_status", "1");
        mca(&mut args, "btl_vader_single_copy_mechanism", "none");
        if smddp {
            mca(
                &mut args,
                "plm_rsh_num_concurrent",
                &hosts.len().to_string(),
            );
        }
        let mut export = |name: String| args.extend(["-x".into(), name]);
        if !smddp {
            export("NCCL_MIN_NRINGS=4".into());
        }
        export(format!("NCCL_SOCKET_IFNAME={}", super::NETWORK_INTERFACE));
        export(format!("NCCL_DEBUG={nccl_debug}"));
        for name in ["LD_LIBRARY_PATH", "PATH"] {
            if std::env::var_os(name).is_some() || name == "PATH" {
                export(name.into());
            }
        }
        if smddp {
            let flag = if hosts.len() > 1 {
                "SMDATAPARALLEL_USE_HOMOGENEOUS=1"
            } else {
                "SMDATAPARALLEL_USE_SINGLENODE=1"
            };
            export(flag.into());
        }
        // Every variable of the entry point's environment, as the toolkit passes them.
        let layout = HostLayout::new(PathBuf::from(crate::backend::local::sandbox::OPT_ML));
        for (name, _) in self.environment(&layout, host, 1) {
            export(name);
        }
        args.extend(extra);
        args.push(entry.0.display().to_string());
        args.extend(entry.1);
        args
    }
}

/// `mpirun` next to `python`, else on `PATH`.
pub fn mpirun(python: &Path) -> Option<PathBuf> {
    let beside = crate::process::which(python)
        .and_then(|p| p.parent().map(|d| d.join("mpirun")))
        .filter(|p| p.is_file());
    beside.or_else(|| crate::process::which(Path::new("mpirun")))
}
