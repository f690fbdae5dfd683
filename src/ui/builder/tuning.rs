//! The builder for a tuning job: its form's groups, the hyperparameters to search picked
//! from the static ones (each with a range suggested around its value), the way from a
//! training job to a tuning job over it and back, and Submit.

use egui::RichText;
use serde_json::{Map, Value};

use super::{Builder, BuilderAction, Group, Layout};
use crate::job::JobRef;
use crate::request::tune::{definition_path, suggested_range};
use crate::request::tuning::{
    TUNING_OBJECTIVE_METRIC, TuningJobRequest, tuning_request_from_value,
};
use crate::request::validate::model::MODEL;
use crate::request::{RequestKind, TrainingJobRequest, request_from_value};

/// A tuning request's groups, as users think of a search.
const GROUPS: &[Group] = &[
    ("Tuning job", &["HyperParameterTuningJobName", "Tags"]),
    ("Search", &["HyperParameterTuningJobConfig"]),
    ("Training job of each trial", &["TrainingJobDefinition"]),
    (
        "Several training job definitions",
        &["TrainingJobDefinitions"],
    ),
    ("Warm start", &["WarmStartConfig"]),
];

/// A tuning job's form.
pub(super) struct TuningLayout;

impl Layout for TuningLayout {
    fn root_shape(&self) -> usize {
        MODEL.tuning_root
    }

    fn groups(&self) -> &'static [Group] {
        GROUPS
    }

    fn closed(&self, title: &str) -> bool {
        matches!(
            title,
            "Advanced" | "Several training job definitions" | "Warm start"
        )
    }
}

/// Where the first definition is: `TrainingJobDefinition`, else `TrainingJobDefinitions[0]`.
fn first_definition(value: &Value) -> &'static str {
    if value.get("TrainingJobDefinitions").is_some() && value.get("TrainingJobDefinition").is_none()
    {
        "TrainingJobDefinitions[0]"
    } else {
        "TrainingJobDefinition"
    }
}

/// The JSON pointer of a member path of the first definition.
pub(super) fn definition_pointer(value: &Value, member: &str) -> String {
    match first_definition(value) {
        "TrainingJobDefinition" => format!("/TrainingJobDefinition/{member}"),
        _ => format!("/TrainingJobDefinitions/0/{member}"),
    }
}

/// Names searched already, in the config's ranges or the first definition's own.
fn searched(value: &Value) -> Vec<String> {
    let pointers = [
        "/HyperParameterTuningJobConfig/ParameterRanges".to_string(),
        definition_pointer(value, "HyperParameterRanges"),
    ];
    pointers
        .iter()
        .filter_map(|p| value.pointer(p)?.as_object())
        .flat_map(|ranges| ranges.values())
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|r| r.get("Name")?.as_str().map(str::to_string))
        .collect()
}

/// The row of static hyperparameters that can be searched: a click moves one into the
/// ranges with a range around its value. True when the request changed.
pub(super) fn search_row(ui: &mut egui::Ui, value: &mut Value) -> bool {
    let statics = definition_pointer(value, "StaticHyperParameters");
    let taken = searched(value);
    let candidates: Vec<(String, String)> = value
        .pointer(&statics)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(k, _)| {
            !k.starts_with("sagemaker_")
                && k.as_str() != TUNING_OBJECTIVE_METRIC
                && !taken.contains(k)
        })
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    let mut picked = None;
    crate::ui::theme::notice_frame().show(ui, |ui| {
        ui.set_width(ui.available_width());
        if taken.is_empty() {
            ui.label(RichText::new("Pick the hyperparameters to search").strong());
        } else {
            ui.label(RichText::new(format!("Searching: {}", taken.join(", "))).strong());
        }
        if candidates.is_empty() {
            ui.label(
                RichText::new("Add ranges under Search › ParameterRanges, or static hyperparameters to pick from")
                    .weak(),
            );
            return;
        }
        ui.horizontal_wrapped(|ui| {
            ui.label("Search");
            for (name, text) in &candidates {
                let (kind, range) = suggested_range(name, text);
                let hint = format!(
                    "Move {name} from the static hyperparameters to {kind}: {}",
                    range
                );
                if ui.button(format!("+ {name} = {text}")).on_hover_text(hint).clicked() {
                    picked = Some((name.clone(), kind, range));
                }
            }
        });
    });
    let Some((name, kind, range)) = picked else {
        return false;
    };
    if let Some(map) = value.pointer_mut(&statics).and_then(Value::as_object_mut) {
        map.shift_remove(&name);
    }
    let Some(root) = value.as_object_mut() else {
        return false;
    };
    let config = object(root, "HyperParameterTuningJobConfig");
    let ranges = object(config, "ParameterRanges");
    if let Value::Array(list) = ranges
        .entry(kind)
        .or_insert_with(|| Value::Array(Vec::new()))
    {
        list.push(range);
    }
    true
}

/// The object at `key` of `map`, made when missing (or not an object).
fn object<'a>(map: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("made an object")
}

impl Builder {
    /// Creates the tuning job when its request reads; else says why.
    pub(super) fn submit_tuning(&mut self) -> Option<BuilderAction> {
        match tuning_request_from_value(self.value.clone(), "builder") {
            Ok(request) => {
                self.submit_error = None;
                self.pending = Some(JobRef::new(self.source.clone(), request.name()));
                Some(BuilderAction::SubmitTuning(Box::new(request)))
            }
            Err(e) => {
                self.submit_error = Some(e.to_string());
                None
            }
        }
    }

    /// Makes the training request a tuning job over it (Bayesian, ten trials, its first
    /// metric as the objective), or a tuning request its first definition's training job.
    pub(super) fn switch_kind(&mut self) {
        let value = match self.kind {
            RequestKind::Training => request_from_value(self.value.clone(), "builder")
                .ok()
                .map(|i| TuningJobRequest::from_training(&i.request).to_value()),
            RequestKind::Tuning => tuning_request_from_value(self.value.clone(), "builder")
                .ok()
                .and_then(|r| r.first_training_job())
                .map(|r| r.to_value()),
        };
        match value {
            Some(value) => {
                self.set_value(value);
                self.submit_error = None;
            }
            None => {
                self.submit_error = Some(format!(
                    "the {} request does not read yet: fix the errors first",
                    self.kind.operation()
                ))
            }
        }
    }

    /// The training job preflight checks: the request, or the first trial of a tuning job.
    pub(super) fn checked_training_job(&self) -> Option<TrainingJobRequest> {
        match self.kind {
            RequestKind::Training => request_from_value(self.value.clone(), "builder")
                .ok()
                .map(|i| i.request),
            RequestKind::Tuning => {
                let request = tuning_request_from_value(self.value.clone(), "builder").ok()?;
                let definition = *request.definitions().first()?;
                Some(definition.first_trial(request.name()))
            }
        }
    }

    /// Where a member of the checked training job is in the request.
    pub(super) fn placed(&self, path: &str) -> String {
        match self.kind {
            RequestKind::Training => path.to_string(),
            RequestKind::Tuning => definition_path(path, first_definition(&self.value)),
        }
    }
}
