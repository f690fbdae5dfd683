//! What the window shows, fed by worker events; nothing here outlives the process.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::toasts::{ToastKind, Toasts};
use crate::backend::Connection;
use crate::job::{ArchiveListing, ArtifactEntry, JobDetail, JobSummary, LogLine, Status};
use crate::worker::{Activity, Event};

/// One metric's points and the last decimation drawn from them.
#[derive(Debug, Default)]
pub struct Series {
    /// `[epoch seconds, value]` in time order, with its min/max summary.
    pub points: super::chart::Summarised,
    /// Key and result of the last decimation.
    pub cache: Option<(DecimationKey, Vec<[f64; 2]>)>,
}

/// What a decimation depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecimationKey {
    /// Points in the series.
    pub len: usize,
    /// Visible x range.
    pub x_min: f64,
    /// Visible x range.
    pub x_max: f64,
    /// Pixel columns.
    pub columns: usize,
    /// Smoothing weight.
    pub smoothing: f32,
    /// Log scale.
    pub log_scale: bool,
}

/// A download under way.
#[derive(Debug, Clone)]
pub struct Progress {
    /// What is being done.
    pub task: String,
    /// Bytes done.
    pub done: u64,
    /// Bytes in all.
    pub total: u64,
}

/// Everything the worker has told the window.
#[derive(Default)]
pub struct Data {
    /// All jobs, newest first.
    pub jobs: Vec<JobSummary>,
    /// Bumped on every change of `jobs`.
    pub jobs_version: u64,
    /// The selected job's detail.
    pub detail: Option<JobDetail>,
    /// `detail` as DescribeTrainingJob JSON.
    pub describe: Option<Value>,
    /// The selected job's log lines.
    pub logs: Vec<LogLine>,
    /// Hosts seen in the logs.
    pub hosts: Vec<String>,
    /// The selected job's metrics by name.
    pub metrics: BTreeMap<String, Series>,
    /// The selected job's files.
    pub artifacts: Vec<ArtifactEntry>,
    /// Archive listings by URI.
    pub archives: HashMap<String, ArchiveListing>,
    /// The running download, if any.
    pub progress: Option<Progress>,
    /// Notifications.
    pub toasts: Toasts,
    /// Saved builder templates, `(name, request JSON)`.
    pub templates: Vec<(String, String)>,
    /// The builder draft of an earlier run.
    pub draft: Option<String>,
    /// A standing notice about the backend (a read-only data folder).
    pub notice: Option<String>,
    /// A crash report of an earlier run the user has not seen.
    pub crash_report: Option<std::path::PathBuf>,
    /// The last refused submit: job name and the service's answer.
    pub submit_failed: Option<(String, String)>,
    /// The last created job.
    pub submitted: Option<String>,
    /// The connection in use.
    pub connection: Connection,
    /// The backend's label: `local`, or the profile, account and region.
    pub label: String,
    /// A connection being opened.
    pub connecting: Option<Connection>,
    /// Why the last connection attempt failed.
    pub connect_error: Option<String>,
    /// Calls and errors on the current connection.
    pub activity: Activity,
}

impl Data {
    /// Forgets what belonged to the previously selected job.
    pub fn clear_selection(&mut self) {
        self.detail = None;
        self.describe = None;
        self.logs.clear();
        self.hosts.clear();
        self.metrics.clear();
        self.artifacts.clear();
    }

    fn is_selected(&self, job: &str, selected: Option<&str>) -> bool {
        selected == Some(job)
    }

    /// Applies one worker event. `selected` guards against late events of another job.
    pub fn apply(&mut self, event: Event, selected: Option<&str>) {
        match event {
            Event::Connected { connection, label } => self.connected(connection, label),
            Event::ConnectFailed {
                connection,
                message,
            } => {
                self.toasts.push(
                    ToastKind::Error,
                    format!("Connecting to {}: {message}", connection.label()),
                );
                self.connecting = None;
                self.connect_error = Some(message);
            }
            Event::Activity(activity) => self.activity = activity,
            Event::Jobs(jobs) => {
                self.jobs = jobs;
                self.jobs_version += 1;
            }
            Event::Detail(detail) => {
                if self.is_selected(&detail.summary.name, selected) {
                    self.describe = Some(detail.to_describe_json());
                    self.detail = Some(*detail);
                }
            }
            Event::Logs { job, lines } => {
                if self.is_selected(&job, selected) {
                    self.add_logs(lines);
                }
            }
            Event::Metrics { job, series } => {
                if self.is_selected(&job, selected) {
                    self.add_metrics(series);
                }
            }
            Event::Artifacts { job, entries } => {
                if self.is_selected(&job, selected) {
                    self.artifacts = entries;
                }
            }
            Event::CrashReport(path) => self.crash_report = Some(path),
            Event::Opened { label, notice } => {
                self.label = label;
                self.notice = notice;
            }
            Event::Archive { uri, listing } => {
                self.archives.insert(uri, listing);
            }
            Event::Submitted { name } => {
                self.toasts.push(ToastKind::Info, format!("Started {name}"));
                self.submitted = Some(name);
            }
            Event::SubmitFailed { name, message } => {
                self.toasts
                    .push(ToastKind::Error, format!("Creating {name}: {message}"));
                self.submit_failed = Some((name, message));
            }
            Event::Templates(templates) => self.templates = templates,
            Event::Draft(draft) => self.draft = Some(draft),
            Event::Finished { name, status } => {
                let kind = match status {
                    Status::Completed => ToastKind::Success,
                    Status::Failed => ToastKind::Error,
                    _ => ToastKind::Info,
                };
                self.toasts.push(kind, format!("{name}: {status}"));
            }
            Event::Progress { task, done, total } => {
                self.progress = Some(Progress { task, done, total });
            }
            Event::Saved { path } => {
                self.progress = None;
                self.toasts
                    .push(ToastKind::Success, format!("Saved {}", path.display()));
            }
            Event::Error { context, message } => {
                self.progress = None;
                self.toasts
                    .push(ToastKind::Error, format!("{context}: {message}"));
            }
            // The app acts on these itself (the builder, the selection, the form).
            Event::JobStarted { .. }
            | Event::RequestLoaded { .. }
            | Event::RequestUnreadable(_)
            | Event::Profiles(_) => {}
        }
    }

    fn connected(&mut self, connection: Connection, label: String) {
        self.clear_selection();
        self.toasts
            .push(ToastKind::Success, format!("Connected: {label}"));
        self.connection = connection;
        self.label = label;
        self.connecting = None;
        self.connect_error = None;
    }

    fn add_logs(&mut self, lines: Vec<LogLine>) {
        for line in &lines {
            if !self.hosts.contains(&line.host) {
                self.hosts.push(line.host.clone());
                self.hosts.sort();
            }
        }
        self.logs.extend(lines);
    }

    fn add_metrics(&mut self, series: Vec<crate::job::MetricSeries>) {
        for s in series {
            let entry = self.metrics.entry(s.name).or_default();
            entry.points.extend(
                s.points
                    .iter()
                    .map(|p| [p.timestamp.timestamp_millis() as f64 / 1000.0, p.value]),
            );
            entry.cache = None;
        }
    }
}
