//! The builder's toolbar: submit, templates (built in and saved), import, export, copy as
//! an AWS CLI command, close; with their keyboard shortcuts.

use egui::{Key, Modifiers, RichText};

use super::{Builder, BuilderAction, pretty};
use crate::job::{Connection, JobCredentials};
use crate::request::tuning::tuning_request_from_value;
use crate::request::{RequestKind, request_from_value};
use crate::worker::DeskCommand;

impl Builder {
    /// Draws the toolbar; the actions asked for.
    pub(super) fn toolbar(
        &mut self,
        ui: &mut egui::Ui,
        templates: &[(String, String)],
    ) -> Vec<BuilderAction> {
        let mut actions = Vec::new();
        let (submit_key, save_key, close_key) = ui.input_mut(|i| {
            (
                i.consume_key(Modifiers::COMMAND, Key::Enter),
                i.consume_key(Modifiers::COMMAND, Key::S),
                i.consume_key(Modifiers::NONE, Key::Escape),
            )
        });
        let errors = self.errors();
        let tuning = self.kind == RequestKind::Tuning;
        ui.horizontal_wrapped(|ui| {
            ui.heading(if tuning {
                "New tuning job"
            } else {
                "New training job"
            });
            ui.separator();
            let submit = ui
                .add_enabled(
                    errors == 0 && self.pending.is_none(),
                    egui::Button::new(RichText::new("▶ Submit").strong()),
                )
                .on_hover_text(if tuning {
                    "Create the tuning job (Ctrl+Enter)"
                } else {
                    "Create the job (Ctrl+Enter)"
                })
                .on_disabled_hover_text(if errors > 0 {
                    format!(
                        "{errors} error{} to fix first: see the list below",
                        if errors == 1 { "" } else { "s" }
                    )
                } else {
                    "Submitting…".to_string()
                });
            if (submit.clicked() || (submit_key && errors == 0))
                && let Some(a) = self.submit()
            {
                actions.push(a);
            }
            if self.source == Connection::Local {
                let mut mine = self.credentials == JobCredentials::Mine;
                if ui
                    .checkbox(&mut mine, "My AWS credentials")
                    .on_hover_text(
                        "If the job reaches AWS, give it your connection's own credentials. \
                         Unticked, it gets its RoleArn's, assumed with your connection, or \
                         none when the role does not trust you (its log then says so)",
                    )
                    .changed()
                {
                    self.credentials = if mine {
                        JobCredentials::Mine
                    } else {
                        JobCredentials::Role
                    };
                }
            }
            let (switch, hint) = if tuning {
                (
                    "↩ Training job",
                    "Back to one training job: the first definition, with its static hyperparameters",
                )
            } else {
                (
                    "⚙ Tune…",
                    "Make this a tuning job: its trials run this job with the hyperparameters you \
                     pick to search",
                )
            };
            if ui.button(switch).on_hover_text(hint).clicked() {
                self.switch_kind();
                actions.push(BuilderAction::Desk(DeskCommand::SaveDraft(self.json.clone())));
            }
            ui.add(
                egui::TextEdit::singleline(&mut self.template_name)
                    .hint_text("template name")
                    .desired_width(140.0),
            );
            let can_save = !self.template_name.trim().is_empty();
            if ui
                .add_enabled(can_save, egui::Button::new("Save template"))
                .on_hover_text("Ctrl+S")
                .clicked()
                || (save_key && can_save)
            {
                actions.push(BuilderAction::Desk(DeskCommand::SaveTemplate {
                    name: self.template_name.trim().to_string(),
                    request: pretty(&self.value),
                }));
            }
            self.templates_menu(ui, templates, &mut actions);
            if ui.button("Import…").clicked() {
                actions.push(BuilderAction::Import);
            }
            let command = match self.kind {
                RequestKind::Training => "create-training-job",
                RequestKind::Tuning => "create-hyper-parameter-tuning-job",
            };
            if ui
                .button("Export…")
                .on_hover_text(format!(
                    "A file for aws sagemaker {command} --cli-input-json"
                ))
                .clicked()
            {
                actions.push(BuilderAction::Export(pretty(&self.value)));
            }
            if ui
                .button("Copy as AWS CLI command")
                .on_hover_text(format!(
                    "aws sagemaker {command} --cli-input-json '…', quoted for sh"
                ))
                .clicked()
                && let Some(clip) = self.cli_command()
            {
                actions.push(BuilderAction::Copy(clip));
            }
            if ui
                .button("Close")
                .on_hover_text("Esc; the draft is kept")
                .clicked()
                || close_key
            {
                actions.push(BuilderAction::Close);
            }
        });
        actions
    }

    /// The request as an AWS CLI command, when it reads.
    fn cli_command(&self) -> Option<crate::ui::Clip> {
        match self.kind {
            RequestKind::Training => request_from_value(self.value.clone(), "builder")
                .ok()
                .map(|i| crate::ui::Clip::cli_command(&i.request)),
            RequestKind::Tuning => tuning_request_from_value(self.value.clone(), "builder")
                .ok()
                .map(|r| crate::ui::Clip::tuning_cli_command(&r)),
        }
    }

    /// The Templates menu: built-in requests, and saved ones to load, rename or delete.
    fn templates_menu(
        &mut self,
        ui: &mut egui::Ui,
        templates: &[(String, String)],
        actions: &mut Vec<BuilderAction>,
    ) {
        ui.menu_button("Templates", |ui| {
            ui.label(RichText::new("Built in").weak());
            for (id, label) in [
                ("demo", "Local demo"),
                ("pytorch", "PyTorch script mode (AWS)"),
                ("xgboost", "XGBoost built-in (AWS)"),
            ] {
                if ui.button(label).clicked() {
                    actions.push(BuilderAction::LoadBuiltin(id));
                    ui.close();
                }
            }
            ui.separator();
            if templates.is_empty() {
                ui.label(RichText::new("No saved templates").weak());
            }
            for (name, request) in templates {
                ui.horizontal(|ui| {
                    if ui.button(name).on_hover_text("Load").clicked() {
                        if let Ok(v) = serde_json::from_str(request) {
                            self.set_value(v);
                            actions.push(BuilderAction::Desk(DeskCommand::SaveDraft(
                                self.json.clone(),
                            )));
                        }
                        ui.close();
                    }
                    let new_name = self.template_name.trim().to_string();
                    if ui
                        .add_enabled(
                            !new_name.is_empty() && new_name != *name,
                            egui::Button::new("Rename"),
                        )
                        .on_hover_text("Rename to the name in the template field")
                        .clicked()
                    {
                        actions.push(BuilderAction::Desk(DeskCommand::RenameTemplate {
                            from: name.clone(),
                            to: new_name,
                        }));
                    }
                    if ui.button("Delete").clicked() {
                        actions.push(BuilderAction::Desk(DeskCommand::DeleteTemplate(
                            name.clone(),
                        )));
                    }
                });
            }
        });
    }
}
