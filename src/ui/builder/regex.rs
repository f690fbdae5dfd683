//! The metric regex tester: the request's metric definitions tried on a pasted log line,
//! compiled once per change of the definitions.

use egui::{Color32, RichText};
use serde_json::Value;

use crate::request::MetricDefinition;
use crate::request::metrics::MetricExtractor;

/// The metric regex tester: a pasted log line, and the definitions compiled once per change.
#[derive(Default)]
pub struct RegexTester {
    sample: String,
    compiled: Option<(Vec<MetricDefinition>, Result<MetricExtractor, String>)>,
}

impl RegexTester {
    /// The extractor of `definitions`, compiled only when they changed.
    fn extractor(
        &mut self,
        definitions: Vec<MetricDefinition>,
    ) -> &Result<MetricExtractor, String> {
        let stale = self
            .compiled
            .as_ref()
            .is_none_or(|(known, _)| *known != definitions);
        if stale {
            let compiled = MetricExtractor::new(&definitions).map_err(|e| e.to_string());
            self.compiled = Some((definitions, compiled));
        }
        &self.compiled.as_ref().expect("just set").1
    }
}

/// Tries the metric definitions on a pasted log line.
pub(super) fn regex_tester(ui: &mut egui::Ui, algorithm: Option<&Value>, tester: &mut RegexTester) {
    let definitions: Vec<MetricDefinition> = algorithm
        .and_then(|a| a.get("MetricDefinitions"))
        .and_then(|d| serde_json::from_value(d.clone()).ok())
        .unwrap_or_default();
    if definitions.is_empty() {
        return;
    }
    ui.add_space(4.0);
    let label = ui.label("Test the metric regexes on a log line:");
    ui.add(
        egui::TextEdit::singleline(&mut tester.sample)
            .hint_text("epoch=3 train_loss=0.25")
            .desired_width(f32::INFINITY),
    )
    .labelled_by(label.id);
    if tester.sample.is_empty() {
        return;
    }
    let count = definitions.len();
    let sample = tester.sample.clone();
    match tester.extractor(definitions) {
        Ok(extractor) => {
            let mut found = vec![None; count];
            extractor.extract(&sample, |i, v| found[i] = Some(v));
            for (name, value) in extractor.names().iter().zip(found) {
                let text = match value {
                    Some(v) => format!("{name} = {v}"),
                    None => format!("{name}: no match"),
                };
                ui.label(RichText::new(text).monospace());
            }
        }
        Err(e) => {
            ui.label(RichText::new(e).color(Color32::from_rgb(0xe0, 0x4f, 0x4f)));
        }
    }
}
