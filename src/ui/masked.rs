//! Secret values in the window: masked until the user reveals them, one value at a time.

use egui::RichText;

use crate::job::secret::MASK;

/// Whether the value at `id` is revealed; the eye button beside it toggles it.
pub fn reveal_toggle(ui: &mut egui::Ui, id: egui::Id) -> bool {
    let mut revealed = ui.data(|d| d.get_temp::<bool>(id)).unwrap_or(false);
    let (icon, hint) = if revealed {
        ("🙈", "Hide this secret value")
    } else {
        ("👁", "Reveal this secret value")
    };
    if ui.small_button(icon).on_hover_text(hint).clicked() {
        revealed = !revealed;
        ui.data_mut(|d| d.insert_temp(id, revealed));
    }
    revealed
}

/// A read-only secret: the mask (click to reveal) or the value with a button to hide it.
pub fn secret_label(ui: &mut egui::Ui, id: egui::Id, text: &str) {
    let revealed = ui.data(|d| d.get_temp::<bool>(id)).unwrap_or(false);
    let flip = if revealed {
        ui.add(egui::Label::new(RichText::new(text).monospace()).selectable(true));
        ui.small_button("🙈")
            .on_hover_text("Hide this secret value")
            .clicked()
    } else {
        ui.add(egui::Button::new(RichText::new(MASK).monospace()).frame(false))
            .on_hover_text("Secret value: click to reveal")
            .clicked()
    };
    if flip {
        ui.data_mut(|d| d.insert_temp(id, !revealed));
    }
}
