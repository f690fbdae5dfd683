//! The builder's Essentials: the request in a data scientist's terms (code, framework,
//! compute, hyperparameters, data, output, limits). Everything it sets is a plain
//! CreateTrainingJob member, so the JSON pane, the full form, the CLI and the SDKs read the
//! same request.

use egui::RichText;
use serde_json::{Map, Value, json};

use super::form::FormAction;
use crate::preflight::frameworks;

/// Instance types offered first; any other can be typed.
const INSTANCE_TYPES: &[&str] = &[
    "ml.m5.large",
    "ml.m5.xlarge",
    "ml.m5.2xlarge",
    "ml.c5.2xlarge",
    "ml.g4dn.xlarge",
    "ml.g5.xlarge",
    "ml.g5.2xlarge",
    "ml.p3.2xlarge",
    "ml.p4d.24xlarge",
];

/// What the Essentials need from outside the request.
pub struct Context<'a> {
    /// The region images are taken from (the source's, else `us-east-1`).
    pub region: &'a str,
    /// The on-demand price of an instance type in USD an hour, when known.
    pub price: &'a dyn Fn(&str) -> Option<f64>,
}

/// Draws the Essentials over `value`; whether it changed and the folders to pick.
pub fn show(ui: &mut egui::Ui, value: &mut Value, cx: &Context<'_>) -> (bool, Vec<FormAction>) {
    if !value.is_object() {
        *value = json!({});
    }
    let mut changed = false;
    let mut actions = Vec::new();
    section(ui, "Code", |ui| {
        changed |= text_at(ui, value, "Job name", "/TrainingJobName", "my-experiment-1");
        ui.horizontal(|ui| {
            changed |=
                hyperparameter_text(ui, value, "Entry point", "sagemaker_program", "train.py");
        });
        ui.horizontal(|ui| {
            changed |= hyperparameter_text(
                ui,
                value,
                "Source folder",
                "sagemaker_submit_directory",
                "file:///home/me/project or s3://bucket/code/sourcedir.tar.gz",
            );
            if ui.small_button("Browse…").clicked() {
                ensure(value, super::code::POINTER);
                actions.push(FormAction::Browse(super::code::POINTER.into()));
            }
        });
    });
    section(ui, "Framework", |ui| changed |= framework(ui, value, cx));
    section(ui, "Compute", |ui| changed |= compute(ui, value, cx));
    section(ui, "Hyperparameters", |ui| {
        changed |= hyperparameters(ui, value)
    });
    section(ui, "Input data", |ui| {
        let (c, a) = channels(ui, value);
        changed |= c;
        actions.extend(a);
    });
    section(ui, "Output, role and limits", |ui| {
        changed |= text_at(
            ui,
            value,
            "Output",
            "/OutputDataConfig/S3OutputPath",
            "s3://bucket/output",
        );
        changed |= text_at(
            ui,
            value,
            "IAM role",
            "/RoleArn",
            "arn:aws:iam::123456789012:role/SageMakerRole (needed on AWS)",
        );
        changed |= limits(ui, value);
    });
    (changed, actions)
}

/// A text field's width: what is left of the row after `reserve` points, within reason.
fn field_width(ui: &egui::Ui, reserve: f32) -> f32 {
    (ui.available_width() - reserve).clamp(120.0, 420.0)
}

fn section(ui: &mut egui::Ui, title: &str, body: impl FnOnce(&mut egui::Ui)) {
    ui.add_space(6.0);
    ui.label(RichText::new(title).strong().size(15.0));
    ui.indent(title, body);
}

/// A labelled text field for the string at `pointer`; empty text removes the member.
fn text_at(ui: &mut egui::Ui, value: &mut Value, label: &str, pointer: &str, hint: &str) -> bool {
    let mut text = value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let response = ui
        .horizontal(|ui| {
            let l = ui.label(label);
            ui.add(
                egui::TextEdit::singleline(&mut text)
                    .hint_text(hint)
                    .desired_width(field_width(ui, 0.0)),
            )
            .labelled_by(l.id)
        })
        .inner;
    if !response.changed() {
        return false;
    }
    set(
        value,
        pointer,
        (!text.trim().is_empty()).then(|| Value::String(text.trim().to_string())),
    );
    true
}

/// A text field for a hyperparameter the SDK writes JSON-encoded (`"\"train.py\""`).
fn hyperparameter_text(
    ui: &mut egui::Ui,
    value: &mut Value,
    label: &str,
    key: &str,
    hint: &str,
) -> bool {
    let pointer = format!("/HyperParameters/{key}");
    let raw = value
        .pointer(&pointer)
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut text = serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.to_string());
    let l = ui.label(label);
    // Room for a Browse… button after it.
    let response = ui
        .add(
            egui::TextEdit::singleline(&mut text)
                .hint_text(hint)
                .desired_width(field_width(ui, 80.0)),
        )
        .labelled_by(l.id);
    if !response.changed() {
        return false;
    }
    let encoded = (!text.trim().is_empty())
        .then(|| Value::String(Value::String(text.trim().into()).to_string()));
    set(value, &pointer, encoded);
    true
}

fn framework(ui: &mut egui::Ui, value: &mut Value, cx: &Context<'_>) -> bool {
    const IMAGE: &str = "/AlgorithmSpecification/TrainingImage";
    let image = value
        .pointer(IMAGE)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let known = frameworks::recognise(&image);
    let mut chosen = known.map(|(f, v)| (f.to_string(), v.version.clone()));
    let before = chosen.clone();
    ui.horizontal_wrapped(|ui| {
        let label = chosen
            .as_ref()
            .map_or("Own image", |(f, _)| f.as_str())
            .to_string();
        egui::ComboBox::from_id_salt("essentials_framework")
            .selected_text(label)
            .show_ui(ui, |ui| {
                for f in frameworks::frameworks() {
                    let newest = frameworks::versions(f).first().map(|v| v.version.clone());
                    let selected = chosen.as_ref().is_some_and(|(c, _)| c == f);
                    if ui.selectable_label(selected, f).clicked() && !selected {
                        chosen = newest.map(|v| (f.to_string(), v));
                    }
                }
            });
        if let Some((f, version)) = &mut chosen {
            egui::ComboBox::from_id_salt("essentials_version")
                .selected_text(version.clone())
                .show_ui(ui, |ui| {
                    for v in frameworks::versions(f) {
                        ui.selectable_value(version, v.version.clone(), &v.version);
                    }
                });
        }
    });
    let instance = instance_type(value);
    let processor = frameworks::processor(&instance);
    // A framework chosen, or its image no longer fitting the instance type's processor.
    let wanted = chosen
        .as_ref()
        .map(|(f, v)| frameworks::image_uri(f, v, processor, cx.region));
    let mut changed = false;
    match wanted {
        Some(Ok(uri)) if uri != image && (chosen != before || known.is_some()) => {
            set(value, IMAGE, Some(Value::String(uri)));
            changed = true;
        }
        Some(Err(why)) => {
            ui.label(RichText::new(why).color(crate::ui::theme::WARNING));
        }
        _ => {}
    }
    let shown = value
        .pointer(IMAGE)
        .and_then(Value::as_str)
        .unwrap_or("(no image yet)");
    ui.label(RichText::new(shown).weak().monospace())
        .on_hover_text(
            "AlgorithmSpecification.TrainingImage, from the SageMaker Python SDK's image table",
        );
    if chosen.is_none() {
        changed |= text_at(
            ui,
            value,
            "Image URI",
            IMAGE,
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-image:latest",
        );
    }
    changed
}

fn instance_type(value: &Value) -> String {
    value
        .pointer("/ResourceConfig/InstanceType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn compute(ui: &mut egui::Ui, value: &mut Value, cx: &Context<'_>) -> bool {
    let mut changed = false;
    let mut instance = instance_type(value);
    let mut count = value
        .pointer("/ResourceConfig/InstanceCount")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Instance type");
        let response = egui::ComboBox::from_id_salt("essentials_instance")
            .selected_text(if instance.is_empty() {
                "choose…"
            } else {
                &instance
            })
            .show_ui(ui, |ui| {
                for t in INSTANCE_TYPES {
                    let price = (cx.price)(t)
                        .map(|p| format!("  ${p:.3}/h"))
                        .unwrap_or_default();
                    if ui
                        .selectable_label(instance == *t, format!("{t}{price}"))
                        .clicked()
                    {
                        instance = t.to_string();
                        changed = true;
                    }
                }
            })
            .response;
        response.labelled_by(l.id);
        let l = ui.label("Count");
        changed |= ui
            .add(egui::DragValue::new(&mut count).range(1..=100))
            .labelled_by(l.id)
            .changed();
    });
    if changed {
        set(
            value,
            "/ResourceConfig/InstanceType",
            Some(Value::String(instance.clone())),
        );
        set(value, "/ResourceConfig/InstanceCount", Some(json!(count)));
        if value.pointer("/ResourceConfig/VolumeSizeInGB").is_none() {
            set(value, "/ResourceConfig/VolumeSizeInGB", Some(json!(30)));
        }
    }
    let note = match (cx.price)(&instance) {
        Some(p) => format!(
            "${:.3} an hour for {count} × {instance} on demand (Price List)",
            p * count as f64
        ),
        None if instance.is_empty() => String::new(),
        None => {
            "The hourly price shows once an AWS connection has read it from the Price List.".into()
        }
    };
    if !note.is_empty() {
        ui.label(RichText::new(note).weak());
    }
    changed
}

/// The user's hyperparameters (the SDK's `sagemaker_*` ones are in Code) as a table.
fn hyperparameters(ui: &mut egui::Ui, value: &mut Value) -> bool {
    let mut rows: Vec<(String, String)> = value
        .pointer("/HyperParameters")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !k.starts_with("sagemaker_"))
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let mut changed = false;
    let mut remove = None;
    egui::Grid::new("essentials_hyperparameters")
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            for (i, (key, v)) in rows.iter_mut().enumerate() {
                let width = (ui.available_width() / 2.0 - 30.0).clamp(80.0, 200.0);
                changed |= ui
                    .add(egui::TextEdit::singleline(key).desired_width(width))
                    .changed();
                changed |= ui
                    .add(egui::TextEdit::singleline(v).desired_width(width))
                    .changed();
                if ui.small_button("✖").on_hover_text("Remove").clicked() {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
    if let Some(i) = remove {
        rows.remove(i);
        changed = true;
    }
    if ui.small_button("+ Hyperparameter").clicked() {
        let n = (1..)
            .find(|n| !rows.iter().any(|(k, _)| *k == format!("param{n}")))
            .unwrap_or(1);
        rows.push((format!("param{n}"), String::new()));
        changed = true;
    }
    if changed {
        let mut map: Map<String, Value> = value
            .pointer("/HyperParameters")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter(|(k, _)| k.starts_with("sagemaker_"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            })
            .unwrap_or_default();
        for (k, v) in rows {
            map.insert(k, Value::String(v));
        }
        set(value, "/HyperParameters", Some(Value::Object(map)));
    }
    changed
}

/// The input channels: a name and an S3 URI or a local folder each.
fn channels(ui: &mut egui::Ui, value: &mut Value) -> (bool, Vec<FormAction>) {
    let mut changed = false;
    let mut actions = Vec::new();
    let count = value
        .pointer("/InputDataConfig")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let mut remove = None;
    for i in 0..count {
        ui.horizontal_wrapped(|ui| {
            let name = format!("/InputDataConfig/{i}/ChannelName");
            let uri = format!("/InputDataConfig/{i}/DataSource/S3DataSource/S3Uri");
            let mut n = value
                .pointer(&name)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let mut u = value
                .pointer(&uri)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if ui
                .add(egui::TextEdit::singleline(&mut n).desired_width(90.0))
                .changed()
            {
                set(value, &name, Some(Value::String(n)));
                changed = true;
            }
            if ui
                .add(
                    egui::TextEdit::singleline(&mut u)
                        .hint_text("s3://bucket/data or file:///data")
                        .desired_width(field_width(ui, 110.0)),
                )
                .changed()
            {
                set(value, &uri, Some(Value::String(u)));
                changed = true;
            }
            if ui
                .small_button("Browse…")
                .on_hover_text("A local folder, for local mode")
                .clicked()
            {
                ensure(value, &uri);
                actions.push(FormAction::Browse(uri.clone()));
            }
            if ui
                .small_button("✖")
                .on_hover_text("Remove the channel")
                .clicked()
            {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove
        && let Some(list) = value
            .pointer_mut("/InputDataConfig")
            .and_then(Value::as_array_mut)
    {
        list.remove(i);
        changed = true;
    }
    if ui.small_button("+ Channel").clicked() {
        let names = ["train", "validation", "test"];
        let taken = |n: &str| {
            value
                .pointer("/InputDataConfig")
                .and_then(Value::as_array)
                .is_some_and(|l| l.iter().any(|c| c["ChannelName"] == n))
        };
        let name = names
            .iter()
            .find(|n| !taken(n))
            .map_or("data".to_string(), |n| n.to_string());
        let channel = json!({"ChannelName": name, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "", "S3DataDistributionType": "FullyReplicated"}}});
        match value
            .pointer_mut("/InputDataConfig")
            .and_then(Value::as_array_mut)
        {
            Some(list) => list.push(channel),
            None => set(value, "/InputDataConfig", Some(json!([channel]))),
        }
        changed = true;
    }
    (changed, actions)
}

/// Max runtime in minutes, and managed spot training with its wait.
fn limits(ui: &mut egui::Ui, value: &mut Value) -> bool {
    let mut changed = false;
    let seconds = value
        .pointer("/StoppingCondition/MaxRuntimeInSeconds")
        .and_then(Value::as_u64)
        .unwrap_or(86400);
    let mut minutes = seconds / 60;
    let mut spot = value
        .pointer("/EnableManagedSpotTraining")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    ui.horizontal_wrapped(|ui| {
        let l = ui.label("Max runtime (minutes)");
        if ui.add(egui::DragValue::new(&mut minutes).range(1..=40320)).labelled_by(l.id).changed() {
            set(value, "/StoppingCondition/MaxRuntimeInSeconds", Some(json!(minutes * 60)));
            changed = true;
        }
        if ui
            .checkbox(&mut spot, "Spot instances")
            .on_hover_text("EnableManagedSpotTraining: spare capacity at a discount; the job may wait for it and be interrupted (use checkpoints)")
            .changed()
        {
            set(value, "/EnableManagedSpotTraining", spot.then_some(Value::Bool(true)));
            let wait = spot.then(|| json!((minutes * 60).max(
                value.pointer("/StoppingCondition/MaxWaitTimeInSeconds").and_then(Value::as_u64).unwrap_or(0))));
            set(value, "/StoppingCondition/MaxWaitTimeInSeconds", wait);
            changed = true;
        }
    });
    if spot {
        ui.label(
            RichText::new(
                "Billed per second at spot rates, typically 60–90 % below on demand; SageMaker reports the saving when the job ends.",
            )
            .weak(),
        );
    }
    changed
}

/// Sets (or with `None` removes) the member at a JSON pointer, making the objects above it.
fn set(value: &mut Value, pointer: &str, new: Option<Value>) {
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    let Some((last, parents)) = parts.split_last() else {
        return;
    };
    let mut at = value;
    for part in parents {
        if at.is_array() {
            let Some(next) = part.parse::<usize>().ok().and_then(|i| at.get_mut(i)) else {
                return;
            };
            at = next;
            continue;
        }
        if !at.is_object() {
            *at = json!({});
        }
        at = at
            .as_object_mut()
            .expect("an object")
            .entry(part.to_string())
            .or_insert_with(|| json!({}));
    }
    match (at, new) {
        (Value::Object(map), Some(v)) => {
            map.insert(last.to_string(), v);
        }
        (Value::Object(map), None) => {
            map.remove(*last);
        }
        _ => {}
    }
}

/// Makes the string member at `pointer` exist (empty) so a picked path can be set there.
fn ensure(value: &mut Value, pointer: &str) {
    if value.pointer(pointer).is_none() {
        set(value, pointer, Some(Value::String(String::new())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_makes_and_removes_members() {
        let mut v = json!({"InputDataConfig": [{"ChannelName": "train"}]});
        set(&mut v, "/ResourceConfig/InstanceCount", Some(json!(2)));
        set(
            &mut v,
            "/InputDataConfig/0/DataSource/S3DataSource/S3Uri",
            Some(json!("s3://b/d")),
        );
        assert_eq!(v["ResourceConfig"]["InstanceCount"], 2);
        assert_eq!(
            v["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"],
            "s3://b/d"
        );
        set(&mut v, "/ResourceConfig/InstanceCount", None);
        assert_eq!(v["ResourceConfig"], json!({}));
    }
}
