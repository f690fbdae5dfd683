//! Overview: failure reason, key facts, the secondary-status timeline, and every
//! DescribeTrainingJob member as a tree.

use egui::{Color32, RichText, Sense, Stroke, vec2};
use serde_json::Value;

use super::super::data::Data;
use super::super::masked;
use super::super::theme;
use crate::job::{SecondaryStatus, format_duration, local_time, secret};

fn stage_color(status: SecondaryStatus) -> Color32 {
    match status {
        SecondaryStatus::Starting => Color32::from_rgb(0x7b, 0x61, 0xc9),
        SecondaryStatus::Downloading => Color32::from_rgb(0x2b, 0xa8, 0xb8),
        SecondaryStatus::Training => Color32::from_rgb(0x3b, 0x8e, 0xea),
        SecondaryStatus::Uploading => Color32::from_rgb(0x5a, 0xb8, 0x6b),
        SecondaryStatus::Completed => Color32::from_rgb(0x2e, 0xa0, 0x43),
        SecondaryStatus::Failed => Color32::from_rgb(0xd9, 0x3f, 0x3f),
        SecondaryStatus::Stopping
        | SecondaryStatus::Stopped
        | SecondaryStatus::MaxRuntimeExceeded => Color32::from_rgb(0xe0, 0x9b, 0x2d),
        SecondaryStatus::Other => Color32::GRAY,
    }
}

/// Draws the overview tab: a failed or stopped job's diagnosis first.
pub fn show(
    ui: &mut egui::Ui,
    data: &Data,
    job: &crate::job::JobRef,
) -> Option<super::DetailAction> {
    let detail = data.detail.as_ref()?;
    let now = chrono::Utc::now();
    let mut action = None;
    egui::ScrollArea::vertical()
        .auto_shrink(false)
        .show(ui, |ui| {
            if let Some(diagnosis) = &data.diagnosis {
                action = super::diagnosis::show(ui, diagnosis);
            }
            if let Some(reason) = &detail.failure_reason {
                theme::error_frame().show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.label(RichText::new("FailureReason").strong());
                    ui.add(egui::Label::new(RichText::new(reason).monospace()).selectable(true));
                });
                ui.add_space(8.0);
            }
            egui::Grid::new("facts")
                .num_columns(2)
                .spacing([24.0, 6.0])
                .show(ui, |ui| {
                    let s = &detail.summary;
                    let fact = |ui: &mut egui::Ui, k: &str, v: String| {
                        ui.label(RichText::new(k).weak());
                        ui.add(egui::Label::new(v).selectable(true));
                        ui.end_row();
                    };
                    fact(ui, "TrainingJobArn", s.arn.clone());
                    fact(ui, "CreationTime", local_time(s.creation_time));
                    if let Some(t) = detail.training_start_time {
                        fact(ui, "TrainingStartTime", local_time(t));
                    }
                    if let Some(t) = s.end_time {
                        fact(ui, "TrainingEndTime", local_time(t));
                    }
                    fact(ui, "Duration", format_duration(s.duration(now)));
                    if let Some(secs) = detail.training_time_seconds {
                        fact(ui, "TrainingTimeInSeconds", secs.to_string());
                    }
                    if let Some(secs) = detail.billable_time_seconds {
                        fact(ui, "BillableTimeInSeconds", secs.to_string());
                    }
                    if let Some(savings) = detail.billing().spot_savings() {
                        fact(
                            ui,
                            "Managed spot savings",
                            format!("{:.0} %", savings * 100.0),
                        );
                    }
                    if let Some(cost) = cost(data, detail, job) {
                        fact(ui, "Estimated cost", cost);
                    }
                    if let Some(pool) = detail
                        .service_response
                        .as_ref()
                        .and_then(|r| r.get("WarmPoolStatus"))
                    {
                        let status = pool["Status"].as_str().unwrap_or("?");
                        let retained = pool["ResourceRetainedBillableTimeInSeconds"]
                            .as_i64()
                            .map(|s| format!(", {s} s billed while retained"))
                            .unwrap_or_default();
                        let reused = pool["ReusedByJob"]
                            .as_str()
                            .map(|j| format!(", reused by {j}"))
                            .unwrap_or_default();
                        fact(ui, "WarmPoolStatus", format!("{status}{retained}{reused}"));
                    }
                    if let Some(uri) = &detail.model_artifacts {
                        fact(ui, "ModelArtifacts", uri.clone());
                    }
                    for m in &detail.final_metrics {
                        fact(ui, &m.name, format!("{}", m.value));
                    }
                });
            ui.add_space(12.0);
            ui.label(RichText::new("Secondary status").strong());
            timeline(ui, data, now);
            ui.add_space(12.0);
            ui.label(RichText::new("DescribeTrainingJob").strong());
            if let Some(describe) = &data.describe {
                tree(ui, "", "", describe, 0);
            }
        });
    action
}

/// A bar with one segment per stage, as wide as its share of the time, and a table below.
fn timeline(ui: &mut egui::Ui, data: &Data, now: chrono::DateTime<chrono::Utc>) {
    let Some(detail) = data.detail.as_ref() else {
        return;
    };
    // An open stage of an ended job is its final state: it has no duration.
    let ended = detail.summary.status.is_terminal();
    let spans: Vec<(
        SecondaryStatus,
        Option<f64>,
        &str,
        chrono::DateTime<chrono::Utc>,
    )> = detail
        .transitions
        .iter()
        .map(|t| {
            let end = t.end_time.or((!ended).then_some(now));
            let secs =
                end.map(|end| (end - t.start_time).num_milliseconds().max(0) as f64 / 1000.0);
            (t.status, secs, t.message.as_str(), t.start_time)
        })
        .collect();
    // Within what is in view: the tab scrolls sideways for long values.
    let visible = ui.clip_rect().right() - ui.cursor().left() - 8.0;
    let width = ui.available_width().min(visible).clamp(60.0, 900.0);
    let (rect, _) = ui.allocate_exact_size(vec2(width, 14.0), Sense::hover());
    let painter = ui.painter_at(rect);
    let secs: Vec<f64> = spans.iter().map(|s| s.1.unwrap_or(0.0)).collect();
    let mut x = rect.left();
    for ((status, span, message, _), w) in spans.iter().zip(segment_widths(&secs, width)) {
        let seg = egui::Rect::from_min_size(egui::pos2(x, rect.top()), vec2(w, rect.height()));
        painter.rect_filled(seg, 2.0, stage_color(*status));
        let took = span.map_or_else(|| "the job's final state".to_string(), stage_time);
        ui.interact(seg, ui.scope_id().with(("stage", x as i64)), Sense::hover())
            .on_hover_text(format!("{status}: {took}\n{message}"));
        x += w;
    }
    painter.rect_stroke(
        rect,
        2.0,
        Stroke::new(1.0, ui.visuals().weak_text_color()),
        egui::StrokeKind::Inside,
    );
    egui::Grid::new("transitions")
        .num_columns(5)
        .striped(true)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for (status, span, message, start) in &spans {
                ui.label(RichText::new("■").color(stage_color(*status)));
                ui.label(status.as_str());
                ui.label(local_time(*start));
                ui.label(span.map_or_else(|| "—".to_string(), stage_time));
                ui.label(RichText::new(*message).weak());
                ui.end_row();
            }
        });
}

/// How long a stage took: tenths of a second under a minute, else `3m05s`.
fn stage_time(secs: f64) -> String {
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        format_duration(chrono::Duration::milliseconds((secs * 1000.0) as i64))
    }
}

/// The widths of the timeline's segments: each at least a few points so that a short stage
/// stays visible, the rest shared by duration; together exactly `width`.
fn segment_widths(secs: &[f64], width: f32) -> Vec<f32> {
    if secs.is_empty() {
        return Vec::new();
    }
    let min = (3.0_f32).min(width / secs.len() as f32);
    let room = width - min * secs.len() as f32;
    let total: f64 = secs.iter().sum();
    secs.iter()
        .map(|s| {
            let share = if total > 0.0 {
                (s / total) as f32
            } else {
                1.0 / secs.len() as f32
            };
            min + room * share
        })
        .collect()
}

/// Every member of a JSON value, objects and arrays as collapsible sections; secret values
/// of `Environment` and `HyperParameters` (the `parent`) masked until clicked.
fn tree(ui: &mut egui::Ui, parent: &str, name: &str, value: &Value, depth: usize) {
    match value {
        Value::Object(map) => {
            let body = |ui: &mut egui::Ui| {
                for (k, v) in map {
                    tree(ui, name, k, v, depth + 1);
                }
            };
            if depth == 0 {
                body(ui);
            } else {
                egui::CollapsingHeader::new(RichText::new(name).strong())
                    .id_salt((name, depth, map.len()))
                    .default_open(depth < 2)
                    .show(ui, body);
            }
        }
        Value::Array(items) => {
            egui::CollapsingHeader::new(
                RichText::new(format!("{name} [{}]", items.len())).strong(),
            )
            .id_salt((name, depth, items.len()))
            .default_open(depth < 2 && items.len() <= 8)
            .show(ui, |ui| {
                for (i, item) in items.iter().enumerate() {
                    tree(ui, name, &format!("[{i}]"), item, depth + 1);
                }
            });
        }
        leaf => {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(name).weak());
                let text = match leaf {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                if depth == 2 && secret::MEMBERS.contains(&parent) && secret::is_secret_key(name) {
                    let id = ui.make_persistent_id(("reveal", parent, name));
                    masked::secret_label(ui, id, &text);
                } else {
                    ui.add(egui::Label::new(RichText::new(text).monospace()).selectable(true));
                }
            });
        }
    }
}

/// What an AWS job costs: instance count × billable hours × the on-demand price of its
/// instance type in its region, or why that is not known.
fn cost(data: &Data, detail: &crate::job::JobDetail, job: &crate::job::JobRef) -> Option<String> {
    if !job.source.is_aws() {
        return None;
    }
    let billing = detail.billing();
    let (instance_type, count) = billing.billed_instances()?;
    let price = match data.price(&job.source, instance_type) {
        None => return Some("reading the Price List…".into()),
        Some(Err(why)) => return Some(format!("not known: the Price List answered {why}")),
        Some(Ok(price)) => price,
    };
    Some(match billing.estimated_cost(price) {
        Some(usd) => format!(
            "${usd:.2} ({count} × {instance_type} × {:.2} h at ${}/h on demand in {}, Price \
             List of {})",
            detail.billable_time_seconds.unwrap_or_default() as f64 / 3600.0,
            price.usd_per_hour,
            price.region,
            price.date
        ),
        None => format!(
            "not known until the service reports the billable time (${}/h for {instance_type})",
            price.usd_per_hour
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_fills_its_width_and_shares_it_by_duration() {
        let widths = segment_widths(&[10.0, 0.0, 30.0], 400.0);
        assert!(
            (widths.iter().sum::<f32>() - 400.0).abs() < 0.01,
            "{widths:?}"
        );
        assert_eq!(widths[1], 3.0, "a stage of no time stays visible");
        assert!(
            (widths[2] - 3.0) / (widths[0] - 3.0) - 3.0 < 0.001,
            "{widths:?}"
        );
        // More stages than room for their minimum: still within the width.
        let narrow = segment_widths(&[1.0; 50], 100.0);
        assert!(narrow.iter().sum::<f32>() <= 100.01);
        assert!(segment_widths(&[], 100.0).is_empty());
        assert_eq!(stage_time(12.34), "12.3 s");
        assert_eq!(stage_time(185.0), "3m05s");
    }
}
