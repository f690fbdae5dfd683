//! The one path of a worker event into the window: each event is matched once, here, and
//! changes the data the views read, the persisted state or the builder.

use super::data::add_series;
use super::state::{self, GroupBy, SavedSource};
use super::toasts::ToastKind;
use super::{SageDeskApp, data::Progress};
use crate::job::{Connection, Status};
use crate::worker::{DeskCommand, Event};

impl SageDeskApp {
    /// Takes in the events the worker sent since the last frame.
    pub(super) fn drain(&mut self) {
        let events: Vec<Event> = self.worker.drain().collect();
        for event in events {
            self.apply(event);
        }
    }

    /// Applies an event of the worker (benchmarks feed data this way too).
    pub fn apply(&mut self, event: Event) {
        let selected =
            |job: &crate::job::JobRef, now: &Option<crate::job::JobRef>| now.as_ref() == Some(job);
        match event {
            Event::WorkerFailed {
                message,
                report,
                restarted,
            } => self.worker_failed(&message, report.as_deref(), restarted),
            Event::Opened { label, notice } => {
                self.data.sources[0].label = label;
                self.data.notice = notice;
            }
            Event::Connected { connection, label } => {
                if connection.is_aws()
                    && !self
                        .state
                        .sources
                        .iter()
                        .any(|s| s.connection == connection)
                {
                    self.state.sources.push(SavedSource {
                        connection: connection.clone(),
                        polling: true,
                    });
                }
                self.data.connected(connection, label);
            }
            Event::ConnectFailed {
                connection,
                message,
            } => self.data.connect_failed(connection, message),
            Event::Disconnected(connection) => self.disconnected(&connection),
            Event::Activity { source, activity } => {
                if let Some(s) = self.data.source_mut(&source) {
                    s.activity = activity;
                }
            }
            Event::Jobs { source, jobs } => {
                self.data.source_entry(&source).jobs = jobs;
                self.data.jobs_version += 1;
            }
            Event::Gone(job) => {
                if self.state.selection.as_ref() == Some(&job) {
                    self.select(None);
                }
            }
            Event::Detail { job, detail } => {
                if selected(&job, &self.state.selection) {
                    if std::mem::take(&mut self.tab_pending) {
                        self.state.tab = state::Tab::for_status(detail.summary.status);
                    }
                    self.data.describe = Some(detail.to_describe_json());
                    self.data.detail = Some(*detail);
                }
            }
            Event::Watching(job) => self.data.watching = job,
            Event::Diagnosis { job, diagnosis } => {
                if selected(&job, &self.state.selection) {
                    self.data.diagnosis = Some(*diagnosis);
                }
            }
            Event::Log { job, news } => {
                if selected(&job, &self.state.selection) {
                    self.data.log.apply(news);
                }
            }
            Event::Metrics { job, series } => {
                if selected(&job, &self.state.selection) {
                    add_series(&mut self.data.metrics, series);
                }
            }
            Event::LogMetrics { job, series } => {
                if selected(&job, &self.state.selection) {
                    add_series(&mut self.data.log_metrics, series);
                }
            }
            Event::Artifacts { job, entries } => {
                if selected(&job, &self.state.selection) {
                    self.data.artifacts = entries;
                }
            }
            Event::Compared { job, detail } => {
                if let Some(c) = self.data.compared.get_mut(&job) {
                    c.detail = Some(*detail);
                }
            }
            Event::ComparedMetrics { job, series } => {
                if let Some(c) = self.data.compared.get_mut(&job) {
                    add_series(&mut c.metrics, series);
                }
            }
            Event::Links(links) => self.data.links = links,
            Event::Price {
                source,
                instance_type,
                price,
            } => {
                let prices = self.data.prices.entry(source).or_default();
                // The same answer again changes no estimate.
                if prices.get(&instance_type) != Some(&price) {
                    prices.insert(instance_type, price);
                    self.data.jobs_version += 1;
                }
            }
            Event::Billing { source, billing } => {
                if let Some(s) = self.data.source_mut(&source) {
                    s.billing.extend(billing);
                    self.data.jobs_version += 1;
                }
            }
            Event::Tuning {
                job,
                described,
                trials,
            } => {
                if self.state.tuning.as_ref() == Some(&job) {
                    self.data.tuning_detail = Some(super::data::TuningDetail {
                        job,
                        described: *described,
                        trials,
                    });
                }
            }
            Event::TuningJobs { source, jobs } => {
                self.data.source_entry(&source).tuning = jobs;
                self.data.jobs_version += 1;
            }
            Event::Tags { source, tags } => {
                if let Some(s) = self.data.source_mut(&source) {
                    s.tags.extend(tags);
                    self.data.jobs_version += 1;
                }
            }
            Event::Preflight { request, report } => {
                if let Some(builder) = &mut self.builder {
                    builder.preflight_done(&request, report);
                }
            }
            Event::Archive { uri, listing } => {
                self.data.archives.insert(uri, listing);
            }
            Event::Submitted {
                job,
                supervised_here,
            } => {
                if supervised_here {
                    self.started_here.insert(job.name.clone());
                }
                self.data
                    .toasts
                    .push(ToastKind::Info, format!("Started {job}"));
                self.data.submitted = Some(job);
            }
            Event::TuningSubmitted { job } => {
                self.data
                    .toasts
                    .push(ToastKind::Info, format!("Started tuning job {job}"));
                if self.builder.as_ref().and_then(|b| b.pending.as_ref()) == Some(&job) {
                    self.data.draft = None;
                    self.worker.send(DeskCommand::ClearDraft);
                }
                // Its trials show under it in the list, and its view opens.
                self.state.group_by = GroupBy::TuningJob;
                self.show_tuning(Some(job));
            }
            Event::SubmitFailed { job, message } => {
                self.data
                    .toasts
                    .push(ToastKind::Error, format!("Creating {job}: {message}"));
                self.data.submit_failed = Some((job, message));
            }
            Event::JobStarted { job } => {
                self.select(Some(job));
            }
            Event::Finished { job, status } => {
                let kind = match status {
                    Status::Completed => ToastKind::Success,
                    Status::Failed => ToastKind::Error,
                    _ => ToastKind::Info,
                };
                self.data.toasts.push(kind, format!("{job}: {status}"));
            }
            Event::Templates(templates) => self.data.templates = templates,
            Event::Draft(draft) => self.data.draft = Some(draft),
            Event::RequestLoaded { value, notices } => self.load_request(value, notices),
            Event::RequestUnreadable(message) => self.import_error = Some(message),
            Event::FolderListed { folder, entries } => self.folder_listed(folder, entries),
            Event::CodeUploaded(Ok(uri)) => {
                if let Some(json) = self.builder.as_mut().and_then(|b| b.set_code_uri(&uri)) {
                    self.worker.send(DeskCommand::SaveDraft(json));
                }
                self.data
                    .toasts
                    .push(ToastKind::Success, format!("Uploaded {uri}"));
            }
            Event::CodeUploaded(Err(_)) => {
                if let Some(builder) = &mut self.builder {
                    builder.code_upload_failed();
                }
            }
            Event::Progress { task, done, total } => {
                self.data.progress = Some(Progress { task, done, total });
            }
            Event::Saved { path } => {
                self.data.progress = None;
                self.data
                    .toasts
                    .push(ToastKind::Success, format!("Saved {}", path.display()));
            }
            Event::Profiles(profiles) => self.connection_form.set_profiles(profiles),
            Event::CrashReport(path) => self.data.crash_report = Some(path),
            Event::Warning { context, message } => {
                self.data
                    .toasts
                    .push(ToastKind::Info, format!("{context}: {message}"));
            }
            Event::Notice { key, message } => {
                if self.data.noticed.insert(key) {
                    self.data.toasts.push(ToastKind::Info, message);
                }
            }
            Event::Error { context, message } => {
                self.data.progress = None;
                self.data
                    .toasts
                    .push(ToastKind::Error, format!("{context}: {message}"));
            }
        }
    }

    /// A source was removed: its jobs leave the list, the comparison and the selection.
    /// The worker has let go of the compared ones already.
    fn disconnected(&mut self, connection: &Connection) {
        self.sent.forget_compared(connection);
        self.state.sources.retain(|s| &s.connection != connection);
        self.state.compare.retain(|j| &j.source != connection);
        if self.state.source_filter.as_ref() == Some(connection) {
            self.state.source_filter = None;
        }
        self.data.sources.retain(|s| &s.connection != connection);
        self.data.compared.retain(|j, _| &j.source != connection);
        self.data.jobs_version += 1;
        if self
            .state
            .selection
            .as_ref()
            .is_some_and(|j| &j.source == connection)
        {
            self.select(None);
        }
    }
}
