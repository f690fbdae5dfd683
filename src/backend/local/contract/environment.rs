//! What the entry point is started with, as the SageMaker training toolkit does it: the
//! config files under `input/config/`, the argv and the `SM_*` environment.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::{ChannelPlan, EntryKind, HostLayout, Launcher, LocalPlan, NETWORK_INTERFACE};
use crate::backend::local::pyvalue::{PyValue, to_cmd_args};

impl LocalPlan {
    /// Where the job's artifacts go: `<S3OutputPath>/<job>/output/`.
    pub fn artifact_dir(&self) -> PathBuf {
        self.output_root.join(&self.job).join("output")
    }

    /// The arguments the entry point receives, as the toolkit renders them.
    pub fn user_args(&self) -> Vec<String> {
        to_cmd_args(&self.user_hyperparameters)
    }

    /// The `resourceconfig.json` of `host`.
    pub fn resource_config(&self, host: &str) -> Value {
        let group = self.group_of(host);
        let groups: Vec<Value> = self
            .groups
            .iter()
            .map(|g| {
                json!({
                    "instance_group_name": g.name,
                    "instance_type": g.instance_type,
                    "hosts": g.hosts,
                })
            })
            .collect();
        json!({
            "current_host": host,
            "current_instance_type": group.instance_type,
            "current_group_name": group.name,
            "hosts": self.hosts,
            "instance_groups": groups,
            "network_interface_name": NETWORK_INTERFACE,
        })
    }

    /// The channels `host` receives: all, but those whose `InstanceGroupNames` leave out
    /// its group.
    pub fn channels_of<'a>(&'a self, host: &str) -> impl Iterator<Item = &'a ChannelPlan> {
        let group = self.group_of(host).name.clone();
        self.channels
            .iter()
            .filter(move |c| c.groups.is_empty() || c.groups.contains(&group))
    }

    /// The `inputdataconfig.json` of `host`.
    pub fn input_data_config(&self, host: &str) -> Value {
        let mut map = serde_json::Map::new();
        for c in self.channels_of(host) {
            map.insert(c.name.clone(), c.config.clone());
        }
        Value::Object(map)
    }

    /// Writes `input/config/*.json` for `host`.
    pub fn write_config(&self, layout: &HostLayout, host: &str) -> std::io::Result<()> {
        let dir = layout.input_config();
        let hps: serde_json::Map<String, Value> = self
            .raw_hyperparameters
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        // Hyperparameters may hold tokens: readable by their owner only.
        super::layout::write_private(
            &dir.join("hyperparameters.json"),
            Value::Object(hps).to_string().as_bytes(),
        )?;
        super::layout::write_private(
            &dir.join("resourceconfig.json"),
            self.resource_config(host).to_string().as_bytes(),
        )?;
        super::layout::write_private(
            &dir.join("inputdataconfig.json"),
            self.input_data_config(host).to_string().as_bytes(),
        )?;
        Ok(())
    }

    /// The program and arguments that start the entry point in `layout`'s code folder: the
    /// request's `ContainerEntrypoint` and `ContainerArguments` when it sets them.
    pub fn command(&self, layout: &HostLayout, python: &Path) -> (PathBuf, Vec<String>) {
        if let Some((program, args)) = self
            .container_command
            .as_ref()
            .and_then(|c| c.split_first())
        {
            return (PathBuf::from(program), args.to_vec());
        }
        let user_args = self.user_args();
        match self.entry_kind {
            EntryKind::Package => {
                let module = self.program.replace(".py", "");
                let mut args = vec!["-m".to_string(), module];
                args.extend(user_args);
                (python.to_path_buf(), args)
            }
            EntryKind::Program => {
                let mut args = vec![path(layout.code().join(&self.program))];
                args.extend(user_args);
                (python.to_path_buf(), args)
            }
            EntryKind::Command => {
                // As the toolkit: through the shell, so the file's shebang chooses.
                let quoted: Vec<String> = user_args
                    .iter()
                    .map(|a| crate::request::shell_quote(a))
                    .collect();
                let line = format!("./{} {}", self.program, quoted.join(" "));
                (PathBuf::from("/bin/sh"), vec!["-c".into(), line])
            }
        }
    }

    /// The environment of `host`'s process: the request's `Environment`, then every `SM_*`
    /// variable the toolkit sets.
    pub fn environment(
        &self,
        layout: &HostLayout,
        host: &str,
        num_cpus: usize,
    ) -> Vec<(String, String)> {
        let channel_dirs: Vec<(String, PyValue)> = self
            .channels_of(host)
            .map(|c| (c.name.clone(), PyValue::str(path(layout.channel(&c.name)))))
            .collect();
        let mut channel_names: Vec<String> = channel_dirs.iter().map(|(n, _)| n.clone()).collect();
        channel_names.sort();
        let hps = PyValue::Dict(self.user_hyperparameters.clone());
        let framework = PyValue::Dict(self.framework_parameters.clone());
        let shared = self.toolkit_properties(layout, host, num_cpus);

        // The properties of the toolkit's Environment, one variable each.
        let mut env = shared.clone();
        env.extend([
            ("hps".into(), hps.clone()),
            ("framework_params".into(), framework.clone()),
            ("channels".into(), PyValue::str_list(&channel_names)),
        ]);
        // SM_TRAINING_ENV: every property of the toolkit's Environment, by its name.
        let master = self.master_hostname(host);
        let mut training_env = shared;
        training_env.extend([
            ("additional_framework_parameters".into(), framework),
            (
                "channel_input_dirs".into(),
                PyValue::Dict(channel_dirs.clone()),
            ),
            (
                "distribution_hosts".into(),
                PyValue::str_list(&self.distribution_hosts(host)),
            ),
            ("hyperparameters".into(), hps),
            ("is_master".into(), PyValue::Bool(host == master)),
            ("job_name".into(), PyValue::str(&self.job)),
            ("master_hostname".into(), PyValue::str(&master)),
            // Read from `SM_HP_MP_PARAMETERS`, which the service never sets.
            ("is_modelparallel_enabled".into(), PyValue::None),
            ("is_smddpmprun_installed".into(), PyValue::Bool(false)),
            ("is_smddprun_installed".into(), PyValue::Bool(false)),
            ("topology".into(), PyValue::List(Vec::new())),
        ]);
        env.push(("training_env".into(), PyValue::Dict(training_env)));
        env.push(("user_args".into(), PyValue::str_list(&self.user_args())));
        for (name, dir) in channel_dirs {
            env.push((format!("channel_{name}"), dir));
        }
        for (key, value) in &self.user_hyperparameters {
            env.push((format!("hp_{key}"), value.clone()));
        }
        self.rendered(env, layout, host)
    }

    /// What the toolkit's Environment and `SM_TRAINING_ENV` both hold, under the same names.
    fn toolkit_properties(
        &self,
        layout: &HostLayout,
        host: &str,
        num_cpus: usize,
    ) -> Vec<(String, PyValue)> {
        let int = |n: usize| PyValue::Int(n.to_string());
        let text = |p: PathBuf| PyValue::str(path(p));
        let module_name = self.program.strip_suffix(".py").unwrap_or(&self.program);
        let group = self.group_of(host);
        let groups_dict = self
            .groups
            .iter()
            .map(|g| {
                let entry = PyValue::Dict(vec![
                    ("instance_group_name".into(), PyValue::str(&g.name)),
                    ("instance_type".into(), PyValue::str(&g.instance_type)),
                    ("hosts".into(), PyValue::str_list(&g.hosts)),
                ]);
                (g.name.clone(), entry)
            })
            .collect();
        let group_names: Vec<&str> = self.groups.iter().map(|g| g.name.as_str()).collect();
        vec![
            ("hosts".into(), PyValue::str_list(&self.hosts)),
            (
                "network_interface_name".into(),
                PyValue::str(NETWORK_INTERFACE),
            ),
            ("user_entry_point".into(), PyValue::str(&self.program)),
            (
                "resource_config".into(),
                PyValue::from(&self.resource_config(host)),
            ),
            (
                "input_data_config".into(),
                PyValue::from(&self.input_data_config(host)),
            ),
            ("output_data_dir".into(), text(layout.output_data())),
            ("current_host".into(), PyValue::str(host)),
            (
                "current_instance_type".into(),
                PyValue::str(&group.instance_type),
            ),
            ("current_instance_group".into(), PyValue::str(&group.name)),
            (
                "current_instance_group_hosts".into(),
                PyValue::str_list(&group.hosts),
            ),
            ("instance_groups".into(), PyValue::str_list(&group_names)),
            ("instance_groups_dict".into(), PyValue::Dict(groups_dict)),
            (
                "distribution_instance_groups".into(),
                PyValue::str_list(&self.distribution_instance_groups(host)),
            ),
            ("is_hetero".into(), PyValue::Bool(self.groups.len() > 1)),
            ("module_name".into(), PyValue::str(module_name)),
            ("log_level".into(), int(20)),
            ("framework_module".into(), PyValue::None),
            ("input_dir".into(), text(layout.input())),
            ("input_config_dir".into(), text(layout.input_config())),
            ("output_dir".into(), text(layout.output())),
            ("num_cpus".into(), int(num_cpus)),
            ("num_gpus".into(), int(0)),
            ("num_neurons".into(), int(0)),
            ("model_dir".into(), text(layout.model())),
            ("module_dir".into(), PyValue::str(&self.submit_uri)),
            (
                "output_intermediate_dir".into(),
                text(layout.output_intermediate()),
            ),
        ]
    }

    /// The process's variables: the request's `Environment`, the job's names, then each
    /// property as `SM_<NAME>` (strings bare, everything else as JSON).
    fn rendered(
        &self,
        properties: Vec<(String, PyValue)>,
        layout: &HostLayout,
        host: &str,
    ) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = vec![("PYTHONUNBUFFERED".into(), "TRUE".into())];
        out.extend(self.environment.iter().cloned());
        if self.container_command.is_none() {
            // The toolkit puts the code folder first on the script's path.
            let mut search = vec![path(layout.code())];
            search.extend(
                self.environment
                    .iter()
                    .filter(|(k, v)| k == "PYTHONPATH" && !v.is_empty())
                    .map(|(_, v)| v.clone()),
            );
            out.retain(|(k, _)| k != "PYTHONPATH");
            out.push(("PYTHONPATH".into(), search.join(":")));
        }
        let launcher = self.launcher_of(host);
        if launcher != Launcher::Process {
            // What the PyTorch toolkit sets for a distribution, over the request's own.
            let mut set = vec![
                ("MASTER_ADDR", self.master_hostname(host)),
                ("MASTER_PORT", super::MASTER_PORT.to_string()),
                ("NCCL_SOCKET_IFNAME", NETWORK_INTERFACE.to_string()),
                ("NCCL_IB_DISABLE", "1".to_string()),
                ("NCCL_DEBUG", "WARN".to_string()),
            ];
            if launcher == Launcher::Torchrun {
                set.push(("NCCL_PROTO", "simple".to_string()));
            }
            for (key, value) in set {
                out.retain(|(k, _)| k != key);
                out.push((key.into(), value));
            }
        }
        out.push(("TRAINING_JOB_NAME".into(), self.job.clone()));
        out.push((
            "TRAINING_JOB_ARN".into(),
            crate::backend::local::arn(&self.job),
        ));
        out.push(("SAGEMAKER_BASE_DIR".into(), path(layout.root.clone())));
        out.push(("SM_CURRENT_HOST".into(), host.into()));
        for (key, value) in properties {
            let text = match value {
                PyValue::Str(s) => s,
                PyValue::None => String::new(),
                other => other.to_json(),
            };
            out.push((format!("SM_{}", key.to_uppercase()), text));
        }
        out
    }
}

fn path(p: PathBuf) -> String {
    p.display().to_string()
}

/// The variables through which SageDesk's own AWS credentials reach a process. A job does
/// not inherit them (the service's containers get the job's role, never the submitter's
/// keys) unless its `Environment` sets them; SageDesk itself still reads S3 channels with
/// them.
const CREDENTIALS: [&str; 15] = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    // The older names some SDKs and tools still read.
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_ROLE_SESSION_NAME",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// The files where the SDKs look for keys, profiles, SSO and credential processes.
const CREDENTIAL_FILES: [&str; 2] = ["AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"];

/// What a job keeps of the desktop's variables: who and where the user is, the locale,
/// the GPU libraries and the way out to the network (proxies, certificates, package
/// indexes), as a container's image would set them. Nothing else: not SageDesk's AWS
/// credentials or settings, nor the user's own SDK settings, virtual environment or
/// `PYTHONPATH`.
const INHERITED: &[&str] = &[
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "LD_LIBRARY_PATH",
    "CUDA_HOME",
    "CUDA_PATH",
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_TRUSTED_HOST",
    "PIP_CERT",
    "XDG_CACHE_HOME",
    "XDG_CONFIG_HOME",
];

/// The whole environment of a host's process: the desktop's [`INHERITED`] variables (and
/// `LC_*`), `PATH` with the job's `bin` (its interpreter's shims) and the interpreter's own
/// folder first, `LANG` when unset, the credential files pointed at nothing, then
/// `environment` (the job's own variables), which wins.
pub fn container_environment(
    environment: &[(String, String)],
    bin: &Path,
    python: &Path,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| INHERITED.contains(&k.as_str()) || k.starts_with("LC_"))
        .collect();
    if !out.iter().any(|(k, _)| k == "LANG") {
        out.push(("LANG".into(), "C.UTF-8".into()));
    }
    let mut path = vec![bin.to_path_buf()];
    if let Some(dir) = crate::process::which(python).and_then(|p| p.parent().map(Path::to_path_buf))
    {
        path.push(dir);
    }
    let desktop = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    path.extend(std::env::split_paths(&desktop));
    if let Ok(joined) = std::env::join_paths(path) {
        out.push(("PATH".into(), joined.to_string_lossy().into_owned()));
    }
    for key in CREDENTIAL_FILES {
        out.push((key.into(), "/dev/null".into()));
    }
    for (key, value) in environment {
        out.retain(|(k, _)| k != key);
        out.push((key.clone(), value.clone()));
    }
    out
}

/// Keeps SageDesk's AWS credentials from a job's process: their variables removed and the
/// SDKs' credential and config files pointed at nothing, each unless `environment` (the
/// process's own variables) sets it.
pub fn withhold_credentials(
    command: &mut tokio::process::Command,
    environment: &[(String, String)],
) {
    let set = |key: &str| environment.iter().any(|(k, _)| k == key);
    for key in CREDENTIALS.iter().filter(|k| !set(k)) {
        command.env_remove(key);
    }
    for key in CREDENTIAL_FILES.iter().filter(|k| !set(k)) {
        command.env(key, "/dev/null");
    }
}
