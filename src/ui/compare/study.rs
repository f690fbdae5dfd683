//! "Which hyperparameters matter", in the Compare view: the objective to relate them to,
//! the parallel-coordinates chart, each hyperparameter's importance with the method named,
//! and each one's scatter against the objective. The importance exports as CSV and the
//! chart as PNG, as the view's other charts do.

use egui::{RichText, Sense, Stroke, pos2, vec2};

use super::parallel::{self, colour, kept};
use super::{CompareAction, CompareCache};
use crate::job::compare::{Comparison, format_value};
use crate::job::importance::{self, METHOD, Study};

/// The size of one scatter.
const SCATTER: egui::Vec2 = vec2(190.0, 130.0);

/// The importance table as CSV: each hyperparameter with its estimate, most important first.
pub fn importance_csv(study: &Study) -> String {
    let mut out = String::from("hyperparameter,importance,objective\n");
    for axis in ranked(study) {
        let value = axis
            .importance
            .map(|v| format!("{v:.4}"))
            .unwrap_or_default();
        out.push_str(&format!("{},{value},{}\n", axis.name, study.objective));
    }
    out.push_str(&format!("# {METHOD}\n"));
    out
}

/// The axes, most important first (those without an estimate last).
fn ranked(study: &Study) -> Vec<&importance::Axis> {
    let mut axes: Vec<_> = study.axes.iter().collect();
    axes.sort_by(|a, b| {
        b.importance
            .unwrap_or(-1.0)
            .total_cmp(&a.importance.unwrap_or(-1.0))
    });
    axes
}

/// Draws the section for the compared jobs (`ended`: each job's end, or its creation while
/// it runs, in epoch seconds, by name); an export asked for.
pub fn show(
    ui: &mut egui::Ui,
    table: &Comparison,
    ended: &std::collections::HashMap<String, f64>,
    cache: &mut CompareCache,
) -> Option<CompareAction> {
    if table.jobs.len() < 2 || table.metrics.is_empty() {
        return None;
    }
    let objective = cache
        .objective
        .clone()
        .filter(|m| table.metrics.contains(m))
        .or_else(|| importance::default_objective(table))?;
    // Open at first for a tuning job's trials; for other jobs, one click away, so that
    // the metric charts come first.
    let tuning = table.jobs.iter().any(|j| {
        j.hyperparameters
            .contains_key(crate::request::tuning::TUNING_OBJECTIVE_METRIC)
    });
    egui::CollapsingHeader::new(RichText::new("Which hyperparameters matter").strong())
        .id_salt("study")
        .default_open(tuning)
        .show(ui, |ui| body(ui, table, &objective, ended, cache))
        .body_returned
        .flatten()
}

/// The section's body: the objective chosen, the chart, importance and scatters.
fn body(
    ui: &mut egui::Ui,
    table: &Comparison,
    objective: &str,
    ended: &std::collections::HashMap<String, f64>,
    cache: &mut CompareCache,
) -> Option<CompareAction> {
    let objective = objective.to_string();
    let study = importance::study(table, &objective);
    let mut action = None;
    ui.horizontal_wrapped(|ui| {
        ui.label("Against");
        let mut chosen = objective.clone();
        egui::ComboBox::new("study_objective", "")
            .selected_text(&chosen)
            .show_ui(ui, |ui| {
                for metric in &table.metrics {
                    ui.selectable_value(&mut chosen, metric.clone(), metric);
                }
            })
            .response
            .on_hover_text("The metric whose final values the hyperparameters are related to");
        if chosen != objective {
            cache.objective = Some(chosen);
            cache.brushes.clear();
        }
        if ui
            .small_button("Save as PNG…")
            .on_hover_text("The parallel-coordinates chart as it is drawn, as a PNG file")
            .clicked()
        {
            action = Some(CompareAction::Screenshot(parallel::KEY.into()));
        }
        if ui
            .small_button("Export importance CSV…")
            .on_hover_text("Each hyperparameter's importance, most important first")
            .clicked()
        {
            action = Some(CompareAction::Save(
                "importance.csv".into(),
                importance_csv(&study).into_bytes(),
            ));
        }
    });
    if study.axes.is_empty() {
        ui.label(RichText::new("These jobs' hyperparameters are all the same: there is nothing to relate to the objective.").weak());
        return action;
    }
    if study.lines.len() < 2 {
        ui.label(
            RichText::new(format!(
                "Fewer than two of these jobs have a final value of {objective} yet."
            ))
            .weak(),
        );
        return action;
    }
    let rect = parallel::show(ui, &study, &mut cache.brushes, &mut cache.brush_drag);
    cache.chart_rects.insert(parallel::KEY.into(), rect);
    let within = (0..study.lines.len())
        .filter(|&i| kept(&study, &cache.brushes, i))
        .count();
    ui.horizontal_wrapped(|ui| {
        let better = if study.lower_is_better { "lower" } else { "higher" };
        ui.label(RichText::new(format!(
            "{within} of {} jobs shown; the last axis: {objective}{}, {better} is better, the best at the top; colour: its rank",
            study.lines.len(),
            if study.log_objective { " (log)" } else { "" },
        )).weak());
        if !cache.brushes.is_empty() && ui.small_button("Clear brushes").clicked() {
            cache.brushes.clear();
        }
    });
    ui.add_space(6.0);
    over_time(ui, &study, ended);
    ui.add_space(6.0);
    importance_bars(ui, &study);
    ui.add_space(6.0);
    ui.horizontal_wrapped(|ui| {
        for (a, axis) in study.axes.iter().enumerate() {
            scatter(ui, &study, a, &axis.name, cache);
        }
    });
    ui.add_space(8.0);
    action
}

/// The objective over time: each job a point at its end, the best so far a line.
fn over_time(ui: &mut egui::Ui, study: &Study, ended: &std::collections::HashMap<String, f64>) {
    let points: Vec<(f64, f64, f64)> = study
        .lines
        .iter()
        .filter_map(|l| Some((*ended.get(&l.name)?, l.objective, l.rank)))
        .collect();
    let look = Objective {
        name: &study.objective,
        lower_is_better: study.lower_is_better,
        log: study.log_objective,
    };
    objective_over_time(ui, "study-over-time", &look, points);
}

/// An objective as a chart shows it.
pub struct Objective<'a> {
    pub name: &'a str,
    pub lower_is_better: bool,
    /// Drawn on a logarithmic scale.
    pub log: bool,
}

/// The objective over time: each job a point at its end (`(epoch seconds, value, rank)`,
/// the rank from 0, worst, to 1, best, for its colour), the best so far a line.
pub fn objective_over_time(
    ui: &mut egui::Ui,
    id: &str,
    objective: &Objective<'_>,
    mut points: Vec<(f64, f64, f64)>,
) {
    if points.len() < 2 {
        return;
    }
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Vec<[f64; 2]> = Vec::new();
    for &(x, y, _) in &points {
        let so_far = best.last().map(|b| b[1]);
        let better = so_far.is_none_or(|b| {
            if objective.lower_is_better {
                y < b
            } else {
                y > b
            }
        });
        best.push([x, if better { y } else { so_far.unwrap_or(y) }]);
    }
    ui.label(
        RichText::new(format!(
            "{} by the jobs' end, the best so far as a line",
            objective.name
        ))
        .small(),
    );
    // On a logarithmic objective the chart shows log10 values, as the metric charts do.
    let shown = |y: f64| if objective.log { y.log10() } else { y };
    let best: Vec<[f64; 2]> = best.into_iter().map(|[x, y]| [x, shown(y)]).collect();
    let plot = egui_plot::Plot::new(id)
        .height(150.0)
        .show_x(false)
        .show_y(false)
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false);
    super::super::axis::time_series(plot, super::super::axis::Clock::Wall, objective.log).show(
        ui,
        |plot_ui| {
            plot_ui.line(
                egui_plot::Line::new("best so far", egui_plot::PlotPoints::from(best))
                    .color(ui_accent()),
            );
            for (x, y, r) in &points {
                plot_ui.points(
                    egui_plot::Points::new("job", vec![[*x, shown(*y)]])
                        .radius(3.5)
                        .color(colour(*r)),
                );
            }
        },
    );
}

fn ui_accent() -> egui::Color32 {
    egui::Color32::from_gray(200)
}

/// Each hyperparameter's importance as a bar, most important first, with the method.
fn importance_bars(ui: &mut egui::Ui, study: &Study) {
    egui::Grid::new("importance")
        .num_columns(3)
        .spacing([10.0, 4.0])
        .show(ui, |ui| {
            for axis in ranked(study) {
                ui.label(&axis.name);
                let (rect, _) = ui.allocate_exact_size(vec2(160.0, 12.0), Sense::hover());
                ui.painter()
                    .rect_filled(rect, 2.0, ui.visuals().faint_bg_color);
                match axis.importance {
                    Some(v) => {
                        let bar = egui::Rect::from_min_size(
                            rect.min,
                            vec2(rect.width() * v as f32, rect.height()),
                        );
                        ui.painter()
                            .rect_filled(bar, 2.0, ui.visuals().selection.bg_fill);
                        ui.label(format!("{:.0} %", v * 100.0)).on_hover_text(
                            "of the objective's variance, explained by this one alone",
                        );
                    }
                    None => {
                        ui.label(RichText::new("— fewer than 3 jobs").weak());
                    }
                }
                ui.end_row();
            }
        });
    ui.label(
        RichText::new(format!("Importance: {METHOD}."))
            .small()
            .weak(),
    );
}

/// Hyperparameter `a` against the objective: a point per job, the best at the top.
fn scatter(ui: &mut egui::Ui, study: &Study, a: usize, name: &str, cache: &CompareCache) {
    ui.vertical(|ui| {
        ui.label(RichText::new(format!("{name} against {}", study.objective)).small());
        let (rect, response) = ui.allocate_exact_size(SCATTER, Sense::hover());
        let painter = ui.painter_at(rect);
        let weak = ui.visuals().weak_text_color();
        painter.rect_stroke(
            rect,
            2.0,
            Stroke::new(1.0, weak.gamma_multiply(0.4)),
            egui::StrokeKind::Inside,
        );
        let inner = rect.shrink(6.0);
        let mut nearest: Option<(f32, usize)> = None;
        for (i, line) in study.lines.iter().enumerate() {
            let Some(x) = line.positions[a] else { continue };
            let g = parallel::goodness(study, line.objective);
            let p = pos2(
                inner.left() + inner.width() * x as f32,
                inner.bottom() - inner.height() * g as f32,
            );
            let fill = if kept(study, &cache.brushes, i) {
                colour(line.rank)
            } else {
                weak.gamma_multiply(0.3)
            };
            painter.circle_filled(p, 3.0, fill);
            if let Some(pointer) = response.hover_pos() {
                let d = pointer.distance(p);
                if nearest.is_none_or(|(best, _)| d < best) {
                    nearest = Some((d, i));
                }
            }
        }
        let (low, high) = match &study.axes[a].scale {
            importance::Scale::Numeric { min, max, log } => (
                format_value(*min),
                format!("{}{}", format_value(*max), if *log { " (log)" } else { "" }),
            ),
            importance::Scale::Categorical { values } => (
                values.first().cloned().unwrap_or_default(),
                values.last().cloned().unwrap_or_default(),
            ),
        };
        let font = egui::FontId::proportional(10.5);
        painter.text(
            rect.left_bottom() + vec2(3.0, -2.0),
            egui::Align2::LEFT_BOTTOM,
            low,
            font.clone(),
            weak,
        );
        painter.text(
            rect.right_bottom() + vec2(-3.0, -2.0),
            egui::Align2::RIGHT_BOTTOM,
            high,
            font,
            weak,
        );
        if let Some((d, i)) = nearest
            && d < 12.0
        {
            let line = &study.lines[i];
            response.on_hover_text(format!(
                "{}\n{}: {}",
                line.name,
                study.objective,
                format_value(line.objective)
            ));
        }
    });
}
