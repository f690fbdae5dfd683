//! What the window asks of the worker, by the part of the worker that does it: the
//! sources and their polling, what the window follows, one-shot tasks and the desk's work.
//! Each part matches its own enum in full, so no command is routed to a part that drops it.

use std::path::PathBuf;
use std::time::Duration;

use super::LogAsk;
use crate::job::{Connection, JobCredentials, JobRef, Status};
use crate::request::TrainingJobRequest;
use crate::request::tuning::TuningJobRequest;

/// What the window asks of the worker.
#[derive(Debug, Clone)]
pub enum Command {
    /// The sources of jobs and their polling.
    Source(SourceCommand),
    /// What the window follows, and how often.
    Follow(FollowCommand),
    /// One-shot work, each on a task of its own.
    Task(TaskCommand),
    /// Work for the desktop: templates, the draft, files, profiles.
    Desk(DeskCommand),
}

/// The sources of jobs and their polling.
#[derive(Debug, Clone)]
pub enum SourceCommand {
    /// Add an AWS connection as a source of jobs (or turn its polling back on); Local is
    /// always one.
    Connect(Connection),
    /// Remove a source: its jobs leave the list, nothing is deleted.
    Disconnect(Connection),
    /// Turn a source's list calls on or off (its selected job is followed either way).
    SetPolling {
        /// The source.
        source: Connection,
        /// Whether its list is polled.
        polling: bool,
    },
    /// Reload the job list now.
    Refresh,
    /// List a page more of this remote source's older jobs.
    LoadMore(Connection),
}

/// What the window follows, and how often: the worker keeps each as its latest value.
#[derive(Debug, Clone)]
pub enum FollowCommand {
    /// Seconds between list calls on a remote backend.
    SetListInterval(Duration),
    /// Seconds between log reads of the selected job while it runs on a remote backend.
    SetLogInterval(Duration),
    /// The window was hidden or shown; polling slows down while hidden.
    SetVisible(bool),
    /// The jobs the list shows now: in-progress ones among them are described, a few a tick.
    SetVisibleJobs(Vec<JobRef>),
    /// Read the listed jobs' tags (the list groups by a tag), or stop reading them.
    WatchTags(bool),
    /// Read what the listed finished AWS jobs are billed for (the list shows their cost),
    /// or stop reading it.
    WatchCosts(bool),
    /// Follow this tuning job for its detail (none: stop).
    SelectTuning(Option<JobRef>),
    /// List each source's tuning jobs with its jobs (the list groups by tuning job), or
    /// stop listing them.
    WatchTuning(bool),
    /// The list's search and status filter, sent to remote sources with their list call
    /// (`NameContains`, `StatusEquals`) so that jobs beyond the newest are found.
    SetQuery {
        /// `NameContains`.
        name_contains: Option<String>,
        /// `StatusEquals`.
        status: Option<Status>,
    },
    /// Follow this job's detail, logs, metrics and artifacts (or none).
    Select(Option<JobRef>),
    /// Follow these jobs' details and metrics for a comparison (none: stop).
    Compare(Vec<JobRef>),
    /// Read or search the selected job's log.
    Log {
        /// The job.
        job: JobRef,
        /// What to do.
        ask: LogAsk,
    },
}

/// One-shot work, each on a task of its own so that nothing else waits behind it.
#[derive(Debug, Clone)]
pub enum TaskCommand {
    /// Check a request against a source's account before it is submitted (preflight);
    /// `fresh` makes every call again instead of reusing results for unchanged values.
    Preflight {
        /// The source it would be created on.
        source: Connection,
        /// The request.
        request: Box<TrainingJobRequest>,
        /// Whether to skip the cache.
        fresh: bool,
    },
    /// `CreateTrainingJob` on a source.
    Submit {
        /// Where the job runs.
        source: Connection,
        /// The request.
        request: Box<TrainingJobRequest>,
        /// The job it was made from, linked to it.
        origin: Option<JobRef>,
        /// On this machine, whose AWS credentials the job gets.
        credentials: JobCredentials,
    },
    /// `CreateHyperParameterTuningJob` on `source`.
    SubmitTuning {
        /// Where the tuning job runs.
        source: Connection,
        /// The request.
        request: Box<TuningJobRequest>,
        /// On this machine, whose AWS credentials its trials get.
        credentials: JobCredentials,
    },
    /// Runs a tuning job's request again on this machine, its trials reaching `s3://` data
    /// through its source.
    RunTuningLocally {
        /// The tuning job.
        job: JobRef,
        /// Whose AWS credentials its trials get.
        credentials: JobCredentials,
    },
    /// `StopTrainingJob`.
    Stop(JobRef),
    /// `StopHyperParameterTuningJob` of tuning job `name` on `source`.
    StopTuning { source: Connection, name: String },
    /// List the entries of a `.tar.gz` artifact of a source's job.
    ListArchive {
        /// The source whose backend reads it.
        source: Connection,
        /// The archive.
        uri: String,
    },
    /// Copy an artifact to `dest`, reporting progress.
    Download {
        /// The source whose backend reads it.
        source: Connection,
        /// The artifact.
        uri: String,
        /// Where to write it.
        dest: PathBuf,
    },
    /// Pack a code folder as `sourcedir.tar.gz` and upload it under an `s3://` prefix with
    /// an AWS source's connection.
    UploadCode {
        /// The AWS source.
        source: Connection,
        /// The code folder.
        dir: PathBuf,
        /// The prefix.
        prefix: String,
    },
    /// Write the demo job's files to the data folder and run it.
    RunDemo {
        /// Epochs, if not the demo's own.
        epochs: Option<u32>,
    },
    /// Run this local job's request again whenever its `file://` code folder changes (the
    /// run before stopped), each run linked to the one before and shown; one job watched
    /// at a time.
    Watch(JobRef),
    /// Stop watching.
    Unwatch,
    /// Run this local job's request again with its entry point waiting under debugpy for
    /// an editor to attach, linked to it, then show it.
    Debug(JobRef),
    /// Run this AWS job on this machine, its S3 locations read and written with its
    /// source's connection, linked to it, then show it.
    RunLocally {
        /// The AWS job.
        job: JobRef,
        /// Whose AWS credentials the local run gets.
        credentials: JobCredentials,
    },
}

/// Work for the desktop, done in the order asked.
#[derive(Debug, Clone)]
pub enum DeskCommand {
    /// Keep the builder's draft (request JSON).
    SaveDraft(String),
    /// Forget the draft.
    ClearDraft,
    /// Save a named template.
    SaveTemplate {
        /// Its name.
        name: String,
        /// The request JSON.
        request: String,
    },
    /// Delete a template.
    DeleteTemplate(String),
    /// Rename a template.
    RenameTemplate {
        /// The current name.
        from: String,
        /// The new name.
        to: String,
    },
    /// Write the demo job's files and hand its request to the builder.
    LoadDemoRequest {
        /// Epochs, if not the demo's own.
        epochs: Option<u32>,
    },
    /// Read a request file for the builder.
    ReadRequestFile(PathBuf),
    /// Write a file (an exported request, a comparison, a chart).
    WriteFile {
        /// Where.
        path: PathBuf,
        /// What.
        contents: Vec<u8>,
    },
    /// List the AWS profiles of the shared config files.
    LoadProfiles,
    /// The user has seen this crash report.
    AcknowledgeCrash(PathBuf),
    /// Open a file, a folder or an address with the desktop's handler (xdg-open).
    OpenPath(PathBuf),
    /// List a folder's entries for the window's file chooser.
    ListFolder(PathBuf),
    /// Open a file in the user's editor at a line.
    OpenInEditor { file: PathBuf, line: u32 },
    /// Open a terminal in a local job's host: a shell, or its entry point under pdb.
    OpenTerminal {
        job: String,
        host: String,
        pdb: bool,
    },
}

impl From<SourceCommand> for Command {
    fn from(command: SourceCommand) -> Self {
        Command::Source(command)
    }
}

impl From<FollowCommand> for Command {
    fn from(command: FollowCommand) -> Self {
        Command::Follow(command)
    }
}

impl From<TaskCommand> for Command {
    fn from(command: TaskCommand) -> Self {
        Command::Task(command)
    }
}

impl From<DeskCommand> for Command {
    fn from(command: DeskCommand) -> Self {
        Command::Desk(command)
    }
}

impl Command {
    /// A short description for crash reports (no request bodies or secrets, and nothing
    /// formatted that is not shown); `None` for the frequent ones not worth a line.
    pub fn label(&self) -> Option<String> {
        match self {
            Command::Source(c) => Some(c.label()),
            Command::Follow(FollowCommand::SetVisibleJobs(_)) => None,
            Command::Follow(c) => Some(c.label()),
            Command::Task(c) => Some(c.label()),
            Command::Desk(DeskCommand::SaveDraft(_)) => None,
            Command::Desk(c) => Some(c.label()),
        }
    }
}

impl SourceCommand {
    fn label(&self) -> String {
        match self {
            SourceCommand::Connect(c) => format!("connect {}", c.label()),
            SourceCommand::Disconnect(c) => format!("disconnect {}", c.label()),
            SourceCommand::SetPolling { source, polling } => {
                format!("polling {}: {polling}", source.label())
            }
            SourceCommand::Refresh => "refresh".into(),
            SourceCommand::LoadMore(source) => format!("load more of {}", source.label()),
        }
    }
}

impl FollowCommand {
    fn label(&self) -> String {
        match self {
            FollowCommand::SetListInterval(d) => format!("list every {} s", d.as_secs()),
            FollowCommand::SetLogInterval(d) => format!("read logs every {} s", d.as_secs()),
            FollowCommand::SetVisible(visible) => format!("window visible: {visible}"),
            FollowCommand::SetVisibleJobs(jobs) => format!("{} jobs visible", jobs.len()),
            FollowCommand::WatchTags(watch) => format!("watch tags: {watch}"),
            FollowCommand::WatchCosts(watch) => format!("watch costs: {watch}"),
            FollowCommand::WatchTuning(watch) => format!("watch tuning jobs: {watch}"),
            FollowCommand::SelectTuning(job) => match job {
                Some(job) => format!("show tuning job {job}"),
                None => "show no tuning job".into(),
            },
            FollowCommand::SetQuery { status, .. } => format!("query, status {status:?}"),
            FollowCommand::Select(Some(job)) => format!("select {job}"),
            FollowCommand::Select(None) => "select nothing".into(),
            FollowCommand::Compare(jobs) => format!("compare {} jobs", jobs.len()),
            FollowCommand::Log { job, ask } => format!("log of {job}: {}", ask.label()),
        }
    }
}

impl TaskCommand {
    fn label(&self) -> String {
        match self {
            TaskCommand::Preflight { source, .. } => format!("preflight on {}", source.label()),
            TaskCommand::Submit {
                source, request, ..
            } => format!("submit {} on {}", request.name(), source.label()),
            TaskCommand::SubmitTuning {
                source, request, ..
            } => format!("submit tuning job {} on {}", request.name(), source.label()),
            TaskCommand::RunTuningLocally { job, .. } => format!("run tuning job {job} locally"),
            TaskCommand::Stop(job) => format!("stop {job}"),
            TaskCommand::StopTuning { name, .. } => format!("stop tuning job {name}"),
            TaskCommand::ListArchive { uri, .. } => format!("list archive {uri}"),
            TaskCommand::Download { uri, dest, .. } => {
                format!("download {uri} to {}", dest.display())
            }
            TaskCommand::UploadCode { dir, prefix, .. } => {
                format!("upload {} to {prefix}", dir.display())
            }
            TaskCommand::RunDemo { .. } => "run the demo job".into(),
            TaskCommand::RunLocally { job, .. } => format!("run {job} locally"),
            TaskCommand::Watch(job) => format!("watch {job}"),
            TaskCommand::Unwatch => "stop watching".into(),
            TaskCommand::Debug(job) => format!("debug {job}"),
        }
    }
}

impl DeskCommand {
    fn label(&self) -> String {
        match self {
            DeskCommand::SaveDraft(_) => "save draft".into(),
            DeskCommand::ClearDraft => "clear draft".into(),
            DeskCommand::SaveTemplate { name, .. } => format!("save template {name}"),
            DeskCommand::DeleteTemplate(name) => format!("delete template {name}"),
            DeskCommand::RenameTemplate { from, to } => format!("rename template {from} to {to}"),
            DeskCommand::LoadDemoRequest { .. } => "load the demo request".into(),
            DeskCommand::ReadRequestFile(path) => format!("read {}", path.display()),
            DeskCommand::WriteFile { path, .. } => format!("write {}", path.display()),
            DeskCommand::LoadProfiles => "load AWS profiles".into(),
            DeskCommand::AcknowledgeCrash(path) => format!("seen {}", path.display()),
            DeskCommand::OpenPath(path) => format!("open {}", path.display()),
            DeskCommand::ListFolder(folder) => format!("list {}", folder.display()),
            DeskCommand::OpenInEditor { file, line } => {
                format!("edit {}:{line}", file.display())
            }
            DeskCommand::OpenTerminal { job, host, .. } => format!("terminal {job} {host}"),
        }
    }
}
