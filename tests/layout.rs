//! The main views fit a laptop and a large screen: at 1024×700 and 1920×1080, the job
//! list with each tab of a finished job's detail, the Compare view and both views of the
//! builder are drawn, and no control leaves the window or lies over another.

#![allow(clippy::unwrap_used)]

mod common;

use common::window::{
    compare_in_window, harness, has_text, two_demo_runs, wait_for, wait_for_detail,
};
use std::collections::HashMap;

use common::*;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use sagedesk::ui::SageDeskApp;
use sagedesk::ui::state::Tab;

/// A control as the last frame laid it out.
struct Control {
    label: String,
    role: Role,
    layer: egui::LayerId,
    /// Where it is drawn in full.
    rect: egui::Rect,
    /// The part not clipped away (by a scroll area, a panel or the window).
    shown: egui::Rect,
}

/// Roles a user clicks or types into.
const CONTROLS: [Role; 9] = [
    Role::Button,
    Role::CheckBox,
    Role::RadioButton,
    Role::ComboBox,
    Role::Link,
    Role::TextInput,
    Role::MultilineTextInput,
    Role::Slider,
    Role::SpinButton,
];

/// The enabled, visible controls of the last frame that are at least partly shown: the
/// accessibility tree's, with the rectangles egui laid them out in.
fn controls(h: &Harness<'_, SageDeskApp>) -> Vec<Control> {
    let rects: HashMap<u64, egui::WidgetRect> = h.ctx.viewport(|viewport| {
        viewport
            .prev_pass
            .widgets
            .layers()
            .flat_map(|(_, rects)| rects.iter().map(|w| (w.id.value(), *w)))
            .collect()
    });
    let mut found = Vec::new();
    for role in CONTROLS {
        for node in h.query_all_by_role(role) {
            let id = node.accesskit_node().locate().0.0;
            let Some(w) = rects.get(&id) else { continue };
            if w.visible && w.enabled && w.interact_rect.is_positive() {
                found.push(Control {
                    label: node.accesskit_node().label().unwrap_or_default(),
                    role,
                    layer: w.layer_id,
                    rect: w.rect,
                    shown: w.interact_rect,
                });
            }
        }
    }
    found
}

/// What is wrong with the last frame's layout in a window of `size`: controls cut off by
/// the window's edge, and controls drawn over one another.
fn problems(h: &Harness<'_, SageDeskApp>, size: [f32; 2]) -> Vec<String> {
    let controls = controls(h);
    assert!(controls.len() > 10, "the frame has controls");
    let (width, height) = (size[0], size[1]);
    let mut found = Vec::new();
    for c in &controls {
        // Clipped where the window ends (not by a scroll area inside it): out of reach.
        let cut_right = c.rect.max.x > width + 0.5 && c.shown.max.x >= width - 1.0;
        let cut_bottom = c.rect.max.y > height + 0.5 && c.shown.max.y >= height - 1.0;
        let cut_left = c.rect.min.x < -0.5 && c.shown.min.x <= 1.0;
        if cut_right || cut_bottom || cut_left {
            found.push(format!(
                "{:?} “{}” at {:?} leaves the window",
                c.role, c.label, c.rect
            ));
        }
    }
    // Controls shown in full on one layer must not overlap (a row that holds a checkbox
    // contains it, which is not an overlap).
    let whole: Vec<&Control> = controls
        .iter()
        .filter(|c| c.shown == c.rect && c.layer.order != egui::Order::Tooltip)
        .collect();
    for (i, a) in whole.iter().enumerate() {
        for b in &whole[i + 1..] {
            if a.layer != b.layer || a.rect.contains_rect(b.rect) || b.rect.contains_rect(a.rect) {
                continue;
            }
            let overlap = a.rect.intersect(b.rect);
            if overlap.width() > 2.0 && overlap.height() > 2.0 {
                found.push(format!(
                    "{:?} “{}” at {:?} lies over {:?} “{}” at {:?}",
                    a.role, a.label, a.rect, b.role, b.label, b.rect
                ));
            }
        }
    }
    found
}

/// Lets the frame settle, then records its problems under `view`.
fn check(h: &mut Harness<'_, SageDeskApp>, size: [f32; 2], view: &str, all: &mut Vec<String>) {
    h.run_steps(6);
    all.extend(
        problems(h, size)
            .into_iter()
            .map(|p| format!("{}×{} {view}: {p}", size[0], size[1])),
    );
}

#[test]
fn the_main_views_fit_a_laptop_and_a_large_screen() {
    let sb = Sandbox::new();
    let (a, b) = two_demo_runs(&sb);
    let mut all = Vec::new();
    for size in [[1024.0, 700.0], [1920.0, 1080.0]] {
        let mut h = harness(&sb, size, None);
        wait_for(&mut h, "the runs in the list", |h| has_text(h, &a));
        check(&mut h, size, "the list and the welcome card", &mut all);
        h.get_by_label(&a).click();
        wait_for_detail(&mut h, &a);
        for tab in Tab::ALL {
            h.get_by_label_contains(tab.label()).click();
            h.run_steps(2);
            assert_eq!(h.state().state().tab, tab);
            check(
                &mut h,
                size,
                &format!("the detail's {}", tab.label()),
                &mut all,
            );
        }
        h.get_by_label_contains("New job").click();
        check(&mut h, size, "the builder's Essentials", &mut all);
        h.get_by_label("Full API form").click();
        check(&mut h, size, "the builder's full form", &mut all);
        h.get_by_label("Essentials").click();
        h.run_steps(2);
        drop(h);

        let mut h = compare_in_window(&sb, size, &a, &b);
        // Charts are drawn as they come into view.
        wait_for(&mut h, "the comparison", |h| {
            h.query_all_by_label("Save PNG…").count() >= 1
        });
        check(&mut h, size, "Compare", &mut all);
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}
