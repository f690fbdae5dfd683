//! The job list: every source's jobs together, filtered by source, status and name,
//! sorted by column, optionally grouped by name prefix, with jobs marked for comparison;
//! virtualised rows.

use chrono::{DateTime, Utc};
use egui::{Key, RichText};
use egui_extras::{Column, TableBuilder};

use super::actions::strip_stamp;
use super::data::Data;
use super::state::{GroupBy, SortColumn, State};
use super::theme;
use crate::backend::{Connection, JobRef};
use crate::job::{JobSummary, Status};
use crate::job::{format_duration as duration, local_time};

/// A row of the list: a group header or a job (source index, job index).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Row {
    /// The header of group `i` of [`ListCache::groups`].
    Group(usize),
    /// Job `job` of source `source`.
    Job {
        /// Index into `Data::sources`.
        source: u32,
        /// Index into that source's jobs.
        job: u32,
    },
}

/// A group of rows and its jobs.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// The shared name prefix.
    pub key: String,
    /// Its jobs, as rows.
    pub jobs: Vec<(u32, u32)>,
}

type ListKey = (
    u64,
    Option<String>,
    String,
    SortColumn,
    bool,
    Option<Connection>,
    GroupBy,
);

/// Which rows are shown, in which order; recomputed only when its inputs change.
#[derive(Default)]
pub struct ListCache {
    key: Option<ListKey>,
    /// The rows, in display order.
    pub order: Vec<Row>,
    /// The groups, when grouping.
    pub groups: Vec<Group>,
    /// Jobs the filters let through.
    pub shown: usize,
    /// Jobs of the rows drawn in the last frame.
    pub visible: Vec<JobRef>,
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
            state.source_filter.clone(),
            state.group_by.clone(),
        );
        if self.key.as_ref() == Some(&key) {
            return;
        }
        let needle = state.search.to_lowercase();
        let now = Utc::now();
        let mut jobs: Vec<(u32, u32)> = Vec::new();
        for (s, source) in data.sources.iter().enumerate() {
            if state
                .source_filter
                .as_ref()
                .is_some_and(|f| *f != source.connection)
            {
                continue;
            }
            jobs.extend(
                source
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
                    .map(|(i, _)| (s as u32, i as u32)),
            );
        }
        let get = |&(s, i): &(u32, u32)| &data.sources[s as usize].jobs[i as usize];
        jobs.sort_by(|a, b| {
            let (ja, jb) = (get(a), get(b));
            let ord = match state.sort {
                SortColumn::Name => ja.name.cmp(&jb.name),
                SortColumn::Status => ja.status.as_str().cmp(jb.status.as_str()),
                SortColumn::Created => ja.creation_time.cmp(&jb.creation_time),
                SortColumn::Duration => ja.duration(now).cmp(&jb.duration(now)),
            }
            .then(a.cmp(b));
            if state.ascending { ord } else { ord.reverse() }
        });
        self.shown = jobs.len();
        self.groups.clear();
        self.order = match state.group_by {
            GroupBy::None => jobs
                .into_iter()
                .map(|(source, job)| Row::Job { source, job })
                .collect(),
            GroupBy::NamePrefix | GroupBy::Tag(_) => {
                let mut index: std::collections::HashMap<String, usize> = Default::default();
                for row in jobs {
                    let key = group_key(data, &state.group_by, row, get(&row));
                    let g = *index.entry(key.clone()).or_insert_with(|| {
                        self.groups.push(Group {
                            key,
                            jobs: Vec::new(),
                        });
                        self.groups.len() - 1
                    });
                    self.groups[g].jobs.push(row);
                }
                let mut order = Vec::with_capacity(self.shown + self.groups.len());
                for (g, group) in self.groups.iter().enumerate() {
                    order.push(Row::Group(g));
                    order.extend(
                        group
                            .jobs
                            .iter()
                            .map(|&(source, job)| Row::Job { source, job }),
                    );
                }
                order
            }
        };
        self.key = Some(key);
    }

    /// The job of row `row`, if it is a job.
    fn job_ref(&self, data: &Data, row: usize) -> Option<JobRef> {
        match self.order.get(row)? {
            Row::Job { source, job } => {
                let source = &data.sources[*source as usize];
                Some(JobRef::new(
                    source.connection.clone(),
                    source.jobs[*job as usize].name.clone(),
                ))
            }
            Row::Group(_) => None,
        }
    }

    fn group_jobs(&self, data: &Data, g: usize) -> Vec<JobRef> {
        self.groups[g]
            .jobs
            .iter()
            .map(|&(s, i)| {
                let source = &data.sources[s as usize];
                JobRef::new(
                    source.connection.clone(),
                    source.jobs[i as usize].name.clone(),
                )
            })
            .collect()
    }
}

/// The group of a job: its name prefix, or its value of the tag (saying when it has none
/// or its tags are still being read).
fn group_key(data: &Data, group_by: &GroupBy, (s, _): (u32, u32), job: &JobSummary) -> String {
    match group_by {
        GroupBy::Tag(key) => match data.sources[s as usize].tags.get(&job.name) {
            Some(tags) => match tags.iter().find(|(k, _)| k == key) {
                Some((_, value)) => format!("{key} = {value}"),
                None => format!("no {key} tag"),
            },
            None => "tags being read…".to_string(),
        },
        _ => name_prefix(&job.name).to_string(),
    }
}

/// Tag keys seen on the jobs whose tags were read, sorted.
fn tag_keys(data: &Data) -> Vec<String> {
    let mut keys: Vec<String> = data
        .sources
        .iter()
        .flat_map(|s| s.tags.values().flatten().map(|(k, _)| k.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// A name without the time stamp SageDesk or the SageMaker SDK appends and without
/// trailing all-digit parts: the runs of one experiment share it.
pub fn name_prefix(name: &str) -> &str {
    let mut base = strip_stamp(name);
    while let Some((head, tail)) = base.rsplit_once('-') {
        if !head.is_empty() && !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) {
            base = head;
        } else {
            break;
        }
    }
    base
}

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
        };
        egui::ComboBox::new("group_by", "")
            .width(110.0)
            .selected_text(grouping)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut state.group_by, GroupBy::None, "No groups");
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

/// Marks `job` for comparison, or unmarks it.
fn toggle_mark(state: &mut State, job: &JobRef) {
    match state.compare.iter().position(|j| j == job) {
        Some(i) => {
            state.compare.remove(i);
        }
        None => state.compare.push(job.clone()),
    }
}

/// The virtualised table of jobs, scrolled to `scroll_to`; a row clicked, cloned or
/// compared.
fn table(
    ui: &mut egui::Ui,
    data: &Data,
    state: &mut State,
    cache: &mut ListCache,
    scroll_to: Option<usize>,
) -> Option<ListAction> {
    let mut action = None;
    let now = Utc::now();
    let several = data.sources.len() > 1;
    let modifiers = ui.input(|i| i.modifiers);
    let mut table = TableBuilder::new(ui)
        .id_salt("jobs")
        .striped(true)
        .sense(egui::Sense::click())
        .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
        .column(Column::exact(18.0))
        .column(Column::exact(22.0))
        .column(Column::remainder().at_least(120.0).clip(true));
    if several {
        table = table.column(Column::auto().at_least(50.0).clip(true));
    }
    table = table
        .column(Column::auto().at_least(80.0))
        .column(Column::auto().at_least(60.0))
        .auto_shrink(false);
    if let Some(row) = scroll_to {
        table = table.scroll_to_row(row, None);
    }
    table
        .header(22.0, |mut row| {
            row.col(|ui| {
                ui.label(RichText::new("⚖").weak())
                    .on_hover_text("Marked for comparison: Ctrl+click or Shift+click rows");
            });
            row.col(|ui| header(ui, state, "", SortColumn::Status));
            row.col(|ui| header(ui, state, "Name", SortColumn::Name));
            if several {
                row.col(|ui| {
                    ui.label(RichText::new("Source").strong());
                });
            }
            row.col(|ui| header(ui, state, "Created", SortColumn::Created));
            row.col(|ui| header(ui, state, "Duration", SortColumn::Duration));
        })
        .body(|body| {
            cache.visible.clear();
            body.rows(36.0, cache.order.len(), |mut row| {
                let index = row.index();
                let (s, j) = match cache.order[index] {
                    Row::Job { source, job } => (source as usize, job as usize),
                    Row::Group(g) => {
                        if let Some(a) = group_row(&mut row, cache, data, g, several) {
                            action = Some(a);
                        }
                        return;
                    }
                };
                let source = &data.sources[s];
                let job: &JobSummary = &source.jobs[j];
                let job_ref = JobRef::new(source.connection.clone(), job.name.clone());
                let marked = state.compare.contains(&job_ref);
                row.set_selected(state.selection.as_ref() == Some(&job_ref));
                let mut toggled = false;
                row.col(|ui| {
                    toggled = ui
                        .add(egui::Button::new(if marked { "☑" } else { "☐" }).frame(false))
                        .on_hover_text("Mark for comparison")
                        .clicked();
                });
                job_cells(&mut row, job, source.failing());
                if several {
                    row.col(|ui| {
                        ui.add(
                            egui::Label::new(
                                RichText::new(source.connection.source_label()).small(),
                            )
                            .truncate(),
                        );
                    });
                }
                dates(&mut row, job, now);
                let response = row.response();
                if toggled || (response.clicked() && modifiers.command) {
                    toggle_mark(state, &job_ref);
                } else if response.clicked() && modifiers.shift {
                    state.compare = range(cache, data, state.selection.as_ref(), index);
                } else if response.clicked() {
                    action = Some(ListAction::Select(job_ref.clone()));
                }
                cache.visible.push(job_ref.clone());
                response.context_menu(|ui| {
                    if let Some(a) = job_menu(ui, state, cache, data, &job_ref) {
                        action = Some(a);
                    }
                });
            });
        });
    action
}

/// The jobs between the selected row and row `to`, both included (or `to` alone).
fn range(cache: &ListCache, data: &Data, from: Option<&JobRef>, to: usize) -> Vec<JobRef> {
    let start = from
        .and_then(|f| (0..cache.order.len()).find(|&r| cache.job_ref(data, r).as_ref() == Some(f)))
        .unwrap_or(to);
    let (lo, hi) = (start.min(to), start.max(to));
    (lo..=hi).filter_map(|r| cache.job_ref(data, r)).collect()
}

/// A group's header row; its context menu compares the group's jobs.
fn group_row(
    row: &mut egui_extras::TableRow<'_, '_>,
    cache: &ListCache,
    data: &Data,
    g: usize,
    several: bool,
) -> Option<ListAction> {
    let group = &cache.groups[g];
    let mut action = None;
    row.col(|_| {});
    row.col(|ui| {
        ui.label(RichText::new("⏷").weak());
    });
    row.col(|ui| {
        ui.add(egui::Label::new(RichText::new(&group.key).strong()).truncate())
            .on_hover_text(&group.key);
    });
    if several {
        row.col(|_| {});
    }
    row.col(|ui| {
        let count = match group.jobs.len() {
            1 => "1 job".to_string(),
            n => format!("{n} jobs"),
        };
        ui.label(RichText::new(count).weak());
    });
    row.col(|ui| {
        if group.jobs.len() >= 2
            && ui
                .small_button("⚖")
                .on_hover_text("Compare every job of this group")
                .clicked()
        {
            action = Some(ListAction::Compare(cache.group_jobs(data, g)));
        }
    });
    row.response().context_menu(|ui| {
        if ui
            .button(format!("Compare all {} jobs", group.jobs.len()))
            .clicked()
        {
            action = Some(ListAction::Compare(cache.group_jobs(data, g)));
            ui.close();
        }
    });
    action
}

/// A job row's context menu.
fn job_menu(
    ui: &mut egui::Ui,
    state: &mut State,
    cache: &ListCache,
    data: &Data,
    job: &JobRef,
) -> Option<ListAction> {
    let mut action = None;
    if ui.button("Clone into the builder").clicked() {
        action = Some(ListAction::Clone(job.clone()));
        ui.close();
    }
    let marked = state.compare.contains(job);
    if ui
        .button(if marked {
            "Unmark for comparison"
        } else {
            "Mark for comparison"
        })
        .clicked()
    {
        toggle_mark(state, job);
        ui.close();
    }
    ui.menu_button("Compare with…", |ui| {
        let others: Vec<&JobRef> = state.compare.iter().filter(|j| *j != job).collect();
        if !others.is_empty()
            && ui
                .button(format!("the {} marked jobs", others.len()))
                .clicked()
        {
            let mut jobs = vec![job.clone()];
            jobs.extend(others.into_iter().cloned());
            action = Some(ListAction::Compare(jobs));
            ui.close();
        }
        if let Some(selected) = state.selection.as_ref().filter(|s| *s != job)
            && ui.button(format!("the selected job: {selected}")).clicked()
        {
            action = Some(ListAction::Compare(vec![job.clone(), selected.clone()]));
            ui.close();
        }
        ui.separator();
        let prefix = name_prefix(&job.name);
        let similar: Vec<JobRef> = (0..cache.order.len())
            .filter_map(|r| cache.job_ref(data, r))
            .filter(|j| j != job && name_prefix(&j.name) == prefix)
            .take(12)
            .collect();
        if similar.is_empty() {
            ui.label(RichText::new("No other runs of this name").weak());
        }
        for other in similar {
            if ui.button(other.to_string()).clicked() {
                action = Some(ListAction::Compare(vec![job.clone(), other]));
                ui.close();
            }
        }
    });
    action
}

/// A job's status icon and its name with its stage; a source that fails greys its rows.
fn job_cells(row: &mut egui_extras::TableRow<'_, '_>, job: &JobSummary, source_failing: bool) {
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
            let line = if source_failing {
                RichText::new(format!("{status} · source unreachable")).color(theme::WARNING)
            } else {
                RichText::new(status).color(theme::status_color(job.status))
            };
            ui.label(line.small());
        });
    });
}

/// A job's creation time and duration.
fn dates(row: &mut egui_extras::TableRow<'_, '_>, job: &JobSummary, now: DateTime<Utc>) {
    row.col(|ui| {
        ui.label(RichText::new(local_time(job.creation_time)).small());
    });
    row.col(|ui| {
        ui.label(duration(job.duration(now)));
    });
}

#[cfg(test)]
mod tests {
    use super::name_prefix;

    #[test]
    fn prefixes_drop_stamps_and_run_numbers() {
        assert_eq!(name_prefix("exp-lr-20261123-101112-123"), "exp-lr");
        assert_eq!(
            name_prefix("pytorch-training-2024-05-01-12-34-56-789"),
            "pytorch-training"
        );
        assert_eq!(name_prefix("run-3"), "run");
        assert_eq!(name_prefix("42"), "42");
        assert_eq!(name_prefix("plain"), "plain");
    }
}
