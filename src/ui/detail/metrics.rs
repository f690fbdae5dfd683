//! Metrics: one live chart per metric, decimated per pixel, with smoothing, log scale,
//! hover values and reset zoom.

use egui::RichText;
use egui_plot::{HoverPosition, Line, Plot, PlotPoints};

use super::super::chart::Summarised;
use super::super::data::Data;
use super::super::drawn::{Drawn, Look};
use super::super::state::State;
use crate::job::parse_instance_series;

const CHART_HEIGHT: f32 = 220.0;

/// Draws the metrics tab.
pub fn show(ui: &mut egui::Ui, data: &Data, state: &mut State, drawn: &mut Drawn<String>) {
    let mut reset = false;
    ui.horizontal(|ui| reset = super::super::chart::controls(ui, state));
    ui.separator();
    if count(data) == 0 {
        let defined = data
            .detail
            .as_ref()
            .map_or(0, |d| d.request.metric_definitions().len());
        ui.label(
            RichText::new(if defined == 0 {
                "This job has no MetricDefinitions.".to_string()
            } else {
                format!("No metric points yet for {defined} metric definitions.")
            })
            .weak(),
        );
        return;
    }
    let Data {
        metrics,
        log_metrics,
        ..
    } = data;
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            let mut instance = Vec::new();
            let mut algorithm: Vec<(&String, &Summarised, Source)> = Vec::new();
            for (name, series) in metrics.iter() {
                if parse_instance_series(name).is_some() {
                    instance.push((name, series));
                } else if !log_metrics.contains_key(name) {
                    algorithm.push((name, series, Source::CloudWatch));
                }
            }
            for (name, series) in log_metrics.iter() {
                algorithm.push((name, series, Source::Log));
            }
            algorithm.sort_by(|a, b| a.0.cmp(b.0));
            for (name, series, source) in algorithm {
                chart(ui, name, series, state, reset, source, drawn);
            }
            if !instance.is_empty() {
                ui.add_space(8.0);
                ui.heading("Instance metrics");
                ui.label(
                    RichText::new("Per host, in percent, one point a minute from CloudWatch")
                        .weak(),
                );
                ui.add_space(4.0);
                for (name, series) in instance {
                    chart(ui, name, series, state, reset, Source::CloudWatch, drawn);
                }
            }
        });
}

/// The charts the tab shows: every series, a metric read from both the log and CloudWatch
/// counted once.
pub fn count(data: &Data) -> usize {
    data.metrics
        .keys()
        .filter(|name| !data.log_metrics.contains_key(*name))
        .count()
        + data.log_metrics.len()
}

/// Where a chart's points come from, said beside it and in its hover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The job's own store (local mode) or CloudWatch's `GetMetricData` (AWS).
    CloudWatch,
    /// The job's log lines matched with its `MetricDefinitions` as they are read.
    Log,
}

/// One chart.
pub fn chart(
    ui: &mut egui::Ui,
    name: &str,
    series: &Summarised,
    state: &State,
    reset: bool,
    source: Source,
    drawn: &mut Drawn<String>,
) {
    let last = series.points().last().map(|p| p[1]);
    ui.horizontal(|ui| {
        ui.label(RichText::new(name).strong());
        if let Some(v) = last {
            ui.label(RichText::new(format!("last {v:.5}")).weak());
        }
        ui.label(RichText::new(format!("{} points", series.received())).weak());
        if source == Source::Log {
            ui.label(RichText::new("from the log").weak())
                .on_hover_text("Read from the job's log lines with its MetricDefinitions as they arrive; CloudWatch has one point a minute");
        }
    });
    let log_scale = state.log_scale;
    let plot = Plot::new(("metric", name)).height(CHART_HEIGHT);
    let mut plot =
        super::super::axis::time_series(plot, super::super::axis::Clock::Wall, log_scale)
            .label_formatter(move |hover| {
                let p = match hover {
                    HoverPosition::NearDataPoint { position, .. } => position,
                    HoverPosition::Elsewhere { position } => position,
                };
                let t = super::super::axis::hover_time(p.x);
                let y = if log_scale { 10f64.powf(p.y) } else { p.y };
                let from = match source {
                    Source::Log => "\nfrom the log",
                    Source::CloudWatch => "",
                };
                Some(format!("{t}\n{y:.6}{from}"))
            });
    if reset {
        plot = plot.reset();
    }
    let width = ui.available_width().max(1.0) as usize;
    let smoothing = state.smoothing;
    plot.show(ui, |plot_ui| {
        let view = (!plot_ui.auto_bounds().x).then(|| {
            let bounds = plot_ui.plot_bounds();
            (bounds.min()[0], bounds.max()[0])
        });
        let look = Look {
            columns: width,
            smoothing,
            log_scale,
            offset: 0.0,
        };
        let points = drawn.points(name.to_string(), series, view, look);
        plot_ui.line(Line::new(name, PlotPoints::from(points)));
    });
    ui.add_space(8.0);
}
