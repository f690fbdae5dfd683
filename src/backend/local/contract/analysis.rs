//! From a request to a [`LocalPlan`]: every member local mode acts on is checked, each
//! problem named by its member, and what will run is worked out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::entry::{EntryPoint, built_in_algorithm, container_command, entry_point};
use super::uri::{Problems, writable};
use super::{
    ChannelPlan, CheckpointPlan, DEFAULT_VOLUME_GB, DataType, LocalPlan, RESERVED, UNSUPPORTED,
};
use crate::backend::local::pyvalue::PyValue;
use crate::request::validate::Diagnostic;
use crate::request::{self, Channel, TrainingJobRequest};

/// The kernel's limit on one argument or environment variable (MAX_ARG_STRLEN, 32 pages).
const MAX_EXEC_STRING: usize = 32 * 4096;

/// Where the artifacts go: the folder they are written or packed in, and the `s3://` prefix
/// they are uploaded to.
struct Output {
    root: Option<PathBuf>,
    s3: Option<String>,
}

impl LocalPlan {
    /// The plan, when nothing stops it, and every problem found on the way.
    /// Without `default_output` a missing `S3OutputPath` is not checked.
    pub(super) fn analyze(
        request: &TrainingJobRequest,
        default_output: Option<&Path>,
    ) -> (Option<LocalPlan>, Vec<Diagnostic>) {
        let mut p = Problems(Vec::new());
        let job = request.name().to_string();
        check_name(&mut p, &job);
        let hps = request.hyper_parameters.clone().unwrap_or_default();
        let container_command = container_command(&mut p, request);
        let entry = match &container_command {
            // The command replaces the image's entry point: no toolkit, no script mode.
            Some(_) => EntryPoint {
                program: Some(String::new()),
                submit_uri: Some(String::new()),
                submit_path: Some(PathBuf::new()),
                submit_s3: None,
            },
            None => entry_point(
                &mut p,
                &hps,
                &request.environment.clone().unwrap_or_default(),
            ),
        };
        if entry.program.is_none() {
            built_in_algorithm(&mut p, request);
        }
        let job_mode = input_mode(request);
        let groups = super::cluster::instance_groups(&mut p, request);
        let hosts: Vec<String> = groups.iter().flat_map(|g| g.hosts.clone()).collect();
        let channels: Vec<ChannelPlan> = request
            .channels()
            .iter()
            .enumerate()
            .filter_map(|(i, channel)| channel_plan(&mut p, i, channel, &job_mode, &groups))
            .collect();
        let output = output(&mut p, request, default_output);
        let checkpoint = checkpoint(&mut p, request);
        let (user_hyperparameters, framework_parameters) = split_hyperparameters(&hps);
        let mut problems = p.0;
        let (Some(program), Some(submit_uri), Some(submit_path), Some(output_root)) = (
            entry.program,
            entry.submit_uri,
            entry.submit_path,
            output.root,
        ) else {
            return (None, problems);
        };
        let output_config = request.output_data_config.clone().unwrap_or_default();
        let plan = LocalPlan {
            job,
            hosts,
            groups,
            entry_kind: super::EntryKind::guessed(&program),
            program,
            container_command,
            submit_uri,
            submit_path,
            submit_s3: entry.submit_s3,
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
            output_s3: output.s3,
            compress_model: output_config.compression_type.as_deref() != Some("NONE"),
            kms_key_id: output_config.kms_key_id.filter(|k| !k.is_empty()),
            checkpoint,
            max_runtime: request
                .stopping_condition
                .as_ref()
                .and_then(|s| s.max_runtime_in_seconds)
                .filter(|s| *s > 0)
                .map(|s| Duration::from_secs(s as u64)),
            interpreter: None,
            volume_bytes: request
                .resource_config
                .as_ref()
                .and_then(|r| r.volume_size_in_gb)
                .filter(|gb| *gb > 0)
                .unwrap_or(DEFAULT_VOLUME_GB) as u64
                * (1 << 30),
            role_arn: request.role_arn.clone().filter(|r| !r.is_empty()),
        };
        problems.extend(plan.exec_size_problem());
        let mut p = Problems(Vec::new());
        plan.distribution_problems(&mut p);
        problems.extend(p.0);
        (Some(plan), problems)
    }

    /// An error when the entry point's arguments and environment would not fit in what
    /// this system lets one process start with (`execve`'s limits), which hyperparameters
    /// and `Environment` values, repeated in `SM_HPS`, `SM_HP_*` and `SM_TRAINING_ENV`,
    /// can exceed.
    fn exec_size_problem(&self) -> Option<Diagnostic> {
        let layout = super::HostLayout::new(PathBuf::from("/opt/ml"));
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
        let budget = exec_budget();
        let count = self.raw_hyperparameters.len();
        let what = if longest > MAX_EXEC_STRING {
            format!(
                "make one variable of {longest} bytes (SM_HPS or SM_TRAINING_ENV repeat them \
                 all), over the {MAX_EXEC_STRING} bytes a process may be given one variable"
            )
        } else if total > budget {
            format!(
                "make {total} bytes of arguments and environment, over the {budget} bytes this \
                 system lets a process start with"
            )
        } else {
            return None;
        };
        Some(Diagnostic::error(
            "HyperParameters",
            "too_large_locally",
            format!(
                "{count} hyperparameters and the Environment {what}; use fewer or shorter ones, \
                 or pass large settings in a file in an input channel"
            ),
        ))
    }
}

/// What a new process may be given in all, less what this process's environment (which it
/// inherits) already takes.
fn exec_budget() -> usize {
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
    arg_max.saturating_sub(inherited + 4096)
}

fn check_name(p: &mut Problems, job: &str) {
    if !request::is_valid_job_name(job) {
        p.error(
            "TrainingJobName",
            "local_name",
            format!(
                "{job:?} must be 1 to 63 letters, digits or hyphens, starting and ending with a \
                 letter or digit"
            ),
        );
    }
}

/// The job's `TrainingInputMode` (File unless set).
fn input_mode(request: &TrainingJobRequest) -> String {
    request
        .algorithm_specification
        .as_ref()
        .and_then(|a| a.training_input_mode.clone())
        .unwrap_or_else(|| "File".into())
}

/// Whether a channel name can name a folder.
fn safe_channel_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// The plan of input channel `i`, or `None` (with the problems recorded) when it cannot
/// be read here.
fn channel_plan(
    p: &mut Problems,
    i: usize,
    channel: &Channel,
    job_mode: &str,
    groups: &[super::InstanceGroup],
) -> Option<ChannelPlan> {
    let member = format!("InputDataConfig[{i}]");
    let name = channel.channel_name.clone().unwrap_or_default();
    if !safe_channel_name(&name) {
        p.error(
            format!("{member}.ChannelName"),
            "local_channel",
            format!("{name:?} cannot name a channel folder: use letters, digits, '.', '-' and '_'"),
        );
        return None;
    }
    let source = channel.data_source.clone().unwrap_or_default();
    if source.file_system_data_source.is_some() {
        p.error(
            format!("{member}.DataSource.FileSystemDataSource"),
            UNSUPPORTED,
            "EFS and FSx channels are not available locally; use a file:// S3Uri",
        );
        return None;
    }
    let s3 = source.s3_data_source.unwrap_or_default();
    let mode = channel
        .input_mode
        .clone()
        .unwrap_or_else(|| job_mode.to_string());
    let pipe = mode == "Pipe";
    let type_member = format!("{member}.DataSource.S3DataSource.S3DataType");
    let data_type = match s3.s3_data_type.as_deref().unwrap_or("S3Prefix") {
        "S3Prefix" => DataType::Prefix,
        "ManifestFile" => DataType::Manifest,
        "AugmentedManifestFile" => {
            if !pipe {
                p.error(
                    &type_member,
                    "local_channel",
                    "AugmentedManifestFile can only be used with the channel's input mode Pipe",
                );
            }
            let attributes = s3.attribute_names.clone().unwrap_or_default();
            if attributes.is_empty() {
                p.error(
                    format!("{member}.DataSource.S3DataSource.AttributeNames"),
                    "local_channel",
                    "an AugmentedManifestFile channel names the attributes it streams",
                );
            }
            DataType::AugmentedManifest { attributes }
        }
        other => {
            p.error(
                &type_member,
                UNSUPPORTED,
                format!("{other} is not available locally; use S3Prefix or ManifestFile"),
            );
            DataType::Prefix
        }
    };
    let uri_member = format!("{member}.DataSource.S3DataSource.S3Uri");
    let uri = s3.s3_uri.as_deref().unwrap_or_default();
    let (path, s3_uri) = if uri.starts_with("s3://") {
        // Downloaded (File mode) with the local AWS credentials when the job starts.
        if let Err(e) = crate::backend::s3::S3Uri::parse(uri, &uri_member) {
            p.error(&uri_member, "local_uri", e.message);
            return None;
        }
        (PathBuf::new(), Some(uri.to_string()))
    } else {
        let path = p
            .path(uri, &uri_member)
            .and_then(|path| p.existing(path, &uri_member))?;
        (path, None)
    };
    let channel_groups = s3.instance_group_names.clone().unwrap_or_default();
    super::cluster::check_channel_groups(p, &member, &channel_groups, groups);
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
    Some(ChannelPlan {
        name,
        source: path,
        s3_uri,
        sharded: distribution == "ShardedByS3Key",
        groups: channel_groups,
        data_type,
        pipe,
        record_io: channel.record_wrapper_type.as_deref() == Some("RecordIO"),
        records: Vec::new(),
        config,
    })
}

/// Where `S3OutputPath` (or the default) puts the artifacts, checked writable: a folder
/// here, or an `s3://` prefix with `default_output` as the folder they are packed in.
fn output(p: &mut Problems, request: &TrainingJobRequest, default_output: Option<&Path>) -> Output {
    let member = "OutputDataConfig.S3OutputPath";
    let uri = request
        .output_data_config
        .as_ref()
        .and_then(|o| o.s3_output_path.as_deref());
    let (root, s3) = match uri {
        Some(uri) if uri.starts_with("s3://") => {
            if let Err(e) = crate::backend::s3::S3Uri::parse(uri, member) {
                p.error(member, "local_uri", e.message);
            }
            (default_output.map(Path::to_path_buf), Some(uri.to_string()))
        }
        Some(uri) => (p.path(uri, member), None),
        None => (default_output.map(Path::to_path_buf), None),
    };
    if let Some(root) = &root
        && !writable(root)
    {
        p.error(
            member,
            "local_output",
            format!("{} cannot be written", root.display()),
        );
    }
    Output { root, s3 }
}

/// `CheckpointConfig`: the prefix or folder kept between runs, and `LocalPath` under
/// `/opt/ml`, where the job's tree stands for it.
fn checkpoint(p: &mut Problems, request: &TrainingJobRequest) -> Option<CheckpointPlan> {
    let config = request.checkpoint_config.clone()?;
    let member = "CheckpointConfig.S3Uri";
    let Some(uri) = config.s3_uri.filter(|u| !u.is_empty()) else {
        p.error(
            "CheckpointConfig",
            "local_checkpoint",
            "S3Uri is needed: the s3:// prefix or file:// folder the checkpoints are kept in",
        );
        return None;
    };
    let (s3_uri, folder) = if uri.starts_with("s3://") {
        if let Err(e) = crate::backend::s3::S3Uri::parse(&uri, member) {
            p.error(member, "local_uri", e.message);
        }
        (Some(uri), None)
    } else {
        let folder = p.path(&uri, member)?;
        if !writable(&folder) {
            p.error(
                member,
                "local_output",
                format!("{} cannot be written", folder.display()),
            );
        }
        (None, Some(folder))
    };
    let local = config
        .local_path
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "/opt/ml/checkpoints".into());
    let relative = Path::new(&local).strip_prefix("/opt/ml").ok().filter(|r| {
        r.components().next().is_some()
            && r.components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
    });
    let Some(relative) = relative else {
        p.error(
            "CheckpointConfig.LocalPath",
            UNSUPPORTED,
            format!(
                "{local:?} is not a folder under /opt/ml; locally only /opt/ml is mapped into \
                 the job's folder, so use a path under it (the default is /opt/ml/checkpoints)"
            ),
        );
        return None;
    };
    Some(CheckpointPlan {
        local_path: relative.to_path_buf(),
        s3_uri,
        folder,
    })
}

/// The user's hyperparameters and the framework's (`sagemaker_*` ones not reserved),
/// JSON-decoded as the toolkit does.
type Decoded = Vec<(String, PyValue)>;

fn split_hyperparameters(hps: &BTreeMap<String, String>) -> (Decoded, Decoded) {
    let mut user = Vec::new();
    let mut framework = Vec::new();
    for (key, raw) in hps {
        let value = PyValue::decode_hyperparameter(raw);
        if key.starts_with("sagemaker_") {
            if !RESERVED.contains(&key.as_str()) {
                framework.push((key.clone(), value));
            }
        } else {
            user.push((key.clone(), value));
        }
    }
    (user, framework)
}
