//! The desktop window: an eframe app over the worker. Views never call a backend and
//! never block; they read [`data::Data`] and return actions that become [`Command`]s.

pub mod builder;
pub mod chart;
pub mod connection;
pub mod data;
mod demo;
pub mod detail;
pub mod jobs;
pub mod state;
pub mod theme;
pub mod toasts;

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc;

use egui::{Key, Modifiers, RichText};

use self::builder::{Builder, BuilderAction};
use self::connection::{ConnectionAction, ConnectionForm};
use self::data::Data;
use self::detail::{DetailAction, DetailCache};
use self::jobs::{ListAction, ListCache};
use self::state::State;
use self::toasts::ToastKind;
use crate::backend::{Backend, Connection};
use crate::spec::validate::Target;
use crate::worker::{Command, Event, Worker};

/// Options of the window beyond the persisted state.
#[derive(Debug, Clone, Default)]
pub struct AppOptions {
    /// The data folder (for the demo job's files).
    pub home: PathBuf,
    /// Epochs of the demo job, if not the file's.
    pub demo_epochs: Option<u32>,
    /// Connect here at start instead of the last connection used.
    pub connection: Option<Connection>,
}

/// What a file dialog was opened for.
enum Purpose {
    /// Load a request into the builder.
    Import,
    /// Save an artifact.
    Save(String),
    /// Write the builder's request.
    Export(String),
    /// Pick a local path for a builder field (JSON pointer).
    Browse(String),
}

/// A file dialog running on its own thread.
struct Dialog {
    purpose: Purpose,
    picked: mpsc::Receiver<Option<PathBuf>>,
}

/// The SageDesk window.
pub struct SageDeskApp {
    state: State,
    data: Data,
    worker: Worker,
    connection_form: ConnectionForm,
    /// The visible rows last told to the worker.
    visible_sent: Vec<String>,
    options: AppOptions,
    list: ListCache,
    detail: DetailCache,
    confirm_stop: Option<String>,
    dialog: Option<Dialog>,
    requested_archives: HashSet<String>,
    /// Why the last import failed (the message names the file and the line or member).
    import_error: Option<String>,
    visible: bool,
    builder: Option<Builder>,
    /// A job to clone as soon as its request has loaded.
    clone_pending: Option<String>,
    /// Jobs this window created: this process supervises them.
    started_here: HashSet<String>,
    /// The user asked to close while such jobs run; a confirmation is open.
    confirm_close: bool,
    /// The user confirmed closing.
    closing: bool,
}

impl SageDeskApp {
    /// The app over `backend`, restoring the persisted state from eframe's storage.
    pub fn new(
        cc: &eframe::CreationContext<'_>,
        backend: Arc<dyn Backend>,
        options: AppOptions,
    ) -> std::io::Result<Self> {
        let state: State = cc
            .storage
            .and_then(|s| eframe::get_value(s, eframe::APP_KEY))
            .unwrap_or_default();
        Self::with_state(&cc.egui_ctx, backend, options, state)
    }

    /// The app with a given state (tests and benchmarks use this).
    pub fn with_state(
        ctx: &egui::Context,
        backend: Arc<dyn Backend>,
        options: AppOptions,
        mut state: State,
    ) -> std::io::Result<Self> {
        if let Some(connection) = &options.connection {
            state.connection = connection.clone();
        }
        let repaint_ctx = ctx.clone();
        let data = Data {
            label: backend.label(),
            notice: backend.notice(),
            ..Data::default()
        };
        let library = Some(options.home.join("sagedesk.db"));
        let worker = Worker::spawn(backend, library, move || repaint_ctx.request_repaint())?;
        worker.send(Command::SetListInterval(std::time::Duration::from_secs(
            state.list_interval_seconds,
        )));
        if state.connection == Connection::Local {
            worker.send(Command::Select(state.selected.clone()));
        }
        let mut app = Self {
            data,
            worker,
            connection_form: ConnectionForm::default(),
            visible_sent: Vec::new(),
            options,
            list: ListCache::default(),
            detail: DetailCache::default(),
            confirm_stop: None,
            dialog: None,
            requested_archives: HashSet::new(),
            import_error: None,
            visible: true,
            builder: None,
            clone_pending: None,
            started_here: HashSet::new(),
            confirm_close: false,
            closing: false,
            state,
        };
        app.drain();
        if app.state.connection != Connection::Local {
            app.connect(app.state.connection.clone());
        }
        Ok(app)
    }

    /// The builder, when open.
    pub fn builder(&self) -> Option<&Builder> {
        self.builder.as_ref()
    }

    /// Opens the builder: on the saved draft if there is one, else on a new request.
    pub fn new_job(&mut self) {
        let value = self
            .data
            .draft
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_else(|| {
                serde_json::json!({
                    "TrainingJobName": crate::spec::unique_name("training-job"),
                    "AlgorithmSpecification": {"TrainingInputMode": "File"},
                    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
                    "StoppingCondition": {"MaxRuntimeInSeconds": 3600}
                })
            });
        self.builder = Some(Builder::new(value));
    }

    /// Opens the builder on a copy of `request` with a fresh unique name.
    pub fn clone_job(&mut self, mut request: crate::spec::TrainingJobRequest) {
        let base = request.name().to_string();
        // Drop an earlier clone's timestamp so names do not grow with each clone.
        let base = strip_stamp(&base);
        request.training_job_name = Some(crate::spec::unique_name(base));
        self.builder = Some(Builder::new(request.to_value()));
    }

    /// The persisted state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// Applies an event as if the worker had sent it (benchmarks feed data this way).
    pub fn apply(&mut self, event: Event) {
        if let Event::Connected { connection, .. } = &event {
            self.state.connection = connection.clone();
            self.state.selected = None;
            self.connection_form.open = false;
        }
        self.data.apply(event, self.state.selected.as_deref());
    }

    /// Switches to `connection`; the current one stays until the new one answers.
    pub fn connect(&mut self, connection: Connection) {
        self.data.connecting = Some(connection.clone());
        self.data.connect_error = None;
        self.worker.send(Command::Connect(connection));
    }

    /// The connection window's form (tests drive it).
    pub fn connection_form(&mut self) -> &mut ConnectionForm {
        &mut self.connection_form
    }

    fn handle_connection(&mut self, action: ConnectionAction) {
        match action {
            ConnectionAction::Connect(connection) => self.connect(connection),
            ConnectionAction::SetListInterval(seconds) => {
                self.state.list_interval_seconds = seconds;
                self.worker
                    .send(Command::SetListInterval(std::time::Duration::from_secs(
                        seconds,
                    )));
            }
        }
    }

    fn drain(&mut self) {
        let events: Vec<Event> = self.worker.drain().collect();
        for event in events {
            if let Event::Submitted { name } = &event {
                self.started_here.insert(name.clone());
            }
            self.apply(event);
        }
    }

    /// Jobs created by this window that are still running.
    fn running_here(&self) -> Vec<&str> {
        self.data
            .jobs
            .iter()
            .filter(|j| !j.status.is_terminal() && self.started_here.contains(&j.name))
            .map(|j| j.name.as_str())
            .collect()
    }

    /// Closing the window ends the supervision of the jobs it started: ask first.
    fn guard_close(&mut self, ctx: &egui::Context) {
        if ctx.input(|i| i.viewport().close_requested())
            && !self.closing
            && !self.running_here().is_empty()
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm_close = true;
        }
        if !self.confirm_close {
            return;
        }
        let running: Vec<String> = self.running_here().iter().map(|s| s.to_string()).collect();
        if running.is_empty() {
            self.confirm_close = false;
            return;
        }
        let mut choice = None;
        egui::Modal::new(egui::Id::unique("sagedesk-confirm-close")).show(ctx, |ui| {
            ui.heading("Jobs are still running");
            ui.label(format!(
                "This window supervises {}: closing it stops their processes and they will be \
                 marked Interrupted, keeping their logs and metrics.",
                running.join(", ")
            ));
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button("Keep the window open").clicked() {
                    choice = Some(false);
                }
                if ui.button("Close anyway").clicked() {
                    choice = Some(true);
                }
            });
        });
        match choice {
            Some(true) => {
                self.confirm_close = false;
                self.closing = true;
                ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            }
            Some(false) => self.confirm_close = false,
            None => {}
        }
    }

    fn select(&mut self, name: Option<String>) {
        if self.state.selected != name {
            self.state.selected = name.clone();
            self.data.clear_selection();
            self.detail = DetailCache::default();
            self.worker.send(Command::Select(name));
        }
    }

    fn run_demo(&mut self) {
        if self.data.connection != Connection::Local {
            self.data.toasts.push(
                ToastKind::Info,
                "The demo job runs on this machine: switch the connection to Local first".into(),
            );
            return;
        }
        match demo::demo_request(&self.options.home, self.options.demo_epochs) {
            Ok(request) => {
                let name = request.name().to_string();
                self.worker.send(Command::Submit(Box::new(request)));
                self.select(Some(name));
                self.state.tab = state::Tab::Metrics;
            }
            Err(e) => self
                .data
                .toasts
                .push(ToastKind::Error, format!("Preparing the demo job: {e}")),
        }
    }

    /// Loads a request file into the builder, where every problem shows under its field.
    fn import(&mut self, path: PathBuf) {
        match crate::spec::read_request_file(&path) {
            Ok(imported) => {
                for notice in imported.notices {
                    self.data.toasts.push(ToastKind::Info, notice);
                }
                let value = imported.request.to_value();
                match &mut self.builder {
                    Some(builder) => builder.set_value(value),
                    None => self.builder = Some(Builder::new(value)),
                }
                if let Some(b) = &self.builder {
                    self.worker.send(Command::SaveDraft(
                        serde_json::to_string_pretty(b.value()).expect("JSON serializes"),
                    ));
                }
            }
            Err(e) => self.import_error = Some(e.to_string()),
        }
    }

    /// Opens a file dialog on its own thread; the answer arrives in a later frame.
    fn open_dialog(&mut self, ctx: &egui::Context, purpose: Purpose) {
        let (tx, rx) = mpsc::channel();
        let ctx = ctx.clone();
        let file_name = match &purpose {
            Purpose::Save(uri) => uri.rsplit('/').next().unwrap_or("artifact").to_string(),
            _ => "training-job.json".to_string(),
        };
        let kind = match &purpose {
            Purpose::Import => 0,
            Purpose::Save(_) | Purpose::Export(_) => 1,
            Purpose::Browse(_) => 2,
        };
        std::thread::spawn(move || {
            let dialog = rfd::FileDialog::new();
            let picked = match kind {
                0 => dialog.add_filter("Job JSON", &["json"]).pick_file(),
                1 => dialog.set_file_name(&file_name).save_file(),
                _ => dialog.pick_folder(),
            };
            let _ = tx.send(picked);
            ctx.request_repaint();
        });
        self.dialog = Some(Dialog {
            purpose,
            picked: rx,
        });
    }

    fn poll_dialog(&mut self) {
        let Some(dialog) = &self.dialog else {
            return;
        };
        let picked = match dialog.picked.try_recv() {
            Ok(picked) => picked,
            Err(mpsc::TryRecvError::Empty) => return,
            Err(mpsc::TryRecvError::Disconnected) => None,
        };
        let purpose = self.dialog.take().expect("checked").purpose;
        let Some(path) = picked else {
            return;
        };
        match purpose {
            Purpose::Import => self.import(path),
            Purpose::Save(uri) => self.worker.send(Command::Download { uri, dest: path }),
            Purpose::Export(json) => match std::fs::write(&path, json) {
                Ok(()) => self
                    .data
                    .toasts
                    .push(ToastKind::Success, format!("Saved {}", path.display())),
                Err(e) => self
                    .data
                    .toasts
                    .push(ToastKind::Error, format!("{}: {e}", path.display())),
            },
            Purpose::Browse(pointer) => {
                if let Some(builder) = &mut self.builder
                    && let Some(json) =
                        builder.set_at(&pointer, format!("file://{}", path.display()))
                {
                    self.worker.send(Command::SaveDraft(json));
                }
            }
        }
    }

    fn handle_builder(&mut self, ctx: &egui::Context, actions: Vec<BuilderAction>) {
        for action in actions {
            match action {
                BuilderAction::Submit(request) => self.worker.send(Command::Submit(request)),
                BuilderAction::SaveDraft(json) => self.worker.send(Command::SaveDraft(json)),
                BuilderAction::SaveTemplate(name, request) => {
                    self.data
                        .toasts
                        .push(ToastKind::Success, format!("Saved template {name}"));
                    self.worker.send(Command::SaveTemplate { name, request });
                }
                BuilderAction::DeleteTemplate(name) => {
                    self.worker.send(Command::DeleteTemplate(name))
                }
                BuilderAction::RenameTemplate(from, to) => {
                    self.worker.send(Command::RenameTemplate { from, to })
                }
                BuilderAction::LoadBuiltin(id) => {
                    let value = match id {
                        "pytorch" => Ok(builder::templates::pytorch()),
                        "xgboost" => Ok(builder::templates::xgboost()),
                        _ => demo::demo_request(&self.options.home, self.options.demo_epochs)
                            .map(|r| r.to_value()),
                    };
                    match (value, &mut self.builder) {
                        (Ok(value), Some(builder)) => {
                            builder.set_value(value);
                            self.worker.send(Command::SaveDraft(
                                serde_json::to_string_pretty(builder.value())
                                    .expect("JSON serializes"),
                            ));
                        }
                        (Err(e), _) => self
                            .data
                            .toasts
                            .push(ToastKind::Error, format!("Preparing the demo job: {e}")),
                        _ => {}
                    }
                }
                BuilderAction::Import => self.open_dialog(ctx, Purpose::Import),
                BuilderAction::Export(json) => self.open_dialog(ctx, Purpose::Export(json)),
                BuilderAction::Browse(pointer) => self.open_dialog(ctx, Purpose::Browse(pointer)),
                BuilderAction::Close => self.builder = None,
            }
        }
    }

    /// Closes the builder once its job was created, and shows the service's refusal otherwise.
    fn follow_submission(&mut self) {
        let Some(builder) = &mut self.builder else {
            return;
        };
        let Some(pending) = builder.pending.clone() else {
            return;
        };
        if self.data.submitted.as_deref() == Some(pending.as_str()) {
            self.builder = None;
            self.data.draft = None;
            self.worker.send(Command::ClearDraft);
            self.select(Some(pending));
        } else if let Some((name, message)) = &self.data.submit_failed
            && *name == pending
        {
            builder.submit_error = Some(message.clone());
            builder.pending = None;
            self.data.submit_failed = None;
        }
    }

    fn handle_detail(&mut self, ctx: &egui::Context, action: DetailAction) {
        match action {
            DetailAction::ConfirmStop(name) => self.confirm_stop = Some(name),
            DetailAction::ListArchive(uri) => {
                if self.requested_archives.insert(uri.clone()) {
                    self.worker.send(Command::ListArchive(uri));
                }
            }
            DetailAction::SaveAs(uri) => self.open_dialog(ctx, Purpose::Save(uri)),
            DetailAction::Clone(request) => self.clone_job(*request),
            DetailAction::OpenFolder(uri) => {
                let path = uri.strip_prefix("file://").unwrap_or(&uri);
                let folder = std::path::Path::new(path)
                    .parent()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_default();
                self.worker.send(Command::OpenPath(folder));
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) -> bool {
        let typing = ctx.egui_wants_keyboard_input();
        let (refresh, slash, stop) = ctx.input_mut(|i| {
            (
                i.consume_key(Modifiers::COMMAND, Key::R),
                !typing && i.consume_key(Modifiers::NONE, Key::Slash),
                (!typing && i.consume_key(Modifiers::NONE, Key::Delete))
                    || i.consume_key(Modifiers::COMMAND, Key::Period),
            )
        });
        if refresh {
            self.worker.send(Command::Refresh);
        }
        if stop
            && let Some(detail) = &self.data.detail
            && !detail.summary.status.is_terminal()
        {
            self.confirm_stop = Some(detail.summary.name.clone());
        }
        slash
    }

    /// Draws one frame into `ui` (the whole window).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        tracing::trace!(target: "sagedesk::frames", frame = ctx.cumulative_pass_nr(), "frame");
        self.drain();
        self.poll_dialog();
        let hidden = ctx.input(|i| i.viewport().minimized.unwrap_or(false));
        if hidden == self.visible {
            self.visible = !hidden;
            self.worker.send(Command::SetVisible(self.visible));
        }
        let focus_search = self.shortcuts(&ctx);

        egui::Panel::top("top_bar").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.heading(RichText::new("SageDesk").strong());
                ui.separator();
                if ui
                    .button(RichText::new("+ New job").strong())
                    .on_hover_text("Build a CreateTrainingJob request in a form")
                    .clicked()
                {
                    self.new_job();
                }
                if ui
                    .button("▶ Run demo job")
                    .on_hover_text("Train a small network on this machine (~20 s)")
                    .clicked()
                {
                    self.run_demo();
                }
                if ui
                    .button("📂 Import job JSON…")
                    .on_hover_text("Open a CreateTrainingJob request file in the builder")
                    .clicked()
                {
                    self.open_dialog(&ctx, Purpose::Import);
                }
                if ui.button("⟳ Refresh").on_hover_text("Ctrl+R").clicked() {
                    self.worker.send(Command::Refresh);
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if connection::summary(ui, &self.data) {
                        self.connection_form
                            .open(&self.data.connection, self.state.list_interval_seconds);
                    }
                });
            });
        });

        if let Some(notice) = &self.data.notice {
            egui::Panel::top("notice").show(ui, |ui| {
                ui.add_space(2.0);
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new("🔒").color(theme::WARNING));
                    ui.label(RichText::new(notice).color(theme::WARNING));
                });
                ui.add_space(2.0);
            });
        }

        egui::Panel::left("job_list")
            .resizable(true)
            .default_size(420.0)
            .min_size(300.0)
            .show(ui, |ui| {
                match jobs::show(
                    ui,
                    &self.data,
                    &mut self.state,
                    &mut self.list,
                    focus_search,
                ) {
                    Some(ListAction::Select(name)) => self.select(Some(name)),
                    Some(ListAction::Clone(name)) => {
                        self.select(Some(name.clone()));
                        self.clone_pending = Some(name);
                    }
                    None => {}
                }
            });

        if self.list.visible != self.visible_sent {
            self.visible_sent = self.list.visible.clone();
            self.worker
                .send(Command::SetVisibleJobs(self.visible_sent.clone()));
        }
        self.follow_submission();
        if let Some(name) = &self.clone_pending
            && let Some(detail) = &self.data.detail
            && detail.summary.name == *name
        {
            let request = detail.request.clone();
            self.clone_pending = None;
            self.clone_job(request);
        }
        egui::CentralPanel::default_margins().show(ui, |ui| {
            if let Some(builder) = &mut self.builder {
                builder.set_target(target_of(&self.data.connection));
                let actions = builder.show(ui, &self.data.templates);
                self.handle_builder(&ctx, actions);
                return;
            }
            if self.state.selected.is_none() {
                if welcome(ui, self.data.jobs.is_empty()) {
                    self.run_demo();
                }
                return;
            }
            if let Some(action) =
                detail::show(ui, &mut self.data, &mut self.state, &mut self.detail)
            {
                self.handle_detail(&ctx, action);
            }
        });

        if let Some(action) = self.connection_form.show(&ctx, &self.data) {
            self.handle_connection(action);
        }
        self.guard_close(&ctx);
        self.stop_dialog(&ctx);
        self.import_dialog(&ctx);
        self.crash_notice(&ctx);
        self.data.toasts.show(&ctx);
    }

    /// Says that the last run crashed and offers its report.
    fn crash_notice(&mut self, ctx: &egui::Context) {
        let Some(report) = self.data.crash_report.clone() else {
            return;
        };
        let mut done = false;
        egui::Modal::new(egui::Id::unique("sagedesk-crash-notice")).show(ctx, |ui| {
            ui.set_max_width(560.0);
            ui.heading("SageDesk closed unexpectedly last time");
            ui.label(
                "A crash report was saved. It holds the error, where it happened and the \
                 last actions, and no request bodies; attach it when you report the problem. \
                 Jobs supervised by other SageDesk processes kept running.",
            );
            ui.add(
                egui::Label::new(RichText::new(report.display().to_string()).monospace())
                    .selectable(true),
            );
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button("Open report").clicked() {
                    self.worker.send(Command::OpenPath(report.clone()));
                    done = true;
                }
                if ui.button("Dismiss").clicked() {
                    done = true;
                }
            });
        });
        if done {
            self.worker.send(Command::AcknowledgeCrash(report));
            self.data.crash_report = None;
        }
    }

    fn stop_dialog(&mut self, ctx: &egui::Context) {
        let Some(name) = self.confirm_stop.clone() else {
            return;
        };
        let mut close = false;
        let response = egui::Modal::new(egui::Id::unique("sagedesk-confirm-stop")).show(ctx, |ui| {
            ui.heading(format!("Stop {name}?"));
            ui.label("The job gets SIGTERM, then SIGKILL after the grace period. A script that saves its model on SIGTERM keeps it.");
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                let stop = ui.button(RichText::new("Stop job").strong());
                if stop.clicked() || ui.input(|i| i.key_pressed(Key::Enter)) {
                    self.worker.send(Command::Stop(name.clone()));
                    close = true;
                }
                if ui.button("Cancel").clicked() {
                    close = true;
                }
            });
        });
        if close || response.should_close() {
            self.confirm_stop = None;
        }
    }

    fn import_dialog(&mut self, ctx: &egui::Context) {
        let Some(message) = &self.import_error else {
            return;
        };
        let mut open = true;
        egui::Window::new("Cannot read the job file")
            .open(&mut open)
            .collapsible(false)
            .default_width(640.0)
            .show(ctx, |ui| {
                theme::error_frame().show(ui, |ui| {
                    ui.add(egui::Label::new(RichText::new(message).monospace()).selectable(true));
                });
            });
        if !open {
            self.import_error = None;
        }
    }
}

/// What the builder validates for on `connection`.
fn target_of(connection: &Connection) -> Target {
    match connection {
        Connection::Local => Target::Local,
        Connection::Aws(_) => Target::Aws,
    }
}

/// `name` without the `-YYYYMMDD-HHMMSS-mmm` that [`crate::spec::unique_name`] appends.
fn strip_stamp(name: &str) -> &str {
    if name.len() > 20 && name.is_char_boundary(name.len() - 20) {
        let (base, stamp) = name.split_at(name.len() - 20);
        let shape = stamp.bytes().enumerate().all(|(i, b)| match i {
            0 | 9 | 16 => b == b'-',
            _ => b.is_ascii_digit(),
        });
        if shape && !base.is_empty() {
            return base;
        }
    }
    name
}

/// The first-run card: what SageDesk is and the demo job, one click away. True when the
/// demo button was clicked.
fn welcome(ui: &mut egui::Ui, no_jobs: bool) -> bool {
    ui.vertical_centered(|ui| {
        ui.add_space(80.0);
        ui.heading(RichText::new("SageMaker training jobs, on your desktop").size(24.0));
        ui.add_space(8.0);
        ui.label(if no_jobs {
            "No jobs yet. Run the demo job: a small network learns two half-moons on this \
             machine, with no AWS account and no Docker."
        } else {
            "Select a job on the left, or run the demo job to watch logs and metrics move."
        });
        ui.add_space(16.0);
        ui.add_sized(
            [220.0, 40.0],
            egui::Button::new(RichText::new("▶ Run the demo job").size(18.0)),
        )
        .clicked()
    })
    .inner
}

impl eframe::App for SageDeskApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, eframe::APP_KEY, &self.state);
    }
}

/// Opens the window over `backend` and runs until it is closed.
pub fn run(backend: Arc<dyn Backend>, options: AppOptions) -> eframe::Result<()> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("SageDesk")
            .with_app_id("sagedesk")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([820.0, 520.0]),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    crate::crash::install(&options.home);
    eframe::run_native(
        "SageDesk",
        native,
        Box::new(move |cc| {
            let app = SageDeskApp::new(cc, backend, options)?;
            Ok(Box::new(app))
        }),
    )
}
