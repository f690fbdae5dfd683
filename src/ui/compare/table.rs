//! The Compare view's table: one row per job (colour, name, source, status, the
//! hyperparameters that differ, highlighted, final metric values with the best marked,
//! duration, billable seconds, instances, then the shared hyperparameters); sortable by
//! any column.

use egui::RichText;
use egui_extras::TableBuilder;

use super::super::theme;
use super::CompareCache;
use crate::job::JobRef;
use crate::job::compare::{Column, Comparison};

/// Row order for the sort column: numbers by value, text by text; empty cells last.
fn order(table: &Comparison, columns: &[Column], sort: Option<(usize, bool)>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..table.jobs.len()).collect();
    let Some((c, ascending)) = sort.filter(|(c, _)| *c < columns.len()) else {
        return order;
    };
    let cells: Vec<String> = order.iter().map(|&i| table.cell(i, columns[c])).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&cells[a], &cells[b]);
        let ord = match (x.is_empty(), y.is_empty()) {
            (true, false) => return std::cmp::Ordering::Greater,
            (false, true) => return std::cmp::Ordering::Less,
            _ => match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(x), Ok(y)) => x.total_cmp(&y),
                _ => x.cmp(y),
            },
        };
        if ascending { ord } else { ord.reverse() }
    });
    order
}

/// The index in `jobs` of the comparison's job `i` (its colour).
fn job_index(table: &Comparison, jobs: &[JobRef], i: usize) -> usize {
    let row = &table.jobs[i];
    jobs.iter()
        .position(|j| j.name == row.name && j.source.source_label() == row.source)
        .unwrap_or(i)
}

/// Draws the table, at most `width` wide (scrolling sideways beyond); a job whose name was
/// clicked.
pub fn show(
    ui: &mut egui::Ui,
    table: &Comparison,
    jobs: &[JobRef],
    cache: &mut CompareCache,
    width: f32,
) -> Option<JobRef> {
    if table.jobs.is_empty() {
        ui.label(RichText::new("Loading the jobs…").weak());
        return None;
    }
    let columns = table.columns();
    let best: Vec<Option<usize>> = table.metrics.iter().map(|m| table.best(m)).collect();
    let order = order(table, &columns, cache.sort);
    let mut clicked = None;
    egui::ScrollArea::horizontal()
        .id_salt("compare-table")
        .max_width(width)
        .show(ui, |ui| {
            let mut builder = TableBuilder::new(ui)
                .id_salt("compare-table")
                .striped(true)
                .vscroll(false)
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(egui_extras::Column::exact(14.0));
            for column in &columns {
                builder = builder.column(match column {
                    Column::Job => egui_extras::Column::auto().at_least(160.0),
                    _ => egui_extras::Column::auto().at_least(50.0),
                });
            }
            builder
                .header(22.0, |mut row| {
                    row.col(|_| {});
                    for (c, column) in columns.iter().enumerate() {
                        row.col(|ui| header_cell(ui, table, *column, c, cache));
                    }
                })
                .body(|mut body| {
                    for &i in &order {
                        let colour = job_index(table, jobs, i);
                        body.row(22.0, |mut row| {
                            row.col(|ui| {
                                ui.label(RichText::new("■").color(theme::series_color(colour)));
                            });
                            for column in &columns {
                                row.col(|ui| {
                                    let cell = table.cell(i, *column);
                                    match column {
                                        Column::Job => {
                                            if ui
                                                .link(cell)
                                                .on_hover_text("Show this job")
                                                .clicked()
                                            {
                                                clicked = jobs.get(colour).cloned();
                                            }
                                        }
                                        Column::Metric(m) if best[*m] == Some(i) => {
                                            ui.label(
                                                RichText::new(format!("★ {cell}"))
                                                    .strong()
                                                    .color(theme::SUCCESS),
                                            )
                                            .on_hover_text("Best of the compared jobs");
                                        }
                                        Column::Hyperparameter(h) if table.differs(*h) => {
                                            ui.label(RichText::new(cell).color(theme::WARNING));
                                        }
                                        _ => {
                                            ui.label(cell);
                                        }
                                    }
                                });
                            }
                        });
                    }
                });
        });
    clicked
}

/// A column's header: its title (highlighted for differing hyperparameters); a click sorts.
fn header_cell(
    ui: &mut egui::Ui,
    table: &Comparison,
    column: Column,
    c: usize,
    cache: &mut CompareCache,
) {
    let differs = matches!(column, Column::Hyperparameter(h) if table.differs(h));
    let arrow = match cache.sort {
        Some((s, true)) if s == c => " ⏶",
        Some((s, false)) if s == c => " ⏷",
        _ => "",
    };
    let mut text = RichText::new(format!("{}{arrow}", table.title(column))).strong();
    if differs {
        text = text.color(theme::WARNING);
    }
    let response = ui
        .add(egui::Button::new(text).frame(false))
        .on_hover_text(if differs {
            "Differs between the jobs. Click to sort"
        } else {
            "Click to sort"
        });
    if response.clicked() {
        cache.sort = match cache.sort {
            Some((s, asc)) if s == c => Some((c, !asc)),
            _ => Some((c, true)),
        };
    }
}
