//! The poll scheduler: one list call per interval, detail, logs and metrics only for the
//! selected job, events only when something changed, and slower polling when idle or hidden.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Command, Event, Outbox};
use crate::backend::Backend;
use crate::backend::local::store::Store;
use crate::job::{Cursor, JobDetail, JobSummary, ListFilter};

/// Interval while a job runs.
const BUSY: Duration = Duration::from_secs(1);
/// Interval while nothing runs: picks up jobs started by other processes.
const IDLE: Duration = Duration::from_secs(3);
/// Interval while the window is hidden.
const HIDDEN: Duration = Duration::from_secs(15);
/// Log lines fetched per call.
const LOG_PAGE: usize = 20_000;

struct Selected {
    name: String,
    log_cursor: Cursor,
    metric_cursor: Cursor,
    detail: Option<JobDetail>,
    artifacts_loaded: bool,
}

struct Poller {
    backend: Arc<dyn Backend>,
    /// The database that holds templates and the draft.
    library: Option<PathBuf>,
    out: Outbox,
    jobs: Vec<JobSummary>,
    selected: Option<Selected>,
    visible: bool,
}

/// Runs until the UI drops its command sender.
pub(super) async fn run(
    backend: Arc<dyn Backend>,
    library: Option<PathBuf>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    out: Outbox,
    jobs: Vec<JobSummary>,
) {
    let mut poller = Poller {
        backend,
        library,
        out,
        jobs,
        selected: None,
        visible: true,
    };
    loop {
        let interval = poller.interval();
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
        if !self.visible {
            HIDDEN
        } else if self.busy() {
            BUSY
        } else {
            IDLE
        }
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::Refresh => self.tick().await,
            Command::Select(name) => {
                self.selected = name.map(|name| Selected {
                    name,
                    log_cursor: Cursor::default(),
                    metric_cursor: Cursor::default(),
                    detail: None,
                    artifacts_loaded: false,
                });
                self.poll_selected().await;
            }
            Command::Submit(request) => {
                let name = request.name().to_string();
                match self.backend.create_training_job(*request).await {
                    Ok(_) => {
                        self.out.send(Event::Submitted { name });
                        self.tick().await;
                    }
                    Err(e) => self.out.send(Event::SubmitFailed {
                        name,
                        message: e.to_string(),
                    }),
                }
            }
            Command::Stop(name) => match self.backend.stop_training_job(&name).await {
                Ok(()) => self.tick().await,
                Err(e) => self.out.error(format!("Stopping {name}"), e),
            },
            Command::ListArchive(uri) => match self.backend.list_archive(&uri).await {
                Ok(entries) => self.out.send(Event::Archive { uri, entries }),
                Err(e) => self.out.error(format!("Reading {uri}"), e),
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
            Command::SaveDraft(request) => {
                self.library(move |s| s.save_draft(&request)).await;
            }
            Command::ClearDraft => {
                self.library(|s| s.clear_draft()).await;
            }
            Command::SaveTemplate { name, request } => {
                self.library(move |s| s.save_template(&name, &request))
                    .await;
                self.send_templates().await;
            }
            Command::DeleteTemplate(name) => {
                self.library(move |s| s.delete_template(&name)).await;
                self.send_templates().await;
            }
            Command::RenameTemplate { from, to } => {
                self.library(move |s| s.rename_template(&from, &to)).await;
                self.send_templates().await;
            }
        }
    }

    /// Runs `f` on the template library, reporting failures.
    async fn library<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, crate::backend::BackendError> + Send + 'static,
    ) -> Option<T> {
        let path = self.library.clone()?;
        let result = tokio::task::spawn_blocking(move || f(&Store::open(&path)?)).await;
        match result {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.out.error("Templates", e);
                None
            }
            Err(e) => {
                self.out.error("Templates", e);
                None
            }
        }
    }

    async fn send_templates(&self) {
        if let Some(templates) = self.library(|s| s.templates()).await {
            self.out.send(Event::Templates(templates));
        }
    }

    async fn tick(&mut self) {
        match self
            .backend
            .list_training_jobs(&ListFilter::default())
            .await
        {
            Ok(jobs) => {
                if jobs != self.jobs {
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
            }
            Err(e) => self.out.error("Listing jobs", e),
        }
        self.poll_selected().await;
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
                    let full = page.lines.len() == LOG_PAGE;
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
                    self.out.error(format!("Reading the logs of {name}"), e);
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
            Err(e) => self.out.error(format!("Reading the metrics of {name}"), e),
        }
        if !selected.artifacts_loaded && (finished || selected.log_cursor.is_start()) {
            match self.backend.list_artifacts(&name).await {
                Ok(entries) => {
                    selected.artifacts_loaded = finished;
                    self.out.send(Event::Artifacts { job: name, entries });
                }
                Err(e) => self
                    .out
                    .error(format!("Listing the artifacts of {name}"), e),
            }
        }
    }
}
