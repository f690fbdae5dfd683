//! The diagnosis at the top of a failed or stopped job's Overview: the category and one
//! sentence, the exception, the traceback with each frame openable in the editor where the
//! user has the file, and the next steps.

use egui::RichText;

use super::super::{Clip, theme};
use super::DetailAction;
use crate::job::Status;
use crate::job::diagnosis::{Category, Diagnosis};

/// Draws `d`; the action a button asked for.
pub fn show(ui: &mut egui::Ui, d: &Diagnosis) -> Option<DetailAction> {
    let mut action = None;
    let frame = if d.category == Category::Stopped {
        theme::notice_frame()
    } else {
        theme::error_frame()
    };
    frame.show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal_wrapped(|ui| {
            let color = theme::status_color(if d.category == Category::Stopped {
                Status::Stopped
            } else {
                Status::Failed
            });
            ui.label(RichText::new(d.category.label()).strong().color(color));
            ui.add(egui::Label::new(RichText::new(&d.summary).strong()).selectable(true));
        });
        if let Some(exception) = &d.exception {
            ui.add(egui::Label::new(RichText::new(exception).monospace()).selectable(true));
        }
        if !d.traceback.is_empty() {
            ui.add_space(4.0);
            let host = d
                .host
                .as_deref()
                .map(|h| format!(" on {h}"))
                .unwrap_or_default();
            ui.label(RichText::new(format!("Traceback{host}, innermost last")).weak());
            for frame in &d.traceback {
                ui.horizontal(|ui| {
                    let file = frame.local.as_deref().unwrap_or(&frame.file);
                    let open = ui
                        .add_enabled(frame.local.is_some(), egui::Button::new("Open").small())
                        .on_hover_text("Open in your editor at this line")
                        .on_disabled_hover_text("Not a file on this machine: the path as logged");
                    if open.clicked()
                        && let Some(local) = &frame.local
                    {
                        action = Some(DetailAction::OpenInEditor(local.into(), frame.line));
                    }
                    let text = format!("{file}:{}  in {}", frame.line, frame.function);
                    ui.add(egui::Label::new(RichText::new(text).monospace()).selectable(true));
                });
            }
            if ui.small_button("Copy traceback").clicked() {
                action = Some(DetailAction::Copy(Clip::plain(
                    "traceback",
                    traceback_text(d),
                )));
            }
        }
        if !d.next_steps.is_empty() {
            ui.add_space(4.0);
            ui.label(RichText::new("Next steps").weak());
            for step in &d.next_steps {
                ui.horizontal_wrapped(|ui| {
                    ui.label("•");
                    ui.add(egui::Label::new(step).selectable(true));
                });
            }
        }
    });
    ui.add_space(8.0);
    action
}

/// The traceback as Python prints it.
fn traceback_text(d: &Diagnosis) -> String {
    let mut text = String::from("Traceback (most recent call last):\n");
    for frame in &d.traceback {
        let file = frame.local.as_deref().unwrap_or(&frame.file);
        text.push_str(&format!(
            "  File \"{file}\", line {}, in {}\n",
            frame.line, frame.function
        ));
    }
    if let Some(exception) = &d.exception {
        text.push_str(exception);
        text.push('\n');
    }
    text
}
