//! What the window shows, fed by worker events; nothing here outlives the process.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::chart::Summarised;
use super::log_pages::LogPages;
use super::toasts::{ToastKind, Toasts};
use crate::job::{ArchiveListing, ArtifactEntry, JobDetail, JobSummary, MetricSeries};
use crate::job::{Connection, JobRef};
use crate::worker::Activity;

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

/// One source of jobs as the window knows it.
#[derive(Debug, Clone)]
pub struct SourceData {
    /// Its connection.
    pub connection: Connection,
    /// The backend's label: `local`, or the profile, account and region.
    pub label: String,
    /// Its jobs, newest first.
    pub jobs: Vec<JobSummary>,
    /// Calls, errors and polling.
    pub activity: Activity,
    /// Tags read so far, by job name (while the list groups by a tag).
    pub tags: HashMap<String, Vec<(String, String)>>,
    /// Its tuning jobs (while the list groups by tuning job).
    pub tuning: Vec<crate::job::tuning::TuningSummary>,
    /// What finished jobs are billed for, by job name (while the list shows costs).
    pub billing: HashMap<String, crate::job::Billing>,
}

impl SourceData {
    pub(super) fn new(connection: Connection, label: String) -> Self {
        Self {
            connection,
            label,
            jobs: Vec::new(),
            activity: Activity {
                polling: true,
                ..Activity::default()
            },
            tags: HashMap::new(),
            tuning: Vec::new(),
            billing: HashMap::new(),
        }
    }

    /// The tuning job named `name` of this source, if listed.
    pub fn tuning_job(&self, name: &str) -> Option<&crate::job::tuning::TuningSummary> {
        self.tuning.iter().find(|t| t.name == name)
    }

    /// Whether the source's last poll failed and it is backing off.
    pub fn failing(&self) -> bool {
        self.activity.backing_off && self.activity.last_error.is_some()
    }
}

/// A compared job's detail and metrics.
#[derive(Default)]
pub struct ComparedData {
    /// Its detail, once described.
    pub detail: Option<JobDetail>,
    /// Its metrics by name.
    pub metrics: BTreeMap<String, Summarised>,
}

/// A tuning job as its source describes it, with its trials (the service's JSON).
#[derive(Debug, Clone)]
pub struct TuningDetail {
    pub job: JobRef,
    /// `DescribeHyperParameterTuningJob`.
    pub described: serde_json::Value,
    /// `ListTrainingJobsForHyperParameterTuningJob`'s summaries.
    pub trials: Vec<serde_json::Value>,
}

/// Everything the worker has told the window.
pub struct Data {
    /// Keys of the notices already said this session.
    pub noticed: std::collections::HashSet<String>,
    /// Local first, then the AWS connections.
    pub sources: Vec<SourceData>,
    /// Bumped on every change of a source's jobs.
    pub jobs_version: u64,
    /// The selected job's detail.
    pub detail: Option<JobDetail>,
    /// `detail` as DescribeTrainingJob JSON.
    pub describe: Option<Value>,
    /// Why the selected job failed or stopped, once it has.
    pub diagnosis: Option<crate::job::diagnosis::Diagnosis>,
    /// The shown tuning job, as its source describes it.
    pub tuning_detail: Option<TuningDetail>,
    /// The local job whose code folder is watched (its latest run), if one is.
    pub watching: Option<crate::job::JobRef>,
    /// The selected job's log: its size and the rows around the screen.
    pub log: LogPages,
    /// The selected job's metrics by name (CloudWatch's on AWS).
    pub metrics: BTreeMap<String, Summarised>,
    /// The selected remote job's metrics read from its log lines, by name: finer and
    /// sooner than CloudWatch's, drawn instead of them where both exist.
    pub log_metrics: BTreeMap<String, Summarised>,
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
    /// The last refused submit: the job and the service's answer.
    pub submit_failed: Option<(JobRef, String)>,
    /// The last created job.
    pub submitted: Option<JobRef>,
    /// A connection being opened.
    pub connecting: Option<Connection>,
    /// Connections that could not be added, with why: shown to retry or remove.
    pub failed: Vec<(Connection, String)>,
    /// Which job was made from which: `(job, origin)`.
    pub links: Vec<(JobRef, JobRef)>,
    /// The compared jobs' details and metrics.
    pub compared: HashMap<JobRef, ComparedData>,
    /// On-demand prices by source and instance type, or why they are not known.
    pub prices: HashMap<Connection, HashMap<String, Result<crate::job::InstancePrice, String>>>,
}

impl Default for Data {
    fn default() -> Self {
        Self {
            noticed: Default::default(),
            sources: vec![SourceData::new(Connection::Local, "local".into())],
            jobs_version: 0,
            detail: None,
            describe: None,
            diagnosis: None,
            tuning_detail: None,
            watching: None,
            log: LogPages::default(),
            metrics: BTreeMap::new(),
            log_metrics: BTreeMap::new(),
            artifacts: Vec::new(),
            archives: HashMap::new(),
            progress: None,
            toasts: Toasts::default(),
            templates: Vec::new(),
            draft: None,
            notice: None,
            crash_report: None,
            submit_failed: None,
            submitted: None,
            connecting: None,
            failed: Vec::new(),
            links: Vec::new(),
            compared: HashMap::new(),
            prices: HashMap::new(),
        }
    }
}

impl Data {
    /// The source of `connection`, if it is one.
    pub fn source(&self, connection: &Connection) -> Option<&SourceData> {
        self.sources.iter().find(|s| &s.connection == connection)
    }

    pub(super) fn source_mut(&mut self, connection: &Connection) -> Option<&mut SourceData> {
        self.sources
            .iter_mut()
            .find(|s| &s.connection == connection)
    }

    /// The data of `connection`, made when the window has none yet (a list kept from the
    /// last run arrives while the source connects).
    pub(super) fn source_entry(&mut self, connection: &Connection) -> &mut SourceData {
        match self
            .sources
            .iter()
            .position(|s| &s.connection == connection)
        {
            Some(i) => &mut self.sources[i],
            None => {
                let label = connection.source_label();
                self.sources
                    .push(SourceData::new(connection.clone(), label));
                self.sources.last_mut().expect("just pushed")
            }
        }
    }

    /// Every job of every source.
    pub fn job_count(&self) -> usize {
        self.sources.iter().map(|s| s.jobs.len()).sum()
    }

    /// Job `job` of source `source` (indices into `sources` and its jobs).
    pub fn job_ref(&self, source: usize, job: usize) -> JobRef {
        let source = &self.sources[source];
        JobRef::new(source.connection.clone(), source.jobs[job].name.clone())
    }

    /// The list row of `job`, if its source listed it.
    pub fn summary(&self, job: &JobRef) -> Option<&JobSummary> {
        self.source(&job.source)?
            .jobs
            .iter()
            .find(|j| j.name == job.name)
    }

    /// The job `job` was made from.
    pub fn origin(&self, job: &JobRef) -> Option<&JobRef> {
        self.links.iter().find(|(j, _)| j == job).map(|(_, o)| o)
    }

    /// The jobs made from `job`.
    pub fn copies(&self, job: &JobRef) -> Vec<&JobRef> {
        self.links
            .iter()
            .filter(|(_, o)| o == job)
            .map(|(j, _)| j)
            .collect()
    }

    /// Forgets what belonged to the previously selected job.
    pub fn clear_selection(&mut self) {
        self.detail = None;
        self.describe = None;
        self.diagnosis = None;
        self.log = LogPages::default();
        self.metrics.clear();
        self.log_metrics.clear();
        self.artifacts.clear();
    }

    /// Takes in a connection that could not be added: said in a toast and kept to retry
    /// or remove.
    pub(super) fn connect_failed(&mut self, connection: Connection, message: String) {
        self.toasts.push(
            ToastKind::Error,
            format!("Connecting to {}: {message}", connection.label()),
        );
        self.connecting = None;
        if let Some(s) = self.source_mut(&connection) {
            s.activity.backing_off = true;
            s.activity.last_error = Some(message.clone());
        }
        self.failed.retain(|(c, _)| *c != connection);
        self.failed.push((connection, message));
    }

    /// Takes in a connection that is a source now (or again).
    pub(super) fn connected(&mut self, connection: Connection, label: String) {
        self.failed.retain(|(c, _)| *c != connection);
        match self.source_mut(&connection) {
            Some(source) => source.label = label.clone(),
            None => {
                self.toasts
                    .push(ToastKind::Success, format!("Connected: {label}"));
                self.sources.push(SourceData::new(connection, label));
            }
        }
        self.connecting = None;
    }
}

/// Appends new points to the series they belong to, as `[epoch seconds, value]`.
pub fn add_series(metrics: &mut BTreeMap<String, Summarised>, series: Vec<MetricSeries>) {
    for s in series {
        let entry = metrics.entry(s.name).or_default();
        entry.extend(
            s.points
                .iter()
                .map(|p| [p.timestamp.timestamp_millis() as f64 / 1000.0, p.value]),
        );
    }
}
