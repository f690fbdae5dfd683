//! The `Backend` trait that the UI and the CLI talk to, whichever service is behind it,
//! [`open`] that turns a [`Connection`] into one, and [`BackendError`] with its
//! [`ErrorKind`]. Its children: `local` and `aws` (which never import each other), and
//! what both use: `sdk` (connections, clients, SDK errors), `s3`, `archive`, `paging`.
//! Backends import the request model and the job views, never the worker or the window.

pub mod archive;
pub mod aws;
pub mod local;
pub mod paging;
pub mod partial;
pub mod s3;
pub mod sdk;

use std::sync::Arc;

use async_trait::async_trait;

use crate::job::{
    ArchiveListing, ArtifactEntry, Cursor, InstancePrice, JobDetail, JobSummary, ListFilter,
    LogHits, LogLine, LogPage, LogSize, MetricPage, MetricSeries,
};

/// Which backend the window and the CLI talk to.
#[derive(
    Debug,
    Clone,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Connection {
    /// Jobs on this machine.
    #[default]
    Local,
    /// Jobs on AWS.
    Aws(sdk::AwsConnection),
}

impl Connection {
    /// A short name for menus.
    pub fn label(&self) -> String {
        match self {
            Connection::Local => "Local".into(),
            Connection::Aws(aws) => format!("AWS {}", aws.label()),
        }
    }

    /// The name of the source in the job list's column: `local`, or `profile · region`.
    pub fn source_label(&self) -> String {
        match self {
            Connection::Local => "local".into(),
            Connection::Aws(aws) => aws.label(),
        }
    }

    /// Whether jobs of this source run on AWS.
    pub fn is_aws(&self) -> bool {
        matches!(self, Connection::Aws(_))
    }
}

/// A job as it is known everywhere (selection, commands, events, saved state): the source
/// that holds it and its name.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct JobRef {
    /// The connection whose backend holds the job.
    pub source: Connection,
    /// `TrainingJobName`.
    pub name: String,
}

impl JobRef {
    /// A job of `source`.
    pub fn new(source: Connection, name: impl Into<String>) -> Self {
        Self {
            source,
            name: name.into(),
        }
    }

    /// A job on this machine.
    pub fn local(name: impl Into<String>) -> Self {
        Self::new(Connection::Local, name)
    }
}

impl std::fmt::Display for JobRef {
    /// `name` for a local job, `name (profile · region)` for another source's.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.source {
            Connection::Local => f.write_str(&self.name),
            source => write!(f, "{} ({})", self.name, source.source_label()),
        }
    }
}

/// Opens the backend a connection names: local mode over the data folder the environment
/// names (`SAGEDESK_HOME`, ...), or an AWS connection, checked with STS so that a missing
/// or expired login shows at once.
pub async fn open(connection: &Connection) -> Result<Arc<dyn Backend>, BackendError> {
    match connection {
        Connection::Local => {
            let config = local::LocalConfig::from_env().map_err(BackendError::validation)?;
            Ok(Arc::new(local::LocalBackend::open(config)?))
        }
        Connection::Aws(aws) => Ok(Arc::new(aws::AwsBackend::connect(aws.clone()).await?)),
    }
}

/// Metric points of `job` after `cursor`, following up to `pages` pages (a page that comes
/// back empty, or leaves the cursor where it was, is the end); `cursor` moves past them. A
/// failure ends the read: the points read before it come back with the error.
pub async fn read_metrics(
    backend: &dyn Backend,
    job: &str,
    cursor: &mut Cursor,
    pages: usize,
) -> (Vec<MetricSeries>, Option<BackendError>) {
    let mut all = Vec::new();
    for _ in 0..pages {
        match backend.get_metric_data(job, cursor).await {
            Ok(page) if page.series.is_empty() => break,
            Ok(page) => {
                let moved = page.next_cursor != *cursor;
                *cursor = page.next_cursor;
                for series in page.series {
                    match all
                        .iter_mut()
                        .find(|s: &&mut MetricSeries| s.name == series.name)
                    {
                        Some(known) => known.points.extend(series.points),
                        None => all.push(series),
                    }
                }
                if !moved {
                    break;
                }
            }
            Err(e) => return (all, Some(e)),
        }
    }
    (all, None)
}

/// A progress callback: bytes done and bytes in all.
pub type Progress = Box<dyn Fn(u64, u64) + Send + Sync>;
use crate::request::TrainingJobRequest;

/// What kind of failure an error is, whichever service or part raised it: what callers
/// decide on (retry, exit code, wording), where the code stays the service's own text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No such job, object or stream.
    NotFound,
    /// The request is not acceptable.
    Validation,
    /// Local mode cannot run this request.
    Unsupported,
    /// The name is taken or the resource is in a state that forbids the call.
    Conflict,
    /// Too many requests: slow down.
    Throttled,
    /// Credentials are missing, expired or not allowed.
    Auth,
    /// No answer: refused, reset, unresolvable, timed out.
    Network,
    /// The service failed on its side or is unavailable for now.
    Unavailable,
    /// No space left on the device that holds the data folder.
    StorageFull,
    /// The data folder can only be read.
    ReadOnly,
    /// A file or process on this machine failed.
    Io,
    /// Anything else.
    Other,
}

impl ErrorKind {
    /// The kind of a service's error code.
    pub fn of_code(code: &str) -> Self {
        match code {
            "ResourceNotFound"
            | "ResourceNotFoundException"
            | "NoSuchKey"
            | "NoSuchBucket"
            | "NotFound"
            | "NoSuchEntity" => ErrorKind::NotFound,
            "ValidationException"
            | "ValidationError"
            | "InvalidParameterValue"
            | "InvalidParameterException"
            | "InvalidRequest" => ErrorKind::Validation,
            UNSUPPORTED_LOCALLY => ErrorKind::Unsupported,
            "ResourceInUse"
            | "ResourceInUseException"
            | "ConflictException"
            | "ResourceLimitExceeded" => ErrorKind::Conflict,
            "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "SlowDown"
            | "ProvisionedThroughputExceededException" => ErrorKind::Throttled,
            "AccessDenied"
            | "AccessDeniedException"
            | "ExpiredToken"
            | "ExpiredTokenException"
            | "UnrecognizedClientException"
            | "InvalidClientTokenId"
            | "SignatureDoesNotMatch"
            | "InvalidSignatureException"
            | sdk::NO_CREDENTIALS
            | sdk::SSO_EXPIRED => ErrorKind::Auth,
            sdk::NETWORK_ERROR | "RequestTimeout" | "RequestTimeoutException" => ErrorKind::Network,
            "ServiceUnavailable" | "InternalServerError" | "InternalFailure" | "InternalError" => {
                ErrorKind::Unavailable
            }
            local::store::STORAGE_FULL => ErrorKind::StorageFull,
            local::store::READ_ONLY => ErrorKind::ReadOnly,
            _ => ErrorKind::Other,
        }
    }
}

/// The code of errors for requests local mode cannot run.
pub const UNSUPPORTED_LOCALLY: &str = "UnsupportedLocally";

/// An error from a backend: its kind, and the service's own code and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct BackendError {
    /// What kind of failure it is.
    pub kind: ErrorKind,
    /// The service's code, such as `ResourceInUse` or `ValidationException`.
    pub code: String,
    /// The service's message.
    pub message: String,
}

impl BackendError {
    /// An error with the given code (its kind follows from it) and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        let code = code.into();
        Self {
            kind: ErrorKind::of_code(&code),
            code,
            message: message.into(),
        }
    }

    /// `ValidationException`: the request is not acceptable.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new("ValidationException", message)
    }

    /// `ResourceNotFound`: no such job.
    pub fn not_found(job: &str) -> Self {
        Self::new(
            "ResourceNotFound",
            format!("Requested resource not found: training job {job:?} does not exist"),
        )
    }

    /// `ResourceInUse`: the name is taken.
    pub fn in_use(job: &str) -> Self {
        Self::new(
            "ResourceInUse",
            format!("Training job names must be unique: a job named {job:?} already exists"),
        )
    }

    /// A local failure (disk, database, process) that is not the request's fault.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Io,
            ..Self::new("InternalFailure", message)
        }
    }

    /// Whether trying again later may succeed: throttling, a server-side failure, the
    /// network or a local hiccup. Pollers back off on these instead of hammering the
    /// service.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Throttled | ErrorKind::Network | ErrorKind::Unavailable | ErrorKind::Io
        )
    }
}

impl From<rusqlite::Error> for BackendError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Self::new(
                local::store::STORAGE_FULL,
                format!("job store: no space left on device ({e})"),
            ),
            Some(rusqlite::ErrorCode::ReadOnly) => Self::new(
                local::store::READ_ONLY,
                format!(
                    "job store: the data folder is read-only ({e}); SageDesk can show its jobs \
                     but not change them: make it writable or set SAGEDESK_HOME to another folder"
                ),
            ),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                Self::internal(format!(
                    "job store: the file is damaged ({e}): keep a copy (move sagedesk.db in the \
                     data folder to sagedesk.db.damaged), then start SageDesk again to begin \
                     with an empty store"
                ))
            }
            _ => Self::internal(format!("job store: {e}")),
        }
    }
}

impl From<std::io::Error> for BackendError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::StorageFull => Self::new(local::store::STORAGE_FULL, e.to_string()),
            _ => Self::internal(e.to_string()),
        }
    }
}

/// What all backends do. Methods are named after the SageMaker API calls they stand for.
#[async_trait]
pub trait Backend: Send + Sync {
    /// A short label for the connection bar: `local`, or the account and region.
    fn label(&self) -> String;

    /// The on-demand price of training on `instance_type` in this connection's region.
    async fn instance_price(&self, instance_type: &str) -> Result<InstancePrice, BackendError> {
        let _ = instance_type;
        Err(BackendError::new(
            UNSUPPORTED_LOCALLY,
            "jobs on this machine are not billed",
        ))
    }

    /// A page of every training job's description, newest first (`Search`): what the
    /// list's cost column reads, a hundred jobs a call. Not offered locally.
    async fn search_training_jobs(
        &self,
        next_token: Option<String>,
    ) -> Result<(Vec<JobDetail>, Option<String>), BackendError> {
        let _ = next_token;
        Err(BackendError::new(
            UNSUPPORTED_LOCALLY,
            "local jobs are listed with their details",
        ))
    }

    /// The clients, region and account of a backend that has an account (AWS), for
    /// preflight's checks.
    fn account(&self) -> Option<sdk::Account> {
        None
    }

    /// The job's tags, `(key, value)`: `ListTags` on AWS, the request's `Tags` locally.
    async fn list_tags(&self, job: &JobSummary) -> Result<Vec<(String, String)>, BackendError> {
        let detail = self.describe_training_job(&job.name).await?;
        Ok(detail
            .request
            .tags
            .unwrap_or_default()
            .into_iter()
            .filter_map(|t| Some((t.key?, t.value.unwrap_or_default())))
            .collect())
    }

    /// Packs the folder `dir` as `sourcedir.tar.gz` and uploads it under the `s3://`
    /// prefix `prefix`, as the SageMaker Python SDK does; the object's URI.
    async fn upload_code(
        &self,
        dir: &std::path::Path,
        prefix: &str,
    ) -> Result<String, BackendError> {
        let _ = (dir, prefix);
        Err(BackendError::new(
            UNSUPPORTED_LOCALLY,
            "code is uploaded to S3 with an AWS connection",
        ))
    }

    /// Requests sent to the service so far, retries included (0 when nothing is remote).
    fn calls(&self) -> u64 {
        0
    }

    /// A standing notice about this backend for the window to show, such as a data folder
    /// that can only be read.
    fn notice(&self) -> Option<String> {
        None
    }

    /// The time a stopped job gets between SIGTERM and SIGKILL, where this machine runs it.
    fn stop_grace(&self) -> Option<std::time::Duration> {
        None
    }

    /// Whether jobs it starts are supervised inside this process (and end with it).
    fn supervises_here(&self) -> bool {
        false
    }

    /// Whether calls go to a rate-limited service, so pollers must space them out.
    fn is_remote(&self) -> bool {
        false
    }

    /// `CreateTrainingJob`; returns the job's ARN.
    async fn create_training_job(
        &self,
        request: TrainingJobRequest,
    ) -> Result<String, BackendError>;

    /// `ListTrainingJobs`, newest first.
    async fn list_training_jobs(
        &self,
        filter: &ListFilter,
    ) -> Result<Vec<JobSummary>, BackendError>;

    /// `DescribeTrainingJob`.
    async fn describe_training_job(&self, name: &str) -> Result<JobDetail, BackendError>;

    /// `CreateTrainingJob` for a job whose `s3://` locations are read and written with
    /// `connection` (a local run of an AWS job); a backend with no such choice ignores it.
    async fn create_training_job_with_s3(
        &self,
        request: TrainingJobRequest,
        connection: sdk::AwsConnection,
    ) -> Result<String, BackendError> {
        let _ = connection;
        self.create_training_job(request).await
    }

    /// `StopTrainingJob`.
    async fn stop_training_job(&self, name: &str) -> Result<(), BackendError>;

    /// Log lines after `cursor` (the default cursor for the start), at most `limit` of them.
    async fn get_log_events(
        &self,
        name: &str,
        cursor: &Cursor,
        limit: usize,
    ) -> Result<LogPage, BackendError>;

    /// How many lines the job's log has, where this backend keeps logs to page through
    /// (local mode's store); `None` where logs can only be read forward (CloudWatch Logs):
    /// the reader keeps what it read.
    async fn log_size(&self, _name: &str) -> Result<Option<LogSize>, BackendError> {
        Ok(None)
    }

    /// The job's log lines at `rows` (with `host`, that host's rows), where kept.
    async fn log_rows(
        &self,
        name: &str,
        _host: Option<&str>,
        _rows: std::ops::Range<u64>,
    ) -> Result<Vec<LogLine>, BackendError> {
        Err(BackendError::internal(format!(
            "the log of {name} is not kept here: read it forward"
        )))
    }

    /// The rows of the job's lines holding `text` (ignoring case), at most `cap`, where kept.
    async fn search_log(
        &self,
        name: &str,
        _host: Option<&str>,
        _text: &str,
        _cap: usize,
    ) -> Result<LogHits, BackendError> {
        Err(BackendError::internal(format!(
            "the log of {name} is not kept here: read it forward"
        )))
    }

    /// Metric points of the job's metric definitions after `cursor` (the default cursor for all).
    async fn get_metric_data(
        &self,
        name: &str,
        cursor: &Cursor,
    ) -> Result<MetricPage, BackendError>;

    /// The files the job produced.
    async fn list_artifacts(&self, name: &str) -> Result<Vec<ArtifactEntry>, BackendError>;

    /// The entries of a `.tar.gz` artifact, read from its headers.
    async fn list_archive(&self, uri: &str) -> Result<ArchiveListing, BackendError>;

    /// Copies an artifact to `dest`, calling `progress(done, total)` in bytes as it goes.
    async fn download_artifact(
        &self,
        uri: &str,
        dest: &std::path::Path,
        progress: Progress,
    ) -> Result<(), BackendError>;
}
