//! Logs: virtualised lines (wrapped ones too), follow mode, search with highlight, host
//! selector, timestamps and wrap toggles, copy.

use std::ops::Range;

use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, FontId, RichText};

use super::super::data::Data;
use super::super::state::State;
use crate::job::text::Needle;
use crate::job::{LogLine, Stream, timestamp};

/// The filtered line indices, recomputed only when lines, search or host change.
#[derive(Default)]
pub struct LogCache {
    key: Option<(usize, usize, String, Option<String>)>,
    indices: Vec<usize>,
    wrap: WrapIndex,
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
        let same_filter = self
            .key
            .as_ref()
            .is_some_and(|k| (k.1, &k.2, &k.3) == (key.1, &key.2, &key.3));
        let needle = Needle::new(&self.search);
        self.indices = data
            .logs
            .iter()
            .enumerate()
            .filter(|(_, l)| self.host.as_ref().is_none_or(|h| &l.host == h))
            .filter(|(_, l)| needle.is_empty() || needle.is_in(&l.text))
            .map(|(i, _)| i)
            .collect();
        if !same_filter {
            // The filtered lines are not the old ones plus new ones: wrap them anew.
            self.wrap = WrapIndex::default();
        }
        self.key = Some(key);
    }
}

/// Where each filtered line starts in rows of wrapped text, for one width.
///
/// Log text is monospace, so a line's row count is its character count over the columns
/// that fit: the whole log scrolls as fixed-height rows and only visible ones are laid out.
#[derive(Default)]
struct WrapIndex {
    /// Columns and timestamp setting the rows were counted for.
    key: (usize, bool),
    /// `starts[i]` is the first row of filtered line `i`; one more entry holds the total.
    starts: Vec<usize>,
}

impl WrapIndex {
    fn update(&mut self, data: &Data, indices: &[usize], columns: usize, timestamps: bool) {
        if self.key != (columns, timestamps) || self.starts.len() > indices.len() + 1 {
            self.key = (columns, timestamps);
            self.starts.clear();
        }
        if self.starts.is_empty() {
            self.starts.push(0);
        }
        let mut total = *self.starts.last().expect("never empty");
        for &i in &indices[self.starts.len() - 1..] {
            total += row_count(&display_text(&data.logs[i], timestamps), columns);
            self.starts.push(total);
        }
    }

    fn rows(&self) -> usize {
        self.starts.last().copied().unwrap_or(0)
    }

    /// The filtered line holding `row`.
    fn line_at(&self, row: usize) -> usize {
        self.starts.partition_point(|&s| s <= row).saturating_sub(1)
    }
}

fn row_count(text: &str, columns: usize) -> usize {
    let chars = if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    };
    chars.div_ceil(columns.max(1)).max(1)
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
                .map(|&i| display_text(&data.logs[i], state.log_timestamps))
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
    let (row_height, char_width) =
        ui.fonts_mut(|f| (f.row_height(&font), f.glyph_width(&font, 'M')));
    let scroll = egui::ScrollArea::both()
        .auto_shrink(false)
        .stick_to_bottom(state.follow_logs);
    let needle = Needle::new(&cache.search);
    let style = LineStyle {
        font,
        visuals: ui.visuals().clone(),
        timestamps: state.log_timestamps,
    };
    if state.wrap_logs {
        let width = ui.available_width() - ui.spacing().scroll.bar_width - 4.0;
        let columns = ((width / char_width.max(1.0)) as usize).max(20);
        cache
            .wrap
            .update(data, &cache.indices, columns, state.log_timestamps);
        let wrap = &cache.wrap;
        scroll.show_rows(ui, row_height, wrap.rows(), |ui, rows| {
            let mut line = wrap.line_at(rows.start);
            while line < cache.indices.len() && wrap.starts[line] < rows.end {
                let log = &data.logs[cache.indices[line]];
                let text = display_text(log, style.timestamps);
                let hits = text_hits(&needle, log, &text);
                let chunks = chunks(&text, columns);
                let first = wrap.starts[line];
                for (k, chunk) in chunks.into_iter().enumerate() {
                    if (first + k) >= rows.start && (first + k) < rows.end {
                        let job = style.layout(log, &text, chunk, &hits);
                        ui.add(egui::Label::new(job).selectable(true).extend());
                    }
                }
                line += 1;
            }
        });
    } else {
        scroll.show_rows(ui, row_height, cache.indices.len(), |ui, range| {
            for &i in &cache.indices[range] {
                let log = &data.logs[i];
                let text = display_text(log, style.timestamps);
                let hits = text_hits(&needle, log, &text);
                let job = style.layout(log, &text, 0..text.len(), &hits);
                ui.add(egui::Label::new(job).selectable(true).extend());
            }
        });
    }
}

/// A line as shown and copied: `[timestamp] host text`.
fn display_text(line: &LogLine, timestamps: bool) -> String {
    if timestamps {
        format!("{} {} {}", timestamp(line.timestamp), line.host, line.text)
    } else {
        format!("{} {}", line.host, line.text)
    }
}

/// The search hits in a line's own text, as ranges of its display text.
fn text_hits(needle: &Needle, line: &LogLine, display: &str) -> Vec<Range<usize>> {
    let offset = display.len() - line.text.len();
    needle
        .find_all(&line.text)
        .into_iter()
        .map(|r| r.start + offset..r.end + offset)
        .collect()
}

/// The byte ranges of `text` holding `columns` characters each (the last may hold fewer).
fn chunks(text: &str, columns: usize) -> Vec<Range<usize>> {
    let columns = columns.max(1);
    let mut out = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (i, _) in text.char_indices() {
        if count == columns {
            out.push(start..i);
            start = i;
            count = 0;
        }
        count += 1;
    }
    out.push(start..text.len());
    out
}

/// How lines are drawn.
struct LineStyle {
    font: FontId,
    visuals: egui::Visuals,
    timestamps: bool,
}

impl LineStyle {
    /// The part `range` of `text` (the display text of `line`), with the prefix weak and
    /// the search hits highlighted.
    fn layout(
        &self,
        line: &LogLine,
        text: &str,
        range: Range<usize>,
        hits: &[Range<usize>],
    ) -> LayoutJob {
        let prefix_len = text.len() - line.text.len();
        let color = match line.stream {
            Stream::Stdout => self.visuals.text_color(),
            Stream::Stderr => Color32::from_rgb(0xe0, 0x7b, 0x53),
        };
        let weak = TextFormat::simple(self.font.clone(), self.visuals.weak_text_color());
        let normal = TextFormat::simple(self.font.clone(), color);
        let mut hit = normal.clone();
        hit.background = Color32::from_rgb(0xf5, 0xd0, 0x4c);
        hit.color = Color32::BLACK;
        // Boundaries where the format may change, within `range`.
        let mut cuts = vec![range.start, range.end, prefix_len];
        for h in hits {
            cuts.extend([h.start, h.end]);
        }
        cuts.retain(|c| range.contains(c) || *c == range.end);
        cuts.sort_unstable();
        cuts.dedup();
        let mut job = LayoutJob::default();
        for pair in cuts.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let format = if hits.iter().any(|h| h.start <= a && b <= h.end) {
                hit.clone()
            } else if b <= prefix_len {
                weak.clone()
            } else {
                normal.clone()
            };
            job.append(&text[a..b], 0.0, format);
        }
        job
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cut_on_characters() {
        let text = "ab€cdé";
        let parts: Vec<&str> = chunks(text, 2).into_iter().map(|r| &text[r]).collect();
        assert_eq!(parts, ["ab", "€c", "dé"]);
        assert_eq!(chunks("", 4), vec![Range { start: 0, end: 0 }]);
        assert_eq!(row_count("", 10), 1);
        assert_eq!(row_count("abcdefghijk", 10), 2);
    }
}
