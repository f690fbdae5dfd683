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
    // The job names stay in view while the other columns scroll sideways.
    let (names, rest): (Vec<usize>, Vec<usize>) =
        (0..columns.len()).partition(|&c| columns[c] == Column::Job);
    let part = Part {
        table,
        jobs,
        columns: &columns,
        best: &best,
        order: &order,
    };
    ui.horizontal_top(|ui| {
        let names = ui.vertical(|ui| part.show(ui, "compare-table-names", &names, true, cache));
        clicked = names.inner;
        let used = names.response.rect.width() + ui.spacing().item_spacing.x;
        egui::ScrollArea::horizontal()
            .id_salt("compare-table")
            .max_width((width - used).max(100.0))
            .show(ui, |ui| {
                ui.vertical(|ui| part.show(ui, "compare-table", &rest, false, cache));
            });
    });
    clicked
}

/// What both parts of the table are drawn from.
struct Part<'a> {
    table: &'a Comparison,
    jobs: &'a [JobRef],
    columns: &'a [Column],
    best: &'a [Option<usize>],
    order: &'a [usize],
}

impl Part<'_> {
    /// The table's columns `shown` (indices into all its columns, for sorting), each row
    /// led by the job's colour when `swatch`; a job whose name was clicked.
    fn show(
        &self,
        ui: &mut egui::Ui,
        id: &str,
        shown: &[usize],
        swatch: bool,
        cache: &mut CompareCache,
    ) -> Option<JobRef> {
        let Part {
            table,
            jobs,
            columns,
            best,
            order,
        } = *self;
        let mut clicked = None;
        let mut builder = TableBuilder::new(ui)
            .id_salt(id)
            .striped(true)
            .vscroll(false)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
        if swatch {
            builder = builder.column(egui_extras::Column::exact(14.0));
        }
        for &c in shown {
            builder = builder.column(match columns[c] {
                // A long name is cut (its whole text on hover), keeping room for the rest.
                Column::Job => egui_extras::Column::auto()
                    .at_least(160.0)
                    .at_most(320.0)
                    .clip(true),
                _ => egui_extras::Column::auto().at_least(50.0),
            });
        }
        builder
            .header(22.0, |mut row| {
                if swatch {
                    row.col(|_| {});
                }
                for &c in shown {
                    row.col(|ui| header_cell(ui, table, columns[c], c, cache));
                }
            })
            .body(|mut body| {
                for &i in order {
                    let colour = job_index(table, jobs, i);
                    body.row(22.0, |mut row| {
                        if swatch {
                            row.col(|ui| {
                                ui.label(RichText::new("■").color(theme::series_color(colour)));
                            });
                        }
                        for &c in shown {
                            row.col(|ui| {
                                let column = columns[c];
                                let cell = table.cell(i, column);
                                match column {
                                    Column::Job => {
                                        if ui.link(cell).on_hover_text("Show this job").clicked() {
                                            clicked = jobs.get(colour).cloned();
                                        }
                                    }
                                    Column::Metric(m) if best[m] == Some(i) => {
                                        ui.label(
                                            RichText::new(format!("★ {cell}"))
                                                .strong()
                                                .color(theme::SUCCESS),
                                        )
                                        .on_hover_text("Best of the compared jobs");
                                    }
                                    Column::Hyperparameter(h) if table.differs(h) => {
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
        clicked
    }
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
