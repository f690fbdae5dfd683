//! The job list: every source's jobs together, filtered by source, status and name,
//! sorted by column, optionally grouped by name prefix or tag, with jobs marked for
//! comparison; virtualised rows.

mod order;
mod table;

use self::table::table;

use egui::{Key, RichText};

use self::order::tag_keys;
pub use self::order::{Group, ListCache, Row, name_prefix};
use super::cost::Total;
use super::data::Data;
use super::state::{GroupBy, State};
use super::theme;
use crate::job::Status;
use crate::job::{Connection, JobRef};

/// What the list asks the app to do.
pub enum ListAction {
    /// Select this job.
    Select(JobRef),
    /// Open the builder on a copy of this job's request.
    Clone(JobRef),
    /// Compare these jobs.
    Compare(Vec<JobRef>),
    /// List older jobs of this remote source.
    LoadMore(Connection),
    /// Ask whether to stop this tuning job of this source.
    StopTuning(Connection, String),
    /// Show this tuning job.
    ShowTuning(JobRef),
}

/// Draws the list: filters, the comparison bar, then the table. Returns what the user
/// asked.
pub fn show(
    ui: &mut egui::Ui,
    data: &Data,
    state: &mut State,
    cache: &mut ListCache,
    focus_search: bool,
) -> Option<ListAction> {
    // Rows are clicked, not their text selected.
    ui.style_mut().interaction.selectable_labels = false;
    filters(ui, data, state, focus_search);
    cache.update(data, state);
    let mut action = None;
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!("{} of {} jobs", cache.shown, data.job_count()))
                .small()
                .weak(),
        );
        let aws = data.sources.iter().any(|s| s.connection.is_aws());
        ui.add_enabled_ui(aws || state.show_cost, |ui| {
            ui.toggle_value(&mut state.show_cost, RichText::new("$ Cost").small())
                .on_hover_text(
                    "Each AWS job's estimated cost (instance count × billable hours × the \
                     on-demand price) and the total of the rows shown",
                )
                .on_disabled_hover_text("Local jobs cost nothing: connect an AWS account");
        });
        if state.show_cost && cache.total != Total::default() {
            ui.label(RichText::new(cache.total.text()).small())
                .on_hover_text(
                    "Finished jobs' estimates; running jobs and jobs whose billing or price is \
                     still being read wait",
                );
        }
        if !state.compare.is_empty() {
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .small_button("Clear")
                    .on_hover_text("Unmark every job")
                    .clicked()
                {
                    state.compare.clear();
                }
                let n = state.compare.len();
                if ui
                    .add_enabled(n >= 2, egui::Button::new(format!("⚖ Compare {n}")).small())
                    .on_hover_text("Overlay the marked jobs' metrics and compare their settings")
                    .on_disabled_hover_text("Mark at least two jobs (Ctrl+click)")
                    .clicked()
                {
                    action = Some(ListAction::Compare(state.compare.clone()));
                }
            });
        }
    });
    for source in data.sources.iter().filter(|s| {
        s.activity.more
            && state
                .source_filter
                .as_ref()
                .is_none_or(|f| *f == s.connection)
    }) {
        if ui
            .small_button(format!(
                "⏷ Older jobs from {}",
                source.connection.source_label()
            ))
            .on_hover_text("The list holds the newest jobs: list 100 more (ListTrainingJobs pages)")
            .clicked()
        {
            action = Some(ListAction::LoadMore(source.connection.clone()));
        }
    }
    let moved = arrow_keys(ui, data, state, cache);
    let clicked = table(ui, data, state, cache, moved);
    action
        .or(clicked)
        .or(moved.and_then(|row| cache.job_ref(data, row).map(ListAction::Select)))
}

/// The search box, then the source, status and grouping filters.
fn filters(ui: &mut egui::Ui, data: &Data, state: &mut State, focus_search: bool) {
    ui.horizontal(|ui| {
        let label = ui.label("Search");
        let search = ui
            .add(
                egui::TextEdit::singleline(&mut state.search)
                    .hint_text("job name  ( / )")
                    .desired_width(ui.available_width()),
            )
            .labelled_by(label.id);
        if focus_search {
            search.request_focus();
        }
    });
    ui.horizontal(|ui| {
        let shown = match &state.source_filter {
            None => "All sources".to_string(),
            Some(c) => c.source_label(),
        };
        egui::ComboBox::new("source_filter", "")
            .width(120.0)
            .selected_text(shown)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.source_filter, None, "All sources");
                for source in &data.sources {
                    let label = source.connection.source_label();
                    ui.selectable_value(
                        &mut state.source_filter,
                        Some(source.connection.clone()),
                        label,
                    );
                }
            })
            .response
            .on_hover_text("Source");
        egui::ComboBox::new("status_filter", "")
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
            })
            .response
            .on_hover_text("Status");
        let grouping = match &state.group_by {
            GroupBy::None => "No groups".to_string(),
            GroupBy::NamePrefix => "By name prefix".to_string(),
            GroupBy::Tag(key) => format!("By tag {key}"),
            GroupBy::TuningJob => "By tuning job".to_string(),
        };
        egui::ComboBox::new("group_by", "")
            .width(110.0)
            .selected_text(grouping)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.group_by, GroupBy::None, "No groups");
                ui.selectable_value(&mut state.group_by, GroupBy::TuningJob, "By tuning job")
                    .on_hover_text(
                        "The trials of each tuning job together (named <tuning>-NNN-xxxxxxxx)",
                    );
                ui.selectable_value(&mut state.group_by, GroupBy::NamePrefix, "By name prefix")
                    .on_hover_text("The runs of one experiment: names without their time stamp");
                let mut keys = tag_keys(data);
                if keys.is_empty() {
                    keys.push("experiment".into());
                }
                for key in keys {
                    let label = format!("By tag {key}");
                    ui.selectable_value(&mut state.group_by, GroupBy::Tag(key), label);
                }
            })
            .response
            .on_hover_text("Group the list");
    });
    if let GroupBy::Tag(key) = &mut state.group_by {
        ui.horizontal(|ui| {
            let label = ui.label("Tag key");
            ui.add(egui::TextEdit::singleline(key).desired_width(160.0))
                .labelled_by(label.id)
                .on_hover_text("Jobs are grouped by their value of this Tags key");
        });
    }
}

/// The row the arrow keys move the selection to, when no text field has the keyboard.
fn arrow_keys(ui: &egui::Ui, data: &Data, state: &State, cache: &ListCache) -> Option<usize> {
    if ui.ctx().egui_wants_keyboard_input() || cache.order.is_empty() {
        return None;
    }
    let (down, up) = ui.input(|i| (i.key_pressed(Key::ArrowDown), i.key_pressed(Key::ArrowUp)));
    if !down && !up {
        return None;
    }
    let jobs: Vec<usize> = (0..cache.order.len())
        .filter(|&r| matches!(cache.order[r], Row::Job { .. }))
        .collect();
    if jobs.is_empty() {
        return None;
    }
    let selected_pos = state.selection.as_ref().and_then(|s| {
        jobs.iter()
            .position(|&r| cache.job_ref(data, r).as_ref() == Some(s))
    });
    let pos = match (selected_pos, down) {
        (None, _) => 0,
        (Some(p), true) => (p + 1).min(jobs.len() - 1),
        (Some(p), false) => p.saturating_sub(1),
    };
    Some(jobs[pos])
}

/// Marks `job` for comparison, or unmarks it.
fn toggle_mark(state: &mut State, job: &JobRef) {
    match state.compare.iter().position(|j| j == job) {
        Some(i) => {
            state.compare.remove(i);
        }
        None => state.compare.push(job.clone()),
    }
}
