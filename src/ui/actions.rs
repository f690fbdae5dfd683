//! What the views' actions do: commands to the worker, selection, the builder's requests.

use super::builder::{self, Builder, BuilderAction};
use super::compare::CompareAction;
use super::connection::ConnectionAction;
use super::detail::{DetailAction, DetailCache};
use super::dialogs::Purpose;
use super::state;
use super::toasts::ToastKind;
use super::{Connection, JobRef, SageDeskApp, Subscription};
use crate::request::RequestKind;
use crate::worker::{DeskCommand, FollowCommand, SourceCommand, TaskCommand};

impl SageDeskApp {
    pub(super) fn handle_connection(&mut self, action: ConnectionAction) {
        match action {
            ConnectionAction::Connect(connection) => self.connect(connection),
            ConnectionAction::Remove(connection) => {
                self.worker.send(SourceCommand::Disconnect(connection));
            }
            ConnectionAction::Forget(connection) => {
                self.state.sources.retain(|s| s.connection != connection);
                self.data.failed.retain(|(c, _)| *c != connection);
                self.data.sources.retain(|s| s.connection != connection);
                self.data.jobs_version += 1;
            }
            ConnectionAction::SetPolling(source, polling) => {
                if let Some(saved) = self
                    .state
                    .sources
                    .iter_mut()
                    .find(|s| s.connection == source)
                {
                    saved.polling = polling;
                }
                self.worker
                    .send(SourceCommand::SetPolling { source, polling });
            }
            ConnectionAction::SetLogInterval(seconds) => self.state.log_interval_seconds = seconds,
            ConnectionAction::SetListInterval(seconds) => {
                self.state.list_interval_seconds = seconds;
            }
        }
    }

    /// Selects a job (or none) and shows its detail.
    pub(super) fn select(&mut self, job: Option<JobRef>) {
        self.state.comparing = false;
        if job.is_some() {
            self.state.tuning = None;
        }
        if job != self.state.selection {
            match job.as_ref().and_then(|j| self.chosen_tabs.get(j)) {
                Some(tab) => {
                    self.state.tab = *tab;
                    self.tab_pending = false;
                }
                None => self.tab_pending = job.is_some(),
            }
        }
        self.state.selection = job;
        self.follow();
    }

    /// Remembers that the user chose `tab` for the selected job.
    pub(super) fn choose_tab(&mut self, tab: state::Tab) {
        self.state.tab = tab;
        self.tab_pending = false;
        if let Some(job) = self.state.selection.clone() {
            self.chosen_tabs.insert(job, tab);
        }
    }

    /// Tells the worker what changed in what the window follows. A new selection or
    /// comparison starts from empty data: the worker sends all of it again.
    pub(super) fn follow(&mut self) {
        let now = Subscription::of(&self.state, &self.list.visible, self.visible);
        for command in now.changes(&self.sent) {
            match &command {
                FollowCommand::Select(_) => {
                    self.data.clear_selection();
                    self.detail = DetailCache::default();
                }
                FollowCommand::SelectTuning(_) => self.data.tuning_detail = None,
                FollowCommand::Compare(jobs) => {
                    self.data.compared = jobs
                        .iter()
                        .map(|j| (j.clone(), Default::default()))
                        .collect();
                    self.compare = Default::default();
                }
                _ => {}
            }
            self.worker.send(command);
        }
        self.sent = now;
    }

    /// Shows tuning job `job` (none: closes its view).
    pub(super) fn show_tuning(&mut self, job: Option<JobRef>) {
        self.builder = None;
        self.state.comparing = false;
        if job.is_some() {
            self.state.selection = None;
        }
        self.state.tuning = job;
        self.follow();
    }

    /// Does what the tuning job's view asked.
    pub(super) fn handle_tuning(&mut self, action: super::tuning::TuningAction) {
        use super::tuning::TuningAction;
        match action {
            TuningAction::Select(job) => self.select(Some(job)),
            TuningAction::Compare(jobs) => self.compare(jobs),
            TuningAction::Stop(job) => self.confirm_stop_tuning = Some((job.source, job.name)),
            TuningAction::Close => self.show_tuning(None),
            TuningAction::RunLocally(job, credentials) => self
                .worker
                .send(TaskCommand::RunTuningLocally { job, credentials }),
            TuningAction::Edit {
                described,
                source,
                to_aws,
            } => {
                let source = if to_aws {
                    self.aws_source()
                } else {
                    Some(source)
                };
                if let Some(source) = source {
                    self.edit_tuning(*described, source);
                }
            }
        }
    }

    /// Opens the builder on the request of a tuning job's description, under a new name,
    /// for `source`.
    fn edit_tuning(&mut self, described: serde_json::Value, source: Connection) {
        let name = described["HyperParameterTuningJobName"]
            .as_str()
            .unwrap_or("tuning")
            .to_string();
        match crate::request::tuning::tuning_request_from_value(described, &name) {
            Ok(mut request) => {
                request.hyper_parameter_tuning_job_name =
                    Some(crate::request::tune::tuning_name(&name));
                self.builder = Some(Builder::new(request.to_value(), source));
            }
            Err(e) => self.data.toasts.push(ToastKind::Error, e.to_string()),
        }
    }

    /// Opens the Compare view on `jobs` (in this order).
    pub fn compare(&mut self, jobs: Vec<JobRef>) {
        let mut unique: Vec<JobRef> = Vec::new();
        for job in jobs {
            if !unique.contains(&job) {
                unique.push(job);
            }
        }
        self.state.compare = unique;
        self.state.comparing = true;
        self.builder = None;
        self.follow();
    }

    /// Closes the Compare view (the marks stay).
    pub fn close_compare(&mut self) {
        self.state.comparing = false;
        self.follow();
    }

    pub(super) fn run_demo(&mut self) {
        self.worker.send(TaskCommand::RunDemo {
            epochs: self.options.demo_epochs,
        });
    }

    /// Puts a request (a file read, the demo's) in the builder, where every problem shows
    /// under its field, and keeps it as the draft.
    pub(super) fn load_request(&mut self, value: serde_json::Value, notices: Vec<String>) {
        for notice in notices {
            self.data.toasts.push(ToastKind::Info, notice);
        }
        match &mut self.builder {
            Some(builder) => builder.set_value(value),
            None => self.builder = Some(Builder::new(value, Connection::Local)),
        }
        if let Some(b) = &self.builder {
            let json = serde_json::to_string_pretty(b.value()).expect("JSON serializes");
            self.data.draft = Some(json.clone());
            self.worker.send(DeskCommand::SaveDraft(json));
        }
    }

    pub(super) fn handle_builder(&mut self, ctx: &egui::Context, actions: Vec<BuilderAction>) {
        for action in actions {
            match action {
                BuilderAction::Task(command) => self.worker.send(command),
                BuilderAction::Desk(command) => {
                    match &command {
                        DeskCommand::SaveTemplate { name, .. } => self
                            .data
                            .toasts
                            .push(ToastKind::Success, format!("Saved template {name}")),
                        // The builder opens on it again after the window showed a job.
                        DeskCommand::SaveDraft(json) => self.data.draft = Some(json.clone()),
                        _ => {}
                    }
                    self.worker.send(command);
                }
                BuilderAction::LoadBuiltin(id) => match id {
                    "pytorch" => self.load_request(builder::templates::pytorch(), Vec::new()),
                    "xgboost" => self.load_request(builder::templates::xgboost(), Vec::new()),
                    _ => self.worker.send(DeskCommand::LoadDemoRequest {
                        epochs: self.options.demo_epochs,
                    }),
                },
                BuilderAction::Import => self.open_dialog(ctx, Purpose::Import),
                BuilderAction::Export(json) => {
                    let tuning =
                        self.builder.as_ref().map(Builder::kind) == Some(RequestKind::Tuning);
                    let file = if tuning {
                        "tuning-job.json"
                    } else {
                        "training-job.json"
                    };
                    self.open_dialog(ctx, Purpose::Export(file.into(), json.into_bytes()));
                }
                BuilderAction::Browse(pointer) => self.open_dialog(ctx, Purpose::Browse(pointer)),
                BuilderAction::Copy(clip) => self.copy(ctx, clip),
                BuilderAction::Submit(request) => {
                    if let Some(builder) = &self.builder {
                        self.worker.send(TaskCommand::Submit {
                            source: builder.source.clone(),
                            request,
                            origin: builder.origin.clone(),
                            credentials: builder.credentials,
                        });
                    }
                }
                BuilderAction::SubmitTuning(request) => {
                    if let Some(builder) = &self.builder {
                        self.worker.send(TaskCommand::SubmitTuning {
                            source: builder.source.clone(),
                            request,
                            credentials: builder.credentials,
                        });
                    }
                }
                BuilderAction::UploadCode { dir, prefix } => {
                    if let Some(builder) = &self.builder {
                        self.worker.send(TaskCommand::UploadCode {
                            source: builder.source.clone(),
                            dir,
                            prefix,
                        });
                    }
                }
                BuilderAction::Close => self.builder = None,
            }
        }
    }

    /// Closes the builder once its job was created, and shows the service's refusal otherwise.
    pub(super) fn follow_submission(&mut self) {
        let Some(builder) = &mut self.builder else {
            return;
        };
        let Some(pending) = builder.pending.clone() else {
            return;
        };
        if self.data.submitted.as_ref() == Some(&pending) {
            self.builder = None;
            self.data.draft = None;
            self.worker.send(DeskCommand::ClearDraft);
            self.select(Some(pending));
        } else if let Some((name, message)) = &self.data.submit_failed
            && *name == pending
        {
            builder.submit_error = Some(message.clone());
            builder.pending = None;
            self.data.submit_failed = None;
        }
    }

    pub(super) fn handle_detail(&mut self, ctx: &egui::Context, action: DetailAction) {
        match action {
            DetailAction::ConfirmStop(job) => self.confirm_stop = Some(job),
            DetailAction::ListArchive(uri) => {
                if let Some(job) = &self.state.selection
                    && self.requested_archives.insert(uri.clone())
                {
                    let source = job.source.clone();
                    self.worker.send(TaskCommand::ListArchive { source, uri });
                }
            }
            DetailAction::SaveAs(uri) => self.open_dialog(ctx, Purpose::Save(uri)),
            DetailAction::Clone(job, request) => {
                let source = job.source.clone();
                self.clone_job(job, *request, source);
            }
            DetailAction::RunLocally(job, credentials) => {
                self.worker
                    .send(TaskCommand::RunLocally { job, credentials });
            }
            DetailAction::RunOnAws(job, request) => self.run_on_aws(job, *request),
            DetailAction::Select(job) => self.select(Some(job)),
            DetailAction::Log(needs) => {
                if let Some(job) = &self.state.selection {
                    for ask in needs.into_iter().filter_map(|n| self.data.log.request(n)) {
                        let job = job.clone();
                        self.worker.send(FollowCommand::Log { job, ask });
                    }
                }
            }
            DetailAction::Copy(clip) => self.copy(ctx, clip),
            DetailAction::OpenUrl(url) => self.worker.send(DeskCommand::OpenPath(url.into())),
            DetailAction::Watch(job) => self.worker.send(TaskCommand::Watch(job)),
            DetailAction::Unwatch => self.worker.send(TaskCommand::Unwatch),
            DetailAction::Debug(job) => self.worker.send(TaskCommand::Debug(job)),
            DetailAction::RunAgain(job, mut request) => {
                let base = crate::request::strip_stamp(&job.name).to_string();
                request.training_job_name = Some(crate::request::unique_name(&base));
                self.worker.send(TaskCommand::Submit {
                    source: job.source.clone(),
                    request,
                    origin: Some(job),
                    credentials: Default::default(),
                });
            }
            DetailAction::OpenTerminal(job, pdb) => self.worker.send(DeskCommand::OpenTerminal {
                job,
                host: "algo-1".into(),
                pdb,
            }),
            DetailAction::OpenInEditor(file, line) => {
                self.worker.send(DeskCommand::OpenInEditor { file, line })
            }
            DetailAction::OpenFolder(uri) => {
                let path = uri.strip_prefix("file://").unwrap_or(&uri);
                let folder = std::path::Path::new(path)
                    .parent()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_default();
                self.worker.send(DeskCommand::OpenPath(folder));
            }
        }
    }
}

impl SageDeskApp {
    pub(super) fn handle_compare(&mut self, ctx: &egui::Context, actions: Vec<CompareAction>) {
        for action in actions {
            match action {
                CompareAction::Close => self.close_compare(),
                CompareAction::Select(job) => self.select(Some(job)),
                CompareAction::Save(name, contents) => {
                    self.open_dialog(ctx, Purpose::Export(name, contents));
                }
                CompareAction::Screenshot(metric) => self.take_chart(ctx, metric),
            }
        }
    }

    /// Asks the renderer for the next frame and keeps `metric`'s chart of it as PNG.
    fn take_chart(&mut self, ctx: &egui::Context, metric: String) {
        let Some(rect) = self.compare.chart_rects.get(&metric).copied() else {
            return;
        };
        let shot = self.compare.shot.clone();
        let repaint = ctx.clone();
        let pixels_per_point = ctx.pixels_per_point();
        ctx.send_viewport_cmd(egui::ViewportCommand::Screenshot(
            egui::ScreenshotCallback::new(move |image| {
                let chart = image.region(&rect, Some(pixels_per_point));
                let png = super::compare::encode_png(&chart);
                *shot.lock().unwrap_or_else(|e| e.into_inner()) = Some((metric, png));
                repaint.request_repaint();
            }),
        ));
    }

    /// A chart image that arrived from the renderer: ask where to save it.
    pub(super) fn poll_chart_image(&mut self, ctx: &egui::Context) {
        let taken = self
            .compare
            .shot
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match taken {
            Some((metric, Ok(png))) => {
                let name: String = metric
                    .chars()
                    .map(|c| {
                        if c.is_alphanumeric() || c == '-' {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                self.open_dialog(ctx, Purpose::Export(format!("{name}.png"), png));
            }
            Some((metric, Err(e))) => self
                .data
                .toasts
                .push(ToastKind::Error, format!("Saving the {metric} chart: {e}")),
            None => {}
        }
    }

    /// Opens the builder on a copy of a local job's request for the first AWS source; the
    /// builder lists the `file://` locations and offers to upload the code.
    fn run_on_aws(&mut self, origin: JobRef, request: crate::request::TrainingJobRequest) {
        if let Some(source) = self.aws_source() {
            self.clone_job(origin, request, source);
        }
    }

    /// The first AWS connection; without one, says to add one.
    fn aws_source(&mut self) -> Option<Connection> {
        let found = self
            .data
            .sources
            .iter()
            .map(|s| s.connection.clone())
            .find(Connection::is_aws);
        if found.is_none() {
            self.data.toasts.push(
                ToastKind::Info,
                "Add an AWS connection first (the sources button, top right)".into(),
            );
        }
        found
    }
}
