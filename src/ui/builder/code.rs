//! The code folder on this machine, for a job that will run on AWS: SageMaker reads
//! `sagemaker_submit_directory` from S3, so the builder offers to pack the folder as
//! `sourcedir.tar.gz` and upload it to a prefix the user picks (as the SageMaker Python SDK
//! does), then points the hyperparameter at it. Other `file://` locations are listed for
//! the user to upload.

use std::path::PathBuf;

use egui::RichText;
use serde_json::Value;

use super::{Builder, BuilderAction};
use crate::request::RequestKind;
use crate::ui::theme;

/// Where the code hyperparameter lives in a training job's request.
pub(super) const POINTER: &str = "/HyperParameters/sagemaker_submit_directory";

/// The code row's edits, kept while the builder is open.
#[derive(Debug, Clone, Default)]
pub struct CodeUpload {
    /// The S3 prefix to upload to.
    pub prefix: String,
    /// An upload is under way.
    pub uploading: bool,
    /// Whether `prefix` was given its default (the user may empty it afterwards).
    filled: bool,
}

/// The hyperparameter's text, without the JSON quotes the SageMaker SDK adds.
pub(super) fn unquote(text: &str) -> (&str, bool) {
    match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(inner) => (inner, true),
        None => (text, false),
    }
}

impl Builder {
    /// Where a member of the training job is: in a tuning request, in its first definition
    /// (`HyperParameters` are its `StaticHyperParameters`).
    fn job_pointer(&self, pointer: &str) -> String {
        match self.kind {
            RequestKind::Training => pointer.to_string(),
            RequestKind::Tuning => {
                let member = pointer.trim_start_matches('/');
                let member = match member.strip_prefix("HyperParameters/") {
                    Some(key) => format!("StaticHyperParameters/{key}"),
                    None => member.to_string(),
                };
                super::tuning::definition_pointer(&self.value, &member)
            }
        }
    }

    /// The local code folder of the request, if `sagemaker_submit_directory` is `file://`.
    fn local_code(&self) -> Option<PathBuf> {
        let text = self.value.pointer(&self.job_pointer(POINTER))?.as_str()?;
        let (uri, _) = unquote(text);
        uri.strip_prefix("file://").map(PathBuf::from)
    }

    /// The default prefix: the output path's bucket and folder, then `<job>/source/`.
    fn default_prefix(&self) -> String {
        let output = self
            .value
            .pointer(&self.job_pointer("/OutputDataConfig/S3OutputPath"))
            .and_then(Value::as_str)
            .filter(|p| p.starts_with("s3://"))
            .unwrap_or("s3://BUCKET");
        let job = self
            .value
            .get("TrainingJobName")
            .or_else(|| self.value.get("HyperParameterTuningJobName"))
            .and_then(Value::as_str)
            .unwrap_or("job");
        format!("{}/{job}/source/", output.trim_end_matches('/'))
    }

    /// Points `sagemaker_submit_directory` at the uploaded archive, quoted as it was.
    pub fn set_code_uri(&mut self, uri: &str) -> Option<String> {
        self.code.uploading = false;
        let pointer = self.job_pointer(POINTER);
        let quoted = self
            .value
            .pointer(&pointer)
            .and_then(Value::as_str)
            .is_some_and(|t| unquote(t).1);
        let text = if quoted {
            format!("\"{uri}\"")
        } else {
            uri.to_string()
        };
        self.set_at(&pointer, text)
    }

    /// The upload failed: the row can be used again.
    pub fn code_upload_failed(&mut self) {
        self.code.uploading = false;
    }

    /// Draws the row when the job targets AWS and its code is on this machine.
    pub(super) fn code_row(&mut self, ui: &mut egui::Ui) -> Option<BuilderAction> {
        if !self.source.is_aws() {
            return None;
        }
        let others: Vec<String> = local_locations(&self.value)
            .into_iter()
            .filter(|l| !l.contains("HyperParameters.sagemaker_submit_directory"))
            .collect();
        let code = self.local_code();
        if code.is_none() && others.is_empty() {
            return None;
        }
        if !self.code.filled {
            self.code.prefix = self.default_prefix();
            self.code.filled = true;
        }
        let mut action = None;
        theme::notice_frame().show(ui, |ui| {
            ui.set_width(ui.available_width());
            if let Some(dir) = &code {
                ui.label(
                    RichText::new(format!(
                        "The code folder {} is on this machine; SageMaker reads it from S3.",
                        dir.display()
                    ))
                    .strong(),
                );
                ui.horizontal(|ui| {
                    let label = ui.label("Upload it as sourcedir.tar.gz to");
                    ui.add(
                        egui::TextEdit::singleline(&mut self.code.prefix)
                            .desired_width(ui.available_width() - 110.0),
                    )
                    .labelled_by(label.id);
                    let ready = self.code.prefix.starts_with("s3://") && !self.code.uploading;
                    if ui
                        .add_enabled(ready, egui::Button::new("⬆ Upload code"))
                        .on_hover_text("Pack the folder and upload it with this connection")
                        .on_disabled_hover_text("An s3:// prefix is needed")
                        .clicked()
                    {
                        self.code.uploading = true;
                        action = Some(BuilderAction::UploadCode {
                            dir: dir.clone(),
                            prefix: self.code.prefix.clone(),
                        });
                    }
                    if self.code.uploading {
                        ui.spinner();
                    }
                });
            }
            if !others.is_empty() {
                ui.label("Upload these to S3 and put their s3:// URIs in the form:");
                for location in others {
                    ui.label(RichText::new(location).monospace().color(theme::WARNING));
                }
            }
        });
        action
    }
}

/// The request's `file://` locations, each with the member that holds it.
fn local_locations(value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    collect_file_uris(value, String::new(), &mut found);
    found
}

fn collect_file_uris(value: &Value, path: String, found: &mut Vec<String>) {
    match value {
        Value::String(s) if unquote(s).0.starts_with("file://") => {
            found.push(format!("{path} = {}", unquote(s).0));
        }
        Value::Object(map) => {
            for (k, v) in map {
                let path = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                collect_file_uris(v, path, found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect_file_uris(v, format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::unquote;

    #[test]
    fn quoted_hyperparameters_are_read_through() {
        assert_eq!(unquote("\"file:///x\""), ("file:///x", true));
        assert_eq!(unquote("file:///x"), ("file:///x", false));
    }
}
