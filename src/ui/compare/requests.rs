//! The compared jobs' requests side by side: only the members that differ, channels
//! matched by name (why did the AWS run fail when the local one worked).

use egui::RichText;

use super::super::data::Data;
use crate::job::JobRef;
use crate::request::TrainingJobRequest;

/// Most characters of a value shown in a cell; the whole value is in its hover text.
const CELL: usize = 60;

/// Draws the members in which the compared jobs' requests differ.
pub fn show(ui: &mut egui::Ui, data: &Data, jobs: &[JobRef]) {
    let described: Vec<(&JobRef, &TrainingJobRequest)> = jobs
        .iter()
        .filter_map(|j| Some((j, &data.compared.get(j)?.detail.as_ref()?.request)))
        .collect();
    if described.len() < 2 {
        return;
    }
    let requests: Vec<&TrainingJobRequest> = described.iter().map(|(_, r)| *r).collect();
    let rows = crate::request::diff::table(&requests);
    let title = if rows.is_empty() {
        "Requests: the same, but for their names".to_string()
    } else {
        format!("Requests: {} members differ", rows.len())
    };
    if rows.is_empty() {
        ui.label(RichText::new(title).weak());
        ui.add_space(8.0);
        return;
    }
    egui::CollapsingHeader::new(RichText::new(title).strong())
        .id_salt("compare-requests")
        .default_open(true)
        .show(ui, |ui| {
            egui::ScrollArea::horizontal()
                .id_salt("compare-requests-scroll")
                .show(ui, |ui| {
                    egui::Grid::new("compare-requests-grid")
                        .striped(true)
                        .num_columns(described.len() + 1)
                        .show(ui, |ui| {
                            ui.label(RichText::new("Member").weak());
                            for (job, _) in &described {
                                ui.label(RichText::new(job.to_string()).weak());
                            }
                            ui.end_row();
                            for (path, values) in &rows {
                                ui.label(RichText::new(path).monospace());
                                for value in values {
                                    cell(ui, value);
                                }
                                ui.end_row();
                            }
                        });
                });
        });
    ui.add_space(8.0);
}

fn cell(ui: &mut egui::Ui, value: &str) {
    let short: String = value.chars().take(CELL).collect();
    let label = if short.len() < value.len() {
        ui.add(egui::Label::new(format!("{short}…")).selectable(true))
    } else {
        ui.add(egui::Label::new(short).selectable(true))
    };
    if label.hovered() && value.chars().count() > CELL {
        label.on_hover_text(value);
    }
}
