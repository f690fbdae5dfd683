//! Colours, icons and small shared widgets.

use egui::{Color32, RichText};

use crate::job::Status;

/// Sets the window's text sizes: small print (counts, status lines, notes) stays readable
/// at 11 points instead of egui's 9.
pub fn install(ctx: &egui::Context) {
    ctx.all_styles_mut(|style| {
        style.text_styles.insert(
            egui::TextStyle::Small,
            egui::FontId::new(11.0, egui::FontFamily::Proportional),
        );
    });
}

/// Text colour of errors.
pub const ERROR: Color32 = Color32::from_rgb(0xd9, 0x3f, 0x3f);

/// Text colour of warnings and standing notices.
pub const WARNING: Color32 = Color32::from_rgb(0xe0, 0x9b, 0x2d);

/// Colour of success.
pub const SUCCESS: Color32 = Color32::from_rgb(0x2e, 0xa0, 0x43);

/// Colours of the series of compared jobs, in turn (Tableau 10).
const SERIES: [Color32; 10] = [
    Color32::from_rgb(0x4e, 0x79, 0xa7),
    Color32::from_rgb(0xf2, 0x8e, 0x2b),
    Color32::from_rgb(0xe1, 0x57, 0x59),
    Color32::from_rgb(0x76, 0xb7, 0xb2),
    Color32::from_rgb(0x59, 0xa1, 0x4f),
    Color32::from_rgb(0xed, 0xc9, 0x48),
    Color32::from_rgb(0xb0, 0x7a, 0xa1),
    Color32::from_rgb(0xff, 0x9d, 0xa7),
    Color32::from_rgb(0x9c, 0x75, 0x5f),
    Color32::from_rgb(0xba, 0xb0, 0xac),
];

/// The colour of the `i`-th compared job.
pub fn series_color(i: usize) -> Color32 {
    SERIES[i % SERIES.len()]
}

/// The colour of a status.
pub fn status_color(status: Status) -> Color32 {
    match status {
        Status::InProgress => Color32::from_rgb(0x3b, 0x8e, 0xea),
        Status::Completed => SUCCESS,
        Status::Failed => Color32::from_rgb(0xd9, 0x3f, 0x3f),
        Status::Stopping => WARNING,
        Status::Stopped => Color32::from_rgb(0x8a, 0x8a, 0x8a),
    }
}

/// A one-character icon for a status.
pub fn status_icon(status: Status) -> &'static str {
    match status {
        Status::InProgress => "▶",
        Status::Completed => "✔",
        Status::Failed => "✖",
        Status::Stopping => "■",
        Status::Stopped => "■",
    }
}

/// The status as coloured text with its icon.
pub fn status_text(status: Status) -> RichText {
    RichText::new(format!("{} {}", status_icon(status), status.as_str()))
        .color(status_color(status))
}

/// A small filled circle.
pub fn dot(ui: &mut egui::Ui, color: Color32) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(10.0, 10.0), egui::Sense::hover());
    ui.painter().circle_filled(rect.center(), 4.0, color);
}

pub use crate::job::bytes;

/// An amber frame for what the user must do before going on.
pub fn notice_frame() -> egui::Frame {
    egui::Frame::new()
        .fill(Color32::from_rgba_unmultiplied(0xe0, 0x9b, 0x2d, 0x20))
        .stroke(egui::Stroke::new(1.0, WARNING))
        .inner_margin(8.0)
        .corner_radius(4.0)
}

/// A red frame for failure reasons and errors.
pub fn error_frame() -> egui::Frame {
    egui::Frame::new()
        .fill(Color32::from_rgba_unmultiplied(0xd9, 0x3f, 0x3f, 0x28))
        .stroke(egui::Stroke::new(1.0, status_color(Status::Failed)))
        .inner_margin(8.0)
        .corner_radius(4.0)
}
