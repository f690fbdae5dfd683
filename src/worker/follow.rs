//! Following jobs: the selected one (detail, logs, metrics, artifacts) and the compared
//! ones (detail and metrics), each polled on its own source's backend with cursors, so
//! every call after the first asks only for what is new.

use std::collections::HashSet;
use std::ops::Range;

use super::logbook::{HITS_KEPT, LogAsk, LogNews, RemoteLog};
use super::{Event, Outbox};
use crate::backend::{Backend, BackendError, ErrorKind, JobRef, read_metrics};
use crate::job::{Cursor, JobDetail, LogLine, LogSize, MetricPoint, MetricSeries};
use crate::request::metrics::MetricExtractor;

/// Log lines fetched per call.
const LOG_PAGE: usize = 20_000;
/// Metric pages read in one go when a comparison opens.
const METRIC_PAGES: usize = 50;
/// Metric pages of the selected job read per poll (a local page is 100,000 points).
const SELECTED_METRIC_PAGES: usize = 10;

/// A job whose detail and metrics are followed.
pub(super) struct Followed {
    /// The job.
    pub job: JobRef,
    /// The detail last sent.
    pub detail: Option<JobDetail>,
    metric_cursor: Cursor,
    /// Errors already reported for this job: a failure that repeats every tick is said once.
    reported: HashSet<String>,
}

impl Followed {
    /// A job followed from the start.
    pub fn new(job: JobRef) -> Self {
        Self {
            job,
            detail: None,
            metric_cursor: Cursor::default(),
            reported: HashSet::new(),
        }
    }

    /// Whether the job still runs (or has not been described yet).
    pub fn running(&self) -> bool {
        self.detail
            .as_ref()
            .is_none_or(|d| !d.summary.status.is_terminal())
    }

    /// Sends an error event unless the same error was already reported for this job.
    fn report(&mut self, out: &Outbox, context: String, error: BackendError) {
        if self.reported.insert(format!("{context}\n{error}")) {
            out.error(context, error);
        }
    }

    /// Describes the job; the detail when it changed. Errors are returned.
    async fn describe(&mut self, backend: &dyn Backend) -> Result<Option<JobDetail>, BackendError> {
        let detail = backend.describe_training_job(&self.job.name).await?;
        if self.detail.as_ref() == Some(&detail) {
            return Ok(None);
        }
        self.detail = Some(detail.clone());
        Ok(Some(detail))
    }

    /// New metric points since the last call (up to `pages` pages).
    async fn metrics(
        &mut self,
        backend: &dyn Backend,
        out: &Outbox,
        pages: usize,
    ) -> Vec<MetricSeries> {
        let (series, error) =
            read_metrics(backend, &self.job.name, &mut self.metric_cursor, pages).await;
        if let Some(e) = error {
            match standing_limit(&self.job, "metrics", &e) {
                Some((key, message)) => out.send(Event::Notice { key, message }),
                None => {
                    let context = format!("Reading the metrics of {}", self.job);
                    self.report(out, context, e);
                }
            }
        }
        series
    }
}

/// For an AWS job's `what` that cannot be read because its connection may not make the call
/// or cannot reach the service: one notice for the whole connection (every job of it fails
/// alike), with the service's code and message and what to do.
fn standing_limit(job: &JobRef, what: &str, e: &BackendError) -> Option<(String, String)> {
    if !job.source.is_aws() {
        return None;
    }
    let source = job.source.source_label();
    let key = format!("{source}\n{what}\n{}", e.code);
    let message = match e.kind {
        ErrorKind::Auth => format!(
            "{source}: the {what} of its jobs cannot be read ({}: {}). Their charts stay \
             empty until the connection's role or user may call CloudWatch GetMetricData.",
            e.code, e.message
        ),
        ErrorKind::Network => format!(
            "{source}: CloudWatch does not answer, so the {what} of its jobs cannot be read \
             ({}: {}). Check the region, endpoint and network; they are read again by \
             themselves.",
            e.code, e.message
        ),
        _ => return None,
    };
    Some((key, message))
}

/// The selected job: a followed job plus its logs and artifacts.
pub(super) struct Selected {
    /// Detail and metrics.
    pub followed: Followed,
    log_cursor: Cursor,
    /// A remote job's lines read so far (a local job's are in the store).
    read: RemoteLog,
    /// The log's size last sent.
    size: Option<LogSize>,
    /// The window's last read of rows, when it reached the end of the log: the window
    /// follows the end, and is sent the new last rows with each new size.
    tail: Option<(Option<String>, Range<u64>)>,
    artifacts_loaded: bool,
    /// Whether the job's diagnosis was asked for (once it failed or stopped).
    pub diagnosed: bool,
    /// On a remote source, the job's `MetricDefinitions` matched against the log lines as
    /// they are read: points seconds after they are logged, where CloudWatch has one a
    /// minute, minutes late. Built with the first detail.
    log_metrics: Option<MetricExtractor>,
}

impl Selected {
    /// `job`, followed from its first line.
    pub fn new(job: JobRef) -> Self {
        Self {
            followed: Followed::new(job),
            log_cursor: Cursor::default(),
            read: RemoteLog::default(),
            size: None,
            tail: None,
            artifacts_loaded: false,
            diagnosed: false,
            log_metrics: None,
        }
    }

    /// Whether the job still runs.
    pub fn running(&self) -> bool {
        self.followed.running()
    }

    /// Whether the job failed or stopped and its diagnosis was not asked for yet (marked
    /// asked now).
    pub fn wants_diagnosis(&mut self) -> bool {
        let ended_badly = self.followed.detail.as_ref().is_some_and(|d| {
            matches!(
                d.summary.status,
                crate::job::Status::Failed | crate::job::Status::Stopped
            )
        });
        let wants = ended_badly && !self.diagnosed;
        self.diagnosed |= ended_badly;
        wants
    }

    /// The job.
    pub fn job(&self) -> &JobRef {
        &self.followed.job
    }

    /// Polls detail, new log lines, new metric points and (once) the artifacts. False when
    /// the job does not exist: the selection should be dropped.
    pub async fn poll(&mut self, backend: &dyn Backend, out: &Outbox) -> bool {
        let job = self.followed.job.clone();
        match self.followed.describe(backend).await {
            Ok(Some(detail)) => {
                if backend.is_remote() && self.log_metrics.is_none() {
                    self.log_metrics = MetricExtractor::new(detail.request.metric_definitions())
                        .ok()
                        .filter(|e| !e.is_empty());
                }
                out.send(Event::Detail {
                    job: job.clone(),
                    detail: Box::new(detail),
                });
            }
            Ok(None) => {}
            Err(e) if e.kind == ErrorKind::NotFound => {
                out.send(Event::Gone(job));
                return false;
            }
            Err(e) => {
                // Kept: the source may answer again (a network failure, throttling).
                self.followed.report(out, format!("Describing {job}"), e);
                return true;
            }
        }
        let finished = !self.followed.running();
        let first = self.size.is_none();
        match backend.log_size(&job.name).await {
            Ok(Some(size)) => self.send_size(backend, size, out).await,
            Ok(None) => self.logs(backend, out).await,
            Err(e) => {
                let context = format!("Reading the logs of {job}");
                self.followed.report(out, context, e);
            }
        }
        // A rate-limited service is asked once a poll; the local store pages on.
        let pages = if backend.is_remote() {
            1
        } else {
            SELECTED_METRIC_PAGES
        };
        let series = self.followed.metrics(backend, out, pages).await;
        if !series.is_empty() {
            out.send(Event::Metrics {
                job: job.clone(),
                series,
            });
        }
        if !self.artifacts_loaded && (finished || first) {
            match backend.list_artifacts(&job.name).await {
                Ok(entries) => {
                    self.artifacts_loaded = finished;
                    out.send(Event::Artifacts { job, entries });
                }
                Err(e) => {
                    let context = format!("Listing the artifacts of {job}");
                    self.followed.report(out, context, e);
                }
            }
        }
        true
    }

    /// Reads the new log lines (and the metric points in them); alone, the fast poll of a
    /// running remote job.
    pub async fn logs(&mut self, backend: &dyn Backend, out: &Outbox) {
        let job = &self.followed.job;
        loop {
            match backend
                .get_log_events(&job.name, &self.log_cursor, LOG_PAGE)
                .await
            {
                Ok(page) if page.lines.is_empty() => {
                    // The cursor may still have learnt something (the job's log streams).
                    self.log_cursor = page.next_cursor;
                    break;
                }
                Ok(page) => {
                    let full = page.lines.len() >= LOG_PAGE;
                    self.log_cursor = page.next_cursor;
                    if let Some(extractor) = &self.log_metrics {
                        let series = extract(extractor, &page.lines);
                        if !series.is_empty() {
                            out.send(Event::LogMetrics {
                                job: job.clone(),
                                series,
                            });
                        }
                    }
                    if let Err(e) = self.read.extend(page.lines).await {
                        let context = format!("Keeping the logs of {job}");
                        self.followed.report(out, context, e);
                        break;
                    }
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    let context = format!("Reading the logs of {job}");
                    self.followed.report(out, context, e);
                    break;
                }
            }
        }
        match self.read.size().await {
            Ok(size) => self.send_size(backend, size, out).await,
            Err(e) => {
                let context = format!("Keeping the logs of {}", self.followed.job);
                self.followed.report(out, context, e);
            }
        }
    }

    /// Tells the window the log's size when it changed, with the new last rows when the
    /// window follows the end.
    async fn send_size(&mut self, backend: &dyn Backend, size: LogSize, out: &Outbox) {
        if self.size.as_ref() == Some(&size) {
            return;
        }
        let job = self.followed.job.clone();
        let tail = self.tail.take().map(|(host, rows)| {
            let end = size.rows(host.as_deref());
            let grown = end.saturating_sub(rows.end);
            (host, rows.start + grown..end)
        });
        self.size = Some(size.clone());
        out.send(Event::Log {
            job: job.clone(),
            news: LogNews::Size(size),
        });
        let Some((host, rows)) = tail else {
            return;
        };
        match self.read_rows(backend, host.clone(), rows.clone()).await {
            Ok(lines) => {
                let start = rows.start;
                self.tail = Some((host.clone(), rows));
                out.send(Event::Log {
                    job,
                    news: LogNews::Tail { host, start, lines },
                });
            }
            Err(e) => {
                let context = format!("Reading the logs of {job}");
                self.followed.report(out, context, e);
            }
        }
    }

    /// The lines at `rows`: from the store where the backend keeps the log, else from the
    /// lines read so far.
    async fn read_rows(
        &self,
        backend: &dyn Backend,
        host: Option<String>,
        rows: Range<u64>,
    ) -> Result<Vec<LogLine>, BackendError> {
        if backend.is_remote() {
            self.read.rows(host, rows).await
        } else {
            backend
                .log_rows(&self.followed.job.name, host.as_deref(), rows)
                .await
        }
    }

    /// Answers the window's read or search of the log: from the store where the backend
    /// keeps the log, else from the lines read so far.
    pub async fn answer(&mut self, backend: &dyn Backend, ask: LogAsk, out: &Outbox) {
        let job = self.followed.job.clone();
        let stored = !backend.is_remote();
        let news = match ask {
            LogAsk::Rows { host, rows } => {
                let start = rows.start;
                let end = self.size.as_ref().map(|s| s.rows(host.as_deref()));
                self.tail = (end == Some(rows.end)).then(|| (host.clone(), rows.clone()));
                let lines = self.read_rows(backend, host.clone(), rows).await;
                lines.map(|lines| LogNews::Rows { host, start, lines })
            }
            LogAsk::Find { host, text } => {
                let hits = if stored {
                    backend
                        .search_log(&job.name, host.as_deref(), &text, HITS_KEPT)
                        .await
                } else {
                    self.read
                        .search(host.clone(), text.clone(), HITS_KEPT)
                        .await
                };
                hits.map(|hits| LogNews::Hits { host, text, hits })
            }
        };
        match news {
            Ok(news) => out.send(Event::Log { job, news }),
            Err(e) => {
                let context = format!("Reading the logs of {job}");
                self.followed.report(out, context, e);
            }
        }
    }
}

/// The metric points in `lines`, at each line's time, by metric.
fn extract(extractor: &MetricExtractor, lines: &[LogLine]) -> Vec<MetricSeries> {
    let mut points: Vec<Vec<MetricPoint>> = vec![Vec::new(); extractor.names().len()];
    for line in lines {
        extractor.extract(&line.text, |i, value| {
            points[i].push(MetricPoint {
                timestamp: line.timestamp,
                value,
            });
        });
    }
    extractor
        .names()
        .iter()
        .zip(points)
        .filter(|(_, p)| !p.is_empty())
        .map(|(name, points)| MetricSeries {
            name: name.clone(),
            points,
        })
        .collect()
}

/// Polls a compared job: its detail when it changed and its new metric points (every page
/// on the first call). A job that cannot be described is reported once and kept, so a
/// source that comes back fills it in.
pub(super) async fn poll_compared(followed: &mut Followed, backend: &dyn Backend, out: &Outbox) {
    let first = followed.detail.is_none();
    match followed.describe(backend).await {
        Ok(Some(detail)) => out.send(Event::Compared {
            job: followed.job.clone(),
            detail: Box::new(detail),
        }),
        Ok(None) => {}
        Err(e) => {
            let context = format!("Comparing {}", followed.job);
            followed.report(out, context, e);
            return;
        }
    }
    let pages = if first { METRIC_PAGES } else { 1 };
    let series = followed.metrics(backend, out, pages).await;
    if !series.is_empty() {
        out.send(Event::ComparedMetrics {
            job: followed.job.clone(),
            series,
        });
    }
}
