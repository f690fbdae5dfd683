//! Logs: virtualised lines, follow mode, search with highlight, host selector, timestamps
//! and wrap toggles, copy.

use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, FontId, RichText};

use super::super::data::Data;
use super::super::state::State;
use crate::job::{Stream, timestamp};

/// The filtered line indices, recomputed only when lines, search or host change.
#[derive(Default)]
pub struct LogCache {
    key: Option<(usize, usize, String, Option<String>)>,
    indices: Vec<usize>,
    /// Host filter.
    pub host: Option<String>,
    /// Search text.
    pub search: String,
}

impl LogCache {
    fn update(&mut self, data: &Data) {
        let first = data.logs.first().map_or(0, |l| l.id as usize);
        let key = (
            data.logs.len(),
            first,
            self.search.clone(),
            self.host.clone(),
        );
        if self.key.as_ref() == Some(&key) {
            return;
        }
        let needle = self.search.to_lowercase();
        self.indices = data
            .logs
            .iter()
            .enumerate()
            .filter(|(_, l)| self.host.as_ref().is_none_or(|h| &l.host == h))
            .filter(|(_, l)| needle.is_empty() || l.text.to_lowercase().contains(&needle))
            .map(|(i, _)| i)
            .collect();
        self.key = Some(key);
    }
}

/// Draws the logs tab.
pub fn show(ui: &mut egui::Ui, data: &Data, state: &mut State, cache: &mut LogCache) {
    ui.horizontal(|ui| {
        ui.checkbox(&mut state.follow_logs, "Follow");
        ui.checkbox(&mut state.log_timestamps, "Timestamps");
        ui.checkbox(&mut state.wrap_logs, "Wrap");
        egui::ComboBox::new("log_host", "Host")
            .selected_text(cache.host.as_deref().unwrap_or("All hosts"))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut cache.host, None, "All hosts");
                for host in &data.hosts {
                    ui.selectable_value(&mut cache.host, Some(host.clone()), host);
                }
            });
        let label = ui.label("Find");
        ui.add(
            egui::TextEdit::singleline(&mut cache.search)
                .hint_text("text in lines")
                .desired_width(200.0),
        )
        .labelled_by(label.id);
        cache.update(data);
        if ui
            .button("📋 Copy")
            .on_hover_text("Copy the lines shown")
            .clicked()
        {
            let text: Vec<String> = cache
                .indices
                .iter()
                .map(|&i| line_text(data, i, state.log_timestamps))
                .collect();
            ui.ctx().copy_text(text.join("\n"));
        }
        ui.label(RichText::new(format!("{} lines", cache.indices.len())).weak());
    });
    ui.separator();
    if data.logs.is_empty() {
        ui.label(RichText::new("No log lines yet.").weak());
        return;
    }
    let font = FontId::monospace(12.5);
    let row_height = ui.fonts_mut(|f| f.row_height(&font));
    let scroll = egui::ScrollArea::both()
        .auto_shrink(false)
        .stick_to_bottom(state.follow_logs);
    let highlight = cache.search.to_lowercase();
    let show_line = |ui: &mut egui::Ui, i: usize| {
        let job = line_job(
            data,
            i,
            state.log_timestamps,
            &highlight,
            &font,
            ui.visuals(),
        );
        let mut label = egui::Label::new(job).selectable(true);
        if !state.wrap_logs {
            label = label.extend();
        }
        ui.add(label);
    };
    if state.wrap_logs {
        // Wrapped lines differ in height: show them all (the filter keeps this bounded).
        scroll.show(ui, |ui| {
            for &i in &cache.indices {
                show_line(ui, i);
            }
        });
    } else {
        scroll.show_rows(ui, row_height, cache.indices.len(), |ui, range| {
            for &i in &cache.indices[range] {
                show_line(ui, i);
            }
        });
    }
}

fn line_text(data: &Data, i: usize, timestamps: bool) -> String {
    let line = &data.logs[i];
    if timestamps {
        format!("{} {} {}", timestamp(line.timestamp), line.host, line.text)
    } else {
        format!("{} {}", line.host, line.text)
    }
}

fn line_job(
    data: &Data,
    i: usize,
    timestamps: bool,
    needle: &str,
    font: &FontId,
    visuals: &egui::Visuals,
) -> LayoutJob {
    let line = &data.logs[i];
    let mut job = LayoutJob::default();
    let weak = TextFormat::simple(font.clone(), visuals.weak_text_color());
    if timestamps {
        job.append(
            &format!("{} ", timestamp(line.timestamp)),
            0.0,
            weak.clone(),
        );
    }
    job.append(&format!("{} ", line.host), 0.0, weak);
    let color = match line.stream {
        Stream::Stdout => visuals.text_color(),
        Stream::Stderr => Color32::from_rgb(0xe0, 0x7b, 0x53),
    };
    let normal = TextFormat::simple(font.clone(), color);
    if needle.is_empty() {
        job.append(&line.text, 0.0, normal);
        return job;
    }
    let lower = line.text.to_lowercase();
    let mut pos = 0;
    // Lower-casing keeps byte offsets for ASCII; fall back to no highlight otherwise.
    if lower.len() != line.text.len() {
        job.append(&line.text, 0.0, normal);
        return job;
    }
    while let Some(found) = lower[pos..].find(needle) {
        let start = pos + found;
        let end = start + needle.len();
        job.append(&line.text[pos..start], 0.0, normal.clone());
        let mut hit = normal.clone();
        hit.background = Color32::from_rgb(0xf5, 0xd0, 0x4c);
        hit.color = Color32::BLACK;
        job.append(&line.text[start..end], 0.0, hit);
        pos = end;
    }
    job.append(&line.text[pos..], 0.0, normal);
    job
}
