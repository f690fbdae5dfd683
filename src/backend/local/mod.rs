//! The local backend: runs training jobs on this machine under the SageMaker
//! training-container contract, each host in its `sandbox`, and keeps their history in SQLite.

mod artifacts;
mod config;
pub mod contract;
pub mod detach;
pub mod pyvalue;
mod remote;
pub mod runner;
pub mod runtimes;
pub mod sandbox;
pub mod tuning;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use self::artifacts::{copy_with_progress, list_files_under};
pub use self::config::{DEFAULT_STOP_GRACE, JobCredentials, LocalConfig, supervise_with};
use self::contract::LocalPlan;
use super::{Backend, BackendError, ErrorKind, Progress, archive};
use crate::job::tuning::TuningSummary;
use crate::job::{
    ArchiveListing, ArtifactEntry, Cursor, JobDetail, JobSummary, ListFilter, LogHits, LogLine,
    LogPage, LogSize, MetricPage, Status,
};
use crate::process;
use crate::request::{TrainingJobRequest, metrics::MetricExtractor};
use crate::store::{Ending, Store, now_ms};

/// The ARN a local job reports, in the service's format.
pub fn arn(job: &str) -> String {
    format!(
        "arn:aws:sagemaker:local:000000000000:training-job/{}",
        job.to_lowercase()
    )
}

/// The local backend.
pub struct LocalBackend {
    config: Arc<LocalConfig>,
    store: Arc<Mutex<Store>>,
    /// What the supervisors of jobs started here tell.
    reports: detach::Reports,
    /// S3, for jobs whose artifacts were uploaded there.
    remote: remote::Remote,
}

impl LocalBackend {
    /// Opens the store and marks jobs whose supervising process has died as failed.
    pub fn open(config: LocalConfig) -> Result<Self, BackendError> {
        let store = Store::open(&config.database())?;
        if !store.is_read_only() {
            recover_interrupted(&store, &config)?;
            config.keep_reserve();
        }
        Self::with_store(config, store)
    }

    /// Opens the store as a job's supervisor does: its job is not yet known to be supervised,
    /// so nothing is recovered.
    fn attach(config: LocalConfig) -> Result<Self, BackendError> {
        let store = Store::open(&config.database())?;
        Self::with_store(config, store)
    }

    fn with_store(config: LocalConfig, store: Store) -> Result<Self, BackendError> {
        Ok(Self {
            remote: remote::Remote::new(config.aws.clone()),
            config: Arc::new(config),
            store: Arc::new(Mutex::new(store)),
            reports: Default::default(),
        })
    }

    /// Whether the data folder could only be opened for reading.
    pub fn is_read_only(&self) -> bool {
        self.store.lock().is_ok_and(|s| s.is_read_only())
    }

    /// The configuration in use.
    pub fn config(&self) -> &LocalConfig {
        &self.config
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let store = self.store.clone();
        let config = self.config.clone();
        off_thread(move || {
            let store = store
                .lock()
                .map_err(|_| BackendError::internal("job store lock poisoned"))?;
            f(&store).map_err(|mut e| {
                if e.kind == ErrorKind::ReadOnly {
                    e.message = format!("{}: {}", config.database().display(), e.message);
                }
                e
            })
        })
        .await?
    }
}

impl LocalBackend {
    /// How a job runs when nothing else is said: through local mode's own AWS connection,
    /// with the configured credentials.
    fn own_run(&self) -> crate::job::LocalRun {
        crate::job::LocalRun {
            credentials: self.config.job_credentials,
            ..Default::default()
        }
    }

    /// The S3 client for an artifact of a local job: the connection that job ran with.
    async fn s3_for_artifact(&self, uri: &str) -> Result<aws_sdk_s3::Client, BackendError> {
        let jobs = self.config.home.join("jobs");
        let uri = uri.to_string();
        let connection = off_thread(move || remote::recorded_for_uri(&jobs, &uri)).await?;
        self.remote.s3_of(connection.as_ref()).await
    }

    /// How local mode runs `request`: its plan (with the interpreter the runtime table
    /// picks for its image) and its metric extractor.
    async fn plan(
        &self,
        request: &TrainingJobRequest,
    ) -> Result<(LocalPlan, MetricExtractor), BackendError> {
        let mut plan = LocalPlan::from_request(request, &self.config.default_output())?;
        let image = request
            .algorithm_specification
            .as_ref()
            .and_then(|a| a.training_image.clone())
            .unwrap_or_default();
        let python = self.config.python.clone();
        plan.interpreter = self
            .blocking(move |store| {
                let table = store.runtimes()?;
                let chosen = contract::interpreter_for(&table, &image, &python);
                Ok((chosen != python).then(|| chosen.to_path_buf()))
            })
            .await?;
        let python = plan
            .interpreter
            .clone()
            .unwrap_or_else(|| self.config.python.clone());
        let launcher_plan = plan.clone();
        let missing = tokio::task::spawn_blocking(move || {
            let plan = launcher_plan;
            if plan.launcher() == contract::Launcher::Process {
                return None;
            }
            let has_torch = plan.launcher() == contract::Launcher::Torchrun
                && (plan.installs("torch")
                    || contract::probe(&python).is_ok_and(|i| i.packages.contains_key("torch")));
            plan.missing_launcher(&python, has_torch)
        })
        .await
        .map_err(|e| BackendError::internal(e.to_string()))?;
        if let Some(why) = missing {
            return Err(BackendError::new(super::UNSUPPORTED_LOCALLY, why));
        }
        let extractor = MetricExtractor::new(request.metric_definitions())
            .map_err(|e| BackendError::validation(e.to_string()))?;
        Ok((plan, extractor))
    }

    /// `CreateTrainingJob` as `run` says: `s3://` locations and the role reached through its
    /// connection (else local mode's), with its choice of AWS credentials.
    async fn create(
        &self,
        request: TrainingJobRequest,
        run: crate::job::LocalRun,
    ) -> Result<String, BackendError> {
        let aws = run.connection.unwrap_or_else(|| self.config.aws.clone());
        let credentials = run.credentials;
        let (plan, extractor) = self.plan(&request).await?;
        // This run's debugger, where it asks for one, on a copy of the configuration.
        let config = match run.debug {
            Some(port) => {
                let mut own = (*self.config).clone();
                own.debug_port = Some(port);
                Arc::new(own)
            }
            None => self.config.clone(),
        };
        if let Some(port) = config.debug_port {
            let python = plan
                .interpreter
                .clone()
                .unwrap_or_else(|| self.config.python.clone());
            let checked = plan.clone();
            let refused =
                off_thread(move || runner::debug::refusal(&checked, &python, port)).await?;
            if let Some(why) = refused {
                return Err(BackendError::new(super::UNSUPPORTED_LOCALLY, why));
            }
        }
        let job_dir = self.config.job_dir(&plan.job);
        let arn = arn(&plan.job);
        let arn_out = arn.clone();
        let supervised = config.clone();
        let detached_aws = aws.clone();
        // Its outputs are read later through the connection it ran with.
        let recorded_aws = (aws != self.config.aws).then(|| aws.clone());
        let reports = self.reports.clone();
        self.blocking(move |store| {
            store.insert_job(&request, &arn, now_ms(), process::current())?;
            // A stale tree from a job of the same name that was deleted from the store.
            if job_dir.exists() {
                std::fs::remove_dir_all(&job_dir)?;
            }
            if let Some(connection) = &recorded_aws {
                std::fs::create_dir_all(&job_dir)?;
                remote::remember(&job_dir, connection)?;
            }
            if let Some(program) = &config.supervisor
                && let Err(e) = detach::launch(
                    &config,
                    program,
                    store,
                    request.name(),
                    &detached_aws,
                    credentials,
                    &reports,
                )
            {
                let ending = Ending::failed(format!("InternalFailure: {}", e.message));
                store.finish(request.name(), &ending, now_ms())?;
                return Err(e);
            }
            Ok(())
        })
        .await?;
        if self.config.supervisor.is_none() {
            let run = runner::supervise(
                supervised,
                plan,
                extractor,
                self.reports.unrecorded.clone(),
                aws,
                credentials,
            );
            let ended = self.reports.ended.clone();
            tokio::spawn(async move {
                run.await;
                ended.notify_one();
            });
        }
        Ok(arn_out)
    }
}

/// Runs blocking work (files, SQLite) on the blocking pool.
pub(crate) async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, BackendError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| BackendError::internal(format!("worker task: {e}")))
}

/// Fails every unfinished job whose supervisor is gone, killing its leftover processes.
fn recover_interrupted(store: &Store, config: &LocalConfig) -> Result<Vec<String>, BackendError> {
    let mut recovered = Vec::new();
    for job in store.unfinished()? {
        let alive = match (job.pid, job.start) {
            (Some(pid), Some(start)) => process::is_alive(pid, start),
            _ => false,
        };
        if alive {
            continue;
        }
        for (pid, start) in store.processes(&job.name)? {
            if process::is_alive(pid, start) {
                process::signal_group(pid, process::SIGKILL);
            }
        }
        process::kill_marked(&config.job_dir(&job.name).display().to_string());
        let reason = format!(
            "Interrupted: the SageDesk process that supervised this job (pid {}) exited before \
             the job ended; logs and metrics up to then are kept",
            job.pid.unwrap_or(0)
        );
        let ending = Ending {
            message: "Training job interrupted".into(),
            ..Ending::failed(reason)
        };
        store.finish(&job.name, &ending, now_ms())?;
        recovered.push(job.name);
    }
    Ok(recovered)
}

#[async_trait]
impl Backend for LocalBackend {
    fn label(&self) -> String {
        "local".into()
    }

    fn stop_grace(&self) -> Option<Duration> {
        Some(self.config.stop_grace)
    }

    fn supervises_here(&self) -> bool {
        self.config.supervisor.is_none()
    }

    fn ended(&self) -> Option<Arc<tokio::sync::Notify>> {
        Some(self.reports.ended.clone())
    }

    fn notice(&self) -> Option<String> {
        self.is_read_only().then(|| {
            format!(
                "Read-only: the data folder {} cannot be written. Jobs can be viewed but not \
                 run, stopped or saved as templates; make it writable or set SAGEDESK_HOME to \
                 another folder.",
                self.config.home.display()
            )
        })
    }

    async fn create_training_job(
        &self,
        request: TrainingJobRequest,
    ) -> Result<String, BackendError> {
        self.create(request, self.own_run()).await
    }

    async fn create_training_job_here(
        &self,
        request: TrainingJobRequest,
        run: crate::job::LocalRun,
    ) -> Result<String, BackendError> {
        self.create(request, run).await
    }

    async fn foresee_credentials(
        &self,
        request: &TrainingJobRequest,
        run: Option<&crate::job::LocalRun>,
    ) -> Option<String> {
        let (plan, _) = self.plan(request).await.ok()?;
        let aws = run
            .and_then(|r| r.connection.clone())
            .unwrap_or_else(|| self.config.aws.clone());
        let credentials = run.map_or(self.config.job_credentials, |r| r.credentials);
        let explicit = aws != crate::backend::sdk::AwsConnection::default();
        let why = runner::foreseen(credentials, &plan, &aws, explicit).await?;
        Some(runner::notice(&why).join(" "))
    }

    async fn list_training_jobs(
        &self,
        filter: &ListFilter,
    ) -> Result<Vec<JobSummary>, BackendError> {
        let filter = filter.clone();
        self.blocking(move |store| store.list(&filter)).await
    }

    async fn describe_training_job(&self, name: &str) -> Result<JobDetail, BackendError> {
        let name = name.to_string();
        let unrecorded = self.reports.unrecorded.clone();
        let config = self.config.clone();
        self.blocking(move |store| {
            let mut detail = store.detail(&name)?;
            if detail.summary.status.is_terminal() {
                return Ok(detail);
            }
            // An ending the supervisor could not store (a full disk) is still the truth.
            let kept = unrecorded.lock().ok().and_then(|m| m.get(&name).cloned());
            if let Some((status, reason)) =
                kept.or_else(|| runner::unrecorded_ending(&config, &name))
            {
                detail.summary.status = status;
                detail.failure_reason = Some(reason);
            } else if !store.is_read_only() {
                // Its supervisor may be gone (killed by the OS, or its machine restarted).
                match recover_interrupted(store, &config) {
                    Ok(recovered) if recovered.contains(&name) => detail = store.detail(&name)?,
                    Ok(_) => {}
                    Err(e) => tracing::warn!("marking interrupted jobs: {e}"),
                }
            }
            Ok(detail)
        })
        .await
    }

    async fn stop_training_job(&self, name: &str) -> Result<(), BackendError> {
        let name = name.to_string();
        let config = self.config.clone();
        self.blocking(move |store| {
            let status = store.request_stop(&name, now_ms())?;
            match status {
                Status::InProgress | Status::Stopping => {
                    // A job nobody supervises any more cannot stop by itself.
                    recover_interrupted(store, &config)?;
                    Ok(())
                }
                other => Err(BackendError::validation(format!(
                    "The job {name} is {other} and cannot be stopped"
                ))),
            }
        })
        .await
    }

    async fn get_log_events(
        &self,
        name: &str,
        cursor: &Cursor,
        limit: usize,
    ) -> Result<LogPage, BackendError> {
        let name = name.to_string();
        let cursor = cursor.position();
        self.blocking(move |store| {
            if cursor == 0 && !store.exists(&name)? {
                return Err(BackendError::not_found(&name));
            }
            store.logs_after(&name, cursor, limit)
        })
        .await
    }

    async fn log_size(&self, name: &str) -> Result<Option<LogSize>, BackendError> {
        let name = name.to_string();
        self.blocking(move |store| store.log_size(&name).map(Some))
            .await
    }

    async fn log_rows(
        &self,
        name: &str,
        host: Option<&str>,
        rows: std::ops::Range<u64>,
    ) -> Result<Vec<LogLine>, BackendError> {
        let (name, host) = (name.to_string(), host.map(str::to_string));
        self.blocking(move |store| store.log_rows(&name, host.as_deref(), rows))
            .await
    }

    async fn search_log(
        &self,
        name: &str,
        host: Option<&str>,
        text: &str,
        cap: usize,
    ) -> Result<LogHits, BackendError> {
        let (name, host, text) = (name.to_string(), host.map(str::to_string), text.to_string());
        self.blocking(move |store| store.search_log(&name, host.as_deref(), &text, cap))
            .await
    }

    async fn get_metric_data(
        &self,
        name: &str,
        cursor: &Cursor,
    ) -> Result<MetricPage, BackendError> {
        let name = name.to_string();
        let cursor = cursor.position();
        self.blocking(move |store| {
            if !store.exists(&name)? {
                return Err(BackendError::not_found(&name));
            }
            store.metrics_after(&name, cursor)
        })
        .await
    }

    async fn create_tuning_job(
        &self,
        request: crate::request::tuning::TuningJobRequest,
    ) -> Result<String, BackendError> {
        self.create_tuning_job_here(request, self.own_run()).await
    }

    async fn create_tuning_job_here(
        &self,
        request: crate::request::tuning::TuningJobRequest,
        run: crate::job::LocalRun,
    ) -> Result<String, BackendError> {
        let config = self.config.clone();
        self.blocking(move |store| tuning::run::launch(store, &config, &request, run))
            .await
    }

    async fn list_tuning_jobs(&self) -> Result<Vec<TuningSummary>, BackendError> {
        self.blocking(tuning::summaries).await
    }

    async fn describe_tuning_job(&self, name: &str) -> Result<serde_json::Value, BackendError> {
        let name = name.to_string();
        self.blocking(move |store| tuning::described(store, &name))
            .await
    }

    async fn list_tuning_trials(&self, name: &str) -> Result<Vec<serde_json::Value>, BackendError> {
        let name = name.to_string();
        self.blocking(move |store| Ok(tuning::trials(&tuning::read(store, &name)?)))
            .await
    }

    async fn stop_tuning_job(&self, name: &str) -> Result<(), BackendError> {
        let name = name.to_string();
        self.blocking(move |store| tuning::stop(store, &name)).await
    }

    async fn list_artifacts(&self, name: &str) -> Result<Vec<ArtifactEntry>, BackendError> {
        let detail = self.describe_training_job(name).await?;
        let plan_root = match detail
            .request
            .output_data_config
            .as_ref()
            .and_then(|o| o.s3_output_path.as_deref())
        {
            Some(uri) if uri.starts_with("s3://") => {
                let base = super::s3::S3Uri::parse(uri, "OutputDataConfig.S3OutputPath")?;
                let prefix = super::s3::S3Uri {
                    key: format!("{}{name}/", base.folder()),
                    ..base
                };
                let connection = remote::recorded(&self.config.job_dir(name));
                let client = self.remote.s3_of(connection.as_ref()).await?;
                return super::s3::list_tree(&client, &prefix).await;
            }
            Some(uri) => contract::file_uri_path(uri, "OutputDataConfig.S3OutputPath")?,
            None => self.config.default_output(),
        };
        let prefix = plan_root.join(name);
        off_thread(move || list_files_under(&prefix)).await?
    }

    async fn download_artifact(
        &self,
        uri: &str,
        dest: &Path,
        progress: Progress,
    ) -> Result<(), BackendError> {
        if uri.starts_with("s3://") {
            let client = self.s3_for_artifact(uri).await?;
            return super::s3::download(&client, uri, dest, &progress).await;
        }
        let src = contract::file_uri_path(uri, "artifact")?;
        let dest = dest.to_path_buf();
        off_thread(move || {
            copy_with_progress(&src, &dest, &progress).map_err(|e| {
                BackendError::internal(format!("{} -> {}: {e}", src.display(), dest.display()))
            })
        })
        .await?
    }

    async fn list_archive(&self, uri: &str) -> Result<ArchiveListing, BackendError> {
        if uri.starts_with("s3://") {
            let client = self.s3_for_artifact(uri).await?;
            return super::s3::list_tar_gz(&client, uri).await;
        }
        let path = contract::file_uri_path(uri, "archive")?;
        off_thread(move || {
            let listing = archive::list_tar_gz_file(&path)
                .map_err(|e| BackendError::internal(format!("{}: {e}", path.display())))?;
            archive::readable(listing, &path.display().to_string())
        })
        .await?
    }
}
