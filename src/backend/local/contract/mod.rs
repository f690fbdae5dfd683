//! The SageMaker training-container contract, kept on this machine: what a request asks
//! for, checked into a [`LocalPlan`] (`analysis`), the `/opt/ml` tree per host (`layout`),
//! the config files, `SM_*` environment and argv of the entry point (`environment`), and the
//! code and input data put in place (`staging`). `checks` gives the validator local mode's
//! view of a request. It imports the request model, the job views and its own backend's
//! helpers; never the AWS backend or the window.

mod analysis;
mod checks;
mod cluster;
mod entry;
mod environment;
mod launcher;
mod layout;
mod runtime;
mod staging;
mod uri;

pub use checks::LocalChecks;
pub use cluster::InstanceGroup;
pub use entry::{EntryKind, PROGRAM_VARIABLE};
pub use environment::{container_environment, withhold_credentials};
pub use launcher::{Launcher, MASTER_PORT, mpirun};
pub use layout::{HostLayout, private_dir};
pub use runtime::{
    ImageRuntime, InterpreterInfo, RuntimeEntry, Runtimes, compare, interpreter_for, probe,
};
pub(crate) use staging::{copy_file, list_files};
pub use staging::{stage_channels, stage_code};
pub use uri::file_uri_path;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::pyvalue::PyValue;
use crate::backend::BackendError;
use crate::request::{self, TrainingJobRequest};

/// Hyperparameters the toolkit reserves for itself; other `sagemaker_*` ones are
/// "additional framework parameters".
const RESERVED: &[&str] = &[
    request::PROGRAM,
    request::SUBMIT_DIRECTORY,
    "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "sagemaker_region",
    "sagemaker_s3_output",
];

pub(crate) const GROUP: &str = "homogeneousCluster";
/// The network interface the service names in `resourceconfig.json`.
const NETWORK_INTERFACE: &str = "eth0";
const DEFAULT_INSTANCE_TYPE: &str = "local";
/// The volume a request without `ResourceConfig.VolumeSizeInGB` gets, in GB.
const DEFAULT_VOLUME_GB: i64 = 30;

/// What local mode needs to know to run a request, checked before anything starts.
#[derive(Debug, Clone)]
pub struct LocalPlan {
    /// `TrainingJobName`.
    pub job: String,
    /// `algo-1` .. `algo-N`.
    pub hosts: Vec<String>,
    /// The instance groups: `homogeneousCluster` with every host, or the request's
    /// `ResourceConfig.InstanceGroups`.
    pub groups: Vec<InstanceGroup>,
    /// The entry point, relative to the code folder (empty with a `container_command`).
    pub program: String,
    /// How the entry point runs: known from its name until the code is staged, then from
    /// the code folder.
    pub entry_kind: EntryKind,
    /// `ContainerEntrypoint` then `ContainerArguments`: run instead of the toolkit's
    /// script mode, as the service runs them instead of the image's entry point.
    pub container_command: Option<Vec<String>>,
    /// The submit directory as given (for `SM_MODULE_DIR`).
    pub submit_uri: String,
    /// The submit folder or `.tar.gz` on this machine (for code in S3, where it is
    /// downloaded).
    pub submit_path: PathBuf,
    /// The `s3://` object or prefix of the code to download into `submit_path`, if any.
    pub submit_s3: Option<String>,
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
    /// Folder that `S3OutputPath` names on this machine; for an `s3://` output, the folder
    /// the archives are packed in (and kept in when an upload fails).
    pub output_root: PathBuf,
    /// The `s3://` `S3OutputPath` the artifacts are uploaded to, if any.
    pub output_s3: Option<String>,
    /// `OutputDataConfig.CompressionType` is not `NONE`: the model is packed in
    /// `model.tar.gz` rather than copied file by file under `output/model/`.
    pub compress_model: bool,
    /// `OutputDataConfig.KmsKeyId`, used for uploads to S3.
    pub kms_key_id: Option<String>,
    /// `CheckpointConfig`, if any.
    pub checkpoint: Option<CheckpointPlan>,
    /// `StoppingCondition.MaxRuntimeInSeconds`.
    pub max_runtime: Option<Duration>,
    /// The interpreter the runtime table gives the job's image, if a row matches.
    pub interpreter: Option<PathBuf>,
    /// `ResourceConfig.VolumeSizeInGB` in bytes: what each host's code, data and
    /// checkpoints may take on this machine, as on the service's volume.
    pub volume_bytes: u64,
    /// `RoleArn`: the role the job acts as, when it can be assumed here.
    pub role_arn: Option<String>,
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
    /// `InstanceGroupNames`: the groups whose hosts receive the channel (all when empty).
    pub groups: Vec<String>,
    /// `S3DataType`: what `S3Uri` names.
    pub data_type: DataType,
    /// The channel's input mode is Pipe: its data streams through a named pipe per epoch.
    pub pipe: bool,
    /// `RecordWrapperType: RecordIO`: in Pipe mode each object is one RecordIO record.
    pub record_io: bool,
    /// For an augmented manifest, the records it streams, made when the data is fetched.
    pub records: Vec<PipeRecord>,
    /// The entry of `inputdataconfig.json`.
    pub config: Value,
}

/// What a channel's `S3Uri` names (`S3DataType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataType {
    /// `S3Prefix`: every object whose key starts with it (a folder here).
    Prefix,
    /// `ManifestFile`: a JSON list of a prefix and keys below it.
    Manifest,
    /// `AugmentedManifestFile`: JSON lines whose `AttributeNames` are streamed in Pipe mode.
    AugmentedManifest {
        /// `AttributeNames`, in the order each line's are streamed.
        attributes: Vec<String>,
    },
}

/// One record a Pipe-mode channel streams: a file's bytes, or bytes of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PipeRecord {
    File(PathBuf),
    Bytes(Vec<u8>),
}

/// Where a job's checkpoints are kept between runs, and where the script sees them.
#[derive(Debug, Clone)]
pub struct CheckpointPlan {
    /// `LocalPath` relative to `/opt/ml` (`checkpoints` by default).
    pub local_path: PathBuf,
    /// `S3Uri` when it is an `s3://` prefix.
    pub s3_uri: Option<String>,
    /// `S3Uri` when it is a `file://` folder.
    pub folder: Option<PathBuf>,
}

/// The code of problems local mode cannot handle at all (not a mistake in the request).
const UNSUPPORTED: &str = "local_unsupported";

/// What local mode needs, said when a request has no entry point.
const LOCAL_MODE_NEEDS: &str = "local mode runs your own code: script-mode jobs (set \
HyperParameters.sagemaker_program to the entry point, for example \"train.py\", and \
HyperParameters.sagemaker_submit_directory to a file:// or s3:// folder or .tar.gz that holds it) or \
an AlgorithmSpecification.ContainerEntrypoint of the request's own";

/// A hyperparameter's string, unwrapping the JSON encoding the SageMaker Python SDK adds.
fn unquoted(raw: &str) -> String {
    serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string())
}

impl LocalPlan {
    /// Whether the job reads or writes S3: code, a channel, the output or checkpoints.
    pub fn uses_s3(&self) -> bool {
        self.submit_s3.is_some()
            || self.output_s3.is_some()
            || self.channels.iter().any(|c| c.s3_uri.is_some())
            || self.checkpoint.as_ref().is_some_and(|c| c.s3_uri.is_some())
    }

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
                    crate::backend::UNSUPPORTED_LOCALLY
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
}
