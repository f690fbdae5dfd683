//! The AWS backend: SageMaker for jobs, CloudWatch for metrics, CloudWatch Logs for logs and
//! S3 for artifacts, through the official SDK clients of one connection.

pub mod logs;
pub mod metrics;
pub mod pricing;
pub mod training;
pub mod tuning;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use async_trait::async_trait;

use self::metrics::MetricsQuery;
use super::s3::{self, S3Uri};
use super::sdk::{AwsConnection, CallCounter, Clients, from_sdk};
use super::{Backend, BackendError, Progress};
use crate::job::tuning::TuningSummary;
use crate::job::{
    ArchiveListing, ArtifactEntry, Cursor, InstancePrice, JobDetail, JobSummary, ListFilter,
    LogPage, MetricPage,
};
use crate::request::TrainingJobRequest;

/// Who the credentials belong to, from `sts:GetCallerIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    /// The 12-digit account.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
}

/// What never changes once a job exists.
struct KnownJob {
    request: TrainingJobRequest,
    created: DateTime<Utc>,
}

/// Jobs on AWS.
pub struct AwsBackend {
    connection: AwsConnection,
    clients: Clients,
    identity: CallerIdentity,
    region: String,
    calls: CallCounter,
    /// The request and creation time of each job asked about: they never change once a job
    /// exists, so metrics and artifacts need no describe call of their own each poll.
    requests: Mutex<HashMap<String, Arc<KnownJob>>>,
    /// The description of each ended tuning job listed: the list's summaries have no
    /// objective or best training job, and an ended tuning job no longer changes.
    ended_tuning: Mutex<HashMap<String, serde_json::Value>>,
}

impl AwsBackend {
    /// Resolves the connection and asks STS who the credentials belong to, so a missing or
    /// expired login shows up here, with what to do, rather than at the first list.
    pub async fn connect(connection: AwsConnection) -> Result<Self, BackendError> {
        let connection = connection.normalized();
        let calls = CallCounter::default();
        let (clients, region) = Clients::resolve(&connection, &calls).await?;
        let who = clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(from_sdk)?;
        Ok(Self {
            identity: CallerIdentity {
                account: who.account().unwrap_or_default().to_string(),
                arn: who.arn().unwrap_or_default().to_string(),
            },
            region,
            connection,
            clients,
            calls,
            requests: Mutex::default(),
            ended_tuning: Mutex::default(),
        })
    }

    /// The caller identity found at connection time.
    pub fn identity(&self) -> &CallerIdentity {
        &self.identity
    }

    /// The connection, with blanks removed.
    pub fn connection(&self) -> &AwsConnection {
        &self.connection
    }

    /// The region in use (from the connection, the profile or the environment).
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The SDK clients.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// The job's request and creation time, described once.
    async fn request_of(&self, name: &str) -> Result<Arc<KnownJob>, BackendError> {
        if let Some(known) = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
        {
            return Ok(known.clone());
        }
        let detail = self.describe_training_job(name).await?;
        let known = Arc::new(KnownJob {
            request: detail.request,
            created: detail.summary.creation_time,
        });
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(name.to_string(), known.clone());
        Ok(known)
    }

    async fn metrics_query(&self, name: &str) -> Result<MetricsQuery, BackendError> {
        let known = self.request_of(name).await?;
        let request = &known.request;
        let hosts = request
            .resource_config
            .as_ref()
            .map(|r| {
                r.instance_count.unwrap_or(0).max(0) as usize
                    + r.instance_groups
                        .iter()
                        .flatten()
                        .map(|g| g.instance_count.unwrap_or(0).max(0) as usize)
                        .sum::<usize>()
            })
            .unwrap_or(1)
            .max(1);
        Ok(MetricsQuery {
            job: name.to_string(),
            algorithm: request
                .metric_definitions()
                .iter()
                .filter_map(|m| m.name.clone())
                .collect(),
            hosts,
            since: known.created,
        })
    }

    /// Where the job's artifacts live: its folder under `OutputDataConfig.S3OutputPath`, then
    /// its checkpoint, debugger and profiler prefixes, each with the folder name it shows under.
    async fn artifact_prefixes(&self, name: &str) -> Result<Vec<(String, S3Uri)>, BackendError> {
        let known = self.request_of(name).await?;
        let request = &known.request;
        // (folder shown, URI, member, whether the job's name is appended as the service does)
        let sources = [
            (
                "",
                request
                    .output_data_config
                    .as_ref()
                    .and_then(|o| o.s3_output_path.as_deref()),
                "OutputDataConfig.S3OutputPath",
                true,
            ),
            (
                "checkpoints/",
                request
                    .checkpoint_config
                    .as_ref()
                    .and_then(|c| c.s3_uri.as_deref()),
                "CheckpointConfig.S3Uri",
                false,
            ),
            (
                "debug/",
                request
                    .debug_hook_config
                    .as_ref()
                    .and_then(|d| d.s3_output_path.as_deref()),
                "DebugHookConfig.S3OutputPath",
                true,
            ),
            (
                "profiler/",
                request
                    .profiler_config
                    .as_ref()
                    .and_then(|p| p.s3_output_path.as_deref()),
                "ProfilerConfig.S3OutputPath",
                true,
            ),
        ];
        let mut prefixes = Vec::new();
        for (folder, uri, field, per_job) in sources {
            let Some(uri) = uri else { continue };
            let root = S3Uri::parse(uri, field)?;
            let prefix = if per_job {
                S3Uri {
                    key: format!("{}{name}", root.folder()),
                    bucket: root.bucket,
                }
            } else {
                root
            };
            prefixes.push((folder.to_string(), prefix));
        }
        Ok(prefixes)
    }
}

#[async_trait]
impl Backend for AwsBackend {
    async fn upload_code(
        &self,
        dir: &std::path::Path,
        prefix: &str,
    ) -> Result<String, BackendError> {
        let base = S3Uri::parse(prefix, "sagemaker_submit_directory")?;
        let uri = format!("s3://{}/{}sourcedir.tar.gz", base.bucket, base.folder());
        let archive = std::env::temp_dir().join(format!(
            "sagedesk-sourcedir-{}-{}.tar.gz",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        let (folder, packed) = (dir.to_path_buf(), archive.clone());
        tokio::task::spawn_blocking(move || super::archive::pack_dir(&folder, &packed))
            .await
            .map_err(|e| BackendError::internal(e.to_string()))?
            .map_err(|e| BackendError::internal(format!("packing {}: {e}", dir.display())))?;
        let uploaded = s3::upload(
            &self.clients.s3,
            &archive,
            &uri,
            &s3::Encryption::default(),
            std::sync::Arc::new(|_, _| {}),
        )
        .await;
        let _ = std::fs::remove_file(&archive);
        uploaded.map(|_| uri)
    }

    fn label(&self) -> String {
        format!(
            "aws {} · {} · {}",
            self.connection.profile.as_deref().unwrap_or("default"),
            self.identity.account,
            self.region
        )
    }

    fn calls(&self) -> u64 {
        self.calls.count()
    }

    fn is_remote(&self) -> bool {
        true
    }

    async fn create_training_job(
        &self,
        request: TrainingJobRequest,
    ) -> Result<String, BackendError> {
        training::create(&self.clients.sagemaker, &request).await
    }

    async fn list_training_jobs(
        &self,
        filter: &ListFilter,
    ) -> Result<Vec<JobSummary>, BackendError> {
        training::list(&self.clients.sagemaker, filter).await
    }

    async fn describe_training_job(&self, name: &str) -> Result<JobDetail, BackendError> {
        training::describe(&self.clients.sagemaker, name).await
    }

    async fn stop_training_job(&self, name: &str) -> Result<(), BackendError> {
        training::stop(&self.clients.sagemaker, name).await
    }

    async fn create_tuning_job(
        &self,
        request: crate::request::tuning::TuningJobRequest,
    ) -> Result<String, BackendError> {
        tuning::create(&self.clients.sagemaker, &request).await
    }

    async fn list_tuning_jobs(&self) -> Result<Vec<TuningSummary>, BackendError> {
        let listed = tuning::list(&self.clients.sagemaker).await?;
        let mut out = Vec::with_capacity(listed.len());
        // Each is described for its objective and best training job: a running one each
        // time, an ended one once.
        for summary in &listed {
            let Some(name) = summary["HyperParameterTuningJobName"].as_str() else {
                continue;
            };
            let kept = self
                .ended_tuning
                .lock()
                .ok()
                .and_then(|k| k.get(name).cloned());
            let (described, read_now) = match kept {
                Some(described) => (described, false),
                None => match tuning::describe(&self.clients.sagemaker, name).await {
                    Ok(described) => (described, true),
                    // The summary still lists it, without its best training job.
                    Err(_) => (summary.clone(), false),
                },
            };
            let Some(listed) = TuningSummary::from_service(&described) else {
                continue;
            };
            if read_now
                && listed.status.is_terminal()
                && let Ok(mut kept) = self.ended_tuning.lock()
            {
                kept.insert(name.to_string(), described);
            }
            out.push(listed);
        }
        Ok(out)
    }

    async fn describe_tuning_job(&self, name: &str) -> Result<serde_json::Value, BackendError> {
        tuning::describe(&self.clients.sagemaker, name).await
    }

    async fn list_tuning_trials(&self, name: &str) -> Result<Vec<serde_json::Value>, BackendError> {
        tuning::trials(&self.clients.sagemaker, name).await
    }

    async fn stop_tuning_job(&self, name: &str) -> Result<(), BackendError> {
        tuning::stop(&self.clients.sagemaker, name).await
    }

    async fn instance_price(&self, instance_type: &str) -> Result<InstancePrice, BackendError> {
        let usd_per_hour =
            pricing::training_price(&self.clients.pricing, &self.region, instance_type).await?;
        Ok(InstancePrice {
            instance_type: instance_type.to_string(),
            region: self.region.clone(),
            usd_per_hour,
            date: chrono::Utc::now().format("%Y-%m-%d").to_string(),
        })
    }

    fn account(&self) -> Option<crate::backend::sdk::Account> {
        Some(crate::backend::sdk::Account {
            clients: self.clients.clone(),
            region: self.region.clone(),
            account: self.identity.account.clone(),
        })
    }

    async fn search_training_jobs(
        &self,
        next_token: Option<String>,
    ) -> Result<(Vec<JobDetail>, Option<String>), BackendError> {
        training::search(&self.clients.sagemaker, next_token).await
    }

    async fn list_tags(&self, job: &JobSummary) -> Result<Vec<(String, String)>, BackendError> {
        training::tags(&self.clients.sagemaker, &job.arn).await
    }

    async fn get_log_events(
        &self,
        name: &str,
        cursor: &Cursor,
        limit: usize,
    ) -> Result<LogPage, BackendError> {
        logs::tail(&self.clients.logs, name, cursor, limit).await
    }

    async fn get_metric_data(
        &self,
        name: &str,
        cursor: &Cursor,
    ) -> Result<MetricPage, BackendError> {
        let query = self.metrics_query(name).await?;
        metrics::fetch(&self.clients.cloudwatch, &query, cursor, chrono::Utc::now()).await
    }

    async fn list_artifacts(&self, name: &str) -> Result<Vec<ArtifactEntry>, BackendError> {
        let mut entries = Vec::new();
        for (folder, prefix) in self.artifact_prefixes(name).await? {
            entries.extend(
                s3::list_tree(&self.clients.s3, &prefix)
                    .await?
                    .into_iter()
                    .map(|mut e| {
                        e.key.insert_str(0, &folder);
                        e
                    }),
            );
        }
        Ok(entries)
    }

    async fn list_archive(&self, uri: &str) -> Result<ArchiveListing, BackendError> {
        s3::list_tar_gz(&self.clients.s3, uri).await
    }

    async fn download_artifact(
        &self,
        uri: &str,
        dest: &std::path::Path,
        progress: Progress,
    ) -> Result<(), BackendError> {
        s3::download(&self.clients.s3, uri, dest, &progress).await
    }
}
