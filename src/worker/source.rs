//! One source of jobs (Local, or an AWS connection): its backend, its own list poll with
//! its interval, backoff and request counter, and the rows it last listed. A failing
//! source marks only its own status; the others keep polling.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::{Activity, Event, Outbox};
use crate::backend::{Backend, BackendError, Connection, JobRef};
use crate::job::{JobSummary, ListFilter};

/// Interval while a job runs.
const BUSY: Duration = Duration::from_secs(1);
/// Interval while nothing runs: picks up jobs started by other processes.
const IDLE: Duration = Duration::from_secs(3);
/// Interval while the window is hidden.
const HIDDEN: Duration = Duration::from_secs(15);
/// A remote backend's list interval is multiplied by this while the window is hidden.
const REMOTE_HIDDEN_FACTOR: u32 = 6;
/// The longest delay while backing off.
const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Visible in-progress jobs described per tick on a remote backend.
const DESCRIBES_PER_TICK: usize = 3;
/// Jobs one list call asks a remote backend for; "load more" adds as many.
pub const REMOTE_PAGE: usize = 100;
/// A new search waits this long for the next keystroke before it is sent.
const QUERY_DEBOUNCE: Duration = Duration::from_millis(400);
/// A list call unanswered this long shows its source as waiting.
const WAITING_AFTER: Duration = Duration::from_secs(2);
/// Jobs whose tags are read per tick: one `ListTags` each on AWS, a store read locally.
const TAGS_PER_TICK_REMOTE: usize = 5;
const TAGS_PER_TICK_LOCAL: usize = 500;

/// What a source's poll depends on beyond the source itself.
#[derive(Debug, Clone, Copy)]
pub(super) struct Pace {
    /// The list interval of remote sources.
    pub remote_interval: Duration,
    /// Whether the window is shown.
    pub visible: bool,
    /// Whether a job of this source the window follows (selected, compared) still runs.
    pub following_running: bool,
}

/// A source of jobs and its poll.
pub(super) struct Source {
    /// The connection its backend was opened for.
    pub connection: Connection,
    /// The backend.
    pub backend: Arc<dyn Backend>,
    /// Whether the list is polled (the selected job is followed either way).
    pub polling: bool,
    /// The rows last listed.
    pub jobs: Vec<JobSummary>,
    /// Jobs of this source the list shows, for the in-progress describes.
    pub visible_jobs: Vec<String>,
    /// Tags read so far, by job name.
    tags: HashMap<String, Vec<(String, String)>>,
    /// Its tuning jobs last listed, and the last error listing them (said once).
    pub tuning: Vec<crate::job::tuning::TuningSummary>,
    tuning_error: Option<String>,
    /// Finished jobs whose billing was read (or kept from an earlier run).
    pub billed: std::collections::HashSet<String>,
    /// Whether the billing kept in the store was read.
    pub billing_loaded: bool,
    /// On a remote backend: the search and status filter, sent with the list call.
    query: ListFilter,
    /// On a remote backend: how many of the newest matching jobs are listed.
    limit: usize,
    /// When the next tick is due.
    pub due: Instant,
    /// Where the round of in-progress describes stopped.
    describe_from: usize,
    /// Transient failures in a row.
    failures: u32,
    /// Whether its list call is under way on a task of its own.
    pub listing_under_way: bool,
    /// Whether a tick was asked for meanwhile: it lists again once the call ends.
    pub list_again: bool,
    activity: Activity,
}

impl Source {
    /// A source over `backend`, due at once.
    pub fn new(connection: Connection, backend: Arc<dyn Backend>) -> Self {
        Self {
            connection,
            backend,
            polling: true,
            jobs: Vec::new(),
            visible_jobs: Vec::new(),
            tags: HashMap::new(),
            tuning: Vec::new(),
            tuning_error: None,
            billed: Default::default(),
            billing_loaded: false,
            query: ListFilter::default(),
            limit: REMOTE_PAGE,
            due: Instant::now(),
            describe_from: 0,
            failures: 0,
            listing_under_way: false,
            list_again: false,
            activity: Activity {
                polling: true,
                ..Activity::default()
            },
        }
    }

    /// A job of this source.
    pub fn job(&self, name: &str) -> JobRef {
        JobRef::new(self.connection.clone(), name)
    }

    /// Whether the last poll failed with a transient error.
    pub fn failing(&self) -> bool {
        self.failures > 0
    }

    fn busy(&self) -> bool {
        self.jobs.iter().any(|j| !j.status.is_terminal())
    }

    fn interval(&self, pace: Pace) -> Duration {
        match (self.backend.is_remote(), pace.visible) {
            (true, true) => pace.remote_interval,
            (true, false) => pace.remote_interval * REMOTE_HIDDEN_FACTOR,
            (false, false) => HIDDEN,
            (false, true) if self.busy() || pace.following_running => BUSY,
            (false, true) => IDLE,
        }
    }

    /// The interval, doubled per transient failure in a row (capped), with ±25 % jitter
    /// while backing off so many windows do not retry in step.
    pub fn delay(&self, pace: Pace) -> Duration {
        let interval = self.interval(pace);
        if self.failures == 0 {
            return interval;
        }
        let doubled = interval
            .saturating_mul(1 << self.failures.min(10))
            .min(MAX_BACKOFF);
        doubled.mul_f64(0.75 + 0.5 * jitter())
    }

    /// What errors are reported under: the context, named after the source when remote.
    pub fn context(&self, context: &str) -> String {
        match &self.connection {
            Connection::Local => context.to_string(),
            source => format!("{}: {context}", source.source_label()),
        }
    }

    /// The list call of this source (none when its list is not polled), ready to run on a
    /// task of its own: `ListTrainingJobs`, then on a remote backend a few visible jobs still
    /// in progress described (taking turns); a call that waits long tells the window so.
    pub fn listing(
        &self,
        out: &Outbox,
        selected: Option<&str>,
    ) -> Option<impl Future<Output = Listed> + Send + 'static> {
        if !self.polling {
            return None;
        }
        let remote = self.backend.is_remote();
        let filter = if remote {
            ListFilter {
                max_results: Some(self.limit),
                ..self.query.clone()
            }
        } else {
            ListFilter::default()
        };
        let backend = self.backend.clone();
        let out = out.clone();
        let source = self.connection.clone();
        let activity = self.activity.clone();
        let visible = if remote {
            self.visible_jobs.clone()
        } else {
            Vec::new()
        };
        let selected = selected.map(str::to_string);
        let describe_from = self.describe_from;
        Some(async move {
            let call = backend.list_training_jobs(&filter);
            tokio::pin!(call);
            let mut waited = false;
            let result = tokio::select! {
                listed = &mut call => listed,
                () = tokio::time::sleep(WAITING_AFTER) => {
                    waited = true;
                    out.send(Event::Activity {
                        source: source.clone(),
                        activity: Activity {
                            waiting_since: Some(std::time::SystemTime::now() - WAITING_AFTER),
                            calls: backend.calls(),
                            ..activity
                        },
                    });
                    out.flush();
                    call.await
                }
            };
            let (result, describe_from) = match result {
                Ok(jobs) => {
                    let (jobs, from) = describe_in_progress(
                        backend.as_ref(),
                        jobs,
                        &visible,
                        selected.as_deref(),
                        describe_from,
                    )
                    .await;
                    (Ok(jobs), from)
                }
                Err(e) => (Err(e), describe_from),
            };
            Listed {
                source,
                result,
                describe_from,
                waited,
            }
        })
    }

    /// Takes what a list call came back with: sends the rows when they changed and
    /// `Finished` for jobs that ended, and counts the outcome. True when the rows changed.
    pub fn finish_listing(&mut self, out: &Outbox, listed: Listed) -> bool {
        self.describe_from = listed.describe_from;
        if listed.waited {
            // The window was told the source waits: the next activity says it no longer does.
            self.activity.waiting_since = Some(std::time::SystemTime::now());
        }
        let (changed, result) = match listed.result {
            Ok(jobs) => (self.update_jobs(out, jobs), Ok(())),
            Err(e) => (false, Err(e)),
        };
        self.record(out, "Listing jobs", result);
        changed
    }

    /// Reads the tags of a few listed jobs not read yet (visible rows first) and sends
    /// them. Tags change rarely, so each job's are read once.
    pub async fn fetch_tags(&mut self, out: &Outbox) {
        let limit = if self.backend.is_remote() {
            TAGS_PER_TICK_REMOTE
        } else {
            TAGS_PER_TICK_LOCAL
        };
        let wanted = self.wanted(limit, |j| !self.tags.contains_key(&j.name));
        let mut read = Vec::new();
        for job in wanted {
            match self.backend.list_tags(&job).await {
                Ok(tags) => {
                    self.tags.insert(job.name.clone(), tags.clone());
                    read.push((job.name, tags));
                }
                Err(e) => {
                    // Not reported per job: the job keeps "tags loading" and is tried again.
                    tracing::debug!("tags of {}: {e}", job.name);
                    break;
                }
            }
        }
        if !read.is_empty() {
            out.send(Event::Tags {
                source: self.connection.clone(),
                tags: read,
            });
        }
    }

    /// Lists the source's tuning jobs and sends them when they changed (true then). A
    /// source without tuning jobs says nothing; another failure is said once until it
    /// changes.
    pub async fn fetch_tuning(&mut self, out: &Outbox) -> bool {
        match self.backend.list_tuning_jobs().await {
            Ok(jobs) => {
                self.tuning_error = None;
                if jobs != self.tuning {
                    self.tuning = jobs.clone();
                    out.send(Event::TuningJobs {
                        source: self.connection.clone(),
                        jobs,
                    });
                    return true;
                }
            }
            Err(e) if e.kind == crate::backend::ErrorKind::Unsupported => {}
            Err(e) => {
                if self.tuning_error.as_deref() != Some(e.message.as_str()) {
                    self.tuning_error = Some(e.message.clone());
                    out.error(
                        format!("Listing the tuning jobs of {}", self.backend.label()),
                        e,
                    );
                }
            }
        }
        false
    }

    /// Up to `limit` listed jobs that `keep` lets through, visible rows first.
    pub fn wanted(&self, limit: usize, keep: impl Fn(&JobSummary) -> bool) -> Vec<JobSummary> {
        let visible = self
            .visible_jobs
            .iter()
            .filter_map(|name| self.jobs.iter().find(|j| &j.name == name));
        let mut seen = std::collections::HashSet::new();
        visible
            .chain(self.jobs.iter())
            .filter(|j| keep(j) && seen.insert(j.name.as_str()))
            .take(limit)
            .cloned()
            .collect()
    }

    /// Sets the search and status filter of a remote source; a change lists again from the
    /// newest page shortly (keystrokes in between are folded into one call).
    pub fn set_query(&mut self, name_contains: Option<String>, status: Option<crate::job::Status>) {
        if !self.backend.is_remote()
            || (self.query.name_contains == name_contains && self.query.status == status)
        {
            return;
        }
        self.query.name_contains = name_contains;
        self.query.status = status;
        self.limit = REMOTE_PAGE;
        self.due = Instant::now() + QUERY_DEBOUNCE;
    }

    /// Lists a page more of older jobs from the next tick on.
    pub fn load_more(&mut self) {
        self.limit += REMOTE_PAGE;
    }

    /// Whether the list is narrowed by a search or status filter.
    pub fn filtered(&self) -> bool {
        self.query.name_contains.is_some() || self.query.status.is_some()
    }

    /// Whether a remote source has older jobs than those listed.
    fn more(&self) -> bool {
        self.backend.is_remote() && self.jobs.len() >= self.limit
    }

    fn update_jobs(&mut self, out: &Outbox, jobs: Vec<JobSummary>) -> bool {
        if jobs == self.jobs {
            return false;
        }
        // Looked up by name: a list of 10,000 rows changes every tick while a job runs.
        let running: std::collections::HashSet<&str> = self
            .jobs
            .iter()
            .filter(|j| !j.status.is_terminal())
            .map(|j| j.name.as_str())
            .collect();
        for job in &jobs {
            if job.status.is_terminal() && running.contains(job.name.as_str()) {
                out.send(Event::Finished {
                    job: self.job(&job.name),
                    status: job.status,
                });
            }
        }
        self.jobs = jobs;
        out.send(Event::Jobs {
            source: self.connection.clone(),
            jobs: self.jobs.clone(),
        });
        true
    }

    /// Counts a poll's outcome; the first error of a streak (or a new one) is reported.
    fn record(&mut self, out: &Outbox, context: &str, result: Result<(), BackendError>) {
        match result {
            Ok(()) => self.failures = 0,
            Err(e) => {
                let context = self.context(context);
                let message = format!("{context}: {e}");
                if e.is_transient() {
                    self.failures = self.failures.saturating_add(1);
                }
                if self.activity.last_error.as_deref() != Some(message.as_str())
                    || self.failures <= 1
                {
                    out.error(context, &e);
                }
                self.activity.errors += 1;
                self.activity.last_error = Some(message);
            }
        }
    }

    /// Sends the source's calls, errors and next poll when they changed.
    pub fn send_activity(&mut self, out: &Outbox, pace: Pace) {
        let activity = Activity {
            calls: self.backend.calls(),
            next_poll: self.delay(pace),
            backing_off: self.failures > 0,
            polling: self.polling,
            more: self.more(),
            waiting_since: None,
            ..self.activity.clone()
        };
        if activity != self.activity {
            self.activity = activity.clone();
            out.send(Event::Activity {
                source: self.connection.clone(),
                activity,
            });
        }
    }
}

/// What a source's list call came back with, from its own task.
pub(super) struct Listed {
    /// The source listed.
    pub source: Connection,
    result: Result<Vec<JobSummary>, BackendError>,
    describe_from: usize,
    /// Whether the window was told the call waits.
    waited: bool,
}

/// Describes a few of the `visible` jobs still in progress in `jobs` (taking turns from
/// `from`) and takes their fresher status into the rows; the rows and where the next turn
/// starts.
async fn describe_in_progress(
    backend: &dyn Backend,
    mut jobs: Vec<JobSummary>,
    visible: &[String],
    selected: Option<&str>,
    from: usize,
) -> (Vec<JobSummary>, usize) {
    let candidates: Vec<&String> = visible
        .iter()
        .filter(|name| Some(name.as_str()) != selected)
        .filter(|name| {
            jobs.iter()
                .any(|j| &j.name == *name && !j.status.is_terminal())
        })
        .collect();
    if candidates.is_empty() {
        return (jobs, from);
    }
    let take = candidates.len().min(DESCRIBES_PER_TICK);
    for i in 0..take {
        let name = candidates[(from + i) % candidates.len()];
        if let Ok(detail) = backend.describe_training_job(name).await
            && let Some(row) = jobs.iter_mut().find(|j| &j.name == name)
        {
            *row = detail.summary;
        }
    }
    (jobs, (from + take) % candidates.len())
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
