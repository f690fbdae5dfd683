//! Backend-neutral view types: who holds a job and what the UI and the CLI show of it, with
//! the small formatting helpers both use. It imports only the request model.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::request::TrainingJobRequest;

pub mod compare;
pub mod console;
mod cost;
pub mod diagnosis;
mod identity;
pub mod importance;
mod log;
mod run;
pub mod secret;
pub mod text;
pub mod traceback;
pub mod tuning;

pub use cost::{Billing, InstancePrice};
pub use identity::{AwsConnection, Connection, JobRef, REGIONS, endpoint_from_env};
pub use log::{LogHits, LogSize};
pub use run::{DEBUG_PORT, JobCredentials, LocalRun};

/// Most entries an archive listing keeps.
pub const MAX_ARCHIVE_ENTRIES: usize = 100_000;

/// `TrainingJobStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Running or about to.
    InProgress,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// A stop was requested and the job is winding down.
    Stopping,
    /// Stopped by request or by a limit.
    Stopped,
}

impl Status {
    /// Every status, in the order the service documents them.
    pub const ALL: [Status; 5] = [
        Status::InProgress,
        Status::Completed,
        Status::Failed,
        Status::Stopping,
        Status::Stopped,
    ];

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "InProgress",
            Status::Completed => "Completed",
            Status::Failed => "Failed",
            Status::Stopping => "Stopping",
            Status::Stopped => "Stopped",
        }
    }

    /// Whether the job has ended.
    pub fn is_terminal(self) -> bool {
        matches!(self, Status::Completed | Status::Failed | Status::Stopped)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!(
                    "unknown status {s:?}; expected one of {}",
                    Status::ALL.map(Status::as_str).join(", ")
                )
            })
    }
}

/// `SecondaryStatus`: the finer-grained stage of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SecondaryStatus {
    /// Preparing instances.
    Starting,
    /// Copying input data.
    Downloading,
    /// The entry point runs.
    Training,
    /// Packing and storing artifacts.
    Uploading,
    /// Winding down after a stop.
    Stopping,
    /// Stopped by request.
    Stopped,
    /// Stopped because MaxRuntimeInSeconds passed.
    MaxRuntimeExceeded,
    /// Finished successfully.
    Completed,
    /// Finished with an error.
    Failed,
    /// Any stage the service added after this version.
    Other,
}

impl SecondaryStatus {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SecondaryStatus::Starting => "Starting",
            SecondaryStatus::Downloading => "Downloading",
            SecondaryStatus::Training => "Training",
            SecondaryStatus::Uploading => "Uploading",
            SecondaryStatus::Stopping => "Stopping",
            SecondaryStatus::Stopped => "Stopped",
            SecondaryStatus::MaxRuntimeExceeded => "MaxRuntimeExceeded",
            SecondaryStatus::Completed => "Completed",
            SecondaryStatus::Failed => "Failed",
            SecondaryStatus::Other => "Other",
        }
    }

    /// Parses the API's name; unknown names map to `Other`.
    pub fn parse(s: &str) -> Self {
        [
            SecondaryStatus::Starting,
            SecondaryStatus::Downloading,
            SecondaryStatus::Training,
            SecondaryStatus::Uploading,
            SecondaryStatus::Stopping,
            SecondaryStatus::Stopped,
            SecondaryStatus::MaxRuntimeExceeded,
            SecondaryStatus::Completed,
            SecondaryStatus::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .unwrap_or(SecondaryStatus::Other)
    }
}

impl fmt::Display for SecondaryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of the job list (`TrainingJobSummary`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    /// `TrainingJobName`.
    pub name: String,
    /// `TrainingJobArn`.
    pub arn: String,
    /// `TrainingJobStatus`.
    pub status: Status,
    /// `SecondaryStatus`, when known.
    pub secondary_status: Option<SecondaryStatus>,
    /// `CreationTime`.
    pub creation_time: DateTime<Utc>,
    /// `TrainingEndTime`.
    pub end_time: Option<DateTime<Utc>>,
    /// `LastModifiedTime`.
    pub last_modified: DateTime<Utc>,
    /// `WarmPoolStatus.Status` (`Available`, `InUse`, `Reused`, `Terminated`), for a job
    /// that kept its instances (`KeepAlivePeriodInSeconds`).
    pub warm_pool: Option<String>,
}

impl JobSummary {
    /// Wall-clock duration: creation to end, or to `now` while running.
    pub fn duration(&self, now: DateTime<Utc>) -> chrono::Duration {
        self.end_time.unwrap_or(now) - self.creation_time
    }

    /// The secondary status where it says more than the status ("Completed" after
    /// "Completed" does not).
    pub fn secondary_detail(&self) -> Option<SecondaryStatus> {
        self.secondary_status
            .filter(|s| s.to_string() != self.status.to_string())
    }
}

/// Filters of `ListTrainingJobs`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListFilter {
    /// `StatusEquals`.
    pub status: Option<Status>,
    /// `NameContains` (case-insensitive, as the service).
    pub name_contains: Option<String>,
    /// `CreationTimeAfter`.
    pub created_after: Option<DateTime<Utc>>,
    /// `CreationTimeBefore`.
    pub created_before: Option<DateTime<Utc>>,
    /// `MaxResults`; `None` for all.
    pub max_results: Option<usize>,
}

/// One entry of `SecondaryStatusTransitions`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusTransition {
    /// The stage.
    pub status: SecondaryStatus,
    /// When it began.
    pub start_time: DateTime<Utc>,
    /// When it ended; `None` for the current stage.
    pub end_time: Option<DateTime<Utc>>,
    /// `StatusMessage`.
    pub message: String,
}

/// One entry of `FinalMetricDataList`.
#[derive(Debug, Clone, PartialEq)]
pub struct FinalMetric {
    /// `MetricName`.
    pub name: String,
    /// `Value`.
    pub value: f64,
    /// `Timestamp`.
    pub timestamp: DateTime<Utc>,
}

/// Everything `DescribeTrainingJob` tells about a job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobDetail {
    /// The request that created the job.
    pub request: TrainingJobRequest,
    /// List-level facts: name, ARN, status and times.
    pub summary: JobSummary,
    /// `FailureReason`.
    pub failure_reason: Option<String>,
    /// `ModelArtifacts.S3ModelArtifacts`.
    pub model_artifacts: Option<String>,
    /// `TrainingStartTime`.
    pub training_start_time: Option<DateTime<Utc>>,
    /// `SecondaryStatusTransitions`.
    pub transitions: Vec<StatusTransition>,
    /// `FinalMetricDataList`.
    pub final_metrics: Vec<FinalMetric>,
    /// `TrainingTimeInSeconds`.
    pub training_time_seconds: Option<i64>,
    /// `BillableTimeInSeconds`.
    pub billable_time_seconds: Option<i64>,
    /// The service's own `DescribeTrainingJob` response, when the backend has one.
    pub service_response: Option<Value>,
}

impl JobDetail {
    /// A job just created from `request` at `created`: InProgress, nothing else known.
    pub fn from_request(request: TrainingJobRequest, created: DateTime<Utc>) -> Self {
        let name = request.name().to_string();
        Self {
            summary: JobSummary {
                arn: format!("arn:aws:sagemaker:local:000000000000:training-job/{name}"),
                name,
                status: Status::InProgress,
                secondary_status: None,
                creation_time: created,
                end_time: None,
                last_modified: created,
                warm_pool: None,
            },
            request,
            failure_reason: None,
            model_artifacts: None,
            training_start_time: None,
            transitions: Vec::new(),
            final_metrics: Vec::new(),
            training_time_seconds: None,
            billable_time_seconds: None,
            service_response: None,
        }
    }

    /// The job in `DescribeTrainingJob`'s JSON shape.
    pub fn to_describe_json(&self) -> Value {
        if let Some(response) = &self.service_response {
            return response.clone();
        }
        let mut value = self.request.to_value();
        let object = value.as_object_mut().expect("a request is an object");
        object.shift_remove("Tags");
        let s = &self.summary;
        object.insert("TrainingJobName".into(), json!(s.name));
        object.insert("TrainingJobArn".into(), json!(s.arn));
        if let Some(uri) = &self.model_artifacts {
            object.insert("ModelArtifacts".into(), json!({ "S3ModelArtifacts": uri }));
        }
        object.insert("TrainingJobStatus".into(), json!(s.status.as_str()));
        if let Some(st) = s.secondary_status {
            object.insert("SecondaryStatus".into(), json!(st.as_str()));
        }
        if let Some(reason) = &self.failure_reason {
            object.insert("FailureReason".into(), json!(reason));
        }
        object.insert("CreationTime".into(), json!(timestamp(s.creation_time)));
        if let Some(t) = self.training_start_time {
            object.insert("TrainingStartTime".into(), json!(timestamp(t)));
        }
        if let Some(t) = s.end_time {
            object.insert("TrainingEndTime".into(), json!(timestamp(t)));
        }
        object.insert("LastModifiedTime".into(), json!(timestamp(s.last_modified)));
        let transitions: Vec<Value> = self
            .transitions
            .iter()
            .map(|t| {
                let mut entry = json!({
                    "Status": t.status.as_str(),
                    "StartTime": timestamp(t.start_time),
                    "StatusMessage": t.message,
                });
                if let Some(end) = t.end_time {
                    entry["EndTime"] = json!(timestamp(end));
                }
                entry
            })
            .collect();
        object.insert("SecondaryStatusTransitions".into(), json!(transitions));
        let metrics: Vec<Value> = self
            .final_metrics
            .iter()
            .map(|m| {
                json!({
                    "MetricName": m.name,
                    "Value": m.value,
                    "Timestamp": timestamp(m.timestamp),
                })
            })
            .collect();
        object.insert("FinalMetricDataList".into(), json!(metrics));
        if let Some(secs) = self.training_time_seconds {
            object.insert("TrainingTimeInSeconds".into(), json!(secs));
        }
        if let Some(secs) = self.billable_time_seconds {
            object.insert("BillableTimeInSeconds".into(), json!(secs));
        }
        value
    }
}

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

impl Stream {
    /// `stdout` or `stderr`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// Position in the job's log; later lines have larger ids.
    pub id: i64,
    /// When the line was read.
    pub timestamp: DateTime<Utc>,
    /// `algo-1`, `algo-2`, ...
    pub host: String,
    /// Which stream.
    pub stream: Stream,
    /// The text, without the line break.
    pub text: String,
}

/// Where a paged read stopped, opaque to callers: `Cursor::default()` reads from the start.
/// The local store counts rows; CloudWatch keeps tokens and timestamps in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// A cursor holding a backend's own text.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// A cursor at a numbered position.
    pub fn at(position: i64) -> Self {
        Self(position.to_string())
    }

    /// The position of a numbered cursor; 0 at the start or for foreign text.
    pub fn position(&self) -> i64 {
        self.0.parse().unwrap_or(0)
    }

    /// The backend's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the start.
    pub fn is_start(&self) -> bool {
        self.0.is_empty()
    }
}

/// A page of log lines and the cursor to ask for the next one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogPage {
    /// Lines in order.
    pub lines: Vec<LogLine>,
    /// Pass back to get lines after these.
    pub next_cursor: Cursor,
}

/// One point of a metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricPoint {
    /// When the value was logged.
    pub timestamp: DateTime<Utc>,
    /// The value.
    pub value: f64,
}

/// All points of one metric of one job.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    /// The metric definition's name.
    pub name: String,
    /// Points in time order.
    pub points: Vec<MetricPoint>,
}

/// Metric points and the cursor to ask for the ones after them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricPage {
    /// New points, by metric.
    pub series: Vec<MetricSeries>,
    /// Pass back to get points after these.
    pub next_cursor: Cursor,
}

/// A file among a job's outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ArtifactEntry {
    /// Key relative to the job's output prefix, such as `output/model.tar.gz`.
    pub key: String,
    /// Full URI (`file://...` or `s3://...`).
    pub uri: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time, when known.
    pub last_modified: Option<DateTime<Utc>>,
}

/// What kind of entry a tar member is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link.
    Symlink,
    /// A hard link to an earlier member.
    Hardlink,
    /// A device, FIFO or other special file.
    Other,
}

impl EntryKind {
    /// A short name for the entry's type column.
    pub fn label(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Dir => "folder",
            EntryKind::Symlink => "symlink",
            EntryKind::Hardlink => "hard link",
            EntryKind::Other => "special",
        }
    }
}

/// An entry inside a tar archive.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveEntry {
    /// Path inside the archive (cut, with a note, when absurdly long).
    pub path: String,
    /// Size in bytes as the header claims it (0 for folders and links).
    pub size: u64,
    /// The entry's type.
    pub kind: EntryKind,
    /// Where a symbolic or hard link points.
    pub link: Option<String>,
}

/// What could be read of an archive: its entries, and why the listing stopped early.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ArchiveListing {
    /// The entries read, in archive order.
    pub entries: Vec<ArchiveEntry>,
    /// Set when the archive holds more entries than a listing keeps.
    pub truncated: bool,
    /// Why reading stopped before the end of the archive, naming the entry.
    pub error: Option<String>,
}

/// Human-readable bytes.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Instance metrics SageMaker publishes per host.
pub const INSTANCE_METRICS: &[&str] = &[
    "CPUUtilization",
    "MemoryUtilization",
    "GPUUtilization",
    "GPUMemoryUtilization",
    "DiskUtilization",
];
/// The series name of a host's instance metric: `algo-1/CPUUtilization`.
pub fn instance_series(host: &str, metric: &str) -> String {
    format!("{host}/{metric}")
}

/// The host and metric of an instance series name, `None` for algorithm metrics.
pub fn parse_instance_series(name: &str) -> Option<(&str, &str)> {
    let (host, metric) = name.split_once('/')?;
    let numbered = host
        .strip_prefix("algo-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    (numbered && INSTANCE_METRICS.contains(&metric)).then_some((host, metric))
}

/// `1h02m`, `3m05s`, `12s`.
pub fn format_duration(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// A time in the local time zone, to the second.
pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// An RFC 3339 timestamp with milliseconds, as the AWS CLI prints them.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_series_names_round_trip() {
        assert_eq!(
            parse_instance_series(&instance_series("algo-12", "GPUUtilization")),
            Some(("algo-12", "GPUUtilization"))
        );
        assert_eq!(parse_instance_series("train/loss"), None);
        assert_eq!(parse_instance_series("algo-1/loss"), None);
    }
}
