//! The SageMaker training-container contract, kept on this machine: the `/opt/ml` tree
//! per host, the config files, the `SM_*` environment and the entry point's argv.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::pyvalue::{PyValue, to_cmd_args};
use crate::backend::BackendError;
use crate::spec::validate::Diagnostic;
use crate::spec::{self, TrainingJobRequest};

/// Hyperparameters the toolkit reserves for itself; other `sagemaker_*` ones are
/// "additional framework parameters".
const RESERVED: &[&str] = &[
    spec::PROGRAM,
    spec::SUBMIT_DIRECTORY,
    "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "sagemaker_region",
    "sagemaker_s3_output",
];

const GROUP: &str = "homogeneousCluster";
const DEFAULT_INSTANCE_TYPE: &str = "local";

/// What local mode needs to know to run a request, checked before anything starts.
#[derive(Debug, Clone)]
pub struct LocalPlan {
    /// `TrainingJobName`.
    pub job: String,
    /// `algo-1` .. `algo-N`.
    pub hosts: Vec<String>,
    /// `ResourceConfig.InstanceType`.
    pub instance_type: String,
    /// The entry point, relative to the code folder.
    pub program: String,
    /// The submit directory as given (for `SM_MODULE_DIR`).
    pub submit_uri: String,
    /// The submit folder or `.tar.gz` on this machine.
    pub submit_path: PathBuf,
    /// Raw hyperparameters, for `hyperparameters.json`.
    pub raw_hyperparameters: Vec<(String, String)>,
    /// The user's hyperparameters, JSON-decoded.
    pub user_hyperparameters: Vec<(String, PyValue)>,
    /// `sagemaker_*` hyperparameters that are not reserved.
    pub framework_parameters: Vec<(String, PyValue)>,
    /// Input channels.
    pub channels: Vec<ChannelPlan>,
    /// `Environment` of the request.
    pub environment: Vec<(String, String)>,
    /// Folder that `S3OutputPath` names on this machine.
    pub output_root: PathBuf,
    /// `StoppingCondition.MaxRuntimeInSeconds`.
    pub max_runtime: Option<Duration>,
}

/// One input channel read from a `file://` URI.
#[derive(Debug, Clone)]
pub struct ChannelPlan {
    /// `ChannelName`.
    pub name: String,
    /// The file or folder on this machine (for an `s3://` channel, where it is downloaded).
    pub source: PathBuf,
    /// The `s3://` prefix to download into `source` before the job starts, if any.
    pub s3_uri: Option<String>,
    /// `ShardedByS3Key`.
    pub sharded: bool,
    /// The entry of `inputdataconfig.json`.
    pub config: Value,
}

/// The `/opt/ml` tree of one host.
#[derive(Debug, Clone)]
pub struct HostLayout {
    /// The folder that stands for `/opt/ml`.
    pub root: PathBuf,
}

impl HostLayout {
    /// The tree under `root`.
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }
    /// `input/`.
    pub fn input(&self) -> PathBuf {
        self.root.join("input")
    }
    /// `input/config/`.
    pub fn input_config(&self) -> PathBuf {
        self.root.join("input/config")
    }
    /// `input/data/<channel>/`.
    pub fn channel(&self, name: &str) -> PathBuf {
        self.root.join("input/data").join(name)
    }
    /// `code/`.
    pub fn code(&self) -> PathBuf {
        self.root.join("code")
    }
    /// `model/`.
    pub fn model(&self) -> PathBuf {
        self.root.join("model")
    }
    /// `output/`.
    pub fn output(&self) -> PathBuf {
        self.root.join("output")
    }
    /// `output/data/`.
    pub fn output_data(&self) -> PathBuf {
        self.root.join("output/data")
    }
    /// `output/intermediate/`.
    pub fn output_intermediate(&self) -> PathBuf {
        self.root.join("output/intermediate")
    }
    /// `output/failure`.
    pub fn failure_file(&self) -> PathBuf {
        self.root.join("output/failure")
    }
    /// `checkpoints/`.
    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    /// Creates the empty tree.
    pub fn create(&self) -> std::io::Result<()> {
        for dir in [
            self.input_config(),
            self.root.join("input/data"),
            self.code(),
            self.model(),
            self.output_data(),
            self.output_intermediate(),
            self.checkpoints(),
        ] {
            std::fs::create_dir_all(dir)?;
        }
        Ok(())
    }
}

/// What local mode needs, said when a request has no entry point.
const LOCAL_MODE_NEEDS: &str = "local mode runs script-mode jobs: set HyperParameters.sagemaker_program \
to the entry point (for example \"train.py\") and HyperParameters.sagemaker_submit_directory to a \
file:// folder or .tar.gz that holds it";

/// A hyperparameter's string, unwrapping the JSON encoding the SageMaker Python SDK adds.
fn unquoted(raw: &str) -> String {
    serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string())
}

/// The path of a `file://` URI, or an error naming the member for any other scheme.
pub fn file_uri_path(uri: &str, member: &str) -> Result<PathBuf, BackendError> {
    local_path(uri).map_err(|d| {
        let code = if d.code == UNSUPPORTED {
            "UnsupportedLocally"
        } else {
            "ValidationException"
        };
        BackendError::new(code, format!("{member}: {}", d.message))
    })
}

const UNSUPPORTED: &str = "local_unsupported";

fn local_path(uri: &str) -> Result<PathBuf, Diagnostic> {
    if let Some(path) = uri.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(Diagnostic::error(
                "",
                "local_uri",
                format!(
                    "{uri:?} is a relative file:// URI; use an absolute path (relative paths are \
                     resolved only when the job is read from a file)"
                ),
            ));
        }
        return Ok(PathBuf::from(path));
    }
    if uri.starts_with("s3://") || uri.starts_with("https://") {
        return Err(Diagnostic::error(
            "",
            UNSUPPORTED,
            format!(
                "{uri} is an S3 location; here local mode needs a file:// path (input channels \
                 may be s3:// prefixes, downloaded when the job starts)"
            ),
        ));
    }
    if uri.starts_with('/') {
        return Ok(PathBuf::from(uri));
    }
    Err(Diagnostic::error(
        "",
        "local_uri",
        format!("{uri:?} must be a file:// URI in local mode"),
    ))
}

/// Collects the problems of one request.
struct Problems(Vec<Diagnostic>);

impl Problems {
    fn error(&mut self, path: impl Into<String>, code: &'static str, message: impl Into<String>) {
        self.0.push(Diagnostic::error(path, code, message));
    }

    /// The path of a `file://` URI at `member`, or a problem recorded there.
    fn path(&mut self, uri: &str, member: &str) -> Option<PathBuf> {
        match local_path(uri) {
            Ok(p) => Some(p),
            Err(mut d) => {
                d.path = member.to_string();
                self.0.push(d);
                None
            }
        }
    }

    /// Checks that `path` exists, recording a problem at `member` if not.
    fn existing(&mut self, path: PathBuf, member: &str) -> Option<PathBuf> {
        if path.exists() {
            Some(path)
        } else {
            self.error(
                member,
                "local_missing",
                format!("{} does not exist", path.display()),
            );
            None
        }
    }
}

/// Whether a folder could be created at `path`: its nearest existing ancestor is a writable folder.
fn writable(path: &Path) -> bool {
    let mut p = Some(path);
    while let Some(dir) = p {
        if dir.exists() {
            let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
                return false;
            };
            // SAFETY: `c` is a valid NUL-terminated path.
            return dir.is_dir() && unsafe { libc::access(c.as_ptr(), libc::W_OK) == 0 };
        }
        p = dir.parent();
    }
    false
}

/// Everything local mode cannot run in `request` (errors) and what it ignores (warnings).
pub fn local_diagnostics(value: &Value) -> Vec<Diagnostic> {
    let Ok(imported) = spec::request_from_value(value.clone(), "request") else {
        // Wrong member types are reported by the model check.
        return Vec::new();
    };
    let request = &imported.request;
    let mut out = LocalPlan::analyze(request, None).1;
    out.extend(ignored_locally(request));
    out
}

/// Members the service acts on that local mode leaves aside.
fn ignored_locally(request: &TrainingJobRequest) -> Vec<Diagnostic> {
    let value = request.to_value();
    // A member counts when it is set: `false` flags and empty strings ask for nothing.
    let present = |path: &str| {
        crate::spec::validate::get(&value, path)
            .is_some_and(|v| v != &Value::Bool(false) && v != &Value::String(String::new()))
    };
    let mut out = Vec::new();
    for (path, what) in [
        ("VpcConfig", "there is no VPC on this machine"),
        (
            "EnableNetworkIsolation",
            "the job has this machine's network",
        ),
        (
            "EnableInterContainerTrafficEncryption",
            "hosts talk over this machine",
        ),
        (
            "EnableManagedSpotTraining",
            "there are no spot instances locally",
        ),
        (
            "CheckpointConfig.S3Uri",
            "checkpoints stay in the job folder's checkpoints/",
        ),
        (
            "OutputDataConfig.KmsKeyId",
            "artifacts are written unencrypted",
        ),
        (
            "ResourceConfig.VolumeKmsKeyId",
            "there is no ML storage volume",
        ),
        (
            "AlgorithmSpecification.ContainerEntrypoint",
            "script mode starts the entry point itself",
        ),
        (
            "AlgorithmSpecification.ContainerArguments",
            "script mode passes hyperparameters as arguments",
        ),
        ("DebugHookConfig", "Debugger does not run locally"),
        (
            "DebugRuleConfigurations",
            "Debugger rules do not run locally",
        ),
        ("ProfilerConfig", "the profiler does not run locally"),
        (
            "ProfilerRuleConfigurations",
            "profiler rules do not run locally",
        ),
        (
            "TensorBoardOutputConfig",
            "TensorBoard output is not uploaded",
        ),
        ("RetryStrategy", "a failed local job is not retried"),
        ("RemoteDebugConfig", "remote debugging is for AWS instances"),
    ] {
        if present(path) {
            out.push(Diagnostic::warning(
                path,
                "local_ignored",
                format!("ignored in local mode: {what}"),
            ));
        }
    }
    out
}

impl LocalPlan {
    /// Checks that local mode can run `request` and works out what it will do.
    /// `default_output` is used when the request has no `S3OutputPath`.
    pub fn from_request(
        request: &TrainingJobRequest,
        default_output: &Path,
    ) -> Result<LocalPlan, BackendError> {
        let (plan, problems) = Self::analyze(request, Some(default_output));
        match plan {
            Some(plan) if problems.is_empty() => Ok(plan),
            _ => {
                let code = if problems.iter().any(|d| d.code == UNSUPPORTED) {
                    "UnsupportedLocally"
                } else {
                    "ValidationException"
                };
                let message: Vec<String> = problems
                    .iter()
                    .map(|d| format!("{}: {}", d.path, d.message))
                    .collect();
                Err(BackendError::new(code, message.join("; ")))
            }
        }
    }

    /// The plan, when nothing stops it, and every problem found on the way.
    /// Without `default_output` a missing `S3OutputPath` is not checked.
    fn analyze(
        request: &TrainingJobRequest,
        default_output: Option<&Path>,
    ) -> (Option<LocalPlan>, Vec<Diagnostic>) {
        let mut p = Problems(Vec::new());
        let job = request.name().to_string();
        if !spec::is_valid_job_name(&job) {
            p.error(
                "TrainingJobName",
                "local_name",
                format!(
                    "{job:?} must be 1 to 63 letters, digits or hyphens, starting and ending with a \
                     letter or digit"
                ),
            );
        }
        let hps = request.hyper_parameters.clone().unwrap_or_default();
        let program_member = format!("HyperParameters.{}", spec::PROGRAM);
        let submit_member = format!("HyperParameters.{}", spec::SUBMIT_DIRECTORY);
        let program = hps
            .get(spec::PROGRAM)
            .map(|v| unquoted(v))
            .filter(|v| !v.is_empty());
        let submit_uri = hps
            .get(spec::SUBMIT_DIRECTORY)
            .map(|v| unquoted(v))
            .filter(|v| !v.is_empty());
        if program.is_none() {
            p.error(&program_member, "local_script_mode", LOCAL_MODE_NEEDS);
        } else if submit_uri.is_none() {
            p.error(
                &submit_member,
                "local_script_mode",
                "local mode needs the folder or .tar.gz that holds the entry point, as a file:// URI",
            );
        }
        let submit_path = submit_uri
            .as_deref()
            .and_then(|uri| p.path(uri, &submit_member))
            .and_then(|path| p.existing(path, &submit_member));
        if let Some(program) = &program
            && Path::new(program)
                .components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            p.error(
                &program_member,
                "local_program",
                format!("{program:?} must be a path inside the submit directory"),
            );
        } else if let (Some(dir), Some(program)) = (&submit_path, &program)
            && dir.is_dir()
            && !dir.join(program).is_file()
        {
            p.error(
                &program_member,
                "local_program",
                format!("{program:?} is not a file in {}", dir.display()),
            );
        }

        let algorithm = request.algorithm_specification.clone().unwrap_or_default();
        let job_mode = algorithm
            .training_input_mode
            .clone()
            .unwrap_or_else(|| "File".into());
        if job_mode == "Pipe" {
            p.error(
                "AlgorithmSpecification.TrainingInputMode",
                UNSUPPORTED,
                "Pipe mode is not available locally; use File or FastFile",
            );
        }

        let resources = request.resource_config.clone().unwrap_or_default();
        if resources
            .instance_groups
            .as_ref()
            .is_some_and(|g| !g.is_empty())
        {
            p.error(
                "ResourceConfig.InstanceGroups",
                UNSUPPORTED,
                "heterogeneous clusters are not available locally",
            );
        }
        let count = resources.instance_count.unwrap_or(1);
        if !(1..=64).contains(&count) {
            p.error(
                "ResourceConfig.InstanceCount",
                "local_instances",
                format!("{count} hosts; local mode runs 1 to 64"),
            );
        }
        let hosts: Vec<String> = (1..=count.clamp(1, 64))
            .map(|i| format!("algo-{i}"))
            .collect();

        let mut channels = Vec::new();
        for (i, channel) in request.channels().iter().enumerate() {
            let member = format!("InputDataConfig[{i}]");
            let name = channel.channel_name.clone().unwrap_or_default();
            let safe = !name.is_empty()
                && name != "."
                && name != ".."
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
            if !safe {
                p.error(
                    format!("{member}.ChannelName"),
                    "local_channel",
                    format!(
                        "{name:?} cannot name a channel folder: use letters, digits, '.', '-' and '_'"
                    ),
                );
                continue;
            }
            let source = channel.data_source.clone().unwrap_or_default();
            if source.file_system_data_source.is_some() {
                p.error(
                    format!("{member}.DataSource.FileSystemDataSource"),
                    UNSUPPORTED,
                    "EFS and FSx channels are not available locally; use a file:// S3Uri",
                );
                continue;
            }
            let s3 = source.s3_data_source.unwrap_or_default();
            let data_type = s3.s3_data_type.clone().unwrap_or_else(|| "S3Prefix".into());
            if data_type != "S3Prefix" {
                p.error(
                    format!("{member}.DataSource.S3DataSource.S3DataType"),
                    UNSUPPORTED,
                    format!("{data_type} is not available locally; use S3Prefix"),
                );
            }
            let mode = channel
                .input_mode
                .clone()
                .unwrap_or_else(|| job_mode.clone());
            if mode == "Pipe" && channel.input_mode.is_some() {
                p.error(
                    format!("{member}.InputMode"),
                    UNSUPPORTED,
                    "Pipe mode is not available locally; use File or FastFile",
                );
            }
            let uri_member = format!("{member}.DataSource.S3DataSource.S3Uri");
            let uri = s3.s3_uri.as_deref().unwrap_or_default();
            let (path, s3_uri) = if uri.starts_with("s3://") {
                // Downloaded (File mode) with the local AWS credentials when the job starts.
                if let Err(e) = crate::backend::s3::S3Uri::parse(uri, &uri_member) {
                    p.error(&uri_member, "local_uri", e.message);
                    continue;
                }
                (PathBuf::new(), Some(uri.to_string()))
            } else {
                let Some(path) = p
                    .path(uri, &uri_member)
                    .and_then(|path| p.existing(path, &uri_member))
                else {
                    continue;
                };
                (path, None)
            };
            let distribution = s3
                .s3_data_distribution_type
                .clone()
                .unwrap_or_else(|| "FullyReplicated".into());
            let mut config = json!({
                "TrainingInputMode": mode,
                "S3DistributionType": distribution,
                "RecordWrapperType": channel.record_wrapper_type.clone().unwrap_or_else(|| "None".into()),
            });
            if let Some(ct) = &channel.content_type {
                config["ContentType"] = json!(ct);
            }
            if let Some(ct) = &channel.compression_type {
                config["CompressionType"] = json!(ct);
            }
            channels.push(ChannelPlan {
                name,
                source: path,
                s3_uri,
                sharded: distribution == "ShardedByS3Key",
                config,
            });
        }

        let output_member = "OutputDataConfig.S3OutputPath";
        let output_root = match request
            .output_data_config
            .as_ref()
            .and_then(|o| o.s3_output_path.as_deref())
        {
            Some(uri) => p.path(uri, output_member),
            None => default_output.map(Path::to_path_buf),
        };
        if let Some(root) = &output_root
            && !writable(root)
        {
            p.error(
                output_member,
                "local_output",
                format!("{} cannot be written", root.display()),
            );
        }

        let mut user_hyperparameters = Vec::new();
        let mut framework_parameters = Vec::new();
        for (key, raw) in &hps {
            let value = PyValue::decode_hyperparameter(raw);
            if key.starts_with("sagemaker_") {
                if !RESERVED.contains(&key.as_str()) {
                    framework_parameters.push((key.clone(), value));
                }
            } else {
                user_hyperparameters.push((key.clone(), value));
            }
        }

        let problems = p.0;
        let (Some(program), Some(submit_uri), Some(submit_path), Some(output_root)) =
            (program, submit_uri, submit_path, output_root)
        else {
            return (None, problems);
        };
        let plan = LocalPlan {
            job,
            hosts,
            instance_type: resources
                .instance_type
                .unwrap_or_else(|| DEFAULT_INSTANCE_TYPE.into()),
            program,
            submit_uri,
            submit_path,
            raw_hyperparameters: hps.into_iter().collect(),
            user_hyperparameters,
            framework_parameters,
            channels,
            environment: request
                .environment
                .clone()
                .unwrap_or_default()
                .into_iter()
                .collect(),
            output_root,
            max_runtime: request
                .stopping_condition
                .as_ref()
                .and_then(|s| s.max_runtime_in_seconds)
                .filter(|s| *s > 0)
                .map(|s| Duration::from_secs(s as u64)),
        };
        let mut problems = problems;
        if let Some(problem) = plan.exec_size_problem() {
            problems.push(problem);
        }
        (Some(plan), problems)
    }

    /// An error when the entry point's arguments and environment would not fit in what
    /// this system lets one process start with (`execve`'s limits), which hyperparameters
    /// and `Environment` values, repeated in `SM_HPS`, `SM_HP_*` and `SM_TRAINING_ENV`,
    /// can exceed.
    fn exec_size_problem(&self) -> Option<Diagnostic> {
        // The kernel's limit on one argument or variable (MAX_ARG_STRLEN, 32 pages).
        const MAX_STRING: usize = 32 * 4096;
        let layout = HostLayout::new(PathBuf::from("/opt/ml"));
        let host = self.hosts.first().map_or("algo-1", String::as_str);
        let (_, args) = self.command(&layout, Path::new("python3"));
        let env = self.environment(&layout, host, 1);
        let strings = args
            .iter()
            .map(String::len)
            .chain(env.iter().map(|(k, v)| k.len() + v.len() + 1));
        let (mut total, mut longest) = (0usize, 0usize);
        for len in strings {
            total += len + 1 + std::mem::size_of::<usize>();
            longest = longest.max(len);
        }
        // SAFETY: sysconf only reads a system setting.
        let arg_max = unsafe { libc::sysconf(libc::_SC_ARG_MAX) };
        let arg_max = if arg_max > 0 {
            arg_max as usize
        } else {
            128 * 1024
        };
        let inherited: usize = std::env::vars_os()
            .map(|(k, v)| k.len() + v.len() + 2 + std::mem::size_of::<usize>())
            .sum();
        let budget = arg_max.saturating_sub(inherited + 4096);
        let count = self.raw_hyperparameters.len();
        if longest > MAX_STRING {
            Some(Diagnostic::error(
                "HyperParameters",
                "too_large_locally",
                format!(
                    "{count} hyperparameters and the Environment make one variable of {longest} \
                     bytes (SM_HPS or SM_TRAINING_ENV repeat them all), over the {MAX_STRING} \
                     bytes a process may be given one variable; use fewer or shorter ones, or \
                     pass large settings in a file in an input channel"
                ),
            ))
        } else if total > budget {
            Some(Diagnostic::error(
                "HyperParameters",
                "too_large_locally",
                format!(
                    "{count} hyperparameters and the Environment make {total} bytes of arguments \
                     and environment, over the {budget} bytes this system lets a process start \
                     with; use fewer or shorter ones, or pass large settings in a file in an \
                     input channel"
                ),
            ))
        } else {
            None
        }
    }

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
        json!({
            "current_host": host,
            "current_instance_type": self.instance_type,
            "current_group_name": GROUP,
            "hosts": self.hosts,
            "instance_groups": [{
                "instance_group_name": GROUP,
                "instance_type": self.instance_type,
                "hosts": self.hosts,
            }],
            "network_interface_name": "eth0",
        })
    }

    /// The `inputdataconfig.json` of the job.
    pub fn input_data_config(&self) -> Value {
        let mut map = serde_json::Map::new();
        for c in &self.channels {
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
        std::fs::write(
            dir.join("hyperparameters.json"),
            Value::Object(hps).to_string(),
        )?;
        std::fs::write(
            dir.join("resourceconfig.json"),
            self.resource_config(host).to_string(),
        )?;
        std::fs::write(
            dir.join("inputdataconfig.json"),
            self.input_data_config().to_string(),
        )?;
        Ok(())
    }

    /// The program and arguments that start the entry point in `layout`'s code folder.
    pub fn command(&self, layout: &HostLayout, python: &Path) -> (PathBuf, Vec<String>) {
        let entry = layout.code().join(&self.program);
        let entry_str = entry.display().to_string();
        let mut args = Vec::new();
        let program = if self.program.ends_with(".py") {
            args.push(entry_str);
            python.to_path_buf()
        } else if self.program.ends_with(".sh") {
            args.push(entry_str);
            PathBuf::from("/bin/sh")
        } else {
            entry
        };
        args.extend(self.user_args());
        (program, args)
    }

    /// The environment of `host`'s process: the request's `Environment`, then every `SM_*`
    /// variable the toolkit sets.
    pub fn environment(
        &self,
        layout: &HostLayout,
        host: &str,
        num_cpus: usize,
    ) -> Vec<(String, String)> {
        let path = |p: PathBuf| p.display().to_string();
        let channel_dirs: Vec<(String, PyValue)> = self
            .channels
            .iter()
            .map(|c| (c.name.clone(), PyValue::str(path(layout.channel(&c.name)))))
            .collect();
        let mut channel_names: Vec<String> = self.channels.iter().map(|c| c.name.clone()).collect();
        channel_names.sort();
        let module_name = self
            .program
            .strip_suffix(".py")
            .unwrap_or(&self.program)
            .to_string();
        let group = PyValue::Dict(vec![
            ("instance_group_name".into(), PyValue::str(GROUP)),
            ("instance_type".into(), PyValue::str(&self.instance_type)),
            ("hosts".into(), PyValue::str_list(&self.hosts)),
        ]);
        let resource_config = PyValue::from(&self.resource_config(host));
        let input_data_config = PyValue::from(&self.input_data_config());
        let hps = PyValue::Dict(self.user_hyperparameters.clone());
        let framework = PyValue::Dict(self.framework_parameters.clone());
        let user_args = PyValue::str_list(&self.user_args());
        let int = |n: usize| PyValue::Int(n.to_string());

        // The properties of the toolkit's Environment, which SM_TRAINING_ENV holds whole.
        let mut env: Vec<(String, PyValue)> = vec![
            ("hosts".into(), PyValue::str_list(&self.hosts)),
            ("network_interface_name".into(), PyValue::str("eth0")),
            ("hps".into(), hps.clone()),
            ("user_entry_point".into(), PyValue::str(&self.program)),
            ("framework_params".into(), framework.clone()),
            ("resource_config".into(), resource_config.clone()),
            ("input_data_config".into(), input_data_config.clone()),
            (
                "output_data_dir".into(),
                PyValue::str(path(layout.output_data())),
            ),
            ("channels".into(), PyValue::str_list(&channel_names)),
            ("current_host".into(), PyValue::str(host)),
            (
                "current_instance_type".into(),
                PyValue::str(&self.instance_type),
            ),
            ("current_instance_group".into(), PyValue::str(GROUP)),
            (
                "current_instance_group_hosts".into(),
                PyValue::str_list(&self.hosts),
            ),
            ("instance_groups".into(), PyValue::str_list(&[GROUP])),
            (
                "instance_groups_dict".into(),
                PyValue::Dict(vec![(GROUP.into(), group)]),
            ),
            ("distribution_instance_groups".into(), PyValue::List(vec![])),
            ("is_hetero".into(), PyValue::Bool(false)),
            ("module_name".into(), PyValue::str(&module_name)),
            ("log_level".into(), int(20)),
            ("framework_module".into(), PyValue::None),
            ("input_dir".into(), PyValue::str(path(layout.input()))),
            (
                "input_config_dir".into(),
                PyValue::str(path(layout.input_config())),
            ),
            ("output_dir".into(), PyValue::str(path(layout.output()))),
            ("num_cpus".into(), int(num_cpus)),
            ("num_gpus".into(), int(0)),
            ("num_neurons".into(), int(0)),
            ("model_dir".into(), PyValue::str(path(layout.model()))),
            ("module_dir".into(), PyValue::str(&self.submit_uri)),
            (
                "output_intermediate_dir".into(),
                PyValue::str(path(layout.output_intermediate())),
            ),
        ];
        let training_env = PyValue::Dict(vec![
            ("additional_framework_parameters".into(), framework),
            (
                "channel_input_dirs".into(),
                PyValue::Dict(channel_dirs.clone()),
            ),
            ("current_host".into(), PyValue::str(host)),
            ("current_instance_group".into(), PyValue::str(GROUP)),
            (
                "current_instance_group_hosts".into(),
                PyValue::str_list(&self.hosts),
            ),
            (
                "current_instance_type".into(),
                PyValue::str(&self.instance_type),
            ),
            ("distribution_hosts".into(), PyValue::List(vec![])),
            ("distribution_instance_groups".into(), PyValue::List(vec![])),
            ("framework_module".into(), PyValue::None),
            ("hosts".into(), PyValue::str_list(&self.hosts)),
            ("hyperparameters".into(), hps),
            (
                "input_config_dir".into(),
                PyValue::str(path(layout.input_config())),
            ),
            ("input_data_config".into(), input_data_config),
            ("input_dir".into(), PyValue::str(path(layout.input()))),
            ("instance_groups".into(), PyValue::str_list(&[GROUP])),
            ("is_hetero".into(), PyValue::Bool(false)),
            ("is_master".into(), PyValue::Bool(host == self.hosts[0])),
            ("job_name".into(), PyValue::str(&self.job)),
            ("log_level".into(), int(20)),
            ("master_hostname".into(), PyValue::str(&self.hosts[0])),
            ("model_dir".into(), PyValue::str(path(layout.model()))),
            ("module_dir".into(), PyValue::str(&self.submit_uri)),
            ("module_name".into(), PyValue::str(&module_name)),
            ("network_interface_name".into(), PyValue::str("eth0")),
            ("num_cpus".into(), int(num_cpus)),
            ("num_gpus".into(), int(0)),
            ("num_neurons".into(), int(0)),
            (
                "output_data_dir".into(),
                PyValue::str(path(layout.output_data())),
            ),
            ("output_dir".into(), PyValue::str(path(layout.output()))),
            (
                "output_intermediate_dir".into(),
                PyValue::str(path(layout.output_intermediate())),
            ),
            ("resource_config".into(), resource_config),
            ("user_entry_point".into(), PyValue::str(&self.program)),
        ]);
        env.push(("training_env".into(), training_env));
        env.push(("user_args".into(), user_args));
        for (name, dir) in channel_dirs {
            env.push((format!("channel_{name}"), dir));
        }
        for (key, value) in &self.user_hyperparameters {
            env.push((format!("hp_{key}"), value.clone()));
        }

        let mut out: Vec<(String, String)> = vec![("PYTHONUNBUFFERED".into(), "TRUE".into())];
        out.extend(self.environment.iter().cloned());
        out.push(("TRAINING_JOB_NAME".into(), self.job.clone()));
        out.push(("TRAINING_JOB_ARN".into(), super::arn(&self.job)));
        out.push(("SAGEMAKER_BASE_DIR".into(), path(layout.root.clone())));
        out.push(("SM_CURRENT_HOST".into(), host.into()));
        for (key, value) in env {
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

/// Copies the files of each channel into every host's `input/data/<channel>`, splitting
/// them between hosts for `ShardedByS3Key`. The job gets its own copies (reflinks where the
/// file system shares blocks), never the user's files: a script that writes to its input
/// cannot change them. `progress(done, total)` is called in bytes as copying goes.
pub fn stage_channels(
    plan: &LocalPlan,
    layouts: &[HostLayout],
    progress: &mut dyn FnMut(u64, u64),
) -> std::io::Result<u64> {
    let mut copies = Vec::new();
    for channel in &plan.channels {
        let files = list_files(&channel.source)?;
        for layout in layouts {
            std::fs::create_dir_all(layout.channel(&channel.name))?;
        }
        for (i, (abs, rel)) in files.into_iter().enumerate() {
            let targets: Vec<&HostLayout> = if channel.sharded {
                vec![&layouts[i % layouts.len()]]
            } else {
                layouts.iter().collect()
            };
            for layout in targets {
                copies.push((abs.clone(), layout.channel(&channel.name).join(&rel)));
            }
        }
    }
    let mut total = 0;
    for (src, _) in &copies {
        total += std::fs::metadata(src)?.len();
    }
    let mut done = 0;
    progress(0, total);
    for (src, dest) in &copies {
        copy_file(src, dest, &mut |n| {
            done += n;
            progress(done, total.max(done));
        })?;
    }
    Ok(done)
}

/// Puts the submit folder (copied) or archive (unpacked) into `layout`'s `code/`.
pub fn stage_code(plan: &LocalPlan, layout: &HostLayout) -> std::io::Result<()> {
    if plan.submit_path.is_dir() {
        for (abs, rel) in list_files(&plan.submit_path)? {
            let dest = layout.code().join(rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::copy(&abs, &dest)?;
        }
    } else {
        crate::backend::archive::unpack_tar_gz(&plan.submit_path, &layout.code())?;
    }
    let entry = layout.code().join(&plan.program);
    if !entry.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!(
                "HyperParameters.{}: {:?} is not in {}",
                spec::PROGRAM,
                plan.program,
                plan.submit_path.display()
            ),
        ));
    }
    if !plan.program.ends_with(".py") && !plan.program.ends_with(".sh") {
        use std::os::unix::fs::PermissionsExt;
        let mut perms = std::fs::metadata(&entry)?.permissions();
        perms.set_mode(perms.mode() | 0o755);
        std::fs::set_permissions(&entry, perms)?;
    }
    Ok(())
}

/// Every regular file under `source` (or `source` itself), with its path relative to it,
/// sorted by that path as S3 lists keys.
pub(crate) fn list_files(source: &Path) -> std::io::Result<Vec<(PathBuf, PathBuf)>> {
    let mut out = Vec::new();
    if source.is_file() {
        let name = source.file_name().map(PathBuf::from).unwrap_or_default();
        out.push((source.to_path_buf(), name));
        return Ok(out);
    }
    let mut stack = vec![source.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let meta = std::fs::metadata(&path)?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let rel = path.strip_prefix(source).unwrap_or(&path).to_path_buf();
                out.push((path, rel));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Bytes copied between progress reports.
const COPY_CHUNK: u64 = 8 << 20;

/// Copies `src` to a new file `dest`: a reflink where the file system supports one, else in
/// chunks (with `copy_file_range` where available), calling `copied` after each.
pub(crate) fn copy_file(
    src: &Path,
    dest: &Path,
    copied: &mut dyn FnMut(u64),
) -> std::io::Result<u64> {
    use std::io::Read;
    use std::os::fd::AsRawFd;
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut input = std::fs::File::open(src)?;
    let len = input.metadata()?.len();
    let mut output = std::fs::File::create(dest)?;
    // SAFETY: FICLONE takes the source descriptor and touches no memory of ours.
    let cloned = unsafe { libc::ioctl(output.as_raw_fd(), libc::FICLONE, input.as_raw_fd()) } == 0;
    if cloned {
        copied(len);
        return Ok(len);
    }
    let mut done = 0;
    loop {
        let n = std::io::copy(&mut input.by_ref().take(COPY_CHUNK), &mut output)?;
        if n == 0 {
            return Ok(done);
        }
        done += n;
        copied(n);
    }
}
