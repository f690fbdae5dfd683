//! Short notifications, in a strip along the bottom of the window: they take their own
//! room, so they never cover the list's last rows or the log's newest lines.

use std::time::{Duration, Instant};

use egui::Color32;

/// How long a notification stays.
const LIFETIME: Duration = Duration::from_secs(6);
/// The newest notifications shown at once; older ones are counted.
const SHOWN: usize = 4;
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

    /// Draws the notifications in a strip at the bottom of `ui` (before its central panel),
    /// each of `secrets` masked in them, and drops expired ones; asks for a repaint only
    /// when the next one expires.
    pub fn show(&mut self, ui: &mut egui::Ui, secrets: &[String]) {
        let now = Instant::now();
        self.items.retain(|t| now - t.born < lifetime(t.kind));
        if self.items.is_empty() {
            return;
        }
        let mut dismissed = None;
        let first = self.items.len().saturating_sub(SHOWN);
        egui::Panel::bottom("notifications").show(ui, |ui| {
            ui.add_space(2.0);
            if first > 0 {
                ui.label(
                    egui::RichText::new(format!("{first} earlier notification(s) not shown"))
                        .small()
                        .weak(),
                );
            }
            for (i, toast) in self.items.iter().enumerate().skip(first) {
                let color = match toast.kind {
                    ToastKind::Info => Color32::from_rgb(0x3b, 0x8e, 0xea),
                    ToastKind::Success => Color32::from_rgb(0x2e, 0xa0, 0x43),
                    ToastKind::Error => Color32::from_rgb(0xd9, 0x3f, 0x3f),
                };
                let text = crate::job::secret::redact(&toast.text, secrets);
                egui::Sides::new().shrink_left().show(
                    ui,
                    |ui| {
                        super::theme::dot(ui, color);
                        ui.add(egui::Label::new(text.as_ref()).wrap());
                    },
                    |ui| {
                        if ui.small_button("×").on_hover_text("Dismiss").clicked() {
                            dismissed = Some(i);
                        }
                    },
                );
            }
            ui.add_space(2.0);
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
            ui.ctx().request_repaint_after(next);
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
