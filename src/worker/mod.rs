//! The background worker: a tokio runtime on its own thread that owns the backend and every
//! timer. The UI sends [`Command`]s and drains [`Event`]s each frame; the events of one poll
//! or command come with one repaint request, and nothing else asks for repaints. Work for
//! the desktop (files, templates, the demo, profiles) is the `desk`'s. It imports the
//! backends and the request model, never the window.

mod command;
mod desk;
mod editor;
mod folders;
mod follow;
mod logbook;
mod notify;
mod poll;
mod restart;
mod source;
mod tuning;

pub use command::{Command, DeskCommand, FollowCommand, SourceCommand, TaskCommand};
pub use desk::Folders;
pub use folders::{FolderEntry, desktop_dialogs, home as home_folder};
pub use logbook::{LogAsk, LogNews};
pub use poll::{LOG_INTERVAL, MAX_INTERVAL, MIN_INTERVAL, REMOTE_INTERVAL};

use std::path::PathBuf;
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::backend::{Backend, Connection, JobRef};
use crate::job::{ArchiveListing, ArtifactEntry, JobDetail, JobSummary, MetricSeries, Status};

/// Calls made and errors seen on one source, for its status panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Activity {
    /// Requests sent, retries included.
    pub calls: u64,
    /// Failed polls.
    pub errors: u64,
    /// The last error, with its code.
    pub last_error: Option<String>,
    /// Delay before the next poll; longer than the interval while backing off.
    pub next_poll: Duration,
    /// Whether polls are being spaced out after transient errors.
    pub backing_off: bool,
    /// Whether the source's list is polled.
    pub polling: bool,
    /// Whether the source has older jobs than it listed ("load more").
    pub more: bool,
    /// When the list call still unanswered was sent, once it has waited a while.
    pub waiting_since: Option<std::time::SystemTime>,
}

/// What the worker tells the UI.
#[derive(Debug, Clone)]
pub enum Event {
    /// The worker panicked: `message` is the panic's, `report` the crash report written for
    /// it. When `restarted`, it runs again with no sources but Local: the window sends what
    /// it follows again.
    WorkerFailed {
        /// The panic's message.
        message: String,
        /// The crash report, if one was written.
        report: Option<PathBuf>,
        /// Whether it runs again (not after too many panics in a row).
        restarted: bool,
    },
    /// `connection` is a source now (or again).
    Connected {
        /// The connection.
        connection: Connection,
        /// The backend's label (account and region for AWS).
        label: String,
    },
    /// Could not add `connection`; the other sources stay.
    ConnectFailed {
        /// The connection asked for.
        connection: Connection,
        /// What went wrong and what to do.
        message: String,
    },
    /// A source was removed.
    Disconnected(Connection),
    /// A source's calls and errors changed.
    Activity {
        /// The source.
        source: Connection,
        /// Its calls and errors.
        activity: Activity,
    },
    /// A source's whole job list, when it changed.
    Jobs {
        /// The source.
        source: Connection,
        /// Its jobs, newest first.
        jobs: Vec<JobSummary>,
    },
    /// The selected job no longer exists (or a remembered selection never did here): the
    /// worker has let it go.
    Gone(JobRef),
    /// The selected job's detail, when it changed.
    Detail {
        /// The job.
        job: JobRef,
        /// Its detail.
        detail: Box<JobDetail>,
    },
    /// The local job whose code folder is watched (the latest run), or none.
    Watching(Option<JobRef>),
    /// Why the selected job failed or stopped, once it has.
    Diagnosis {
        /// The job.
        job: JobRef,
        /// Its diagnosis.
        diagnosis: Box<crate::job::diagnosis::Diagnosis>,
    },
    /// A compared job's detail, when it changed.
    Compared {
        /// The job.
        job: JobRef,
        /// Its detail.
        detail: Box<JobDetail>,
    },
    /// New metric points of a compared job.
    ComparedMetrics {
        /// The job.
        job: JobRef,
        /// Points after those already sent, by metric.
        series: Vec<MetricSeries>,
    },
    /// Which job was made from which: `(job, origin)`.
    Links(Vec<(JobRef, JobRef)>),
    /// The on-demand price of an instance type on a source, or why it is not known.
    Price {
        /// The source.
        source: Connection,
        /// The instance type.
        instance_type: String,
        /// The price, or the Price List's error.
        price: Result<crate::job::InstancePrice, String>,
    },
    /// What preflight found for a request.
    Preflight {
        /// The request checked.
        request: Box<crate::request::TrainingJobRequest>,
        /// The checks.
        report: crate::preflight::Report,
    },
    /// What some of a source's finished jobs are billed for, read for the first time.
    Billing {
        /// The source.
        source: Connection,
        /// `(job name, billing)`.
        billing: Vec<(String, crate::job::Billing)>,
    },
    /// Tags of some of a source's jobs, read for the first time.
    Tags {
        /// The source.
        source: Connection,
        /// `(job name, (key, value) pairs)`.
        tags: Vec<(String, Vec<(String, String)>)>,
    },
    /// The shown tuning job's description and trials, in the service's JSON, when they
    /// changed.
    Tuning {
        /// The tuning job.
        job: JobRef,
        /// `DescribeHyperParameterTuningJob`.
        described: Box<serde_json::Value>,
        /// `ListTrainingJobsForHyperParameterTuningJob`'s summaries.
        trials: Vec<serde_json::Value>,
    },
    /// A tuning job was created (from the builder, or run locally from another).
    TuningSubmitted {
        /// The new tuning job.
        job: JobRef,
    },
    /// A source's tuning jobs, when they changed (while the list groups by tuning job).
    TuningJobs {
        /// The source.
        source: Connection,
        /// Its tuning jobs, newest first.
        jobs: Vec<crate::job::tuning::TuningSummary>,
    },
    /// News of the selected job's log: its size, rows asked for, search hits.
    Log {
        /// The job.
        job: JobRef,
        /// What is new.
        news: LogNews,
    },
    /// Metric points of the selected (remote) job read from its new log lines with its
    /// `MetricDefinitions`, as local mode and the service do.
    LogMetrics {
        /// The job.
        job: JobRef,
        /// Points by metric.
        series: Vec<MetricSeries>,
    },
    /// New metric points of the selected job.
    Metrics {
        /// The job.
        job: JobRef,
        /// Points after those already sent, by metric.
        series: Vec<MetricSeries>,
    },
    /// The selected job's output files.
    Artifacts {
        /// The job.
        job: JobRef,
        /// The files.
        entries: Vec<ArtifactEntry>,
    },
    /// The entries of an archive.
    Archive {
        /// The archive.
        uri: String,
        /// Its entries, and why reading stopped early.
        listing: ArchiveListing,
    },
    /// A job was created.
    Submitted {
        /// The job.
        job: JobRef,
        /// Its supervision lives in this process: closing the window ends it.
        supervised_here: bool,
    },
    /// `CreateTrainingJob` was refused.
    SubmitFailed {
        /// The job.
        job: JobRef,
        /// The service's code and message.
        message: String,
    },
    /// The saved templates, `(name, request JSON)`.
    Templates(Vec<(String, String)>),
    /// The builder's draft saved by an earlier run.
    Draft(String),
    /// A job that was running has ended.
    Finished {
        /// The job.
        job: JobRef,
        /// How it ended.
        status: Status,
    },
    /// Progress of a long task (a download).
    Progress {
        /// What is being done.
        task: String,
        /// Bytes done.
        done: u64,
        /// Bytes in all.
        total: u64,
    },
    /// A code folder was uploaded as this `sourcedir.tar.gz` (or why not).
    CodeUploaded(Result<String, String>),
    /// A download finished.
    Saved {
        /// Where the file is.
        path: PathBuf,
    },
    /// What the window shows about the backend it was opened on.
    Opened {
        /// The backend's label.
        label: String,
        /// A standing notice (a read-only data folder).
        notice: Option<String>,
    },
    /// A job the user asked to run (the demo, a local run of an AWS job) was created: show it.
    JobStarted {
        /// The job.
        job: JobRef,
    },
    /// A request for the builder (a file read, the demo's).
    RequestLoaded {
        /// The request as JSON.
        value: serde_json::Value,
        /// Notices about what was changed on the way in.
        notices: Vec<String>,
    },
    /// A folder's entries for the window's file chooser, or why it cannot be read.
    FolderListed {
        /// The folder asked for.
        folder: PathBuf,
        /// Its entries, folders first.
        entries: Result<Vec<FolderEntry>, String>,
    },
    /// A request file could not be read; the message names the file and the line or member.
    RequestUnreadable(String),
    /// The AWS profile names.
    Profiles(Vec<String>),
    /// The last run ended in a crash; its report is here.
    CrashReport(PathBuf),
    /// Something the user should know before it matters (a local job that will run
    /// without the AWS credentials it needs).
    Warning {
        /// What it is about.
        context: String,
        /// What to know and what to do.
        message: String,
    },
    /// A standing limit of a connection (a service it cannot reach or a call it may not
    /// make), said once per `key` with what to do.
    Notice {
        /// What the notice is about: the same key is said once.
        key: String,
        /// The notice, readable as it is.
        message: String,
    },
    /// Something failed; `message` carries the service's code and message.
    Error {
        /// What was being done.
        context: String,
        /// What went wrong.
        message: String,
    },
}

/// The UI's handle on the worker thread.
pub struct Worker {
    commands: mpsc::UnboundedSender<Command>,
    events: std_mpsc::Receiver<Event>,
    repaint: Arc<OnceLock<Repaint>>,
    notifier: Arc<notify::Notifier>,
}

fn repaint_now(repaint: &OnceLock<Repaint>) {
    if let Some(repaint) = repaint.get() {
        repaint();
    }
}

/// Sends events to the UI; [`Outbox::flush`] asks it to repaint once for all of them. A
/// job's end also goes to the desktop's notifications while the window is in the
/// background.
#[derive(Clone)]
pub(crate) struct Outbox {
    tx: std_mpsc::Sender<Event>,
    repaint: Arc<OnceLock<Repaint>>,
    pending: Arc<std::sync::atomic::AtomicBool>,
    notifier: Arc<notify::Notifier>,
}

/// How the worker asks the window to paint.
type Repaint = Box<dyn Fn() + Send + Sync>;

impl Outbox {
    pub(crate) fn send(&self, event: Event) {
        // `SAGEDESK_LOG=sagedesk::events=trace` shows what the window is told, and when.
        tracing::trace!(target: "sagedesk::events", "{}", {
            let mut text = format!("{event:?}");
            text.truncate(text.floor_char_boundary(300));
            text
        });
        if let Event::Finished { job, status } = &event {
            self.notifier.finished(job, *status);
        }
        if self.tx.send(event).is_ok() {
            self.pending
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Asks the UI to repaint if anything was sent since the last call.
    pub(crate) fn flush(&self) {
        if self
            .pending
            .swap(false, std::sync::atomic::Ordering::Relaxed)
            && let Some(repaint) = self.repaint.get()
        {
            repaint();
        }
    }

    pub(crate) fn error(&self, context: impl Into<String>, message: impl ToString) {
        self.send(Event::Error {
            context: context.into(),
            message: message.to_string(),
        });
    }
}

impl Worker {
    /// Starts the worker thread over the local `backend` (and the data folder's `folders`);
    /// AWS sources are added with [`Command::Connect`]. It loads the job list, templates
    /// and draft on its own thread; their events wait in the queue until the window drains
    /// it.
    pub fn spawn(backend: Arc<dyn Backend>, folders: Option<Folders>) -> std::io::Result<Worker> {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = std_mpsc::channel();
        let repaint = Arc::new(OnceLock::new());
        let notifier = Arc::new(notify::Notifier::detect());
        let outbox = Outbox {
            tx: event_tx,
            repaint: repaint.clone(),
            pending: Arc::default(),
            notifier: notifier.clone(),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sagedesk-worker")
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("sagedesk-worker".into())
            .spawn(move || {
                runtime.block_on(restart::supervise(backend, folders, command_rx, outbox))
            })?;
        Ok(Worker {
            commands,
            events,
            repaint,
            notifier,
        })
    }

    /// Whether the window is in the background (minimised or not focused): jobs that end
    /// meanwhile are also announced by the desktop's notifications.
    pub fn set_background(&self, background: bool) {
        self.notifier.set_background(background);
    }

    /// Sends notifications with `program` (a `notify-send` or `gdbus` executable) instead of
    /// the one found on `PATH`, or with none.
    pub fn set_notify_program(&self, program: Option<PathBuf>) {
        self.notifier.set_program(program);
    }

    /// Asks the window to paint after each batch of events, from now on.
    pub fn set_repaint(&self, repaint: impl Fn() + Send + Sync + 'static) {
        let _ = self.repaint.set(Box::new(repaint));
        repaint_now(&self.repaint);
    }

    /// Sends a command; never blocks.
    pub fn send(&self, command: impl Into<Command>) {
        let command = command.into();
        if let Some(label) = command.label() {
            crate::crash::note(label);
        }
        let _ = self.commands.send(command);
    }

    /// Events that arrived since the last call.
    pub fn drain(&self) -> impl Iterator<Item = Event> + '_ {
        self.events.try_iter()
    }
}
