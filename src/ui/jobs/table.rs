//! The job list's virtualised table: sortable headers, job rows with their mark, status,
//! name, source, creation time and duration, group headers, and the rows' menus.

use chrono::{DateTime, Utc};
use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::super::cost::{Estimate, format_usd};
use super::super::data::Data;
use super::super::state::{GroupBy, SortColumn, State};
use super::super::theme;
use super::order::{ListCache, Row, name_prefix};
use super::{ListAction, toggle_mark};
use crate::job::JobRef;
use crate::job::JobSummary;
use crate::job::{format_duration as duration, local_time};

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

/// The virtualised table of jobs, scrolled to `scroll_to`; a row clicked, cloned or
/// compared.
pub(super) fn table(
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
        .column(Column::auto().at_least(60.0));
    if state.show_cost {
        table = table.column(Column::auto().at_least(64.0));
    }
    table = table.auto_shrink(false);
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
            if state.show_cost {
                row.col(|ui| header(ui, state, "Cost", SortColumn::Cost));
            }
        })
        .body(|body| {
            cache.visible.clear();
            body.rows(36.0, cache.order.len(), |mut row| {
                let index = row.index();
                let (s, j) = match cache.order[index] {
                    Row::Job { source, job } => (source as usize, job as usize),
                    Row::Group(g) => {
                        if let Some(a) = group_row(&mut row, cache, data, state, g) {
                            action = Some(a);
                        }
                        return;
                    }
                };
                let source = &data.sources[s];
                let job: &JobSummary = &source.jobs[j];
                let job_ref = data.job_ref(s, j);
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
                if state.show_cost {
                    let estimate = data.estimate(&job_ref, job.status, state.selection.as_ref());
                    row.col(|ui| cost_cell(ui, estimate));
                }
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
    state: &State,
    g: usize,
) -> Option<ListAction> {
    let several = data.sources.len() > 1;
    let group = &cache.groups[g];
    let mut action = None;
    // A tuning job's group shows the tuning job as its source lists it.
    let tuning = (state.group_by == GroupBy::TuningJob)
        .then(|| {
            let source = &data.sources[group.source? as usize];
            Some((source.connection.clone(), source.tuning_job(&group.key)?))
        })
        .flatten();
    if let Some((source, t)) = &tuning {
        let shown = state
            .tuning
            .as_ref()
            .is_some_and(|j| j.source == *source && j.name == t.name);
        row.set_selected(shown);
    }
    row.col(|_| {});
    row.col(|ui| match &tuning {
        Some((_, t)) => {
            ui.label(
                RichText::new(theme::status_icon(t.status)).color(theme::status_color(t.status)),
            )
            .on_hover_text(format!("tuning job {}", t.status));
        }
        None => {
            ui.label(RichText::new("⏷").weak());
        }
    });
    row.col(|ui| {
        let title = match state.group_by {
            GroupBy::TuningJob => format!("tuning job {}", group.key),
            _ => group.key.clone(),
        };
        ui.vertical(|ui| {
            ui.add(egui::Label::new(RichText::new(&title).strong()).truncate())
                .on_hover_text(&title);
            if let Some((_, t)) = &tuning {
                let line = tuning_line(t);
                ui.add(
                    egui::Label::new(
                        RichText::new(&line)
                            .small()
                            .color(theme::status_color(t.status)),
                    )
                    .truncate(),
                )
                .on_hover_text(line);
            }
        });
    });
    if several {
        row.col(|_| {});
    }
    let count = match group.jobs.len() {
        1 => "1 job".to_string(),
        n => format!("{n} jobs"),
    };
    row.col(|ui| match &tuning {
        // A tuning job's header has its own creation time.
        Some((_, t)) => {
            ui.vertical(|ui| {
                ui.label(RichText::new(local_time(t.created)).small());
                ui.label(RichText::new(count).small().weak());
            });
        }
        None => {
            ui.label(RichText::new(count).weak());
        }
    });
    row.col(|ui| {
        ui.horizontal(|ui| {
            if let Some((_, t)) = &tuning {
                let end = t.ended.unwrap_or_else(Utc::now);
                ui.label(duration(end - t.created));
            }
            if group.jobs.len() >= 2
                && ui
                    .small_button("⚖")
                    .on_hover_text("Compare every job of this group")
                    .clicked()
            {
                action = Some(ListAction::Compare(cache.group_jobs(data, g)));
            }
        });
    });
    if state.show_cost {
        row.col(|ui| {
            if group.total.priced > 0 {
                ui.label(RichText::new(format_usd(group.total.usd)).strong())
                    .on_hover_text(group.total.text());
            }
        });
    }
    let response = row.response();
    if let Some((source, t)) = &tuning
        && response.clicked()
    {
        action = Some(ListAction::ShowTuning(JobRef::new(
            source.clone(),
            t.name.clone(),
        )));
    }
    response.context_menu(|ui| {
        if let Some((source, t)) = &tuning
            && ui.button("Show the tuning job").clicked()
        {
            action = Some(ListAction::ShowTuning(JobRef::new(
                source.clone(),
                t.name.clone(),
            )));
            ui.close();
        }
        if ui
            .button(format!("Compare all {} jobs", group.jobs.len()))
            .clicked()
        {
            action = Some(ListAction::Compare(cache.group_jobs(data, g)));
            ui.close();
        }
        if let Some((source, t)) = &tuning {
            if let Some((best, _)) = &t.best
                && ui
                    .button(format!("Show the best training job, {best}"))
                    .clicked()
            {
                action = Some(ListAction::Select(JobRef::new(
                    source.clone(),
                    best.clone(),
                )));
                ui.close();
            }
            if !t.status.is_terminal() && ui.button("Stop the tuning job…").clicked() {
                action = Some(ListAction::StopTuning(source.clone(), t.name.clone()));
                ui.close();
            }
        }
    });
    action
}

/// `Completed · Bayesian · 16 of 20 · best 0.254`: a tuning job in one line.
fn tuning_line(t: &crate::job::tuning::TuningSummary) -> String {
    let c = t.counters;
    let started = c.completed + c.in_progress + c.stopped + c.failed;
    let mut parts = vec![t.status.to_string()];
    // A tuning job whose stored state cannot be read has none.
    if !t.strategy.is_empty() {
        parts.push(t.strategy.clone());
    }
    parts.push(match t.max_jobs {
        Some(max) => format!("{started} of {max}"),
        None => format!("{started} trials"),
    });
    if c.failed > 0 {
        parts.push(format!("{} failed", c.failed));
    }
    if let Some((_, value)) = &t.best {
        let value = crate::job::compare::format_value(*value);
        parts.push(match &t.metric {
            Some(metric) => format!("best {metric} {value}"),
            None => format!("best {value}"),
        });
    }
    parts.join(" · ")
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
            let mut status = match job.secondary_detail() {
                Some(secondary) => format!("{} · {secondary}", job.status),
                None => job.status.to_string(),
            };
            if let Some(pool) = &job.warm_pool {
                status.push_str(&format!(" · warm pool {pool}"));
            }
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

/// A job's estimated cost; what it waits for or why it is not known shows on hover.
fn cost_cell(ui: &mut egui::Ui, estimate: Option<Estimate>) {
    match estimate {
        None => {
            ui.label(RichText::new("—").weak())
                .on_hover_text("Runs on this machine");
        }
        Some(Estimate::Usd(usd)) => {
            ui.label(format_usd(usd)).on_hover_text(
                "Instance count × billable hours × the on-demand price (AWS Price List)",
            );
        }
        Some(Estimate::Waiting(what)) => {
            ui.label(RichText::new(what).small().weak());
        }
        Some(Estimate::Unknown(why)) => {
            ui.label(RichText::new("not known").small().color(theme::WARNING))
                .on_hover_text(why);
        }
    }
}
