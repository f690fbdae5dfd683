//! The Compare view: several jobs from any sources, one chart per metric with every job's
//! series overlaid, a table of their settings and final values, and exports (CSV, JSON,
//! each chart as PNG from the rendered frame).

pub mod chart;
mod parallel;
mod requests;
pub mod study;
mod table;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use egui::RichText;

use super::data::Data;
use super::state::{CompareAxis, State};
use super::theme;
use crate::job::JobRef;
use crate::job::compare::{ComparedJob, Comparison};

/// A chart image taken from the frame, waiting for its file name: `(metric, PNG bytes)`.
pub type Shot = Arc<Mutex<Option<(String, Result<Vec<u8>, String>)>>>;

/// What the view keeps between frames.
#[derive(Default)]
pub struct CompareCache {
    /// Column the table is sorted by, and ascending.
    pub sort: Option<(usize, bool)>,
    /// Where each chart was drawn last frame, for PNG export.
    pub chart_rects: BTreeMap<String, egui::Rect>,
    /// The height each chart took when last drawn, kept for it while it is out of view.
    pub chart_heights: BTreeMap<String, f32>,
    /// A chart image on its way from the renderer.
    pub shot: Shot,
    /// The charts' points as drawn, by job and metric.
    pub drawn: super::drawn::Drawn<(JobRef, String)>,
    /// The metric the hyperparameters are related to (else the tuning objective or the
    /// first metric).
    pub objective: Option<String>,
    /// The parallel-coordinates chart's brushes, and the one being drawn.
    pub brushes: parallel::Brushes,
    pub brush_drag: Option<(String, f64)>,
}

/// What the view asks the app to do.
pub enum CompareAction {
    /// Close the view.
    Close,
    /// Show this job's detail.
    Select(JobRef),
    /// Save text to a file: the suggested file name and the contents.
    Save(String, Vec<u8>),
    /// Take this chart from the next frame.
    Screenshot(String),
}

/// The comparison table of what the window knows about the compared jobs.
pub fn comparison(data: &Data, jobs: &[JobRef]) -> Comparison {
    let rows = jobs
        .iter()
        .filter_map(|job| {
            let compared = data.compared.get(job)?;
            let detail = compared.detail.as_ref()?;
            let last: BTreeMap<String, f64> = compared
                .metrics
                .iter()
                .filter(|(name, _)| crate::job::parse_instance_series(name).is_none())
                .filter_map(|(name, s)| Some((name.clone(), s.points().last()?[1])))
                .collect();
            let cost = data
                .estimate(job, detail.summary.status, None)
                .and_then(|e| e.usd());
            Some(ComparedJob::new(job.source.source_label(), detail, &last).with_cost(cost))
        })
        .collect();
    Comparison::new(rows)
}

/// Draws the view.
pub fn show(
    ui: &mut egui::Ui,
    data: &Data,
    state: &mut State,
    cache: &mut CompareCache,
) -> Vec<CompareAction> {
    let mut actions = Vec::new();
    let jobs = state.compare.clone();
    let table = comparison(data, &jobs);
    let mut reset = false;
    ui.horizontal(|ui| {
        ui.heading(RichText::new(format!("Comparing {} jobs", jobs.len())).strong());
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .button("✖ Close")
                .on_hover_text("Back to the job detail")
                .clicked()
            {
                actions.push(CompareAction::Close);
            }
            if ui
                .button("Export JSON…")
                .on_hover_text("The whole comparison; `sagedesk compare FILE.json` prints it")
                .clicked()
            {
                let json = serde_json::to_vec_pretty(&table).expect("a comparison serializes");
                actions.push(CompareAction::Save("comparison.json".into(), json));
            }
            if ui
                .button("Export CSV…")
                .on_hover_text("The table, one line per job")
                .clicked()
            {
                actions.push(CompareAction::Save(
                    "comparison.csv".into(),
                    table.to_csv().into_bytes(),
                ));
            }
        });
    });
    // Wraps on a narrow window rather than widening the view past it.
    ui.horizontal_wrapped(|ui| {
        ui.label("X axis");
        ui.selectable_value(
            &mut state.compare_axis,
            CompareAxis::SinceStart,
            "Since training started",
        )
        .on_hover_text("Each job's time from its training start, so runs line up");
        ui.selectable_value(
            &mut state.compare_axis,
            CompareAxis::WallClock,
            "Wall clock",
        );
        ui.separator();
        reset = super::chart::controls(ui, state);
    });
    ui.separator();
    // The table scrolls sideways on its own; the charts keep the panel's width.
    let width = ui.available_width();
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            ui.set_max_width(width);
            if let Some(job) = table::show(ui, &table, &jobs, cache, width) {
                actions.push(CompareAction::Select(job));
            }
            ui.add_space(8.0);
            requests::show(ui, data, &jobs);
            let ended = ends(data, &jobs);
            if let Some(a) = study::show(ui, &table, &ended, cache) {
                actions.push(a);
            }
            let metrics = metric_names(data, &jobs);
            if metrics.is_empty() {
                ui.label(RichText::new("None of these jobs has metric points yet.").weak());
            }
            for metric in metrics {
                // A chart out of view is not drawn: its room is kept as it took last time.
                let top = ui.cursor().min.y;
                if let Some(&height) = cache.chart_heights.get(&metric)
                    && !reset
                    && !ui.is_rect_visible(egui::Rect::from_min_size(
                        ui.cursor().min,
                        egui::vec2(width, height),
                    ))
                {
                    ui.add_space(height);
                    continue;
                }
                if let Some(a) = chart::show(ui, data, &jobs, &metric, state, cache, reset) {
                    actions.push(a);
                }
                cache.chart_heights.insert(metric, ui.cursor().min.y - top);
            }
        });
    actions
}

/// Each compared job's end (its creation while it runs), in epoch seconds, by name.
fn ends(data: &Data, jobs: &[JobRef]) -> std::collections::HashMap<String, f64> {
    jobs.iter()
        .filter_map(|j| {
            let summary = &data.compared.get(j)?.detail.as_ref()?.summary;
            let at = summary.end_time.unwrap_or(summary.creation_time);
            Some((j.name.clone(), at.timestamp_millis() as f64 / 1000.0))
        })
        .collect()
}

/// Every algorithm metric any compared job has, sorted.
fn metric_names(data: &Data, jobs: &[JobRef]) -> Vec<String> {
    let mut names: Vec<String> = jobs
        .iter()
        .filter_map(|j| data.compared.get(j))
        .flat_map(|c| c.metrics.keys())
        .filter(|name| crate::job::parse_instance_series(name).is_none())
        .cloned()
        .collect();
    names.sort();
    names.dedup();
    names
}

/// A coloured swatch and a job's name (with its source when not local) as one label, so
/// that a wrapped legend keeps them together.
fn legend_entry(ui: &mut egui::Ui, i: usize, job: &JobRef, note: Option<&str>) -> egui::Response {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let text_colour = if note.is_some() {
        ui.visuals().weak_text_color()
    } else {
        ui.visuals().text_color()
    };
    let mut layout = egui::text::LayoutJob::default();
    layout.append(
        "■ ",
        0.0,
        egui::TextFormat::simple(font.clone(), theme::series_color(i)),
    );
    let name = match note {
        Some(note) => format!("{job} ({note})"),
        None => job.to_string(),
    };
    layout.append(&name, 0.0, egui::TextFormat::simple(font, text_colour));
    ui.add(egui::Label::new(layout).wrap_mode(egui::TextWrapMode::Extend))
}

/// Encodes an RGBA image as PNG.
pub fn encode_png(image: &egui::ColorImage) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let [w, h] = image.size;
    let mut encoder = png::Encoder::new(&mut out, w as u32, h as u32);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    writer.write_image_data(&bytes).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::encode_png;

    #[test]
    fn charts_encode_as_png_of_their_size() {
        let image = egui::ColorImage::new([3, 2], vec![egui::Color32::RED; 6]);
        let png = encode_png(&image).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(info.color_type, png::ColorType::Rgba);
    }
}
