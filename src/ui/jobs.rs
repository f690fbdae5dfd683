//! The job list: filter by status, search by name, sort by column, virtualised rows.

use chrono::{DateTime, Utc};
use egui::{Key, RichText};
use egui_extras::{Column, TableBuilder};

use super::data::Data;
use super::state::{SortColumn, State};
use super::theme;
use crate::job::{JobSummary, Status};
use crate::job::{format_duration as duration, local_time};

/// Which jobs are shown, in which order; recomputed only when its inputs change.
#[derive(Default)]
pub struct ListCache {
    key: Option<(u64, Option<String>, String, SortColumn, bool)>,
    /// Indices into `Data::jobs`.
    pub order: Vec<usize>,
    /// Names of the rows drawn in the last frame.
    pub visible: Vec<String>,
}

impl ListCache {
    /// Brings `order` up to date.
    pub fn update(&mut self, data: &Data, state: &State) {
        let key = (
            data.jobs_version,
            state.status_filter.clone(),
            state.search.clone(),
            state.sort,
            state.ascending,
        );
        if self.key.as_ref() == Some(&key) {
            return;
        }
        let needle = state.search.to_lowercase();
        let now = Utc::now();
        let mut order: Vec<usize> = data
            .jobs
            .iter()
            .enumerate()
            .filter(|(_, j)| {
                state
                    .status_filter
                    .as_deref()
                    .is_none_or(|s| j.status.as_str() == s)
                    && (needle.is_empty() || j.name.to_lowercase().contains(&needle))
            })
            .map(|(i, _)| i)
            .collect();
        let jobs = &data.jobs;
        order.sort_by(|&a, &b| {
            let (a, b) = (&jobs[a], &jobs[b]);
            let ord = match state.sort {
                SortColumn::Name => a.name.cmp(&b.name),
                SortColumn::Status => a.status.as_str().cmp(b.status.as_str()),
                SortColumn::Created => a.creation_time.cmp(&b.creation_time),
                SortColumn::Duration => a.duration(now).cmp(&b.duration(now)),
            };
            if state.ascending { ord } else { ord.reverse() }
        });
        self.order = order;
        self.key = Some(key);
    }
}

/// What the list asks the app to do.
pub enum ListAction {
    /// Select this job.
    Select(String),
    /// Open the builder on a copy of this job's request.
    Clone(String),
}

/// Draws the list: search and status filter, then the table. Returns what the user asked.
pub fn show(
    ui: &mut egui::Ui,
    data: &Data,
    state: &mut State,
    cache: &mut ListCache,
    focus_search: bool,
) -> Option<ListAction> {
    // Rows are clicked, not their text selected.
    ui.style_mut().interaction.selectable_labels = false;
    filters(ui, state, focus_search);
    cache.update(data, state);
    ui.label(
        RichText::new(format!("{} of {} jobs", cache.order.len(), data.jobs.len()))
            .small()
            .weak(),
    );
    let moved = arrow_keys(ui, data, state, cache);
    let clicked = table(ui, data, state, cache, moved);
    clicked.or(moved.map(|row| ListAction::Select(data.jobs[cache.order[row]].name.clone())))
}

/// The search box and the status filter.
fn filters(ui: &mut egui::Ui, state: &mut State, focus_search: bool) {
    ui.horizontal(|ui| {
        let label = ui.label("Search");
        let search = ui
            .add(
                egui::TextEdit::singleline(&mut state.search)
                    .hint_text("job name  ( / )")
                    .desired_width(ui.available_width() - 170.0),
            )
            .labelled_by(label.id);
        if focus_search {
            search.request_focus();
        }
        egui::ComboBox::new("status_filter", "Status")
            .width(100.0)
            .selected_text(state.status_filter.as_deref().unwrap_or("All statuses"))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.status_filter, None, "All statuses");
                for status in Status::ALL {
                    ui.selectable_value(
                        &mut state.status_filter,
                        Some(status.as_str().to_string()),
                        theme::status_text(status),
                    );
                }
            });
    });
}

/// The row the arrow keys move the selection to, when no text field has the keyboard.
fn arrow_keys(ui: &egui::Ui, data: &Data, state: &State, cache: &ListCache) -> Option<usize> {
    if ui.ctx().egui_wants_keyboard_input() || cache.order.is_empty() {
        return None;
    }
    let selected_pos = state
        .selected
        .as_ref()
        .and_then(|s| cache.order.iter().position(|&i| &data.jobs[i].name == s));
    let (down, up) = ui.input(|i| (i.key_pressed(Key::ArrowDown), i.key_pressed(Key::ArrowUp)));
    match (selected_pos, down, up) {
        (None, true, _) | (None, _, true) => Some(0),
        (Some(p), true, _) => Some((p + 1).min(cache.order.len() - 1)),
        (Some(p), _, true) => Some(p.saturating_sub(1)),
        _ => None,
    }
}

/// A sortable column header.
fn header(ui: &mut egui::Ui, state: &mut State, label: &str, column: SortColumn) {
    let arrow = if state.sort == column {
        if state.ascending { " ⏶" } else { " ⏷" }
    } else {
        ""
    };
    if ui
        .add(egui::Button::new(RichText::new(format!("{label}{arrow}")).strong()).frame(false))
        .on_hover_text("Sort by this column")
        .clicked()
    {
        if state.sort == column {
            state.ascending = !state.ascending;
        } else {
            state.sort = column;
            state.ascending = column == SortColumn::Name;
        }
    }
}

/// The virtualised table of jobs, scrolled to `scroll_to`; a row clicked or cloned.
fn table(
    ui: &mut egui::Ui,
    data: &Data,
    state: &mut State,
    cache: &mut ListCache,
    scroll_to: Option<usize>,
) -> Option<ListAction> {
    let mut action = None;
    let now = Utc::now();
    let mut table = TableBuilder::new(ui)
        .id_salt("jobs")
        .striped(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(22.0))
        .column(Column::remainder().at_least(140.0).clip(true))
        .column(Column::auto().at_least(80.0))
        .column(Column::auto().at_least(60.0))
        .auto_shrink(false);
    if let Some(row) = scroll_to {
        table = table.scroll_to_row(row, None);
    }
    table
        .header(22.0, |mut row| {
            row.col(|ui| header(ui, state, "", SortColumn::Status));
            row.col(|ui| header(ui, state, "Name", SortColumn::Name));
            row.col(|ui| header(ui, state, "Created", SortColumn::Created));
            row.col(|ui| header(ui, state, "Duration", SortColumn::Duration));
        })
        .body(|body| {
            cache.visible.clear();
            body.rows(36.0, cache.order.len(), |mut row| {
                let job: &JobSummary = &data.jobs[cache.order[row.index()]];
                cache.visible.push(job.name.clone());
                row.set_selected(state.selected.as_deref() == Some(job.name.as_str()));
                job_cells(&mut row, job, now);
                let response = row.response();
                if response.clicked() {
                    action = Some(ListAction::Select(job.name.clone()));
                }
                response.context_menu(|ui| {
                    if ui.button("Clone into the builder").clicked() {
                        action = Some(ListAction::Clone(job.name.clone()));
                        ui.close();
                    }
                });
            });
        });
    action
}

/// One job's cells: status icon, name and stage, creation time, duration.
fn job_cells(row: &mut egui_extras::TableRow<'_, '_>, job: &JobSummary, now: DateTime<Utc>) {
    row.col(|ui| {
        ui.label(
            RichText::new(theme::status_icon(job.status)).color(theme::status_color(job.status)),
        )
        .on_hover_text(job.status.as_str());
    });
    row.col(|ui| {
        ui.vertical(|ui| {
            ui.add(egui::Label::new(RichText::new(&job.name).strong()).truncate());
            let status = match job.secondary_status {
                Some(secondary) => format!("{} · {secondary}", job.status),
                None => job.status.to_string(),
            };
            ui.label(
                RichText::new(status)
                    .small()
                    .color(theme::status_color(job.status)),
            );
        });
    });
    row.col(|ui| {
        ui.label(RichText::new(local_time(job.creation_time)).small());
    });
    row.col(|ui| {
        ui.label(duration(job.duration(now)));
    });
}
