//! Artifacts: the job's output files with sizes, archive entries read from tar headers,
//! "Save as…" with progress, and the containing folder.

use egui::RichText;

use super::super::data::Data;
use super::super::theme;
use super::DetailAction;
use crate::job::MAX_ARCHIVE_ENTRIES;
use crate::job::{ArchiveListing, EntryKind};

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
                            if entry.uri.starts_with("file://")
                                && ui.button("📂 Open folder").clicked()
                            {
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
                                Some(listing) => archive_table(ui, &entry.uri, listing),
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

/// Height of the archive table: it scrolls inside, drawing only the rows in view.
const TABLE_HEIGHT: f32 = 320.0;

/// An archive's entries (name, type, size, link target), virtualised, with why the listing
/// stopped early under it.
fn archive_table(ui: &mut egui::Ui, uri: &str, listing: &ArchiveListing) {
    let entries = &listing.entries;
    ui.label(
        RichText::new(format!(
            "{} entr{}{}",
            entries.len(),
            if entries.len() == 1 { "y" } else { "ies" },
            if listing.truncated {
                format!(
                    " shown: the listing stops at {MAX_ARCHIVE_ENTRIES}; the archive holds more"
                )
            } else {
                String::new()
            }
        ))
        .weak(),
    );
    if !entries.is_empty() {
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace) + 4.0;
        egui_extras::TableBuilder::new(ui)
            .id_salt(("entries", uri))
            .striped(true)
            .max_scroll_height(TABLE_HEIGHT)
            .column(egui_extras::Column::remainder().at_least(200.0).clip(true))
            .column(egui_extras::Column::auto().at_least(60.0))
            .column(egui_extras::Column::auto().at_least(70.0))
            .header(row_height, |mut header| {
                for title in ["Name", "Type", "Size"] {
                    header.col(|ui| {
                        ui.strong(title);
                    });
                }
            })
            .body(|body| {
                body.rows(row_height, entries.len(), |mut row| {
                    let e = &entries[row.index()];
                    let name = match (&e.kind, &e.link) {
                        (EntryKind::Dir, _) => format!("{}/", e.path.trim_end_matches('/')),
                        (_, Some(target)) => format!("{} ➡ {target}", e.path),
                        _ => e.path.clone(),
                    };
                    row.col(|ui| {
                        ui.add(egui::Label::new(RichText::new(name).monospace()).truncate());
                    });
                    row.col(|ui| {
                        ui.label(RichText::new(e.kind.label()).weak());
                    });
                    row.col(|ui| {
                        if e.kind == EntryKind::File {
                            ui.label(theme::bytes(e.size));
                        }
                    });
                });
            });
    }
    if let Some(error) = &listing.error {
        theme::error_frame().show(ui, |ui| {
            ui.add(egui::Label::new(RichText::new(error).small()).wrap());
        });
    }
}
