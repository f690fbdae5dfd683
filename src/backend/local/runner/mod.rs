//! The supervisor of one local job: prepares the `/opt/ml` trees, runs one process per
//! host (`train`), records every line (`output`), enforces stops and limits, keeps the
//! job's processes from outliving it (`groups`), and packs the artifacts. It imports its
//! own backend's contract and store, the request model and the neutral SDK module.

mod augmented;
mod checkpoints;
mod closed;
mod credentials;
pub(crate) mod debug;
mod endings;
mod groups;
mod hosts;
mod meter;
mod output;
mod pipes;
mod requirements;
mod train;
mod transfer;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use self::checkpoints::Checkpoints;
pub(crate) use self::credentials::{foreseen, notice};
use self::endings::{StorageFault, record_end, remember};
pub use self::endings::{parse_unrecorded, unrecorded_ending};
use self::meter::Meter;
use self::train::{Outcome, train};
use super::contract::{EntryKind, HostLayout, LocalPlan, private_dir, stage_channels, stage_code};
use super::remote::Remote;
use super::{LocalConfig, off_thread};
use crate::backend::BackendError;
use crate::backend::ErrorKind;
use crate::backend::s3::SharedProgress;
use crate::job::{SecondaryStatus, Status};
use crate::request::metrics::MetricExtractor;
use crate::store::{Ending, Record, Store, now_ms};

/// How often the supervisor looks for stop requests from any process.
const POLL: Duration = Duration::from_millis(100);
/// How often staging progress is written to the job's status message.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);
/// The most of `output/failure` or stderr that goes into `FailureReason`.
const REASON_LIMIT: usize = 1024;

/// Endings the supervisor could not write to the store (a full disk), by job: this process
/// still reports them, so a waiting `run` ends.
pub type Unrecorded = Arc<Mutex<HashMap<String, (Status, String)>>>;

/// Runs the job to its end and records the outcome. Never panics on job errors.
pub async fn supervise(
    config: Arc<LocalConfig>,
    plan: LocalPlan,
    extractor: MetricExtractor,
    unrecorded: Unrecorded,
    aws: crate::backend::sdk::AwsConnection,
    credentials: crate::job::JobCredentials,
) {
    let name = plan.job.clone();
    let fault = Arc::new(StorageFault::default());
    let supervision = Supervision {
        config: &config,
        plan,
        layouts: Vec::new(),
        fault: fault.clone(),
        unrecorded: &unrecorded,
        remote: Arc::new(Remote::new(aws.clone())),
        aws,
        credentials,
    };
    if let Err(e) = supervision.run(extractor).await {
        tracing::error!("job {name}: {e}");
        let reason = if e.kind == ErrorKind::StorageFull || fault.is_full() {
            fault.reason(&config)
        } else {
            format!("InternalFailure: {}", e.message)
        };
        let job = name.clone();
        let config2 = config.clone();
        let unrecorded = unrecorded.clone();
        let result = off_thread(move || {
            let ending = Ending::failed(reason);
            match Store::open(&config2.database()) {
                Ok(store) => record_end(&store, &config2, &job, &ending, &unrecorded),
                Err(e) => {
                    remember(&unrecorded, &config2, &job, &ending);
                    Err(e)
                }
            }
        })
        .await;
        if let Ok(Err(e)) | Err(e) = result {
            tracing::error!("job {name}: could not record the failure: {e}");
        }
    }
}

/// Returns once a stop of `job` has been asked for (looked for every [`POLL`]); never
/// returns when the store cannot be read.
async fn stop_request(database: std::path::PathBuf, job: String) {
    let Ok(store) = Store::open(&database) else {
        return std::future::pending().await;
    };
    loop {
        tokio::time::sleep(POLL).await;
        if store.stop_requested(&job).unwrap_or(false) {
            return;
        }
    }
}

/// Whether a job goes on to its next stage or has ended (its end recorded). Stages take the
/// store as `&mut` so that the supervision future stays `Send` (a connection is not `Sync`).
#[derive(PartialEq)]
enum Stage {
    Next,
    Ended,
}

/// One job under supervision.
struct Supervision<'a> {
    config: &'a LocalConfig,
    plan: LocalPlan,
    layouts: Vec<HostLayout>,
    fault: Arc<StorageFault>,
    unrecorded: &'a Unrecorded,
    remote: Arc<Remote>,
    /// The connection the job reaches AWS with: a source's own, or the environment's.
    aws: crate::backend::sdk::AwsConnection,
    /// Whose AWS credentials the job gets.
    credentials: crate::job::JobCredentials,
}

impl Supervision<'_> {
    /// Runs the job through its stages to its end, and records the end.
    async fn run(mut self, extractor: MetricExtractor) -> Result<(), BackendError> {
        let mut store = Store::open(&self.config.database())?;
        let job_dir = self.config.job_dir(&self.plan.job);
        self.layouts = self
            .plan
            .hosts
            .iter()
            .map(|h| HostLayout::new(job_dir.join(h)))
            .collect();
        self.enter(
            &store,
            SecondaryStatus::Starting,
            "Preparing the instances for training",
        )?;
        if self.prepare(&mut store).await? == Stage::Ended || self.stopped(&store)? == Stage::Ended
        {
            return Ok(());
        }
        self.enter(
            &store,
            SecondaryStatus::Downloading,
            "Downloading input data",
        )?;
        // A stop during the downloads ends them at once: transfers are cancelled (dropped)
        // and copies stop at their next chunk.
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = stop_request(self.config.database(), self.plan.job.clone());
        let downloaded = tokio::select! {
            stage = self.download(&mut store, &cancel) => Some(stage?),
            () = stop => None,
        };
        if downloaded.is_none() {
            cancel.store(true, Ordering::Relaxed);
        }
        if downloaded == Some(Stage::Ended) || self.stopped(&store)? == Stage::Ended {
            return Ok(());
        }
        self.enter(
            &store,
            SecondaryStatus::Training,
            "Training image download completed. Training in progress.",
        )?;
        store.set_training_start(&self.plan.job, now_ms())?;
        // A connection of the job's own, or S3 in its request: it reaches AWS as its role.
        let explicit = self.aws != crate::backend::sdk::AwsConnection::default();
        let grant = credentials::grant(self.credentials, &self.plan, &self.aws, explicit).await;
        if let Some(without) = &grant.without {
            self.note(&store, credentials::notice(without));
        }
        let stop_sync = Arc::new(tokio::sync::Notify::new());
        let sync = self.checkpoints().map(|c| c.spawn(stop_sync.clone()));
        let outcome = train(
            self.config,
            &self.plan,
            &self.layouts,
            extractor,
            &mut store,
            &self.fault,
            &grant,
        )
        .await?;
        drop(grant);
        if let Some(sync) = sync {
            stop_sync.notify_one();
            match sync.await {
                Ok(Err(e)) => tracing::warn!("job {}: {e}", self.plan.job),
                Err(e) => tracing::warn!("job {}: checkpoint copy: {e}", self.plan.job),
                Ok(Ok(())) => {}
            }
        }
        let Some(model_artifacts) = self.pack(&mut store, &outcome).await? else {
            return Ok(());
        };
        let mut ending = Ending {
            model_artifacts,
            ..outcome.ending
        };
        if let Some(note) = self.fault.note(self.config) {
            ending.message = format!("{} ({note})", ending.message);
        }
        self.fault.report(&self.plan.job);
        record_end(
            &store,
            self.config,
            &self.plan.job,
            &ending,
            self.unrecorded,
        )
    }

    /// Moves the job to `secondary` (still InProgress). On a full disk the job goes on
    /// without the transition recorded.
    fn enter(
        &self,
        store: &Store,
        secondary: SecondaryStatus,
        message: &str,
    ) -> Result<(), BackendError> {
        let entered = store.transition(
            &self.plan.job,
            Status::InProgress,
            secondary,
            message,
            now_ms(),
        );
        match entered {
            Err(e) if e.kind == ErrorKind::StorageFull => {
                tracing::warn!("job {}: {secondary:?} not recorded: {e}", self.plan.job);
                Ok(())
            }
            other => other,
        }
    }

    /// Fails the job with `reason` (cut to the service's limit).
    fn fail(&self, store: &Store, reason: String) -> Result<Stage, BackendError> {
        let reason: String = reason.chars().take(REASON_LIMIT).collect();
        let ending = Ending::failed(reason);
        record_end(store, self.config, &self.plan.job, &ending, self.unrecorded)?;
        Ok(Stage::Ended)
    }

    /// Ends the job as Stopped if a stop was asked for before training.
    fn stopped(&self, store: &Store) -> Result<Stage, BackendError> {
        if !store.stop_requested(&self.plan.job)? {
            return Ok(Stage::Next);
        }
        let ending = Ending::stopped(SecondaryStatus::Stopped, "Training job stopped");
        store.finish(&self.plan.job, &ending, now_ms())?;
        Ok(Stage::Ended)
    }

    /// Makes each host's tree and writes its config files.
    async fn prepare(&self, store: &mut Store) -> Result<Stage, BackendError> {
        let plan = self.plan.clone();
        let layouts = self.layouts.clone();
        let job_dir = self.config.job_dir(&self.plan.job);
        let prepared = off_thread(move || -> std::io::Result<()> {
            if let Some(jobs) = job_dir.parent() {
                private_dir(jobs)?;
            }
            private_dir(&job_dir)?;
            for (layout, host) in layouts.iter().zip(&plan.hosts) {
                layout.create()?;
                plan.write_config(layout, host)?;
            }
            Ok(())
        })
        .await?;
        match prepared {
            Ok(()) => Ok(Stage::Next),
            Err(e) => self.fail(store, format!("ClientError: {e}")),
        }
    }

    /// The checkpoint folders of the hosts and where they are kept, if the job has them.
    fn checkpoints(&self) -> Option<Checkpoints> {
        let plan = self.plan.checkpoint.clone()?;
        let dirs = self
            .layouts
            .iter()
            .map(|l| l.root.join(&plan.local_path))
            .collect();
        Some(Checkpoints::new(plan, dirs, self.remote.clone()))
    }

    /// Progress of a download written into the Downloading status while `meter` runs.
    fn meter(&self, label: &'static str) -> Meter {
        Meter::start(
            self.config.database(),
            self.plan.job.clone(),
            SecondaryStatus::Downloading,
            label,
        )
    }

    /// Puts the code in place (downloaded first when it is in S3), downloads `s3://`
    /// channels and kept checkpoints, then copies every channel into the hosts' trees,
    /// reporting progress in the Downloading status. Everything stays within the job's
    /// volume; `cancel` stops the copying when a stop ends the stage.
    async fn download(
        &mut self,
        store: &mut Store,
        cancel: &Arc<AtomicBool>,
    ) -> Result<Stage, BackendError> {
        let job_dir = self.config.job_dir(&self.plan.job);
        let meter = self.meter("Downloading the code");
        let fetched = transfer::fetch_code(
            &self.remote,
            &mut self.plan,
            &job_dir.join("s3-code"),
            meter.progress(),
        )
        .await;
        meter.finish().await;
        match fetched {
            Ok(skipped) => self.note_skipped(store, &skipped),
            Err(e) => return self.fail(store, format!("ClientError: code: {e}")),
        }
        let plan = self.plan.clone();
        let layouts = self.layouts.clone();
        // With an entry point of the request's own, the toolkit that would fetch the
        // submit directory does not run; the code comes in a channel.
        let staged = off_thread(move || match plan.container_command {
            Some(_) => Ok(()),
            None => stage_code(&plan, &layouts),
        })
        .await?;
        if let Err(e) = staged {
            return self.fail(store, format!("ClientError: code: {e}"));
        }
        if self.plan.container_command.is_none() {
            self.plan.entry_kind = EntryKind::of(&self.layouts[0].code(), &self.plan.program);
        }
        let meter = self.meter("Downloading input data");
        let fetched = transfer::fetch_channels(
            &self.remote,
            &mut self.plan,
            &job_dir.join("s3-input"),
            meter.progress(),
        )
        .await;
        meter.finish().await;
        match fetched {
            Ok(skipped) => self.note_skipped(store, &skipped),
            Err(e) => return self.fail(store, format!("ClientError: input data: {e}")),
        }
        if let Some(mut checkpoints) = self.checkpoints() {
            let meter = self.meter("Downloading checkpoints");
            let restored = checkpoints
                .restore(meter.progress(), self.plan.volume_bytes)
                .await;
            meter.finish().await;
            if let Err(e) = restored {
                return self.fail(store, format!("ClientError: CheckpointConfig.S3Uri: {e}"));
            }
        }
        let (plan, layouts) = (self.plan.clone(), self.layouts.clone());
        let meter = self.meter("Downloading input data");
        let progress = meter.progress();
        let cancel = cancel.clone();
        let staged = off_thread(move || {
            stage_channels(&plan, &layouts, &cancel, &mut |done, total| {
                progress(done, total)
            })
        })
        .await?;
        meter.finish().await;
        match staged {
            Ok(_) => Ok(Stage::Next),
            Err(e) => self.fail(store, format!("ClientError: input data: {e}")),
        }
    }

    /// Says in the job's log which S3 keys were left out of a download, and why.
    fn note_skipped(&self, store: &Store, skipped: &[String]) {
        if skipped.is_empty() {
            return;
        }
        let mut lines = vec![format!(
            "{} S3 keys were left out: each lands on a file another key already takes",
            skipped.len()
        )];
        lines.extend(skipped.iter().map(|s| format!("  left out: {s}")));
        self.note(store, lines);
    }

    /// Writes `lines` of SageDesk's own into the job's log (the first host's stderr).
    fn note(&self, store: &Store, lines: Vec<String>) {
        let host = self.plan.hosts.first().cloned().unwrap_or_default();
        let records: Vec<Record> = lines
            .into_iter()
            .map(|line| Record {
                ts: now_ms(),
                host: host.clone(),
                stream: crate::job::Stream::Stderr,
                line,
                open: false,
                points: Vec::new(),
            })
            .collect();
        if let Err(e) = store.append(&self.plan.job, &[], &records) {
            tracing::warn!("job {}: {e}", self.plan.job);
        }
    }

    /// Packs `model/` and `output/data/` of every host when the outcome keeps them, and
    /// uploads them to an `s3://` output path. `Some(artifact URI or none)` to go on; `None`
    /// when packing or uploading failed the job.
    async fn pack(
        &self,
        store: &mut Store,
        outcome: &Outcome,
    ) -> Result<Option<Option<String>>, BackendError> {
        if !outcome.pack {
            return Ok(Some(None));
        }
        let completed = outcome.ending.status == Status::Completed;
        if completed {
            self.enter(
                store,
                SecondaryStatus::Uploading,
                "Uploading generated training model",
            )?;
        }
        let plan = self.plan.clone();
        let models = self.layouts.iter().map(HostLayout::model).collect();
        let data = self.layouts.iter().map(HostLayout::output_data).collect();
        let packed = off_thread(move || transfer::pack(&plan, models, data)).await?;
        let model = match packed {
            Ok(model) => model,
            Err(e) => {
                self.fail(
                    store,
                    format!("ClientError: could not write the model artifacts: {e}"),
                )?;
                return Ok(None);
            }
        };
        let Some(output_s3) = &self.plan.output_s3 else {
            return Ok(Some(Some(format!("file://{}", model.display()))));
        };
        // A stopping job keeps its status: only a completed one shows upload progress.
        let meter = completed.then(|| {
            Meter::start(
                self.config.database(),
                self.plan.job.clone(),
                SecondaryStatus::Uploading,
                "Uploading generated training model",
            )
        });
        let progress: SharedProgress = match &meter {
            Some(meter) => meter.progress(),
            None => Arc::new(|_, _| {}),
        };
        let published =
            transfer::publish(&self.remote, &self.plan, output_s3, model, progress).await;
        if let Some(meter) = meter {
            meter.finish().await;
        }
        match published {
            Ok(uri) => Ok(Some(Some(uri))),
            Err(e) => {
                self.fail(
                    store,
                    format!(
                        "ClientError: the artifacts are kept in {}: uploading them to {output_s3} \
                         failed: {e}",
                        self.plan.artifact_dir().display()
                    ),
                )?;
                Ok(None)
            }
        }
    }
}
