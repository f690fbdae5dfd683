//! The `Backend` trait that the UI and the CLI talk to, whichever service is behind it,
//! [`open`] that turns a [`Connection`] into one, and [`BackendError`] with its
//! [`ErrorKind`]. Its children: `local` and `aws` (which never import each other), and
//! what both use: `sdk` (connections, clients, SDK errors), `s3`, `archive`, `paging`.
//! Backends import the request model and the job views, never the worker or the window.

pub mod archive;
pub mod aws;
pub mod diagnose;
pub mod local;
pub mod paging;
pub mod partial;
pub mod s3;
pub mod sdk;

use std::sync::Arc;

use async_trait::async_trait;

pub use crate::error::{BackendError, ErrorKind, UNSUPPORTED_LOCALLY};
pub use crate::job::{Connection, JobRef};

use crate::job::tuning::TuningSummary;
use crate::job::{
    ArchiveListing, ArtifactEntry, Cursor, InstancePrice, JobDetail, JobSummary, ListFilter,
    LogHits, LogLine, LogPage, LogSize, MetricPage, MetricSeries,
};
use crate::request::tuning::TuningJobRequest;

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

/// Resolves when `backend` says a job this process started ended; never where it cannot
/// tell (a waiter polls beside it).
pub async fn job_ended(backend: &dyn Backend) {
    match backend.ended() {
        Some(ended) => ended.notified().await,
        None => std::future::pending().await,
    }
}

/// The error of a source that has no tuning jobs.
fn no_tuning(label: &str) -> BackendError {
    BackendError::new(
        crate::error::UNSUPPORTED_LOCALLY,
        format!("{label} has no tuning jobs"),
    )
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

    /// Woken when a job this process started ends (its end stored by then), so that a
    /// waiter sees the end at once instead of at its next poll; `None` where nothing
    /// tells.
    fn ended(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        None
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

    /// `CreateTrainingJob` on this machine as `run` says: the connection its `s3://`
    /// locations and role are reached with (a local run of an AWS job) and whose AWS
    /// credentials it gets; a backend with no such choice ignores it.
    async fn create_training_job_here(
        &self,
        request: TrainingJobRequest,
        run: crate::job::LocalRun,
    ) -> Result<String, BackendError> {
        let _ = run;
        self.create_training_job(request).await
    }

    /// Why a job created on this machine as `run` says (the backend's own settings when
    /// `None`) would run without the AWS credentials it reaches AWS with, said before it
    /// starts, with the ways out; `None` when it will have them, needs none, or the backend
    /// has no such choice.
    async fn foresee_credentials(
        &self,
        request: &TrainingJobRequest,
        run: Option<&crate::job::LocalRun>,
    ) -> Option<String> {
        let _ = (request, run);
        None
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

    /// `CreateHyperParameterTuningJob`: its ARN.
    async fn create_tuning_job(&self, request: TuningJobRequest) -> Result<String, BackendError> {
        let _ = request;
        Err(no_tuning(&self.label()))
    }

    /// `CreateHyperParameterTuningJob` on this machine, its trials run as `run` says (a local
    /// run of an AWS tuning job reaches its `s3://` data through the AWS source); a backend
    /// with no such choice ignores it.
    async fn create_tuning_job_here(
        &self,
        request: TuningJobRequest,
        run: crate::job::LocalRun,
    ) -> Result<String, BackendError> {
        let _ = run;
        self.create_tuning_job(request).await
    }

    /// `ListHyperParameterTuningJobs`, newest first.
    async fn list_tuning_jobs(&self) -> Result<Vec<TuningSummary>, BackendError> {
        Err(no_tuning(&self.label()))
    }

    /// `DescribeHyperParameterTuningJob`, in the service's JSON shape.
    async fn describe_tuning_job(&self, name: &str) -> Result<serde_json::Value, BackendError> {
        let _ = name;
        Err(no_tuning(&self.label()))
    }

    /// `ListTrainingJobsForHyperParameterTuningJob`: its trials in the service's JSON shape.
    async fn list_tuning_trials(&self, name: &str) -> Result<Vec<serde_json::Value>, BackendError> {
        let _ = name;
        Err(no_tuning(&self.label()))
    }

    /// `StopHyperParameterTuningJob`: the tuning job and its running trials.
    async fn stop_tuning_job(&self, name: &str) -> Result<(), BackendError> {
        let _ = name;
        Err(no_tuning(&self.label()))
    }

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
