//! The builder's preflight: on an AWS source, the request is checked against the account a
//! moment after the form settles, on demand, and before Submit (which can go ahead anyway);
//! the summary line and every check with the call it made, and each problem merged into
//! the form's diagnostics on its member.

use std::time::{Duration, Instant};

use egui::{Color32, RichText};
use serde_json::Value;

use super::{Builder, BuilderAction};
use crate::preflight::{Outcome, Report};
use crate::request::TrainingJobRequest;
use crate::request::validate::{Diagnostic, Severity, Target};
use crate::worker::TaskCommand;

/// How long the form must stay unchanged before preflight runs on its own.
const SETTLE: Duration = Duration::from_millis(1500);

/// What preflight said about which request.
#[derive(Default)]
pub struct Preflight {
    /// The last report and the request it is about.
    report: Option<(Value, Report)>,
    /// The request last sent to be checked: the form's value and the request as sent.
    asked: Option<Value>,
    asked_request: Option<Value>,
    /// When the request last changed.
    changed: Option<Instant>,
    /// Whether Submit goes ahead despite preflight's errors.
    pub overridden: bool,
}

impl Preflight {
    /// The report, when it is about `value`.
    pub fn current(&self, value: &Value) -> Option<&Report> {
        self.report
            .as_ref()
            .filter(|(checked, _)| checked == value)
            .map(|(_, r)| r)
    }

    /// Whether the form is settling before a check, or was never checked.
    pub fn settling(&self) -> bool {
        self.asked.is_none() || self.changed.is_some()
    }

    /// Whether a check of `value` is under way.
    fn running(&self, value: &Value) -> bool {
        self.asked.as_ref() == Some(value)
            && self.asked_request.is_some()
            && self.current(value).is_none()
    }
}

impl Builder {
    /// Preflight's diagnostics for the current request.
    pub(super) fn preflight_diagnostics(&self) -> Vec<Diagnostic> {
        if self.target != Target::Aws {
            return Vec::new();
        }
        let mut found = self
            .preflight
            .current(&self.value)
            .map(Report::diagnostics)
            .unwrap_or_default();
        for d in &mut found {
            d.path = self.placed(&d.path);
        }
        found
    }

    /// Takes a report from the worker; one about an earlier request is dropped.
    pub fn preflight_done(&mut self, request: &crate::request::TrainingJobRequest, report: Report) {
        if self.preflight.asked_request.as_ref() != Some(&request.to_value()) {
            return;
        }
        if let Some(asked) = self.preflight.asked.clone() {
            self.preflight.report = Some((asked, report));
            self.revalidate();
        }
    }

    /// Asks for a check of the request: at once when `now`, else once the form settles.
    pub(super) fn preflight_request(&mut self, now: bool) -> Option<BuilderAction> {
        if !self.checks_account() {
            return None;
        }
        if !now {
            if self.preflight.asked.as_ref() == Some(&self.value) {
                return None;
            }
            let changed = *self.preflight.changed.get_or_insert_with(Instant::now);
            if changed.elapsed() < SETTLE {
                return None;
            }
        }
        // Asked once per value: a request that does not parse waits for the next change.
        self.preflight.asked = Some(self.value.clone());
        self.preflight.changed = None;
        let request = self.checked_training_job();
        self.preflight.asked_request = request.as_ref().map(TrainingJobRequest::to_value);
        let request = request?;
        if now {
            self.preflight.report = None;
        }
        Some(BuilderAction::Task(TaskCommand::Preflight {
            source: self.source.clone(),
            request: Box::new(request),
            fresh: now,
        }))
    }

    /// Whether preflight applies: the job would run on an AWS connection.
    fn checks_account(&self) -> bool {
        self.target == Target::Aws && self.source.is_aws()
    }

    /// Whether preflight waits for the form to settle (the window must come back then).
    pub(super) fn preflight_waiting(&self) -> bool {
        self.checks_account() && self.preflight.settling()
    }

    /// Notes that the request changed (preflight waits for it to settle).
    pub(super) fn preflight_changed(&mut self) {
        self.preflight.changed = Some(Instant::now());
        self.preflight.overridden = false;
    }

    /// Whether Submit must wait: preflight found errors the user has not overridden.
    pub(super) fn preflight_blocks(&self) -> bool {
        self.target == Target::Aws
            && !self.preflight.overridden
            && self
                .preflight
                .current(&self.value)
                .is_some_and(Report::has_errors)
    }

    /// The summary line, the checks, and the buttons; returns a check asked for.
    pub(super) fn preflight_row(&mut self, ui: &mut egui::Ui) -> Option<BuilderAction> {
        if !self.checks_account() {
            return None;
        }
        let mut action = None;
        ui.horizontal(|ui| {
            if ui
                .button("✈ Preflight")
                .on_hover_text(
                    "Check the request against the account with read-only calls: role, \
                     buckets, data, image, subnets, quota, job name",
                )
                .clicked()
            {
                action = self.preflight_request(true);
            }
            if self.preflight.running(&self.value) {
                ui.spinner();
                ui.label(RichText::new("Preflight: checking the account…").weak());
            } else if let Some(report) = self.preflight.current(&self.value) {
                let color = if report.has_errors() {
                    Color32::from_rgb(0xe0, 0x4f, 0x4f)
                } else if report.diagnostics().is_empty() {
                    Color32::from_rgb(0x2e, 0xa0, 0x43)
                } else {
                    Color32::from_rgb(0xe0, 0x9b, 0x2d)
                };
                ui.label(RichText::new(report.summary()).color(color));
            } else {
                ui.label(RichText::new("Preflight runs when the form settles").weak());
            }
        });
        if let Some(report) = self.preflight.current(&self.value).cloned() {
            egui::CollapsingHeader::new("Checks made")
                .id_salt("preflight_checks")
                .default_open(report.has_errors())
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("preflight_scroll")
                        .max_height(160.0)
                        .show(ui, |ui| {
                            for check in &report.checks {
                                self.check_line(ui, check);
                            }
                        });
                });
        }
        if self.preflight_blocks() {
            crate::ui::theme::error_frame().show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.horizontal(|ui| {
                    ui.label("Preflight found what SageMaker would refuse or fail on.");
                    if ui
                        .button("Submit anyway")
                        .on_hover_text("Create the job without fixing these")
                        .clicked()
                    {
                        self.preflight.overridden = true;
                    }
                });
            });
        }
        action
    }

    fn check_line(&mut self, ui: &mut egui::Ui, check: &crate::preflight::Check) {
        let (mark, color, text) = match &check.outcome {
            Outcome::Passed(what) => ("✔", Color32::from_rgb(0x2e, 0xa0, 0x43), what.clone()),
            Outcome::Problem(d) => (
                if d.severity == Severity::Error {
                    "✖"
                } else {
                    "⚠"
                },
                if d.severity == Severity::Error {
                    Color32::from_rgb(0xe0, 0x4f, 0x4f)
                } else {
                    Color32::from_rgb(0xe0, 0x9b, 0x2d)
                },
                d.message.clone(),
            ),
            Outcome::NotVerified(why) => ("?", Color32::GRAY, why.clone()),
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(mark).color(color));
            if ui
                .link(RichText::new(&check.path).strong())
                .on_hover_text("Go to the field")
                .clicked()
            {
                self.focus = Some(self.placed(&check.path));
            }
            if !check.call.is_empty() {
                ui.label(RichText::new(&check.call).monospace().small().weak());
            }
            ui.label(RichText::new(text).color(color));
        });
    }
}
