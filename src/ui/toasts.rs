//! Short notifications in the bottom-right corner.

use std::time::{Duration, Instant};

use egui::{Align2, Color32};

/// How long a notification stays.
const LIFETIME: Duration = Duration::from_secs(6);
/// Errors stay longer: they are worth reading.
const ERROR_LIFETIME: Duration = Duration::from_secs(15);

/// The kind of a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    /// Neutral.
    Info,
    /// Something finished well.
    Success,
    /// Something failed.
    Error,
}

/// One notification.
#[derive(Debug, Clone)]
pub struct Toast {
    /// The kind.
    pub kind: ToastKind,
    /// The text.
    pub text: String,
    born: Instant,
}

/// The notifications on screen.
#[derive(Debug, Default)]
pub struct Toasts {
    items: Vec<Toast>,
}

impl Toasts {
    /// Adds a notification.
    pub fn push(&mut self, kind: ToastKind, text: String) {
        self.items.push(Toast {
            kind,
            text,
            born: Instant::now(),
        });
    }

    /// The notifications on screen.
    pub fn items(&self) -> &[Toast] {
        &self.items
    }

    /// Draws the notifications, each of `secrets` masked in them, and drops expired ones;
    /// asks for a repaint only when the next one expires.
    pub fn show(&mut self, ctx: &egui::Context, secrets: &[String]) {
        let now = Instant::now();
        self.items.retain(|t| now - t.born < lifetime(t.kind));
        if self.items.is_empty() {
            return;
        }
        let mut dismissed = None;
        egui::Area::new(egui::Id::unique("sagedesk-toasts"))
            .anchor(Align2::RIGHT_BOTTOM, [-12.0, -12.0])
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                for (i, toast) in self.items.iter().enumerate() {
                    let color = match toast.kind {
                        ToastKind::Info => Color32::from_rgb(0x3b, 0x8e, 0xea),
                        ToastKind::Success => Color32::from_rgb(0x2e, 0xa0, 0x43),
                        ToastKind::Error => Color32::from_rgb(0xd9, 0x3f, 0x3f),
                    };
                    egui::Frame::popup(ui.style())
                        .stroke(egui::Stroke::new(1.5, color))
                        .show(ui, |ui| {
                            ui.set_max_width(420.0);
                            ui.horizontal_top(|ui| {
                                super::theme::dot(ui, color);
                                ui.allocate_ui(egui::vec2(380.0, 0.0), |ui| {
                                    let text = crate::job::secret::redact(&toast.text, secrets);
                                    ui.add(egui::Label::new(text.as_ref()).wrap());
                                });
                                if ui.small_button("×").on_hover_text("Dismiss").clicked() {
                                    dismissed = Some(i);
                                }
                            });
                        });
                }
            });
        if let Some(i) = dismissed {
            self.items.remove(i);
        }
        if let Some(next) = self
            .items
            .iter()
            .map(|t| lifetime(t.kind).saturating_sub(now - t.born))
            .min()
        {
            ctx.request_repaint_after(next);
        }
    }
}

fn lifetime(kind: ToastKind) -> Duration {
    if kind == ToastKind::Error {
        ERROR_LIFETIME
    } else {
        LIFETIME
    }
}
