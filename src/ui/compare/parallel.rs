//! The parallel-coordinates chart of the Compare view: a vertical axis per hyperparameter
//! that differs and one for the objective (the best at the top), each job a line coloured
//! by its objective. A drag along an axis keeps the jobs within that stretch (a brush); a
//! click on the axis clears it.

use std::collections::BTreeMap;

use egui::{Color32, FontId, Pos2, Rect, Sense, Stroke, pos2, vec2};

use crate::job::compare::format_value;
use crate::job::importance::{Scale, Study};

/// The chart's key among the view's charts (PNG export).
pub const KEY: &str = "hyperparameters";
const HEIGHT: f32 = 280.0;
/// Room above the axes for their names, below for their lowest values.
const TOP: f32 = 34.0;
const BOTTOM: f32 = 22.0;
/// Room left of the first axis and right of the last, for their labels.
const SIDE: f32 = 56.0;

/// Brushed stretches, by axis name: positions from 0 (bottom) to 1.
pub type Brushes = BTreeMap<String, (f64, f64)>;

/// The name of the objective's axis among the brushes.
fn objective_axis(study: &Study) -> String {
    format!("objective {}", study.objective)
}

/// A job's objective on its axis: 1 for the best, 0 for the worst.
pub fn goodness(study: &Study, value: f64) -> f64 {
    let (lo, hi) = study.range;
    if hi <= lo {
        return 0.5;
    }
    let t = if study.log_objective {
        (value.ln() - lo.ln()) / (hi.ln() - lo.ln())
    } else {
        (value - lo) / (hi - lo)
    };
    if study.lower_is_better { 1.0 - t } else { t }
}

/// A colour from dark purple (worst) through teal to yellow (best).
pub fn colour(goodness: f64) -> Color32 {
    const STOPS: [(u8, u8, u8); 5] = [
        (68, 1, 84),
        (59, 82, 139),
        (33, 145, 140),
        (94, 201, 98),
        (253, 231, 37),
    ];
    let t = goodness.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let i = (t.floor() as usize).min(STOPS.len() - 2);
    let f = t - i as f64;
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    Color32::from_rgb(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Whether line `i` is within every brush.
pub fn kept(study: &Study, brushes: &Brushes, i: usize) -> bool {
    let line = &study.lines[i];
    let objective = objective_axis(study);
    brushes.iter().all(|(axis, (lo, hi))| {
        let position = if *axis == objective {
            Some(goodness(study, line.objective))
        } else {
            study
                .axes
                .iter()
                .position(|a| &a.name == axis)
                .map_or(Some(0.5), |a| line.positions[a])
        };
        position.is_some_and(|p| (*lo..=*hi).contains(&p))
    })
}

/// Draws the chart; its rectangle. `drag` keeps a brush being drawn: the axis and where
/// it started.
pub fn show(
    ui: &mut egui::Ui,
    study: &Study,
    brushes: &mut Brushes,
    drag: &mut Option<(String, f64)>,
) -> Rect {
    let width = ui.available_width().max(200.0);
    let (rect, _) = ui.allocate_exact_size(vec2(width, HEIGHT), Sense::hover());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals().clone();
    let weak = visuals.weak_text_color();
    let text = visuals.text_color();
    let small = FontId::proportional(11.0);
    let plot = Rect::from_min_max(
        pos2(rect.left() + SIDE, rect.top() + TOP),
        pos2(rect.right() - SIDE, rect.bottom() - BOTTOM),
    );
    let count = study.axes.len() + 1;
    let x_of = |i: usize| plot.left() + plot.width() * i as f32 / (count - 1).max(1) as f32;
    let y_of = |p: f64| plot.bottom() - plot.height() * p as f32;
    let spacing = plot.width() / (count - 1).max(1) as f32;
    let names: Vec<String> = study
        .axes
        .iter()
        .map(|a| a.name.clone())
        .chain(std::iter::once(objective_axis(study)))
        .collect();
    // The lines: those outside a brush faint and first, the best drawn last.
    let mut order: Vec<usize> = (0..study.lines.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |i: usize| (kept(study, brushes, i), study.lines[i].rank);
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for i in order {
        let line = &study.lines[i];
        let inside = kept(study, brushes, i);
        let stroke = if inside {
            Stroke::new(1.6, colour(line.rank))
        } else {
            Stroke::new(1.0, weak.gamma_multiply(0.25))
        };
        let points: Vec<Option<Pos2>> = line
            .positions
            .iter()
            .chain(std::iter::once(&Some(goodness(study, line.objective))))
            .enumerate()
            .map(|(a, p)| p.map(|p| pos2(x_of(a), y_of(p))))
            .collect();
        for pair in points.windows(2) {
            if let [Some(a), Some(b)] = pair {
                painter.line_segment([*a, *b], stroke);
            }
        }
    }
    for (a, name) in names.iter().enumerate() {
        let x = x_of(a);
        painter.line_segment(
            [pos2(x, plot.top()), pos2(x, plot.bottom())],
            Stroke::new(1.0, weak),
        );
        let label = truncate(name, spacing);
        painter.text(
            pos2(x, rect.top() + 4.0),
            egui::Align2::CENTER_TOP,
            label,
            FontId::proportional(12.5),
            text,
        );
        // The values: lowest and highest of a number, each of a category's values.
        match study.axes.get(a).map(|axis| &axis.scale) {
            Some(Scale::Numeric { min, max, log }) => {
                let suffix = if *log { " (log)" } else { "" };
                painter.text(
                    pos2(x, plot.bottom() + 3.0),
                    egui::Align2::CENTER_TOP,
                    format_value(*min),
                    small.clone(),
                    weak,
                );
                painter.text(
                    pos2(x, plot.top() - 3.0),
                    egui::Align2::CENTER_BOTTOM,
                    format!("{}{suffix}", format_value(*max)),
                    small.clone(),
                    weak,
                );
            }
            Some(Scale::Categorical { values }) => {
                let n = values.len();
                for (k, value) in values.iter().enumerate() {
                    let p = if n == 1 {
                        0.5
                    } else {
                        k as f64 / (n - 1) as f64
                    };
                    let at = pos2(
                        x + 5.0,
                        y_of(p).clamp(plot.top() + 6.0, plot.bottom() - 6.0),
                    );
                    let label = truncate(value, spacing / 2.0);
                    backed(
                        &painter,
                        at,
                        &label,
                        small.clone(),
                        text,
                        visuals.extreme_bg_color,
                    );
                }
            }
            None => {
                let (lo, hi) = study.range;
                let (top, bottom) = if study.lower_is_better {
                    (lo, hi)
                } else {
                    (hi, lo)
                };
                painter.text(
                    pos2(x, plot.top() - 3.0),
                    egui::Align2::CENTER_BOTTOM,
                    format!("{} best", format_value(top)),
                    small.clone(),
                    weak,
                );
                painter.text(
                    pos2(x, plot.bottom() + 3.0),
                    egui::Align2::CENTER_TOP,
                    format_value(bottom),
                    small.clone(),
                    weak,
                );
            }
        }
        brush(ui, &painter, plot, x, name, brushes, drag, &y_of);
    }
    rect
}

/// The axis's brush: drawn, and drawn anew by a drag along the axis.
#[allow(clippy::too_many_arguments)]
fn brush(
    ui: &mut egui::Ui,
    painter: &egui::Painter,
    plot: Rect,
    x: f32,
    name: &str,
    brushes: &mut Brushes,
    drag: &mut Option<(String, f64)>,
    y_of: &dyn Fn(f64) -> f32,
) {
    let strip = Rect::from_min_max(pos2(x - 9.0, plot.top()), pos2(x + 9.0, plot.bottom()));
    let response = ui
        .interact(
            strip,
            ui.scope_id().with(("brush", name)),
            Sense::click_and_drag(),
        )
        .on_hover_cursor(egui::CursorIcon::ResizeVertical)
        .on_hover_text(format!(
            "{name}: drag along the axis to keep the jobs in a stretch; click to clear"
        ));
    let at = |pos: Pos2| (((plot.bottom() - pos.y) / plot.height()) as f64).clamp(0.0, 1.0);
    // From where the button went down, not where the drag was first seen.
    if response.drag_started()
        && let Some(pos) = ui
            .input(|i| i.pointer.press_origin())
            .or(response.interact_pointer_pos())
    {
        *drag = Some((name.to_string(), at(pos)));
    }
    if response.dragged()
        && let (Some((axis, start)), Some(pos)) = (drag.as_ref(), response.interact_pointer_pos())
        && axis == name
    {
        let now = at(pos);
        brushes.insert(name.to_string(), (start.min(now), start.max(now)));
    }
    if response.drag_stopped() {
        *drag = None;
    }
    if response.clicked() {
        brushes.remove(name);
    }
    if let Some((lo, hi)) = brushes.get(name) {
        let band = Rect::from_min_max(pos2(x - 6.0, y_of(*hi)), pos2(x + 6.0, y_of(*lo)));
        painter.rect_filled(
            band,
            2.0,
            ui.visuals().selection.bg_fill.gamma_multiply(0.5),
        );
        painter.rect_stroke(
            band,
            2.0,
            ui.visuals().selection.stroke,
            egui::StrokeKind::Inside,
        );
    }
}

/// `text` left of `at`, over a patch of `background` so that lines under it do not hide it.
fn backed(
    painter: &egui::Painter,
    at: Pos2,
    text: &str,
    font: FontId,
    colour: Color32,
    background: Color32,
) {
    let galley = painter.layout_no_wrap(text.to_string(), font, colour);
    let rect = egui::Align2::LEFT_CENTER.anchor_size(at, galley.size());
    painter.rect_filled(rect.expand(2.0), 2.0, background.gamma_multiply(0.85));
    painter.galley(rect.min, galley, colour);
}

/// `text`, cut with an ellipsis to about `width` points.
fn truncate(text: &str, width: f32) -> String {
    let keep = ((width / 7.0) as usize).max(4);
    if text.chars().count() <= keep {
        text.to_string()
    } else {
        let cut: String = text.chars().take(keep - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::importance::{Axis, Line};

    fn study() -> Study {
        Study {
            objective: "loss".into(),
            lower_is_better: true,
            axes: vec![Axis {
                name: "lr".into(),
                scale: Scale::Numeric {
                    min: 0.0,
                    max: 1.0,
                    log: false,
                },
                importance: None,
            }],
            lines: vec![
                Line {
                    name: "a".into(),
                    positions: vec![Some(0.1)],
                    objective: 0.2,
                    rank: 1.0,
                },
                Line {
                    name: "b".into(),
                    positions: vec![Some(0.9)],
                    objective: 1.0,
                    rank: 0.0,
                },
                Line {
                    name: "c".into(),
                    positions: vec![None],
                    objective: 0.6,
                    rank: 0.5,
                },
            ],
            range: (0.2, 1.0),
            log_objective: false,
        }
    }

    #[test]
    fn brushes_keep_the_lines_within_every_stretch() {
        let s = study();
        let mut brushes = Brushes::new();
        assert!((0..3).all(|i| kept(&s, &brushes, i)));
        brushes.insert("lr".into(), (0.0, 0.5));
        assert_eq!(
            (0..3).map(|i| kept(&s, &brushes, i)).collect::<Vec<_>>(),
            [true, false, false]
        );
        // The objective's axis has the best at the top.
        assert_eq!(goodness(&s, 0.2), 1.0);
        brushes.clear();
        brushes.insert("objective loss".into(), (0.9, 1.0));
        assert_eq!(
            (0..3).map(|i| kept(&s, &brushes, i)).collect::<Vec<_>>(),
            [true, false, false]
        );
        assert_ne!(colour(0.0), colour(1.0));
    }
}
