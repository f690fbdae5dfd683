//! Artifacts: the job's output files with sizes, archive entries read from tar headers,
//! "Save as…" with progress, and the containing folder.

use egui::RichText;

use super::super::data::Data;
use super::super::theme;
use super::DetailAction;

/// Draws the artifacts tab.
pub fn show(ui: &mut egui::Ui, data: &Data) -> Option<DetailAction> {
    let mut action = None;
    if let Some(p) = &data.progress {
        let fraction = if p.total == 0 {
            1.0
        } else {
            p.done as f32 / p.total as f32
        };
        ui.add(egui::ProgressBar::new(fraction).text(format!(
            "{} — {} of {}",
            p.task,
            theme::bytes(p.done),
            theme::bytes(p.total)
        )));
    }
    if data.artifacts.is_empty() {
        let ended = data
            .detail
            .as_ref()
            .is_some_and(|d| d.summary.status.is_terminal());
        ui.label(
            RichText::new(if ended {
                "This job left no artifacts."
            } else {
                "Artifacts appear when the job ends."
            })
            .weak(),
        );
        return None;
    }
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            for entry in &data.artifacts {
                egui::Frame::group(ui.style()).show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(&entry.key).strong().monospace());
                        ui.label(RichText::new(theme::bytes(entry.size)).weak());
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            if ui.button("📂 Open folder").clicked() {
                                action = Some(DetailAction::OpenFolder(entry.uri.clone()));
                            }
                            if ui.button("💾 Save as…").clicked() {
                                action = Some(DetailAction::SaveAs(entry.uri.clone()));
                            }
                        });
                    });
                    ui.label(RichText::new(&entry.uri).small().weak());
                    if entry.key.ends_with(".tar.gz") {
                        egui::CollapsingHeader::new("Contents")
                            .id_salt(("archive", &entry.uri))
                            .show(ui, |ui| match data.archives.get(&entry.uri) {
                                Some(entries) => {
                                    egui::Grid::new(("entries", &entry.uri)).striped(true).show(
                                        ui,
                                        |ui| {
                                            for e in entries {
                                                let name = if e.is_dir {
                                                    format!("{}/", e.path.trim_end_matches('/'))
                                                } else {
                                                    e.path.clone()
                                                };
                                                ui.label(RichText::new(name).monospace());
                                                ui.label(if e.is_dir {
                                                    String::new()
                                                } else {
                                                    theme::bytes(e.size)
                                                });
                                                ui.end_row();
                                            }
                                        },
                                    );
                                }
                                None => {
                                    ui.spinner();
                                    action = Some(DetailAction::ListArchive(entry.uri.clone()));
                                }
                            });
                    }
                });
            }
        });
    action
}
