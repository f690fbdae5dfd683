//! Logs: a view over the whole log however long it is (the rows on screen asked for from
//! the worker, with a margin), its own scroll bar and wheel, follow mode that keeps the
//! end in view, Find over the whole log with the count of matching lines and jumps between
//! them, host selector, timestamps and wrap toggles, copy. A line redrawn with carriage
//! returns (a progress bar) shows its last state, as a terminal would.

use std::ops::Range;
use std::sync::Arc;

use egui::text::{LayoutJob, TextFormat};
use egui::{Color32, FontId, Galley, Key, RichText, Sense};

use super::super::data::Data;
use super::super::state::State;
use super::DetailAction;
use crate::job::JobRef;
use crate::job::text::{Needle, terminal_view, thousands};
use crate::job::{LogLine, Stream, timestamp};
use crate::worker::LogAsk;

/// Seconds typing must pause before the log is searched.
const FIND_PAUSE: f64 = 0.25;
/// Width of the scroll bar.
const BAR: f32 = 10.0;

/// What the logs view keeps between frames.
#[derive(Default)]
pub struct LogCache {
    /// Host filter.
    pub host: Option<String>,
    /// Search text.
    pub search: String,
    /// The job these belong to.
    job: Option<JobRef>,
    /// First row on screen while not following.
    top: u64,
    /// Wheel movement not yet a whole row.
    wheel: f32,
    /// The hit last jumped to, as an index into the hits' rows.
    hit: Option<usize>,
    /// When the search text last changed (seconds of the window's clock).
    typed_at: f64,
    /// The search text whose first hit was jumped to.
    jumped: Option<String>,
    /// The height a line took when last drawn (the font's row height and what the label
    /// adds), so that the rows that fit are counted as they are drawn.
    line_height: Option<f32>,
}

impl LogCache {
    /// Starts over for another job.
    fn follow(&mut self, job: Option<&JobRef>) {
        if self.job.as_ref() != job {
            *self = LogCache {
                job: job.cloned(),
                ..Default::default()
            };
        }
    }

    /// Shows `row` near the middle of the screen.
    fn jump(&mut self, row: u64, fit: u64, state: &mut State) {
        state.follow_logs = false;
        self.top = row.saturating_sub(fit / 2);
    }
}

/// Draws the logs tab; what to ask the worker for.
pub fn show(
    ui: &mut egui::Ui,
    data: &Data,
    state: &mut State,
    cache: &mut LogCache,
) -> Option<DetailAction> {
    cache.follow(state.selection.as_ref());
    let font = FontId::monospace(12.5);
    let row_height = cache
        .line_height
        .unwrap_or_else(|| ui.fonts_mut(|f| f.row_height(&font)));
    let mut asks = Vec::new();
    let total = data.log.size.rows(cache.host.as_deref());
    // Rows that fit: the toolbar takes one line above the log.
    let fit = (((ui.available_height() - 2.0 * row_height) / row_height).max(1.0)) as u64;
    toolbar(ui, data, state, cache, fit, &mut asks);
    ui.separator();
    if total == 0 {
        ui.label(RichText::new("No log lines yet.").weak());
        return (!asks.is_empty()).then_some(DetailAction::Log(asks));
    }
    let style = LineStyle {
        font,
        visuals: ui.visuals().clone(),
        timestamps: state.log_timestamps,
        needle: Needle::new(&cache.search),
    };
    let area = ui.available_rect_before_wrap();
    let response = ui.allocate_rect(area, Sense::hover());
    let text_rect = egui::Rect::from_min_max(area.min, egui::pos2(area.max.x - BAR, area.max.y));
    // Unwrapped lines scroll sideways: their scroll bar takes the bottom of the area.
    let sideways = if state.wrap_logs {
        0.0
    } else {
        ui.spacing().scroll.allocated_width()
    };
    let fit = (((area.height() - sideways) / row_height).floor() as u64).max(1);
    let max_top = total.saturating_sub(fit);
    scroll_input(ui, &response, state, cache, fit, max_top, row_height);
    let bar = egui::Rect::from_min_max(egui::pos2(area.max.x - BAR, area.min.y), area.max);
    scroll_bar(ui, bar, state, cache, total, fit, max_top);
    if state.follow_logs {
        cache.top = max_top;
    }
    cache.top = cache.top.min(max_top);
    let host = cache.host.clone();
    let need = cache.top..(cache.top + fit + 1).min(total);
    asks.push(LogAsk::Rows {
        host: host.clone(),
        rows: need.clone(),
    });
    let mut child = ui.new_child(egui::UiBuilder::new().max_rect(text_rect));
    child.set_clip_rect(text_rect.intersect(ui.clip_rect()));
    child.spacing_mut().item_spacing.y = 0.0;
    let current = data
        .log
        .hits(host.as_deref(), &cache.search)
        .zip(cache.hit)
        .and_then(|(hits, i)| hits.rows.get(i).copied());
    let lines = Lines {
        data,
        host: host.as_deref(),
        style: &style,
        current,
    };
    if state.wrap_logs {
        lines.wrapped(&mut child, text_rect, need, state.follow_logs, row_height);
    } else {
        let drawn = egui::ScrollArea::horizontal()
            .id_salt(("log_columns", cache.job.as_ref().map(|j| j.to_string())))
            .auto_shrink(false)
            .show(&mut child, |ui| lines.rows(ui, need, row_height));
        if let Some(height) = drawn.inner.filter(|h| *h > 0.0) {
            cache.line_height = Some(height);
        }
    }
    (!asks.is_empty()).then_some(DetailAction::Log(asks))
}

/// Follow, timestamps, wrap, host, Find with its count and jumps, copy, the line count.
fn toolbar(
    ui: &mut egui::Ui,
    data: &Data,
    state: &mut State,
    cache: &mut LogCache,
    fit: u64,
    asks: &mut Vec<LogAsk>,
) {
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut state.follow_logs, "Follow")
            .on_hover_text("Keep the last line in view (End)");
        ui.checkbox(&mut state.log_timestamps, "Timestamps");
        ui.checkbox(&mut state.wrap_logs, "Wrap");
        egui::ComboBox::new("log_host", "Host")
            .selected_text(cache.host.as_deref().unwrap_or("All hosts"))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut cache.host, None, "All hosts");
                for (host, _) in &data.log.size.hosts {
                    ui.selectable_value(&mut cache.host, Some(host.clone()), host);
                }
            });
        let label = ui.label("Find");
        let edit = ui
            .add(
                egui::TextEdit::singleline(&mut cache.search)
                    .hint_text("text in lines (Enter: next)")
                    .desired_width(200.0),
            )
            .labelled_by(label.id);
        let now = ui.input(|i| i.time);
        if edit.changed() {
            cache.typed_at = now;
            cache.hit = None;
            cache.jumped = None;
        }
        let host = cache.host.clone();
        if !cache.search.is_empty() {
            let waited = now - cache.typed_at;
            if waited < FIND_PAUSE {
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_secs_f64(FIND_PAUSE - waited));
            } else {
                asks.push(LogAsk::Find {
                    host: host.clone(),
                    text: cache.search.clone(),
                });
            }
        }
        let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        let back = ui.input(|i| i.modifiers.shift);
        let hits = data.log.hits(host.as_deref(), &cache.search);
        let mut step = None;
        ui.add_enabled_ui(hits.as_ref().is_some_and(|h| !h.rows.is_empty()), |ui| {
            if ui
                .button("⏶")
                .on_hover_text("Previous match (Shift+Enter)")
                .clicked()
            {
                step = Some(false);
            }
            if ui.button("⏷").on_hover_text("Next match (Enter)").clicked() {
                step = Some(true);
            }
        });
        if enter {
            step = Some(!back);
            edit.request_focus();
        }
        match hits {
            Some(hits) if !cache.search.is_empty() => {
                // The first answer for a text jumps to the first match after the screen's top.
                if cache.jumped.as_deref() != Some(cache.search.as_str()) && !hits.rows.is_empty() {
                    cache.jumped = Some(cache.search.clone());
                    let i = hits.rows.partition_point(|&r| r < cache.top);
                    let i = i.min(hits.rows.len() - 1);
                    cache.hit = Some(i);
                    cache.jump(hits.rows[i], fit, state);
                }
                if let (Some(forward), false) = (step, hits.rows.is_empty()) {
                    let n = hits.rows.len();
                    let i = match (cache.hit, forward) {
                        (None, _) => 0,
                        (Some(i), true) => (i + 1) % n,
                        (Some(i), false) => (i + n - 1) % n,
                    };
                    cache.hit = Some(i);
                    cache.jump(hits.rows[i], fit, state);
                }
                let text = match (hits.total, cache.hit) {
                    (0, _) => "no line matches".to_string(),
                    (total, Some(i)) => format!("{} of {} lines", i + 1, thousands(total)),
                    (total, None) => format!("{} lines match", thousands(total)),
                };
                ui.label(RichText::new(text).weak());
            }
            _ if !cache.search.is_empty() => {
                ui.label(RichText::new("searching…").weak());
            }
            _ => {}
        }
        if ui
            .button("📋 Copy")
            .on_hover_text("Copy the lines on screen")
            .clicked()
        {
            let text: Vec<String> = data
                .log
                .lines()
                .iter()
                .map(|l| display_text(l, state.log_timestamps))
                .collect();
            ui.ctx().copy_text(text.join("\n"));
        }
        let total = data.log.size.rows(cache.host.as_deref());
        ui.label(RichText::new(format!("{} lines", thousands(total))).weak());
    });
}

/// The wheel and keys: rows up and down, pages, start and end. Scrolling up leaves follow
/// mode; reaching the end enters it.
fn scroll_input(
    ui: &egui::Ui,
    response: &egui::Response,
    state: &mut State,
    cache: &mut LogCache,
    fit: u64,
    max_top: u64,
    row_height: f32,
) {
    if state.follow_logs {
        cache.top = max_top;
    }
    let mut moved: i64 = 0;
    if response.contains_pointer() {
        let delta = ui.input(|i| i.smooth_scroll_delta.y);
        cache.wheel -= delta / row_height;
        let whole = cache.wheel.trunc();
        cache.wheel -= whole;
        moved += whole as i64;
        ui.ctx().input_mut(|i| i.smooth_scroll_delta.y = 0.0);
    }
    let typing = ui.ctx().memory(|m| m.focused().is_some());
    if !typing && response.contains_pointer() {
        ui.input(|i| {
            if i.key_pressed(Key::PageDown) {
                moved += fit as i64;
            }
            if i.key_pressed(Key::PageUp) {
                moved -= fit as i64;
            }
            if i.key_pressed(Key::ArrowDown) {
                moved += 1;
            }
            if i.key_pressed(Key::ArrowUp) {
                moved -= 1;
            }
            if i.key_pressed(Key::Home) {
                moved = i64::MIN / 2;
            }
            if i.key_pressed(Key::End) {
                moved = i64::MAX / 2;
            }
        });
    }
    if moved != 0 {
        let top = (cache.top as i64)
            .saturating_add(moved)
            .clamp(0, max_top as i64) as u64;
        cache.top = top;
        state.follow_logs = top >= max_top && moved > 0;
    }
}

/// A scroll bar over rows rather than pixels (a log of millions of lines is too tall for a
/// pixel offset): drag or click to go anywhere.
fn scroll_bar(
    ui: &egui::Ui,
    bar: egui::Rect,
    state: &mut State,
    cache: &mut LogCache,
    total: u64,
    fit: u64,
    max_top: u64,
) {
    let response = ui.interact(bar, ui.scope_id().with("log_bar"), Sense::click_and_drag());
    let visuals = ui.visuals();
    let painter = ui.painter_at(bar);
    painter.rect_filled(bar, 3.0, visuals.extreme_bg_color);
    if max_top == 0 {
        return;
    }
    // A short bar (a small window) keeps the handle within it.
    let handle_h = (bar.height() * fit as f32 / total as f32)
        .clamp(24.0_f32.min(bar.height()), bar.height().max(0.0));
    let room = bar.height() - handle_h;
    if let Some(pos) = response.interact_pointer_pos()
        && (response.dragged() || response.clicked() || response.drag_stopped())
    {
        let frac = ((pos.y - bar.top() - handle_h / 2.0) / room.max(1.0)).clamp(0.0, 1.0);
        cache.top = (frac as f64 * max_top as f64).round() as u64;
        state.follow_logs = cache.top >= max_top;
    }
    let top = if state.follow_logs {
        max_top
    } else {
        cache.top.min(max_top)
    };
    let y = bar.top() + room * (top as f64 / max_top as f64) as f32;
    let handle = egui::Rect::from_min_size(
        egui::pos2(bar.left() + 2.0, y),
        egui::vec2(BAR - 4.0, handle_h),
    );
    let color = if response.hovered() || response.dragged() {
        visuals.widgets.hovered.bg_fill
    } else {
        visuals.widgets.inactive.bg_fill
    };
    painter.rect_filled(handle, 3.0, color);
}

/// The rows on screen and how to draw them.
struct Lines<'a> {
    data: &'a Data,
    host: Option<&'a str>,
    style: &'a LineStyle,
    /// The row of the match jumped to.
    current: Option<u64>,
}

impl Lines<'_> {
    /// One line a row; rows not yet read show as a dim placeholder.
    /// One row per line, unwrapped; the height a line took, when one was drawn.
    fn rows(&self, ui: &mut egui::Ui, rows: Range<u64>, row_height: f32) -> Option<f32> {
        let mut measured = None;
        for row in rows {
            match self.data.log.line(self.host, row) {
                Some(line) => {
                    let job = self.style.layout(line, self.current == Some(row));
                    let label = ui.add(egui::Label::new(job).selectable(true).extend());
                    measured.get_or_insert(label.rect.height());
                }
                None => {
                    ui.add_sized(
                        [ui.available_width(), row_height],
                        egui::Label::new(RichText::new("…").weak()),
                    );
                }
            }
        }
        measured
    }

    /// Lines wrapped to the width, from the top row down; when following, the last lines
    /// that fit.
    fn wrapped(
        &self,
        ui: &mut egui::Ui,
        rect: egui::Rect,
        rows: Range<u64>,
        follow: bool,
        row_height: f32,
    ) {
        let width = rect.width() - 4.0;
        let galley = |row: u64| -> Option<Arc<Galley>> {
            let line = self.data.log.line(self.host, row)?;
            let mut job = self.style.layout(line, self.current == Some(row));
            job.wrap.max_width = width;
            Some(ui.fonts_mut(|f| f.layout_job(job)))
        };
        let mut shown: Vec<(u64, Option<Arc<Galley>>)> = Vec::new();
        if follow {
            // From the last line up, until the screen is full.
            let mut height = 0.0;
            for row in rows.clone().rev() {
                let g = galley(row);
                height += g.as_ref().map_or(row_height, |g| g.size().y);
                if height > rect.height() && !shown.is_empty() {
                    break;
                }
                shown.push((row, g));
            }
            shown.reverse();
        } else {
            let mut height = 0.0;
            for row in rows {
                if height > rect.height() {
                    break;
                }
                let g = galley(row);
                height += g.as_ref().map_or(row_height, |g| g.size().y);
                shown.push((row, g));
            }
        }
        for (_, g) in shown {
            match g {
                Some(g) => {
                    ui.add(egui::Label::new(g).selectable(true));
                }
                None => {
                    ui.label(RichText::new("…").weak());
                }
            }
        }
    }
}

/// A line as shown and copied: `[timestamp] host text`, a redrawn line at its last state.
fn display_text(line: &LogLine, timestamps: bool) -> String {
    let text = terminal_view(&line.text);
    if timestamps {
        format!("{} {} {}", timestamp(line.timestamp), line.host, text)
    } else {
        format!("{} {}", line.host, text)
    }
}

/// How lines are drawn.
struct LineStyle {
    font: FontId,
    visuals: egui::Visuals,
    timestamps: bool,
    needle: Needle,
}

impl LineStyle {
    /// A line with its prefix weak, stderr coloured and matches highlighted (the match
    /// jumped to more strongly).
    fn layout(&self, line: &LogLine, current: bool) -> LayoutJob {
        let text = display_text(line, self.timestamps);
        let shown = terminal_view(&line.text);
        let prefix_len = text.len() - shown.len();
        let hits: Vec<Range<usize>> = self
            .needle
            .find_all(&shown)
            .into_iter()
            .map(|r| r.start + prefix_len..r.end + prefix_len)
            .collect();
        let color = match line.stream {
            Stream::Stdout => self.visuals.text_color(),
            Stream::Stderr => Color32::from_rgb(0xe0, 0x7b, 0x53),
        };
        let weak = TextFormat::simple(self.font.clone(), self.visuals.weak_text_color());
        let normal = TextFormat::simple(self.font.clone(), color);
        let mut hit = normal.clone();
        hit.background = if current {
            Color32::from_rgb(0xff, 0x96, 0x32)
        } else {
            Color32::from_rgb(0xf5, 0xd0, 0x4c)
        };
        hit.color = Color32::BLACK;
        let mut cuts = vec![0, text.len(), prefix_len];
        for h in &hits {
            cuts.extend([h.start, h.end]);
        }
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
