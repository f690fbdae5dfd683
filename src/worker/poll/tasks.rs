//! Long one-shot commands, each on a task of its own so that no list, selection or log page
//! waits behind them: downloads, archive listings, code uploads, stops, submits, the demo and
//! local runs of AWS jobs. A task reports to the window itself and hands the poller what it
//! must do after ([`Followup`]), which the poller's loop takes like a command.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc;

use super::Poller;
use crate::backend::{Backend, Connection, JobRef};
use crate::job::{ArchiveListing, JobCredentials, LocalRun};
use crate::request::TrainingJobRequest;
use crate::request::tuning::{TuningJobRequest, tuning_request_from_value};
use crate::worker::desk::Desk;
use crate::worker::{Event, Outbox, TaskCommand};

/// What a finished task asks of the poller.
#[derive(Debug)]
pub(super) enum Followup {
    /// List this source now (a job was created or stopped on it).
    Tick(Connection),
}

/// What a task needs: the window's outbox, the desk and the way back to the poller.
#[derive(Clone)]
struct Context {
    out: Outbox,
    desk: Desk,
    followups: mpsc::UnboundedSender<Followup>,
}

impl Context {
    fn tick(&self, source: &Connection) {
        let _ = self.followups.send(Followup::Tick(source.clone()));
    }
}

impl Poller {
    /// Starts `command` on its own task.
    pub(super) fn spawn_task(&mut self, command: TaskCommand) {
        let cx = Context {
            out: self.out.clone(),
            desk: self.desk.clone(),
            followups: self.followups.clone(),
        };
        let local = self.local();
        let task = |poller: &Self, source: &Connection, what: &str| {
            let backend = poller.backend(source);
            if backend.is_none() {
                poller.no_source(source, what);
            }
            backend
        };
        match command {
            TaskCommand::Preflight {
                source,
                request,
                fresh,
            } => self.preflight(source, request, fresh),
            TaskCommand::Download { source, uri, dest } => {
                if let Some(backend) = task(self, &source, "Saving a file") {
                    self.tasks.spawn(download(cx, backend, uri, dest));
                }
            }
            TaskCommand::ListArchive { source, uri } => {
                if let Some(backend) = task(self, &source, "Listing an archive") {
                    self.tasks.spawn(list_archive(cx, backend, uri));
                }
            }
            TaskCommand::UploadCode {
                source,
                dir,
                prefix,
            } => match self.backend(&source) {
                Some(backend) => {
                    self.tasks.spawn(upload_code(cx, backend, dir, prefix));
                }
                None => {
                    self.out
                        .send(Event::CodeUploaded(Err(super::not_connected(&source))));
                    self.no_source(&source, &format!("Uploading {}", dir.display()));
                }
            },
            TaskCommand::Stop(job) => {
                if let Some(backend) = task(self, &job.source, "Stopping a job") {
                    self.tasks.spawn(stop(cx, backend, job));
                }
            }
            TaskCommand::StopTuning { source, name } => {
                if let Some(backend) = task(self, &source, "Stopping a tuning job") {
                    self.tasks.spawn(async move {
                        match backend.stop_tuning_job(&name).await {
                            Ok(()) => cx.tick(&source),
                            Err(e) => cx.out.error(format!("Stopping tuning job {name}"), e),
                        }
                        cx.out.flush();
                    });
                }
            }
            TaskCommand::SubmitTuning {
                source,
                request,
                credentials,
            } => {
                let backend = self.backend(&source);
                let run = LocalRun {
                    credentials,
                    ..Default::default()
                };
                let (job, request) = (JobRef::new(source, request.name()), *request);
                self.tasks
                    .spawn(async move { submit_tuning(&cx, backend, job, request, run).await });
            }
            TaskCommand::RunTuningLocally { job, credentials } => {
                let context = format!("Running tuning job {job} locally");
                if let Some(backend) = task(self, &job.source, &context) {
                    self.tasks
                        .spawn(run_tuning_locally(cx, backend, local, job, credentials));
                }
            }
            TaskCommand::Submit {
                source,
                request,
                origin,
                credentials,
            } => {
                let backend = self.backend(&source);
                self.tasks.spawn(async move {
                    let run = LocalRun {
                        credentials,
                        ..Default::default()
                    };
                    if let Some(job) = submit(&cx, backend, source, *request, run).await
                        && let Some(origin) = origin
                    {
                        cx.desk.link(&job, &origin).await;
                    }
                });
            }
            TaskCommand::RunDemo { epochs } => {
                self.tasks.spawn(async move {
                    if let Some(request) = cx.desk.demo_request(epochs).await
                        && let Some(job) = submit(
                            &cx,
                            Some(local),
                            Connection::Local,
                            request,
                            LocalRun::default(),
                        )
                        .await
                    {
                        cx.out.send(Event::JobStarted { job });
                    }
                });
            }
            TaskCommand::Debug(job) => {
                self.tasks.spawn(debug(cx, local, job));
            }
            TaskCommand::Watch(job) => {
                if let Some(before) = self.watch.take() {
                    before.abort();
                }
                self.out.send(Event::Watching(Some(job.clone())));
                self.watch = Some(self.tasks.spawn(watch(cx, local, job)));
            }
            TaskCommand::Unwatch => {
                if let Some(before) = self.watch.take() {
                    before.abort();
                }
                self.out.send(Event::Watching(None));
            }
            TaskCommand::RunLocally { job, credentials } => {
                if let Some(backend) = task(self, &job.source, &format!("Running {job} locally")) {
                    self.tasks
                        .spawn(run_locally(cx, backend, local, job, credentials));
                }
            }
        }
    }
}

/// Runs `job`'s request again under the debugger (debugpy waiting on
/// [`crate::job::DEBUG_PORT`]), linked to it and shown; its log gives the `launch.json`
/// configuration.
async fn debug(cx: Context, local: Arc<dyn Backend>, job: JobRef) {
    let mut request = match local.describe_training_job(&job.name).await {
        Ok(detail) => detail.request,
        Err(e) => {
            cx.out.error(format!("Debugging {job}"), e);
            return cx.out.flush();
        }
    };
    let base = crate::request::strip_stamp(&job.name).to_string();
    request.training_job_name = Some(crate::request::unique_name(&base));
    let here = LocalRun {
        debug: Some(crate::job::DEBUG_PORT),
        ..Default::default()
    };
    if let Some(run) = submit(&cx, Some(local), Connection::Local, request, here).await {
        cx.desk.link(&run, &job).await;
        cx.out.send(Event::JobStarted { job: run });
        cx.out.flush();
    }
}

/// Runs `job`'s request again after every settled change of its code folder: the run
/// before stopped if it still goes, the new one linked to it and shown.
async fn watch(cx: Context, local: Arc<dyn Backend>, job: JobRef) {
    let context = format!("Watching {job}");
    let request = match local.describe_training_job(&job.name).await {
        Ok(detail) => detail.request,
        Err(e) => {
            cx.out.error(context, e);
            cx.out.send(Event::Watching(None));
            return cx.out.flush();
        }
    };
    let Some(folder) = crate::code_watch::code_folder(&request) else {
        cx.out.error(
            context,
            "its code is not a file:// folder on this machine: there is nothing to watch",
        );
        cx.out.send(Event::Watching(None));
        return cx.out.flush();
    };
    let base = crate::request::strip_stamp(&job.name).to_string();
    let mut code = crate::code_watch::CodeWatch::new(folder);
    let mut current = job;
    loop {
        tokio::time::sleep(crate::code_watch::LOOK).await;
        if !code.changed() {
            continue;
        }
        if let Ok(detail) = local.describe_training_job(&current.name).await
            && !detail.summary.status.is_terminal()
        {
            let _ = local.stop_training_job(&current.name).await;
        }
        let mut next = request.clone();
        next.training_job_name = Some(crate::request::unique_name(&base));
        let source = Connection::Local;
        let here = LocalRun::default();
        if let Some(run) = submit(&cx, Some(local.clone()), source, next, here).await {
            cx.desk.link(&run, &current).await;
            cx.out.send(Event::Watching(Some(run.clone())));
            cx.out.send(Event::JobStarted { job: run.clone() });
            cx.out.flush();
            current = run;
        }
    }
}

/// Says, before a local job starts, that it will run without the AWS credentials it
/// reaches AWS with (its role refused), and the ways out.
async fn foresee(cx: &Context, local: &dyn Backend, request: &TrainingJobRequest, run: &LocalRun) {
    if let Some(message) = local.foresee_credentials(request, Some(run)).await {
        cx.out.send(Event::Warning {
            context: format!("{} on this machine", request.name()),
            message,
        });
        cx.out.flush();
    }
}

/// Saves the object at `uri` to `dest`, with progress.
async fn download(cx: Context, backend: Arc<dyn Backend>, uri: String, dest: PathBuf) {
    let task = format!("Saving {}", dest.display());
    let out = cx.out.clone();
    let progress_task = task.clone();
    let progress = Box::new(move |done, total| {
        out.send(Event::Progress {
            task: progress_task.clone(),
            done,
            total,
        });
        out.flush();
    });
    match backend.download_artifact(&uri, &dest, progress).await {
        Ok(()) => cx.out.send(Event::Saved { path: dest }),
        Err(e) => cx.out.error(task, e),
    }
    cx.out.flush();
}

/// Lists the entries of the archive at `uri`.
async fn list_archive(cx: Context, backend: Arc<dyn Backend>, uri: String) {
    let listing = match backend.list_archive(&uri).await {
        Ok(listing) => listing,
        Err(e) => ArchiveListing {
            error: Some(e.to_string()),
            ..Default::default()
        },
    };
    cx.out.send(Event::Archive { uri, listing });
    cx.out.flush();
}

/// Packs and uploads a code folder; the builder hears the URI or the failure, and a failure
/// is also reported.
async fn upload_code(cx: Context, backend: Arc<dyn Backend>, dir: PathBuf, prefix: String) {
    match backend.upload_code(&dir, &prefix).await {
        Ok(uri) => {
            // Kept so that a traceback of a job running this code maps to `dir`.
            if let Some(home) = cx.desk.home()
                && let Err(e) = crate::uploads::record(&home, &uri, &dir)
            {
                tracing::warn!("the upload of {} is not remembered: {e}", dir.display());
            }
            cx.out.send(Event::CodeUploaded(Ok(uri)))
        }
        Err(e) => {
            cx.out.send(Event::CodeUploaded(Err(e.to_string())));
            cx.out.error(format!("Uploading {}", dir.display()), e);
        }
    }
    cx.out.flush();
}

/// `StopTrainingJob`, then a list of its source.
async fn stop(cx: Context, backend: Arc<dyn Backend>, job: JobRef) {
    match backend.stop_training_job(&job.name).await {
        Ok(()) => cx.tick(&job.source),
        Err(e) => cx.out.error(format!("Stopping {job}"), e),
    }
    cx.out.flush();
}

/// `CreateTrainingJob` on `source`; the job when it was created.
async fn submit(
    cx: &Context,
    backend: Option<Arc<dyn Backend>>,
    source: Connection,
    request: TrainingJobRequest,
    run: LocalRun,
) -> Option<JobRef> {
    let job = JobRef::new(source.clone(), request.name());
    let Some(backend) = backend else {
        cx.out.send(Event::SubmitFailed {
            job,
            message: super::not_connected(&source),
        });
        cx.out.flush();
        return None;
    };
    let created = match &source {
        Connection::Local => {
            foresee(cx, backend.as_ref(), &request, &run).await;
            backend.create_training_job_here(request, run).await
        }
        Connection::Aws(_) => backend.create_training_job(request).await,
    };
    let job = match created {
        Ok(_) => {
            cx.out.send(Event::Submitted {
                job: job.clone(),
                supervised_here: backend.supervises_here(),
            });
            cx.tick(&source);
            Some(job)
        }
        Err(e) => {
            cx.out.send(Event::SubmitFailed {
                job,
                message: e.to_string(),
            });
            None
        }
    };
    cx.out.flush();
    job
}

/// Runs `job` (of an AWS source) on the local backend as `<name>-local-<time>`, its S3
/// locations read and written with that source's connection, linked to it.
async fn run_locally(
    cx: Context,
    backend: Arc<dyn Backend>,
    local: Arc<dyn Backend>,
    job: JobRef,
    credentials: JobCredentials,
) {
    let detail = match backend.describe_training_job(&job.name).await {
        Ok(detail) => detail,
        Err(e) => {
            cx.out.error(format!("Running {job} locally"), e);
            return cx.out.flush();
        }
    };
    let aws = match &job.source {
        Connection::Aws(aws) => aws.clone(),
        Connection::Local => Default::default(),
    };
    let mut request = detail.request;
    let name = crate::request::local_run_name(&job.name);
    request.training_job_name = Some(name.clone());
    let run = JobRef::local(name);
    let here = LocalRun {
        connection: Some(aws),
        credentials,
        ..Default::default()
    };
    foresee(&cx, local.as_ref(), &request, &here).await;
    match local.create_training_job_here(request, here).await {
        Ok(_) => {
            cx.desk.link(&run, &job).await;
            cx.out.send(Event::Submitted {
                job: run.clone(),
                supervised_here: local.supervises_here(),
            });
            cx.tick(&Connection::Local);
            cx.out.send(Event::JobStarted { job: run });
        }
        Err(e) => cx.out.send(Event::SubmitFailed {
            job: run,
            message: e.to_string(),
        }),
    }
    cx.out.flush();
}

/// `CreateHyperParameterTuningJob` as `job` (its source and name) with `request`, its
/// trials run as `run` says when it is on this machine.
async fn submit_tuning(
    cx: &Context,
    backend: Option<Arc<dyn Backend>>,
    job: JobRef,
    request: TuningJobRequest,
    run: LocalRun,
) {
    let created = match backend {
        Some(backend) => {
            // Said once, before the trials start: they would run without the credentials
            // they reach AWS with.
            if job.source == Connection::Local
                && let Some(definition) = request.definitions().first()
            {
                let trial = definition.trial(request.name(), &Default::default(), None);
                foresee(cx, backend.as_ref(), &trial, &run).await;
            }
            backend
                .create_tuning_job_here(request, run)
                .await
                .map_err(|e| e.to_string())
        }
        None => Err(super::not_connected(&job.source)),
    };
    match created {
        Ok(_) => {
            cx.tick(&job.source);
            cx.out.send(Event::TuningSubmitted { job });
        }
        Err(message) => cx.out.send(Event::SubmitFailed { job, message }),
    }
    cx.out.flush();
}

/// Runs tuning job `job`'s request on this machine under a new name, its trials reaching
/// `s3://` data and their role through `job`'s source.
async fn run_tuning_locally(
    cx: Context,
    backend: Arc<dyn Backend>,
    local: Arc<dyn Backend>,
    job: JobRef,
    credentials: JobCredentials,
) {
    let context = format!("Running tuning job {job} locally");
    let described = match backend.describe_tuning_job(&job.name).await {
        Ok(described) => described,
        Err(e) => {
            cx.out.error(context, e);
            return cx.out.flush();
        }
    };
    let mut request = match tuning_request_from_value(described, &job.name) {
        Ok(request) => request,
        Err(e) => {
            cx.out.error(context, e.to_string());
            return cx.out.flush();
        }
    };
    let name = crate::request::tune::local_tuning_name(&job.name);
    request.hyper_parameter_tuning_job_name = Some(name.clone());
    let run = LocalRun {
        connection: match &job.source {
            Connection::Aws(aws) => Some(aws.clone()),
            Connection::Local => None,
        },
        credentials,
        debug: None,
    };
    submit_tuning(&cx, Some(local), JobRef::local(name), request, run).await;
}
