//! Why a job failed or stopped: one category and one sentence, the exception and traceback
//! its log holds (each frame mapped to where the user has the file), and next steps that
//! fit the category, concrete for the job's own instance, volume, role and region. Read
//! from what the service or local mode reported and what the log says; never guessed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

mod steps;

pub use steps::{family, quotas_console};

use self::steps::next_steps;
use super::traceback::{Frame, Traceback, last_traceback};
use super::{JobDetail, SecondaryStatus, Status};

/// What kind of failure it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    ScriptError,
    OutOfMemory,
    DiskFull,
    Quota,
    Capacity,
    S3AccessDenied,
    ImagePull,
    Role,
    Timeout,
    Stopped,
    Unknown,
}

impl Category {
    /// The category as people say it.
    pub fn label(self) -> &'static str {
        match self {
            Self::ScriptError => "Script error",
            Self::OutOfMemory => "Out of memory",
            Self::DiskFull => "Disk full",
            Self::Quota => "Quota",
            Self::Capacity => "Capacity",
            Self::S3AccessDenied => "S3 access denied",
            Self::ImagePull => "Image pull",
            Self::Role => "Role",
            Self::Timeout => "Timeout",
            Self::Stopped => "Stopped",
            Self::Unknown => "Unknown",
        }
    }
}

/// A job's diagnosis, as `sagedesk diagnose --json` prints it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diagnosis {
    pub job: String,
    pub status: String,
    pub category: Category,
    pub summary: String,
    pub exception: Option<String>,
    pub host: Option<String>,
    pub traceback: Vec<Frame>,
    pub next_steps: Vec<String>,
}

/// Where the job's code folder is for the user: the paths it was logged under (the
/// container's `/opt/ml/code/`, a local host's tree) and the folder here.
#[derive(Debug, Clone, Default)]
pub struct CodeFolder {
    pub logged: Vec<String>,
    pub here: Option<PathBuf>,
}

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub host: String,
    /// Written to stderr, where Python prints tracebacks.
    pub stderr: bool,
    pub text: String,
}

/// What a diagnosis reads.
pub struct Evidence<'a> {
    pub detail: &'a JobDetail,
    /// The log's last lines, in order.
    pub lines: &'a [Line],
    pub code: CodeFolder,
    /// Hourly prices of instance types, for the alternatives a step offers.
    pub prices: BTreeMap<String, f64>,
}

/// Sizes an instance family comes in, smallest first.
const SIZES: [&str; 10] = [
    "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge", "24xlarge",
    "32xlarge", "48xlarge",
];

/// The diagnosis of a job that failed or stopped; `None` for any other status.
pub fn diagnose(evidence: &Evidence) -> Option<Diagnosis> {
    let detail = evidence.detail;
    let status = detail.summary.status;
    if !matches!(status, Status::Failed | Status::Stopped) {
        return None;
    }
    let reason = detail.failure_reason.clone().unwrap_or_default();
    let host = failing_host(&reason, evidence.lines);
    let of_host = |stderr_only: bool| {
        evidence
            .lines
            .iter()
            .filter(|l| host.as_ref().is_none_or(|want| &l.host == want))
            .filter(move |l| l.stderr || !stderr_only)
            .map(|l| l.text.as_str())
    };
    // Python writes tracebacks to stderr, whatever the script printed between its lines.
    let traceback = last_traceback(of_host(true))
        .or_else(|| last_traceback(of_host(false)))
        .or_else(|| last_traceback(reason.lines()))
        .map(|mut t| {
            for frame in &mut t.frames {
                frame.local = map_frame(&frame.file, &evidence.code);
            }
            t
        });
    let category = categorize(detail, &reason, traceback.as_ref(), evidence.lines);
    let facts = Facts::of(detail);
    let summary = summary(category, &reason, traceback.as_ref(), &facts);
    let next_steps = next_steps(category, &reason, traceback.as_ref(), &facts, evidence);
    Some(Diagnosis {
        job: detail.summary.name.clone(),
        status: status.as_str().to_string(),
        category,
        summary,
        exception: traceback.as_ref().and_then(|t| t.exception.clone()),
        host,
        traceback: traceback.map(|t| t.frames).unwrap_or_default(),
        next_steps,
    })
}

/// The host the failure names (`AlgorithmError: algo-2: …`), else the last host whose
/// lines hold a traceback.
fn failing_host(reason: &str, lines: &[Line]) -> Option<String> {
    let named = reason
        .split(|c: char| c.is_whitespace() || c == ':')
        .find(|w| {
            w.strip_prefix("algo-")
                .is_some_and(|n| n.parse::<u32>().is_ok())
        });
    if let Some(host) = named {
        return Some(host.to_string());
    }
    lines
        .iter()
        .rev()
        .find(|l| l.text.contains("Traceback (most recent call last):"))
        .map(|l| l.host.clone())
}

/// The user's file for a logged path under the code folder, when it exists here.
fn map_frame(file: &str, code: &CodeFolder) -> Option<String> {
    let here = code.here.as_ref()?;
    let relative = code
        .logged
        .iter()
        .find_map(|prefix| file.strip_prefix(prefix.as_str()))
        .or_else(|| in_host_tree(file))
        .or_else(|| Path::new(file).is_relative().then_some(file))?;
    let path = here.join(relative.trim_start_matches('/'));
    path.is_file().then(|| path.display().to_string())
}

/// The path below a local host tree's `…/algo-N/code/`, where a job without a sandbox
/// logs its files.
fn in_host_tree(file: &str) -> Option<&str> {
    let mut at = 0;
    while let Some(found) = file[at..].find("/algo-") {
        let start = at + found + "/algo-".len();
        let digits = file[start..].bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0
            && let Some(rest) = file[start + digits..].strip_prefix("/code/")
        {
            return Some(rest);
        }
        at = start;
    }
    None
}

fn has(text: &str, needles: &[&str]) -> bool {
    needles.iter().any(|n| text.contains(n))
}

fn categorize(
    detail: &JobDetail,
    reason: &str,
    traceback: Option<&Traceback>,
    lines: &[Line],
) -> Category {
    if detail.summary.status == Status::Stopped {
        return if detail.summary.secondary_status == Some(SecondaryStatus::MaxRuntimeExceeded) {
            Category::Timeout
        } else {
            Category::Stopped
        };
    }
    let exception = traceback
        .and_then(|t| t.exception.as_deref())
        .unwrap_or_default();
    let tail: String = lines
        .iter()
        .rev()
        .take(50)
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let text = format!("{reason}\n{exception}").to_lowercase();
    let all = format!("{text}\n{}", tail.to_lowercase());
    if has(
        &text,
        &["resourcelimitexceeded", "account-level service limit"],
    ) {
        Category::Quota
    } else if has(
        &text,
        &[
            "capacityerror",
            "insufficientcapacity",
            "insufficient capacity",
            "unable to provision requested ml compute capacity",
        ],
    ) {
        Category::Capacity
    } else if has(
        &all,
        &["no space left on device", "insufficient disk space"],
    ) {
        Category::DiskFull
    } else if has(
        &all,
        &[
            "memoryerror",
            "out of memory",
            "outofmemory",
            "exitcode 137",
            "exit code 137",
            "exit code: 137",
            "signal 9",
        ],
    ) {
        Category::OutOfMemory
    } else if has(&text, &["cannotpullcontainer", "image pull", "pull image"])
        || (text.contains("image")
            && has(
                &text,
                &["not found", "does not exist", "cannot find", "not exist"],
            ))
    {
        Category::ImagePull
    } else if has(
        &text,
        &["assumerole", "cannot be assumed", "trust relationship"],
    ) || (text.contains("role")
        && text.contains("not authorized")
        && !text.contains("s3:"))
    {
        Category::Role
    } else if has(
        &text,
        &["accessdenied", "access denied", "(403)", "forbidden"],
    ) && has(&text, &["s3", "download", "upload", "artifact", "data"])
    {
        Category::S3AccessDenied
    } else if has(&text, &["maxruntimeexceeded", "maxruntimeinseconds"]) {
        Category::Timeout
    } else if traceback.is_some()
        || has(
            &text,
            &[
                "algorithmerror",
                "executeuserscripterror",
                "exitcode",
                "exit code",
            ],
        )
    {
        Category::ScriptError
    } else {
        Category::Unknown
    }
}

/// What the steps are made concrete with.
struct Facts {
    instance_type: Option<String>,
    volume_gb: Option<i64>,
    max_runtime: Option<i64>,
    image: Option<String>,
    role: Option<String>,
    partition: String,
    region: Option<String>,
    local: bool,
    inputs: Vec<String>,
    output: Option<String>,
}

impl Facts {
    fn of(detail: &JobDetail) -> Self {
        let request = &detail.request;
        let resources = request.resource_config.clone().unwrap_or_default();
        // arn:<partition>:sagemaker:<region>:<account>:training-job/<name>
        let arn: Vec<&str> = detail.summary.arn.split(':').collect();
        let region = arn.get(3).map(|r| r.to_string()).filter(|r| !r.is_empty());
        Self {
            instance_type: resources.instance_type.clone().or_else(|| {
                resources
                    .instance_groups
                    .as_ref()
                    .and_then(|g| g.first().and_then(|g| g.instance_type.clone()))
            }),
            volume_gb: resources.volume_size_in_gb,
            max_runtime: request
                .stopping_condition
                .as_ref()
                .and_then(|s| s.max_runtime_in_seconds),
            image: request
                .algorithm_specification
                .as_ref()
                .and_then(|a| a.training_image.clone()),
            role: request.role_arn.clone(),
            partition: arn.get(1).map_or("aws", |p| p).to_string(),
            local: region.as_deref() == Some("local"),
            region,
            inputs: request
                .channels()
                .iter()
                .filter_map(|c| {
                    c.data_source
                        .as_ref()?
                        .s3_data_source
                        .as_ref()?
                        .s3_uri
                        .clone()
                })
                .filter(|u| u.starts_with("s3://"))
                .collect(),
            output: request
                .output_data_config
                .as_ref()
                .and_then(|o| o.s3_output_path.clone())
                .filter(|u| u.starts_with("s3://")),
        }
    }
}

fn summary(
    category: Category,
    reason: &str,
    traceback: Option<&Traceback>,
    facts: &Facts,
) -> String {
    let instance = facts
        .instance_type
        .as_deref()
        .unwrap_or("the instance type");
    match category {
        Category::ScriptError => match traceback {
            Some(t) => {
                let exception = t.exception.as_deref().unwrap_or("an exception");
                match t.frames.last() {
                    Some(f) => format!(
                        "The script raised {exception} at {}:{} (in {}).",
                        f.local.as_deref().unwrap_or(&f.file),
                        f.line,
                        f.function
                    ),
                    None => format!("The script raised {exception}."),
                }
            }
            None => format!(
                "The entry point exited with an error, and the log holds no Python traceback: {}",
                first_line(reason)
            ),
        },
        Category::OutOfMemory => {
            "The job ran out of memory: a MemoryError, CUDA out of memory, or the kernel killed \
             the process (exit 137, signal 9)."
                .into()
        }
        Category::DiskFull => format!(
            "The job's storage volume ({}) filled up.",
            facts
                .volume_gb
                .map_or("VolumeSizeInGB".to_string(), |gb| format!("{gb} GB"))
        ),
        Category::Quota => {
            format!("The account's quota for {instance} in training jobs is too low for this job.")
        }
        Category::Capacity => {
            format!("SageMaker had no {instance} capacity to give the job when it started.")
        }
        Category::S3AccessDenied => {
            "The job's role was refused access to S3 (AccessDenied).".into()
        }
        Category::ImagePull => format!(
            "The training image {} could not be pulled.",
            facts.image.as_deref().unwrap_or("")
        ),
        Category::Role => format!(
            "The role {} could not be used by SageMaker.",
            facts.role.as_deref().unwrap_or("")
        ),
        Category::Timeout => format!(
            "The job ran past its MaxRuntimeInSeconds ({}) and was stopped.",
            facts
                .max_runtime
                .map_or("unset".to_string(), |s| format!("{s} s"))
        ),
        Category::Stopped => "The job was stopped (StopTrainingJob).".into(),
        Category::Unknown => format!("The job failed: {}", first_line(reason)),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("").trim()
}
