//! The Compare view's table: one row per job (colour, name, source, status, duration,
//! billable seconds, instances, final metric values with the best marked, then the
//! hyperparameters, those that differ first and highlighted); sortable by any column.

use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::super::theme;
use super::CompareCache;
use crate::backend::JobRef;
use crate::job::compare::{Comparison, FIXED_COLUMNS};

/// Row order for the sort column: numbers by value, text by text; empty cells last.
fn order(table: &Comparison, sort: Option<(usize, bool)>) -> Vec<usize> {
    let rows: Vec<Vec<String>> = (0..table.jobs.len()).map(|i| table.row(i)).collect();
    let mut order: Vec<usize> = (0..rows.len()).collect();
    if let Some((column, ascending)) = sort {
        order.sort_by(|&a, &b| {
            let (x, y) = (&rows[a][column], &rows[b][column]);
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
    }
    order
}

/// Draws the table; a job whose name was clicked.
pub fn show(
    ui: &mut egui::Ui,
    table: &Comparison,
    jobs: &[JobRef],
    cache: &mut CompareCache,
) -> Option<JobRef> {
    if table.jobs.is_empty() {
        ui.label(RichText::new("Loading the jobs…").weak());
        return None;
    }
    let header = table.header();
    let metric_start = FIXED_COLUMNS.len();
    let hp_start = metric_start + table.metrics.len();
    let best: Vec<Option<usize>> = table.metrics.iter().map(|m| table.best(m)).collect();
    let order = order(table, cache.sort);
    let mut clicked = None;
    egui::ScrollArea::horizontal()
        .id_salt("compare-table")
        .show(ui, |ui| {
            let mut builder = TableBuilder::new(ui)
                .id_salt("compare-table")
                .striped(true)
                .vscroll(false)
                .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
                .column(Column::exact(14.0));
            for c in 0..header.len() {
                builder = builder.column(if c == 0 {
                    Column::auto().at_least(160.0).clip(true)
                } else {
                    Column::auto().at_least(60.0)
                });
            }
            builder
                .header(22.0, |mut row| {
                    row.col(|_| {});
                    for (c, name) in header.iter().enumerate() {
                        row.col(|ui| {
                            let differs = c >= hp_start && table.differs(c - hp_start);
                            let arrow = match cache.sort {
                                Some((s, true)) if s == c => " ⏶",
                                Some((s, false)) if s == c => " ⏷",
                                _ => "",
                            };
                            let mut text = RichText::new(format!("{name}{arrow}")).strong();
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
                        });
                    }
                })
                .body(|mut body| {
                    for &i in &order {
                        let cells = table.row(i);
                        // Rows come in the order of `jobs`; the colour follows the job.
                        let colour = jobs
                            .iter()
                            .position(|j| {
                                j.name == table.jobs[i].name
                                    && j.source.source_label() == table.jobs[i].source
                            })
                            .unwrap_or(i);
                        body.row(22.0, |mut row| {
                            row.col(|ui| {
                                ui.label(RichText::new("■").color(theme::series_color(colour)));
                            });
                            for (c, cell) in cells.iter().enumerate() {
                                row.col(|ui| {
                                    if c == 0 {
                                        if ui.link(cell).on_hover_text("Show this job").clicked() {
                                            clicked = jobs.get(colour).cloned();
                                        }
                                        return;
                                    }
                                    let is_best = (metric_start..hp_start).contains(&c)
                                        && best[c - metric_start] == Some(i);
                                    let differs = c >= hp_start && table.differs(c - hp_start);
                                    let text = if is_best {
                                        RichText::new(format!("★ {cell}"))
                                            .strong()
                                            .color(theme::SUCCESS)
                                    } else if differs {
                                        RichText::new(cell).color(theme::WARNING)
                                    } else {
                                        RichText::new(cell)
                                    };
                                    let label = ui.label(text);
                                    if is_best {
                                        label.on_hover_text("Best of the compared jobs");
                                    }
                                });
                            }
                        });
                    }
                });
        });
    clicked
}
