//! One metric's chart in the Compare view: every job's series overlaid in its colour, on
//! wall-clock time or on time since each job's training started; a hover shows every
//! job's value at that x.

use egui::RichText;
use egui_plot::{Line, Plot, PlotPoints};

use super::super::axis::{self, Clock};
use super::super::chart::Summarised;
use super::super::data::Data;
use super::super::drawn::Look;
use super::super::state::{CompareAxis, State};
use super::super::theme;
use super::{CompareAction, CompareCache, legend_entry};
use crate::job::JobRef;
use crate::job::compare::format_value;

const CHART_HEIGHT: f32 = 240.0;

/// Where job `job`'s x = 0 is, in epoch seconds: its training start on the "since start"
/// axis (the first Training transition, else its creation), 0 on the wall clock.
fn origin(data: &Data, job: &JobRef, axis: CompareAxis) -> f64 {
    if axis == CompareAxis::WallClock {
        return 0.0;
    }
    let Some(detail) = data.compared.get(job).and_then(|c| c.detail.as_ref()) else {
        return 0.0;
    };
    let start = detail
        .training_start_time
        .or_else(|| {
            detail
                .transitions
                .iter()
                .find(|t| t.status == crate::job::SecondaryStatus::Training)
                .map(|t| t.start_time)
        })
        .unwrap_or(detail.summary.creation_time);
    start.timestamp_millis() as f64 / 1000.0
}

/// The raw value of `series` at or just before `x` (epoch seconds).
fn value_at(series: &Summarised, x: f64) -> Option<f64> {
    let all = series.points();
    let i = all.partition_point(|p| p[0] <= x);
    all.get(i.checked_sub(1)?).map(|p| p[1])
}

/// The id of `metric`'s chart, where egui_plot keeps its bounds.
pub fn plot_id(metric: &str) -> egui::Id {
    egui::Id::unique("compare-chart").with(metric)
}

/// Draws one metric's chart; an export asked for.
pub fn show(
    ui: &mut egui::Ui,
    data: &Data,
    jobs: &[JobRef],
    metric: &str,
    state: &State,
    cache: &mut CompareCache,
    reset: bool,
) -> Option<CompareAction> {
    let mut action = None;
    let axis = state.compare_axis;
    let offsets: Vec<f64> = jobs.iter().map(|j| origin(data, j, axis)).collect();
    ui.horizontal(|ui| {
        ui.label(RichText::new(metric).strong());
        if ui
            .small_button("Save PNG…")
            .on_hover_text("This chart as it is drawn, as a PNG file")
            .clicked()
        {
            action = Some(CompareAction::Screenshot(metric.to_string()));
        }
    });
    ui.horizontal_wrapped(|ui| {
        for (i, job) in jobs.iter().enumerate() {
            let has = data
                .compared
                .get(job)
                .and_then(|c| c.metrics.get(metric))
                .is_some_and(|s| !s.points().is_empty());
            legend_entry(ui, i, job, (!has).then_some("no points"));
        }
    });
    let log_scale = state.log_scale;
    let clock = match axis {
        CompareAxis::SinceStart => Clock::Elapsed,
        CompareAxis::WallClock => Clock::Wall,
    };
    let plot = Plot::new(("compare", metric))
        .id(plot_id(metric))
        .height(CHART_HEIGHT)
        .show_x(false)
        .show_y(false);
    let mut plot = axis::time_series(plot, clock, log_scale);
    if reset {
        plot = plot.reset();
    }
    let columns = ui.available_width().max(1.0) as usize;
    let response = plot.show(ui, |plot_ui| {
        let auto = plot_ui.auto_bounds().x;
        let bounds = plot_ui.plot_bounds();
        let view = (!auto).then(|| (bounds.min()[0], bounds.max()[0]));
        for (i, job) in jobs.iter().enumerate() {
            let Some(series) = data.compared.get(job).and_then(|c| c.metrics.get(metric)) else {
                continue;
            };
            let look = Look {
                columns,
                smoothing: state.smoothing,
                log_scale: state.log_scale,
                offset: offsets[i],
            };
            let range = view.map(|(lo, hi)| (lo + offsets[i], hi + offsets[i]));
            let key = (job.clone(), metric.to_string());
            let shown = cache.drawn.points(key, series, range, look);
            plot_ui.line(
                Line::new(job.to_string(), PlotPoints::from(shown)).color(theme::series_color(i)),
            );
        }
        plot_ui
            .pointer_coordinate()
            .filter(|_| plot_ui.response().hovered())
    });
    // The hover line is painted over the chart, not added to it: an item at the pointer
    // would count toward the bounds and widen them frame after frame.
    if let Some(p) = response.inner {
        let x = response.transform.position_from_point_x(p.x);
        let frame = response.transform.frame();
        if frame.x_range().contains(x) {
            ui.painter_at(*frame)
                .vline(x, frame.y_range(), (1.0, ui_weak()));
        }
    }
    cache
        .chart_rects
        .insert(metric.to_string(), response.response.rect);
    if let Some(p) = response.inner
        && response.response.hovered()
    {
        response.response.on_hover_ui_at_pointer(|ui| {
            ui.label(match axis {
                CompareAxis::SinceStart => format!("{} since start", axis::elapsed(p.x, 0)),
                CompareAxis::WallClock => axis::hover_time(p.x),
            });
            for (i, job) in jobs.iter().enumerate() {
                let value = data
                    .compared
                    .get(job)
                    .and_then(|c| c.metrics.get(metric))
                    .and_then(|s| value_at(s, p.x + offsets[i]));
                ui.horizontal(|ui| {
                    ui.label(RichText::new("■").color(theme::series_color(i)));
                    ui.label(job.to_string());
                    ui.label(
                        RichText::new(value.map(format_value).unwrap_or_else(|| "—".into()))
                            .strong(),
                    );
                });
            }
        });
    }
    ui.add_space(8.0);
    action
}

fn ui_weak() -> egui::Color32 {
    egui::Color32::from_gray(140)
}
