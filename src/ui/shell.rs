//! The window's frame: the top bar, the standing notice, the job list and the central
//! panel (builder, job detail or the welcome card), then the windows over them.

use egui::RichText;

use super::dialogs::Purpose;
use super::jobs::{self, ListAction};
use super::{Connection, Target, connection, detail, theme};
use super::{SageDeskApp, budget};
use crate::worker::SourceCommand;

impl SageDeskApp {
    /// Draws one frame into `ui` (the whole window).
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        tracing::trace!(target: "sagedesk::frames", frame = ctx.cumulative_pass_nr(), "frame");
        self.drain();
        self.poll_dialog();
        // First, so that its keys (Esc, Enter, Tab) are its own.
        self.show_chooser(&ctx);
        self.poll_chart_image(&ctx);
        let (hidden, focused) = ctx.input(|i| {
            let viewport = i.viewport();
            (
                viewport.minimized.unwrap_or(false),
                viewport.focused.unwrap_or(true),
            )
        });
        self.visible = !hidden;
        if (hidden || !focused) != self.background {
            self.background = hidden || !focused;
            self.worker.set_background(self.background);
        }
        let focus_search = self.shortcuts(&ctx);
        budget::timed("top bar", || self.top_bar(ui, &ctx));
        self.notice_bar(ui);
        let secrets = if self.data.toasts.items().is_empty() {
            Vec::new()
        } else {
            self.secret_values()
        };
        self.data.toasts.show(ui, &secrets);
        budget::timed("job list", || self.job_list(ui, focus_search));
        self.follow_submission();
        self.follow();
        if let Some(job) = &self.clone_pending
            && let Some(detail) = &self.data.detail
            && self.state.selection.as_ref() == Some(job)
        {
            let request = detail.request.clone();
            let job = self.clone_pending.take().expect("checked");
            let source = job.source.clone();
            self.clone_job(job, request, source);
        }
        let view = if self.builder.is_some() {
            "builder"
        } else if self.state.comparing {
            "compare"
        } else {
            self.state.tab.label()
        };
        budget::timed(view, || self.central(ui, &ctx));
        budget::timed("windows", || {
            if let Some(action) = self.connection_form.show(&ctx, &self.data) {
                self.handle_connection(action);
            }
            self.guard_close(&ctx);
            self.stop_dialog(&ctx);
            self.stop_tuning_dialog(&ctx);
            self.copy_dialog(&ctx);
            self.palette_windows(&ctx);
            self.import_dialog(&ctx);
            self.crash_notice(&ctx);
        });
    }

    /// The secret values on screen (the selected job's and the builder's), masked in
    /// notifications.
    fn secret_values(&self) -> Vec<String> {
        let detail = self.data.detail.as_ref().map(|d| d.request.to_value());
        let builder = self.builder.as_ref().map(|b| b.value());
        detail
            .iter()
            .chain(builder)
            .flat_map(|value| crate::job::secret::secrets(value))
            .map(|(_, _, text)| text.to_string())
            .collect()
    }

    fn top_bar(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
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
                    .on_hover_text("Open a CreateTrainingJob or CreateHyperParameterTuningJob request file in the builder")
                    .clicked()
                {
                    self.open_dialog(ctx, Purpose::Import);
                }
                if ui.button("⟳ Refresh").on_hover_text("Ctrl+R").clicked() {
                    self.worker.send(SourceCommand::Refresh);
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if connection::summary(ui, &self.data) {
                        self.toggle_connections();
                    }
                    ui.menu_button("Help", |ui| {
                        if ui.button("Command palette…  Ctrl+K").clicked() {
                            self.palette.open();
                            ui.close();
                        }
                        if ui.button("Keyboard shortcuts  F1").clicked() {
                            self.keyboard_open = true;
                            ui.close();
                        }
                    });
                });
            });
        });
    }

    /// A standing notice about the backend (a read-only data folder), under the top bar.
    fn notice_bar(&mut self, ui: &mut egui::Ui) {
        let Some(notice) = &self.data.notice else {
            return;
        };
        egui::Panel::top("notice").show(ui, |ui| {
            ui.add_space(2.0);
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new("🔒").color(theme::WARNING));
                ui.label(RichText::new(notice).color(theme::WARNING));
            });
            ui.add_space(2.0);
        });
    }

    fn job_list(&mut self, ui: &mut egui::Ui, focus_search: bool) {
        egui::Panel::left("job_list")
            .resizable(true)
            .default_size(470.0)
            .min_size(300.0)
            .show(ui, |ui| {
                match jobs::show(
                    ui,
                    &self.data,
                    &mut self.state,
                    &mut self.list,
                    focus_search,
                ) {
                    Some(ListAction::Select(job)) => {
                        self.builder = None;
                        self.select(Some(job));
                    }
                    Some(ListAction::Clone(job)) => {
                        self.select(Some(job.clone()));
                        self.clone_pending = Some(job);
                    }
                    Some(ListAction::Compare(jobs)) => self.compare(jobs),
                    Some(ListAction::LoadMore(source)) => {
                        self.worker.send(SourceCommand::LoadMore(source));
                    }
                    Some(ListAction::StopTuning(source, name)) => {
                        self.confirm_stop_tuning = Some((source, name));
                    }
                    Some(ListAction::ShowTuning(job)) => self.show_tuning(Some(job)),
                    None => {}
                }
            });
    }

    /// The builder, the selected job's detail, or the welcome card.
    fn central(&mut self, ui: &mut egui::Ui, ctx: &egui::Context) {
        egui::CentralPanel::default_margins().show(ui, |ui| {
            if let Some(builder) = &mut self.builder {
                source_picker(ui, &self.data, builder);
                let target = target_of(&builder.source);
                let runtime = match target {
                    Target::Local => self.options.local_checks.clone(),
                    Target::Aws => None,
                };
                builder.set_target(target, runtime);
                let (data, source) = (&self.data, builder.source.clone());
                let price = |instance: &str| data.hourly_price(&source, instance);
                // The view and the JSON pane are the user's choice, kept between runs.
                (builder.view, builder.json_open) =
                    (self.state.builder_view, self.state.builder_json);
                let actions = builder.show(ui, &self.data.templates, &price);
                (self.state.builder_view, self.state.builder_json) =
                    (builder.view, builder.json_open);
                self.handle_builder(ctx, actions);
                return;
            }
            if self.state.comparing {
                let actions =
                    super::compare::show(ui, &self.data, &mut self.state, &mut self.compare);
                self.handle_compare(ctx, actions);
                return;
            }
            if let Some(job) = self.state.tuning.clone()
                && self.state.selection.is_none()
            {
                if let Some(action) = super::tuning::show(ui, &self.data, &job) {
                    self.handle_tuning(action);
                }
                return;
            }
            if self.state.selection.is_none() {
                if welcome(ui, self.data.job_count() == 0) {
                    self.run_demo();
                }
                return;
            }
            let before = self.state.tab;
            let action = detail::show(ui, &self.data, &mut self.state, &mut self.detail);
            if self.state.tab != before {
                self.choose_tab(self.state.tab);
            }
            if let Some(action) = action {
                self.handle_detail(ctx, action);
            }
        });
    }
}

/// The first-run card: what SageDesk is and the demo job, one click away. True when the
/// demo button was clicked.
pub(super) fn welcome(ui: &mut egui::Ui, no_jobs: bool) -> bool {
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

/// Where the builder's job will run: one of the sources.
fn source_picker(ui: &mut egui::Ui, data: &super::data::Data, builder: &mut super::Builder) {
    ui.horizontal(|ui| {
        ui.label("Run on");
        egui::ComboBox::new("builder-source", "")
            .selected_text(builder.source.source_label())
            .show_ui(ui, |ui| {
                for source in &data.sources {
                    let label = source.connection.source_label();
                    ui.selectable_value(&mut builder.source, source.connection.clone(), label);
                }
            })
            .response
            .on_hover_text("The source the job is created on; validation follows it");
        if let Some(origin) = &builder.origin {
            ui.label(RichText::new(format!("copy of {origin}")).weak());
        }
    });
}

/// What the builder validates for on `connection`.
pub(super) fn target_of(connection: &Connection) -> Target {
    match connection {
        Connection::Local => Target::Local,
        Connection::Aws(_) => Target::Aws,
    }
}
