//! The job builder: every CreateTrainingJob (or CreateHyperParameterTuningJob) member in
//! a form generated from the API model, live validation with each problem under its field,
//! and the request's JSON beside it, editable both ways.

pub mod code;
mod essentials;
pub mod form;
mod preflight;
mod regex;
pub mod templates;
mod toolbar;
mod tuning;

use std::sync::Arc;

use egui::{Color32, RichText};
use serde_json::Value;

pub use super::state::BuilderView;

use self::form::{Form, FormAction, prune};
use self::regex::RegexTester;
use crate::job::{Connection, JobRef};
use crate::request::tuning::TuningJobRequest;
use crate::request::validate::model::MODEL;
use crate::request::validate::{self, Diagnostic, RuntimeChecks, Severity, Target};
use crate::request::{RequestKind, TrainingJobRequest, request_from_value};
use crate::worker::{DeskCommand, TaskCommand};

/// A group of the form: its title and the top-level members in it.
type Group = (&'static str, &'static [&'static str]);

/// Top-level groups, as users think of a job; members not named here go to "Advanced".
const GROUPS: &[Group] = &[
    ("Job", &["TrainingJobName", "RoleArn", "Tags"]),
    ("Algorithm", &["AlgorithmSpecification"]),
    ("Hyperparameters", &["HyperParameters"]),
    ("Input channels", &["InputDataConfig"]),
    ("Output", &["OutputDataConfig"]),
    ("Resources", &["ResourceConfig"]),
    ("Stopping condition", &["StoppingCondition"]),
    (
        "Spot and checkpoints",
        &["EnableManagedSpotTraining", "CheckpointConfig"],
    ),
    (
        "Network",
        &[
            "VpcConfig",
            "EnableNetworkIsolation",
            "EnableInterContainerTrafficEncryption",
        ],
    ),
    ("Environment", &["Environment"]),
];

/// What the builder asks the app to do.
pub enum BuilderAction {
    /// Desk work as it is: keep the draft, save, rename or delete a template.
    Desk(DeskCommand),
    /// A task as it is: preflight the request.
    Task(TaskCommand),
    /// Create the job on the builder's source.
    Submit(Box<TrainingJobRequest>),
    /// Create the tuning job on the builder's source.
    SubmitTuning(Box<TuningJobRequest>),
    /// Load a built-in template.
    LoadBuiltin(&'static str),
    /// Open a file to import.
    Import,
    /// Save the request JSON to a file.
    Export(String),
    /// Copy text (asking first when it holds secrets in clear).
    Copy(crate::ui::Clip),
    /// Pick a local path for the field at this JSON pointer.
    Browse(String),
    /// Pack this folder as `sourcedir.tar.gz` and upload it under this `s3://` prefix with
    /// the builder's source.
    UploadCode {
        /// The code folder.
        dir: std::path::PathBuf,
        /// The prefix.
        prefix: String,
    },
    /// Close the builder.
    Close,
}

/// The builder's state: the request being edited and what was said about it.
pub struct Builder {
    value: Value,
    /// A training job's request or a tuning job's, as the value reads.
    kind: RequestKind,
    json: String,
    json_error: Option<String>,
    diagnostics: Vec<Diagnostic>,
    /// Where the request will run: decides what is an error.
    target: Target,
    /// The checks of the runtime behind `target`, if it has its own.
    runtime: Option<Arc<dyn RuntimeChecks>>,
    /// The service's answer to the last submit, shown beside the form.
    pub submit_error: Option<String>,
    /// The job submitted and not yet answered.
    pub pending: Option<JobRef>,
    /// The source the job will be created on.
    pub source: Connection,
    /// The job this request was copied from, linked to the new one.
    pub origin: Option<JobRef>,
    /// On this machine, whose AWS credentials the job gets (its role's unless the user
    /// ticks "My AWS credentials").
    pub credentials: crate::job::JobCredentials,
    /// The code upload row.
    code: code::CodeUpload,
    focus: Option<String>,
    template_name: String,
    regex_tester: RegexTester,
    /// What preflight said, and when it runs next.
    preflight: preflight::Preflight,
    /// Essentials or the full API form.
    pub view: BuilderView,
    /// Whether the JSON pane shows beside the form.
    pub json_open: bool,
}

impl Builder {
    /// A builder over a request given as JSON, for a job on `source`.
    pub fn new(value: Value, source: Connection) -> Self {
        let mut builder = Self {
            value: Value::Null,
            kind: RequestKind::Training,
            json: String::new(),
            json_error: None,
            diagnostics: Vec::new(),
            target: Target::Local,
            runtime: None,
            submit_error: None,
            pending: None,
            source,
            origin: None,
            credentials: crate::job::JobCredentials::default(),
            code: code::CodeUpload::default(),
            focus: None,
            template_name: String::new(),
            regex_tester: RegexTester::default(),
            preflight: preflight::Preflight::default(),
            view: BuilderView::Essentials,
            json_open: true,
        };
        builder.set_value(value);
        builder
    }

    /// Replaces the request (from a template, an import or the JSON pane).
    pub fn set_value(&mut self, mut value: Value) {
        if !value.is_object() {
            value = Value::Object(Default::default());
        }
        prune(&mut value);
        self.kind = RequestKind::of(&value);
        self.value = value;
        self.json = pretty(&self.value);
        self.json_error = None;
        self.revalidate();
    }

    /// Which request it is.
    pub fn kind(&self) -> RequestKind {
        self.kind
    }

    /// The request as JSON.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Sets a string at a JSON pointer (from a file dialog).
    pub fn set_at(&mut self, pointer: &str, text: String) -> Option<String> {
        let slot = self.value.pointer_mut(pointer)?;
        *slot = Value::String(text);
        self.json = pretty(&self.value);
        self.revalidate();
        Some(self.json.clone())
    }

    fn revalidate(&mut self) {
        let runtime = self.runtime.as_deref();
        self.diagnostics = match self.kind {
            RequestKind::Training => validate::validate_value(&self.value, self.target, runtime),
            RequestKind::Tuning => {
                validate::validate_tuning_value(&self.value, self.target, runtime)
            }
        };
        self.diagnostics.extend(self.preflight_diagnostics());
    }

    /// Validates for `target` from now on: the local runner or the service.
    pub fn set_target(&mut self, target: Target, runtime: Option<Arc<dyn RuntimeChecks>>) {
        let same_runtime = match (&self.runtime, &runtime) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        if self.target != target || !same_runtime {
            self.target = target;
            self.runtime = runtime;
            self.revalidate();
        }
    }

    /// The current diagnostics (for the local target, what only the service refuses is a
    /// warning).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    fn errors(&self) -> usize {
        validate::error_count(&self.diagnostics)
    }

    fn submit(&mut self) -> Option<BuilderAction> {
        if self.preflight_blocks() {
            return None;
        }
        let preflight_errors = if self.preflight.overridden {
            validate::error_count(&self.preflight_diagnostics())
        } else {
            0
        };
        if self.errors() > preflight_errors {
            return None;
        }
        if self.kind == RequestKind::Tuning {
            return self.submit_tuning();
        }
        match request_from_value(self.value.clone(), "builder") {
            Ok(imported) => {
                self.submit_error = None;
                let name = imported.request.name().to_string();
                self.pending = Some(JobRef::new(self.source.clone(), name));
                Some(BuilderAction::Submit(Box::new(imported.request)))
            }
            Err(e) => {
                self.submit_error = Some(e.to_string());
                None
            }
        }
    }

    /// Draws the builder; returns what the app should do.
    pub fn show(
        &mut self,
        ui: &mut egui::Ui,
        templates: &[(String, String)],
        price: &dyn Fn(&str) -> Option<f64>,
    ) -> Vec<BuilderAction> {
        let mut actions = self.toolbar(ui, templates);
        if let Some(error) = &self.submit_error {
            crate::ui::theme::error_frame().show(ui, |ui| {
                ui.set_width(ui.available_width());
                ui.label(RichText::new(format!("The job was not created: {error}")).strong());
            });
        }
        actions.extend(self.code_row(ui));
        actions.extend(self.preflight_row(ui));
        self.summary(ui);
        ui.separator();
        let (form, json_changed) = self.panes(ui, price);
        for FormAction::Browse(pointer) in form.actions {
            actions.push(BuilderAction::Browse(pointer));
        }
        self.focus = None;
        if form.changed {
            prune(&mut self.value);
            self.json = pretty(&self.value);
            self.json_error = None;
            self.revalidate();
            self.preflight_changed();
            actions.push(BuilderAction::Desk(DeskCommand::SaveDraft(
                self.json.clone(),
            )));
        } else if json_changed {
            actions.extend(self.json_edited());
            self.preflight_changed();
        }
        actions.extend(self.preflight_request(false));
        if self.preflight_waiting() {
            // Settling: come back when preflight may run.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(500));
        }
        actions
    }

    /// The form (Essentials or full) and the JSON pane beside it, its width adjustable and
    /// the pane closable: what the form changed, and whether the JSON text was edited.
    fn panes(
        &mut self,
        ui: &mut egui::Ui,
        price: &dyn Fn(&str) -> Option<f64>,
    ) -> (FormOutcome, bool) {
        let tuning = self.kind == RequestKind::Tuning;
        ui.horizontal_wrapped(|ui| {
            if tuning {
                ui.label(RichText::new("Every CreateHyperParameterTuningJob member").weak());
            } else {
                ui.selectable_value(&mut self.view, BuilderView::Essentials, "Essentials")
                    .on_hover_text(
                        "Code, framework, compute, hyperparameters, data, output and limits",
                    );
                ui.selectable_value(&mut self.view, BuilderView::Full, "Full API form")
                    .on_hover_text("Every CreateTrainingJob member");
            }
            ui.separator();
            ui.toggle_value(&mut self.json_open, "{ } JSON")
                .on_hover_text("Show or hide the request's JSON beside the form");
        });
        // A problem clicked in the summary is shown in the full form, where every member is.
        if self.focus.is_some() {
            self.view = BuilderView::Full;
        }
        let mut json_changed = false;
        if self.json_open {
            let width = ui.available_width();
            egui::Panel::right("builder_json_pane")
                .resizable(true)
                .default_size((width * 0.4).max(260.0))
                .min_size(180.0)
                .max_size((width * 0.75).max(200.0))
                .show(ui, |ui| {
                    let title = format!("{} request (JSON)", self.kind.operation());
                    ui.label(RichText::new(title).strong());
                    if let Some(e) = &self.json_error {
                        ui.label(RichText::new(e).color(Color32::from_rgb(0xe0, 0x4f, 0x4f)));
                    }
                    // Lines are not wrapped: a long one scrolls sideways, keys stay whole.
                    egui::ScrollArea::both()
                        .id_salt("builder_json")
                        .auto_shrink(false)
                        .show(ui, |ui| {
                            let mut unwrapped = |ui: &egui::Ui, text: &dyn egui::TextBuffer, _| {
                                let job = egui::text::LayoutJob::simple(
                                    text.as_str().to_owned(),
                                    egui::TextStyle::Monospace.resolve(ui.style()),
                                    ui.visuals().text_color(),
                                    f32::INFINITY,
                                );
                                ui.fonts_mut(|f| f.layout_job(job))
                            };
                            json_changed = ui
                                .add(
                                    egui::TextEdit::multiline(&mut self.json)
                                        .id_salt("request_json")
                                        .code_editor()
                                        .layouter(&mut unwrapped)
                                        .desired_width(f32::INFINITY)
                                        .desired_rows(30),
                                )
                                .changed();
                        });
                });
        }
        let mut form = Form {
            diagnostics: &self.diagnostics,
            changed: false,
            focus: self.focus.as_deref(),
            actions: Vec::new(),
        };
        let region = match &self.source {
            Connection::Aws(aws) => aws.region.clone(),
            _ => None,
        }
        .unwrap_or_else(|| "us-east-1".into());
        let view = if tuning { BuilderView::Full } else { self.view };
        egui::ScrollArea::vertical()
            .id_salt("builder_form")
            .auto_shrink(false)
            .show(ui, |ui| match view {
                _ if tuning => {
                    form.changed |= tuning::search_row(ui, &mut self.value);
                    groups(ui, &mut self.value, &mut form, tuning::TuningLayout);
                }
                BuilderView::Essentials => {
                    let cx = essentials::Context {
                        region: &region,
                        price,
                    };
                    let (changed, actions) = essentials::show(ui, &mut self.value, &cx);
                    form.changed |= changed;
                    form.actions.extend(actions);
                }
                BuilderView::Full => {
                    let layout = Training(&mut self.regex_tester);
                    groups(ui, &mut self.value, &mut form, layout);
                }
            });
        let outcome = FormOutcome {
            changed: form.changed,
            actions: form.actions,
        };
        (outcome, json_changed)
    }

    /// Takes the JSON pane's text as the request when it parses; else says where it breaks.
    fn json_edited(&mut self) -> Option<BuilderAction> {
        match serde_json::from_str::<Value>(&self.json) {
            Ok(mut v) if v.is_object() => {
                prune(&mut v);
                self.kind = RequestKind::of(&v);
                self.value = v;
                self.json_error = None;
                self.revalidate();
                Some(BuilderAction::Desk(DeskCommand::SaveDraft(
                    self.json.clone(),
                )))
            }
            Ok(_) => {
                self.json_error = Some("the request must be a JSON object".into());
                None
            }
            Err(e) => {
                self.json_error = Some(format!(
                    "line {}, column {}: {} (the form keeps the last valid request)",
                    e.line(),
                    e.column(),
                    e
                ));
                None
            }
        }
    }

    fn summary(&mut self, ui: &mut egui::Ui) {
        let errors = self.errors();
        let warnings = self.diagnostics.len() - errors;
        let checked = match self.target {
            Target::Local => "checked for local mode",
            Target::Aws => "checked for SageMaker",
        };
        let title = if self.diagnostics.is_empty() {
            RichText::new(format!("No problems found ({checked})"))
                .color(Color32::from_rgb(0x2e, 0xa0, 0x43))
        } else {
            RichText::new(format!(
                "{}, {} ({checked})",
                crate::request::validate::count(errors, "error"),
                crate::request::validate::count(warnings, "warning")
            ))
            .color(if errors > 0 {
                Color32::from_rgb(0xe0, 0x4f, 0x4f)
            } else {
                Color32::from_rgb(0xe0, 0x9b, 0x2d)
            })
        };
        egui::CollapsingHeader::new(title)
            .id_salt("builder_summary")
            .default_open(errors > 0)
            .show(ui, |ui| {
                // A short window keeps most of its height for the form.
                let height = (ui.ctx().content_rect().height() * 0.15).clamp(60.0, 140.0);
                egui::ScrollArea::vertical()
                    .max_height(height)
                    .show(ui, |ui| {
                        for d in &self.diagnostics {
                            let color = if d.severity == Severity::Error {
                                Color32::from_rgb(0xe0, 0x4f, 0x4f)
                            } else {
                                Color32::from_rgb(0xe0, 0x9b, 0x2d)
                            };
                            let text = format!(
                                "{}: {}",
                                if d.path.is_empty() {
                                    "(top level)"
                                } else {
                                    &d.path
                                },
                                d.message
                            );
                            if ui
                                .link(RichText::new(text).color(color))
                                .on_hover_text("Go to the field")
                                .clicked()
                            {
                                self.focus = Some(d.path.clone());
                            }
                        }
                    });
            });
    }
}

/// How a request's form is laid out: its root shape, its groups, and what follows a group.
trait Layout {
    /// The root shape in the model.
    fn root_shape(&self) -> usize;
    /// The groups; the root's other members go to "Advanced".
    fn groups(&self) -> &'static [Group];
    /// Groups that start closed.
    fn closed(&self, title: &str) -> bool;
    /// What the form adds after group `title`.
    fn after(&mut self, ui: &mut egui::Ui, title: &str, request: &serde_json::Map<String, Value>) {
        let _ = (ui, title, request);
    }
}

/// A training job's form: the metric regex tester follows the algorithm.
struct Training<'a>(&'a mut RegexTester);

impl Layout for Training<'_> {
    fn root_shape(&self) -> usize {
        MODEL.root
    }

    fn groups(&self) -> &'static [Group] {
        GROUPS
    }

    fn closed(&self, title: &str) -> bool {
        matches!(title, "Advanced" | "Network")
    }

    fn after(&mut self, ui: &mut egui::Ui, title: &str, request: &serde_json::Map<String, Value>) {
        if title == "Algorithm" {
            regex::regex_tester(ui, request.get("AlgorithmSpecification"), self.0);
        }
    }
}

/// The form's groups, each with its error count.
fn groups(ui: &mut egui::Ui, value: &mut Value, form: &mut Form<'_>, mut layout: impl Layout) {
    let root = MODEL.shape(layout.root_shape());
    let Value::Object(map) = value else {
        return;
    };
    let grouped: Vec<&str> = layout
        .groups()
        .iter()
        .flat_map(|(_, m)| m.iter().copied())
        .collect();
    let advanced: Vec<&str> = root
        .members
        .iter()
        .map(|(m, _)| m.as_str())
        .filter(|m| !grouped.contains(m))
        .collect();
    let all: Vec<(&str, Vec<&str>)> = layout
        .groups()
        .iter()
        .map(|(t, m)| (*t, m.to_vec()))
        .chain(std::iter::once(("Advanced", advanced)))
        .collect();
    for (title, members) in all {
        let errors = form
            .diagnostics
            .iter()
            .filter(|d| {
                d.severity == Severity::Error
                    && members.iter().any(|m| {
                        d.path == *m
                            || d.path.starts_with(&format!("{m}."))
                            || d.path.starts_with(&format!("{m}["))
                    })
            })
            .count();
        let heading = if errors > 0 {
            RichText::new(format!(
                "{title}  ({errors} error{})",
                if errors == 1 { "" } else { "s" }
            ))
            .strong()
            .color(Color32::from_rgb(0xe0, 0x4f, 0x4f))
        } else {
            RichText::new(title).strong()
        };
        let focus_here = form
            .focus
            .is_some_and(|f| members.iter().any(|m| f.starts_with(m)));
        egui::CollapsingHeader::new(heading)
            .id_salt(("group", title))
            .default_open(!layout.closed(title))
            .open(focus_here.then_some(true))
            .show(ui, |ui| {
                for member in &members {
                    form.member(ui, map, root, member, "", "");
                }
                layout.after(ui, title, map);
            });
    }
}

/// What the form changed in one frame.
struct FormOutcome {
    changed: bool,
    actions: Vec<FormAction>,
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialize")
}
