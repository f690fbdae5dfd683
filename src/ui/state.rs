//! What the window remembers between runs (apart from its size, which eframe keeps).

use serde::{Deserialize, Serialize};

use crate::job::{Connection, JobRef};

/// A column of the job list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SortColumn {
    /// Job name.
    Name,
    /// Status.
    Status,
    /// Creation time.
    Created,
    /// Duration.
    Duration,
    /// Estimated cost.
    Cost,
}

/// How the job list groups its rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GroupBy {
    /// No groups.
    None,
    /// The name without its trailing time stamp and numbers (`exp-lr-20261123-…` → `exp-lr`).
    NamePrefix,
    /// The value of this `Tags` key (`experiment`, …).
    Tag(String),
    /// The tuning job a job is a trial of (named `<tuning>-NNN-xxxxxxxx` by the service).
    TuningJob,
}

/// The x-axis of the Compare view's charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareAxis {
    /// Seconds since each job's training started, so runs line up.
    SinceStart,
    /// Wall-clock time.
    WallClock,
}

/// How the builder shows the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BuilderView {
    /// Code, framework, compute, hyperparameters, data, output and limits.
    Essentials,
    /// Every CreateTrainingJob member, as the API model has them.
    Full,
}

/// An AWS connection the window keeps as a source of jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedSource {
    /// The connection.
    pub connection: Connection,
    /// Whether its list is polled.
    pub polling: bool,
}

/// A tab of the job detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Tab {
    /// DescribeTrainingJob, grouped.
    Overview,
    /// Log lines.
    Logs,
    /// Metric charts.
    Metrics,
    /// Output files.
    Artifacts,
}

impl Tab {
    /// The tab a job opens on when the user has not chosen one for it: Logs while it starts
    /// and runs, Metrics when it completed, Overview (which leads with the diagnosis) when it
    /// failed or was stopped.
    pub fn for_status(status: crate::job::Status) -> Self {
        use crate::job::Status;
        match status {
            Status::InProgress | Status::Stopping => Tab::Logs,
            Status::Completed => Tab::Metrics,
            Status::Failed | Status::Stopped => Tab::Overview,
        }
    }

    /// Every tab, in display order.
    pub const ALL: [Tab; 4] = [Tab::Overview, Tab::Logs, Tab::Metrics, Tab::Artifacts];

    /// The tab's label.
    pub fn label(self) -> &'static str {
        match self {
            Tab::Overview => "Overview",
            Tab::Logs => "Logs",
            Tab::Metrics => "Metrics",
            Tab::Artifacts => "Artifacts",
        }
    }
}

/// Persisted view settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// The selected job.
    pub selection: Option<JobRef>,
    /// The tuning job shown (no job selected then).
    pub tuning: Option<JobRef>,
    /// The jobs marked for comparison.
    pub compare: Vec<JobRef>,
    /// Whether the Compare view is open.
    pub comparing: bool,
    /// The Compare view's x-axis.
    pub compare_axis: CompareAxis,
    /// Source filter of the list, or all.
    pub source_filter: Option<Connection>,
    /// How the list groups its rows.
    pub group_by: GroupBy,
    /// Whether the list shows each AWS job's estimated cost and the rows' total.
    pub show_cost: bool,
    /// Status filter (API name), or all.
    pub status_filter: Option<String>,
    /// Name search.
    pub search: String,
    /// Sort column of the list.
    pub sort: SortColumn,
    /// Ascending sort.
    pub ascending: bool,
    /// Open detail tab.
    pub tab: Tab,
    /// Logs: keep the newest line in view.
    pub follow_logs: bool,
    /// Logs: show timestamps.
    pub log_timestamps: bool,
    /// Logs: wrap long lines.
    pub wrap_logs: bool,
    /// Metrics: exponential moving average weight (0 = raw).
    pub smoothing: f32,
    /// Metrics: logarithmic Y axis.
    pub log_scale: bool,
    /// The AWS connections, opened again at start (Local is always a source).
    pub sources: Vec<SavedSource>,
    /// Seconds between list calls on AWS.
    pub list_interval_seconds: u64,
    /// Seconds between log reads of the selected AWS job while it runs.
    pub log_interval_seconds: u64,
    /// How the builder opens: Essentials or the full API form.
    pub builder_view: BuilderView,
    /// Whether the builder's JSON pane shows beside the form.
    pub builder_json: bool,
    /// The folders files were last chosen in, newest first.
    pub recent_folders: Vec<std::path::PathBuf>,
}

/// Most recent folders kept.
const MAX_RECENT: usize = 8;
/// Most characters of a search kept from the state file.
const MAX_SEARCH: usize = 1000;
/// Most jobs compared, and AWS sources, kept from the state file.
const MAX_KEPT: usize = 100;

impl State {
    /// The state with every value in its range, whatever the file held: intervals within
    /// what the worker accepts, a finite smoothing weight, bounded lists and search. A state
    /// file edited by hand or written by another version never stops the window.
    pub fn sanitized(mut self) -> Self {
        let seconds = |s: u64| {
            s.clamp(
                crate::worker::MIN_INTERVAL.as_secs(),
                crate::worker::MAX_INTERVAL.as_secs(),
            )
        };
        self.list_interval_seconds = seconds(self.list_interval_seconds);
        self.log_interval_seconds = seconds(self.log_interval_seconds);
        self.smoothing = if self.smoothing.is_finite() {
            self.smoothing.clamp(0.0, 0.99)
        } else {
            0.0
        };
        if self.search.chars().count() > MAX_SEARCH {
            self.search = self.search.chars().take(MAX_SEARCH).collect();
        }
        self.compare.truncate(MAX_KEPT);
        let mut seen = Vec::new();
        self.sources.retain(|s| {
            let new = !seen.contains(&s.connection) && s.connection.is_aws();
            seen.push(s.connection.clone());
            new
        });
        self.sources.truncate(MAX_KEPT);
        self.recent_folders.retain(|f| f.is_absolute());
        self.recent_folders.truncate(MAX_RECENT);
        self
    }

    /// Puts `folder` first among the recent folders.
    pub fn remember_folder(&mut self, folder: std::path::PathBuf) {
        self.recent_folders.retain(|f| f != &folder);
        self.recent_folders.insert(0, folder);
        self.recent_folders.truncate(MAX_RECENT);
    }
}

impl Default for State {
    fn default() -> Self {
        Self {
            selection: None,
            tuning: None,
            compare: Vec::new(),
            comparing: false,
            compare_axis: CompareAxis::SinceStart,
            source_filter: None,
            group_by: GroupBy::None,
            show_cost: false,
            status_filter: None,
            search: String::new(),
            sort: SortColumn::Created,
            ascending: false,
            tab: Tab::Overview,
            follow_logs: true,
            log_timestamps: true,
            wrap_logs: false,
            smoothing: 0.0,
            log_scale: false,
            sources: Vec::new(),
            list_interval_seconds: crate::worker::REMOTE_INTERVAL.as_secs(),
            log_interval_seconds: crate::worker::LOG_INTERVAL.as_secs(),
            builder_view: BuilderView::Essentials,
            builder_json: true,
            recent_folders: Vec::new(),
        }
    }
}
