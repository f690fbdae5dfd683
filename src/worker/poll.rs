//! The poll scheduler: one list call per interval, detail, logs and metrics only for the
//! selected job, events only when something changed, and slower polling when idle or hidden.
//! On a remote backend the list interval is longer (10 s by default), a few visible jobs
//! still in progress are described per tick, and transient errors (throttling, 5xx, network)
//! double the delay, with jitter, up to five minutes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::desk::Desk;
use super::{Activity, Command, Event, Folders, Outbox};
use crate::backend::{Backend, BackendError, Connection};
use crate::job::{ArchiveListing, Cursor, JobDetail, JobSummary, ListFilter};

/// Interval while a job runs.
const BUSY: Duration = Duration::from_secs(1);
/// Interval while nothing runs: picks up jobs started by other processes.
const IDLE: Duration = Duration::from_secs(3);
/// Interval while the window is hidden.
const HIDDEN: Duration = Duration::from_secs(15);
/// Log lines fetched per call.
const LOG_PAGE: usize = 20_000;
/// List interval on a remote backend, unless the user sets another.
pub const REMOTE_INTERVAL: Duration = Duration::from_secs(10);
/// A remote backend's list interval is multiplied by this while the window is hidden.
const REMOTE_HIDDEN_FACTOR: u32 = 6;
/// The longest delay while backing off.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Visible in-progress jobs described per tick on a remote backend.
const DESCRIBES_PER_TICK: usize = 3;
/// Jobs one list call asks a remote backend for.
const REMOTE_PAGE: usize = 100;

struct Selected {
    name: String,
    log_cursor: Cursor,
    metric_cursor: Cursor,
    detail: Option<JobDetail>,
    artifacts_loaded: bool,
    /// Errors already reported for this job: a failure that repeats every tick is said once.
    reported: std::collections::HashSet<String>,
}

impl Selected {
    /// Sends an error event unless the same error was already reported for this job.
    fn report(&mut self, out: &Outbox, context: String, error: BackendError) {
        if self.reported.insert(format!("{context}\n{error}")) {
            out.error(context, error);
        }
    }
}

struct Poller {
    backend: Arc<dyn Backend>,
    /// The local backend, to switch back to.
    local: Arc<dyn Backend>,
    /// The connection `backend` was opened for.
    connection: Connection,
    remote_interval: Duration,
    /// Jobs the list shows, for the in-progress describes.
    visible_jobs: Vec<String>,
    /// Where the round of in-progress describes stopped.
    describe_from: usize,
    /// Transient failures in a row.
    failures: u32,
    activity: Activity,
    /// Files, templates, the demo: work for the desktop rather than the service.
    desk: Desk,
    out: Outbox,
    jobs: Vec<JobSummary>,
    selected: Option<Selected>,
    visible: bool,
}

/// Runs until the UI drops its command sender.
pub(super) async fn run(
    backend: Arc<dyn Backend>,
    folders: Option<Folders>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    out: Outbox,
) {
    out.send(Event::Opened {
        label: backend.label(),
        notice: backend.notice(),
    });
    let desk = Desk::new(folders, out.clone());
    desk.start();
    let jobs = match backend.list_training_jobs(&ListFilter::default()).await {
        Ok(jobs) => {
            out.send(Event::Jobs(jobs.clone()));
            jobs
        }
        Err(e) => {
            out.error("Loading the job list", e);
            Vec::new()
        }
    };
    desk.send_library().await;
    out.flush();
    let mut poller = Poller {
        local: backend.clone(),
        connection: Connection::Local,
        backend,
        remote_interval: REMOTE_INTERVAL,
        visible_jobs: Vec::new(),
        describe_from: 0,
        failures: 0,
        activity: Activity::default(),
        desk,
        out,
        jobs,
        selected: None,
        visible: true,
    };
    loop {
        let interval = poller.delay();
        tokio::select! {
            command = commands.recv() => match command {
                Some(command) => poller.handle(command).await,
                None => break,
            },
            _ = tokio::time::sleep(interval) => poller.tick().await,
        }
        poller.out.flush();
    }
}

impl Poller {
    fn busy(&self) -> bool {
        self.jobs.iter().any(|j| !j.status.is_terminal())
            || self
                .selected
                .as_ref()
                .and_then(|s| s.detail.as_ref())
                .is_some_and(|d| !d.summary.status.is_terminal())
    }

    fn interval(&self) -> Duration {
        match (self.backend.is_remote(), self.visible) {
            (true, true) => self.remote_interval,
            (true, false) => self.remote_interval * REMOTE_HIDDEN_FACTOR,
            (false, false) => HIDDEN,
            (false, true) if self.busy() => BUSY,
            (false, true) => IDLE,
        }
    }

    /// The interval, doubled per transient failure in a row (capped), with ±25 % jitter
    /// while backing off so many windows do not retry in step.
    fn delay(&self) -> Duration {
        let interval = self.interval();
        if self.failures == 0 {
            return interval;
        }
        let doubled = interval
            .saturating_mul(1 << self.failures.min(10))
            .min(MAX_BACKOFF);
        doubled.mul_f64(0.75 + 0.5 * jitter())
    }

    /// Counts a poll's outcome; the first error of a streak (or a new one) is reported.
    fn record(&mut self, context: &str, result: Result<(), BackendError>) {
        match result {
            Ok(()) => self.failures = 0,
            Err(e) => {
                let message = format!("{context}: {e}");
                if e.is_transient() {
                    self.failures = self.failures.saturating_add(1);
                }
                if self.activity.last_error.as_deref() != Some(message.as_str())
                    || self.failures <= 1
                {
                    self.out.error(context, &e);
                }
                self.activity.errors += 1;
                self.activity.last_error = Some(message);
            }
        }
    }

    fn send_activity(&mut self) {
        let activity = Activity {
            calls: self.backend.calls(),
            next_poll: self.delay(),
            backing_off: self.failures > 0,
            ..self.activity.clone()
        };
        if activity != self.activity {
            self.activity = activity.clone();
            self.out.send(Event::Activity(activity));
        }
    }

    async fn connect(&mut self, connection: Connection) {
        let backend: Arc<dyn Backend> = match &connection {
            Connection::Local => self.local.clone(),
            Connection::Aws(_) => match crate::backend::open(&connection).await {
                Ok(backend) => backend,
                Err(e) => {
                    self.out.send(Event::ConnectFailed {
                        connection,
                        message: e.to_string(),
                    });
                    return;
                }
            },
        };
        self.backend = backend;
        self.connection = connection.clone();
        self.jobs.clear();
        self.selected = None;
        self.visible_jobs.clear();
        self.failures = 0;
        self.activity = Activity::default();
        self.out.send(Event::Jobs(Vec::new()));
        self.out.send(Event::Connected {
            connection,
            label: self.backend.label(),
        });
        self.tick().await;
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Connect(connection) => self.connect(connection).await,
            Command::SetListInterval(interval) => {
                self.remote_interval = interval.max(Duration::from_secs(1));
            }
            Command::SetVisibleJobs(names) => self.visible_jobs = names,
            Command::Refresh => self.tick().await,
            Command::Select(name) => {
                self.selected = name.map(|name| Selected {
                    name,
                    log_cursor: Cursor::default(),
                    metric_cursor: Cursor::default(),
                    detail: None,
                    artifacts_loaded: false,
                    reported: Default::default(),
                });
                self.poll_selected().await;
            }
            Command::Stop(name) => match self.backend.stop_training_job(&name).await {
                Ok(()) => self.tick().await,
                Err(e) => self.out.error(format!("Stopping {name}"), e),
            },
            Command::ListArchive(uri) => match self.backend.list_archive(&uri).await {
                Ok(listing) => self.out.send(Event::Archive { uri, listing }),
                Err(e) => self.out.send(Event::Archive {
                    uri,
                    listing: ArchiveListing {
                        error: Some(e.to_string()),
                        ..Default::default()
                    },
                }),
            },
            Command::Download { uri, dest } => {
                let out = self.out.clone();
                let task = format!("Saving {}", dest.display());
                let progress_task = task.clone();
                let progress = Box::new(move |done, total| {
                    out.send(Event::Progress {
                        task: progress_task.clone(),
                        done,
                        total,
                    });
                    out.flush();
                });
                match self.backend.download_artifact(&uri, &dest, progress).await {
                    Ok(()) => self.out.send(Event::Saved { path: dest }),
                    Err(e) => self.out.error(task, e),
                }
            }
            Command::SetVisible(visible) => self.visible = visible,
            Command::Submit(request) => {
                self.submit(*request).await;
            }
            Command::RunDemo { epochs } => {
                if let Some(request) = self.desk.demo_request(epochs).await {
                    let name = request.name().to_string();
                    if self.submit(request).await {
                        self.out.send(Event::JobStarted { name });
                    }
                }
            }
            Command::RunLocally(name) => self.run_locally(name).await,
            other => self.desk.handle(other).await,
        }
    }

    /// Runs the current connection's job `name` on the local backend as `<name>-local-<time>`.
    async fn run_locally(&mut self, name: String) {
        let task = format!("Running {name} locally");
        let detail = match self.backend.describe_training_job(&name).await {
            Ok(detail) => detail,
            Err(e) => return self.out.error(task, e),
        };
        let aws = match &self.connection {
            Connection::Aws(aws) => aws.clone(),
            Connection::Local => Default::default(),
        };
        let mut request = detail.request;
        request.training_job_name = Some(crate::request::unique_name(&format!("{name}-local")));
        let local_name = request.name().to_string();
        self.connect(Connection::Local).await;
        match self.local.create_training_job_with_s3(request, aws).await {
            Ok(_) => {
                self.out.send(Event::Submitted {
                    name: local_name.clone(),
                });
                self.tick().await;
                self.out.send(Event::JobStarted { name: local_name });
            }
            Err(e) => self.out.send(Event::SubmitFailed {
                name: local_name,
                message: e.to_string(),
            }),
        }
    }

    /// `CreateTrainingJob`; true when the job was created.
    async fn submit(&mut self, request: crate::request::TrainingJobRequest) -> bool {
        let name = request.name().to_string();
        match self.backend.create_training_job(request).await {
            Ok(_) => {
                self.out.send(Event::Submitted { name });
                self.tick().await;
                true
            }
            Err(e) => {
                self.out.send(Event::SubmitFailed {
                    name,
                    message: e.to_string(),
                });
                false
            }
        }
    }

    async fn tick(&mut self) {
        let filter = ListFilter {
            max_results: self.backend.is_remote().then_some(REMOTE_PAGE),
            ..ListFilter::default()
        };
        let listed = self.backend.list_training_jobs(&filter).await;
        let result = match listed {
            Ok(jobs) => {
                let jobs = self.describe_in_progress(jobs).await;
                self.update_jobs(jobs);
                Ok(())
            }
            Err(e) => Err(e),
        };
        self.record("Listing jobs", result);
        if self.failures == 0 {
            self.poll_selected().await;
        }
        self.send_activity();
    }

    fn update_jobs(&mut self, jobs: Vec<JobSummary>) {
        if jobs == self.jobs {
            return;
        }
        for job in &jobs {
            let was_running = self
                .jobs
                .iter()
                .find(|j| j.name == job.name)
                .is_some_and(|j| !j.status.is_terminal());
            if was_running && job.status.is_terminal() {
                self.out.send(Event::Finished {
                    name: job.name.clone(),
                    status: job.status,
                });
            }
        }
        self.jobs = jobs.clone();
        self.out.send(Event::Jobs(jobs));
    }

    /// On a remote backend, describes a few visible jobs still in progress (taking turns)
    /// and takes their fresher status into the list rows.
    async fn describe_in_progress(&mut self, mut jobs: Vec<JobSummary>) -> Vec<JobSummary> {
        if !self.backend.is_remote() {
            return jobs;
        }
        let selected = self.selected.as_ref().map(|s| s.name.clone());
        let candidates: Vec<String> = self
            .visible_jobs
            .iter()
            .filter(|name| Some(*name) != selected.as_ref())
            .filter(|name| {
                jobs.iter()
                    .any(|j| &j.name == *name && !j.status.is_terminal())
            })
            .cloned()
            .collect();
        if candidates.is_empty() {
            return jobs;
        }
        let take = candidates.len().min(DESCRIBES_PER_TICK);
        for i in 0..take {
            let name = &candidates[(self.describe_from + i) % candidates.len()];
            if let Ok(detail) = self.backend.describe_training_job(name).await
                && let Some(row) = jobs.iter_mut().find(|j| &j.name == name)
            {
                *row = detail.summary;
            }
        }
        self.describe_from = (self.describe_from + take) % candidates.len();
        jobs
    }

    async fn poll_selected(&mut self) {
        let Some(selected) = self.selected.as_mut() else {
            return;
        };
        let name = selected.name.clone();
        let detail = match self.backend.describe_training_job(&name).await {
            Ok(detail) => detail,
            Err(e) => {
                self.out.error(format!("Describing {name}"), e);
                self.selected = None;
                return;
            }
        };
        let finished = detail.summary.status.is_terminal();
        if selected.detail.as_ref() != Some(&detail) {
            selected.detail = Some(detail.clone());
            self.out.send(Event::Detail(Box::new(detail)));
        }
        loop {
            match self
                .backend
                .get_log_events(&name, &selected.log_cursor, LOG_PAGE)
                .await
            {
                Ok(page) if page.lines.is_empty() => break,
                Ok(page) => {
                    let full = page.lines.len() >= LOG_PAGE;
                    selected.log_cursor = page.next_cursor;
                    self.out.send(Event::Logs {
                        job: name.clone(),
                        lines: page.lines,
                    });
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    selected.report(&self.out, format!("Reading the logs of {name}"), e);
                    break;
                }
            }
        }
        match self
            .backend
            .get_metric_data(&name, &selected.metric_cursor)
            .await
        {
            Ok(page) if !page.series.is_empty() => {
                selected.metric_cursor = page.next_cursor;
                self.out.send(Event::Metrics {
                    job: name.clone(),
                    series: page.series,
                });
            }
            Ok(_) => {}
            Err(e) => selected.report(&self.out, format!("Reading the metrics of {name}"), e),
        }
        if !selected.artifacts_loaded && (finished || selected.log_cursor.is_start()) {
            match self.backend.list_artifacts(&name).await {
                Ok(entries) => {
                    selected.artifacts_loaded = finished;
                    self.out.send(Event::Artifacts { job: name, entries });
                }
                Err(e) => selected.report(&self.out, format!("Listing the artifacts of {name}"), e),
            }
        }
    }
}

/// A number in [0, 1) that differs between calls.
fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    (RandomState::new().hash_one(std::time::Instant::now()) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::jitter;

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let values: Vec<f64> = (0..100).map(|_| jitter()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)));
        assert!(values.iter().any(|v| (v - values[0]).abs() > 1e-9));
    }
}
