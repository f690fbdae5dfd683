//! A tuning job's detail: its status and settings, the trials' counts, the best training
//! job, the objective over time and the trials, best first. From its source's
//! `DescribeHyperParameterTuningJob` and `ListTrainingJobsForHyperParameterTuningJob`, the
//! same here and on AWS.

use egui::RichText;
use egui_extras::{Column, TableBuilder};
use serde_json::Value;

use super::compare::study::{Objective, objective_over_time};
use super::data::Data;
use super::theme;
use crate::job::compare::format_value;
use crate::job::importance::ranks;
use crate::job::tuning::{TuningSummary, service_time};
use crate::job::{Connection, JobCredentials, JobRef, Status};

/// What the view asks the app to do.
pub enum TuningAction {
    /// Show this training job.
    Select(JobRef),
    /// Compare these training jobs.
    Compare(Vec<JobRef>),
    /// Ask whether to stop the tuning job.
    Stop(JobRef),
    /// Run the tuning job's request on this machine, its trials getting these credentials.
    RunLocally(JobRef, JobCredentials),
    /// Open the builder on the tuning job's request (`DescribeHyperParameterTuningJob`),
    /// for its source, or for AWS when `to_aws`.
    Edit {
        /// The description to read the request from.
        described: Box<Value>,
        /// The source the new tuning job goes to.
        source: Connection,
        /// Whether it goes to an AWS connection instead.
        to_aws: bool,
    },
    /// Close the view.
    Close,
}

fn text<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(value, |v, k| &v[*k])
        .as_str()
        .unwrap_or_default()
}

fn final_value(trial: &Value) -> Option<f64> {
    trial["FinalHyperParameterTuningJobObjectiveMetric"]["Value"].as_f64()
}

/// The buttons that make a new tuning job of `job`'s request: run it locally (from AWS),
/// run it on AWS (from here), or edit it as a new one.
fn again(ui: &mut egui::Ui, job: &JobRef, described: &Value) -> Option<TuningAction> {
    let mut action = None;
    let edit = |to_aws| TuningAction::Edit {
        described: Box::new(described.clone()),
        source: job.source.clone(),
        to_aws,
    };
    if ui
        .button("✏ Edit as new…")
        .on_hover_text("Open the builder on this tuning job's request, under a new name")
        .clicked()
    {
        action = Some(edit(false));
    }
    if job.source.is_aws() {
        let what = "On this machine: each trial a local training job, its data read from S3 \
                    with this tuning job's connection. The trials act:";
        if let Some(credentials) = super::detail::header::run_locally_menu(ui, what) {
            action = Some(TuningAction::RunLocally(job.clone(), credentials));
        }
    } else if ui
        .button("☁ Run on AWS…")
        .on_hover_text(
            "Open the builder on this request for an AWS connection: upload its code, check \
             it with preflight, and submit",
        )
        .clicked()
    {
        action = Some(edit(true));
    }
    action
}

/// Draws the detail of `job`; what the user asked.
pub fn show(ui: &mut egui::Ui, data: &Data, job: &JobRef) -> Option<TuningAction> {
    let mut action = None;
    let detail = data.tuning_detail.as_ref().filter(|d| &d.job == job);
    let summary = detail.and_then(|d| TuningSummary::from_service(&d.described));
    // The name and status, Close at the right; the name is cut to the room left.
    ui.horizontal(|ui| {
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui.button("✖ Close").clicked() {
                action = Some(TuningAction::Close);
            }
            if let Some(s) = &summary {
                ui.label(theme::status_text(s.status));
            }
            ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                let title = RichText::new(format!("Tuning job {}", job.name))
                    .heading()
                    .strong();
                ui.add(egui::Label::new(title).truncate())
                    .on_hover_text(&job.name);
            });
        });
    });
    // Where it is, and what can be done with it.
    ui.horizontal_wrapped(|ui| {
        ui.label(RichText::new(format!("on {}", job.source.source_label())).weak());
        let Some(d) = detail else {
            return;
        };
        ui.separator();
        if let Some(a) = again(ui, job, &d.described) {
            action = Some(a);
        }
        let trials: Vec<JobRef> = d
            .trials
            .iter()
            .filter_map(|t| t["TrainingJobName"].as_str())
            .map(|n| JobRef::new(job.source.clone(), n))
            .collect();
        if trials.len() >= 2
            && ui
                .button("⚖ Compare trials")
                .on_hover_text("Every trial side by side, with which hyperparameters matter")
                .clicked()
        {
            action = Some(TuningAction::Compare(trials));
        }
        if summary.as_ref().is_some_and(|s| !s.status.is_terminal())
            && ui
                .button("⏹ Stop…")
                .on_hover_text("Stop the tuning job and its running training jobs")
                .clicked()
        {
            action = Some(TuningAction::Stop(job.clone()));
        }
    });
    let (Some(detail), Some(summary)) = (detail, summary) else {
        ui.label(RichText::new("Reading the tuning job…").weak());
        return action;
    };
    let d = &detail.described;
    let config = &d["HyperParameterTuningJobConfig"];
    let objective_type = text(config, &["HyperParameterTuningJobObjective", "Type"]);
    let metric = text(config, &["HyperParameterTuningJobObjective", "MetricName"]);
    ui.separator();
    egui::Grid::new("tuning-facts")
        .num_columns(2)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            let fact = |ui: &mut egui::Ui, name: &str, value: String| {
                ui.label(RichText::new(name).weak());
                ui.label(value);
                ui.end_row();
            };
            fact(ui, "Strategy", summary.strategy.clone());
            fact(ui, "Objective", format!("{objective_type} {metric}"));
            let limits = &config["ResourceLimits"];
            fact(
                ui,
                "Limits",
                format!(
                    "{} training jobs, {} at once",
                    limits["MaxNumberOfTrainingJobs"]
                        .as_u64()
                        .map_or("–".into(), |n| n.to_string()),
                    limits["MaxParallelTrainingJobs"]
                        .as_u64()
                        .map_or("–".into(), |n| n.to_string()),
                ),
            );
            let early = text(config, &["TrainingJobEarlyStoppingType"]);
            if !early.is_empty() {
                fact(ui, "Early stopping", early.to_string());
            }
            let c = summary.counters;
            fact(
                ui,
                "Training jobs",
                format!(
                    "{} completed, {} in progress, {} stopped, {} failed",
                    c.completed, c.in_progress, c.stopped, c.failed
                ),
            );
            fact(ui, "Created", crate::job::local_time(summary.created));
            if let Some(end) = summary.ended {
                let took = crate::job::format_duration(end - summary.created);
                fact(
                    ui,
                    "Ended",
                    format!("{} ({took})", crate::job::local_time(end)),
                );
            }
            let not_improving =
                d["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"]
                    .as_u64();
            if let Some(n) = not_improving {
                fact(ui, "Not improving", format!("the last {n} training jobs"));
            }
        });
    if let Some(reason) = d["FailureReason"].as_str() {
        theme::error_frame().show(ui, |ui| {
            ui.label(reason);
        });
    }
    if let Some((best, value)) = &summary.best {
        ui.horizontal(|ui| {
            ui.label(RichText::new("Best training job").weak());
            if ui
                .link(best)
                .on_hover_text("Show this training job")
                .clicked()
            {
                action = Some(TuningAction::Select(JobRef::new(
                    job.source.clone(),
                    best.clone(),
                )));
            }
            ui.label(RichText::new(format!("{metric} {}", format_value(*value))).strong());
        });
    }
    ui.add_space(6.0);
    let lower_is_better = objective_type == "Minimize";
    let mut trials: Vec<&Value> = detail.trials.iter().collect();
    let sign = if lower_is_better { 1.0 } else { -1.0 };
    trials.sort_by(|a, b| {
        let key = |t: &Value| final_value(t).map_or(f64::INFINITY, |v| sign * v);
        key(a).total_cmp(&key(b))
    });
    // Each trial with a final value a point at its end, coloured by its rank.
    let ended: Vec<(f64, f64)> = trials
        .iter()
        .filter_map(|t| {
            let end = service_time(&t["TrainingEndTime"])?;
            Some((end.timestamp_millis() as f64 / 1000.0, final_value(t)?))
        })
        .collect();
    let values: Vec<f64> = ended.iter().map(|p| p.1).collect();
    let points: Vec<(f64, f64, f64)> = ended
        .iter()
        .zip(ranks(&values, lower_is_better))
        .map(|(&(x, y), rank)| (x, y, rank))
        .collect();
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let look = Objective {
        name: metric,
        lower_is_better,
        log: lo > 0.0 && hi / lo >= 10.0,
    };
    objective_over_time(ui, "tuning-over-time", &look, points);
    ui.add_space(6.0);
    if let Some(a) = trials_table(ui, job, &trials) {
        action = Some(a);
    }
    action
}

/// How the trials table is sorted: by a column's title, either way; best first when none.
#[derive(Debug, Clone, Default, PartialEq)]
struct TrialOrder {
    column: Option<String>,
    descending: bool,
}

impl TrialOrder {
    /// A click on the column titled `title`: sorts by it, or turns it around.
    fn click(&mut self, title: &str) {
        if self.column.as_deref() == Some(title) {
            self.descending = !self.descending;
        } else {
            self.column = Some(title.to_string());
            self.descending = false;
        }
    }

    /// The column's title with the arrow of its direction when the table is sorted by it.
    fn title(&self, title: &str) -> String {
        match (&self.column, self.descending) {
            (Some(c), false) if c == title => format!("{title} ⏶"),
            (Some(c), true) if c == title => format!("{title} ⏷"),
            _ => title.to_string(),
        }
    }

    /// Sorts `trials` (best first already) by the column; ties keep their order.
    fn sort(&self, trials: &mut [&Value]) {
        let Some(column) = &self.column else {
            return;
        };
        let cell = |t: &Value| -> (Option<f64>, String) {
            match column.as_str() {
                "Objective" => (final_value(t), String::new()),
                "Training job" => (None, text(t, &["TrainingJobName"]).to_string()),
                "Status" => (None, text(t, &["TrainingJobStatus"]).to_string()),
                name => {
                    let value = text(t, &["TunedHyperParameters", name]).trim_matches('"');
                    (value.parse().ok(), value.to_string())
                }
            }
        };
        trials.sort_by(|a, b| {
            let ((x, xs), (y, ys)) = (cell(a), cell(b));
            let order = match (x, y) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                // Trials without a value go last either way.
                (Some(_), None) => return std::cmp::Ordering::Less,
                (None, Some(_)) => return std::cmp::Ordering::Greater,
                (None, None) => xs.cmp(&ys),
            };
            if self.descending {
                order.reverse()
            } else {
                order
            }
        });
    }
}

/// The trials, best first unless a column's title was clicked, with their tuned
/// hyperparameters.
fn trials_table(ui: &mut egui::Ui, job: &JobRef, trials: &[&Value]) -> Option<TuningAction> {
    let order_id = egui::Id::unique("tuning-trials-order").with(&job.name);
    let mut order: TrialOrder = ui.data(|d| d.get_temp(order_id)).unwrap_or_default();
    let mut trials = trials.to_vec();
    order.sort(&mut trials);
    let before = order.clone();
    let mut names: Vec<String> = trials
        .iter()
        .filter_map(|t| t["TunedHyperParameters"].as_object())
        .flat_map(|m| m.keys().cloned())
        .collect();
    names.sort();
    names.dedup();
    let mut action = None;
    egui::ScrollArea::horizontal()
        .id_salt("tuning-trials")
        .show(ui, |ui| {
            TableBuilder::new(ui)
                .striped(true)
                .column(Column::auto().at_least(220.0))
                .column(Column::auto().at_least(90.0))
                .column(Column::auto().at_least(90.0))
                .columns(Column::auto().at_least(70.0), names.len())
                .header(22.0, |mut header| {
                    for title in ["Training job", "Status", "Objective"]
                        .into_iter()
                        .chain(names.iter().map(String::as_str))
                    {
                        header.col(|ui| {
                            let label = RichText::new(order.title(title)).strong();
                            if ui
                                .add(
                                    egui::Button::new(label)
                                        .frame(false)
                                        .wrap_mode(egui::TextWrapMode::Extend),
                                )
                                .on_hover_text("Sort by this column; again to turn it around")
                                .clicked()
                            {
                                order.click(title);
                            }
                        });
                    }
                })
                .body(|body| {
                    body.rows(22.0, trials.len(), |mut row| {
                        let t = trials[row.index()];
                        let name = t["TrainingJobName"].as_str().unwrap_or_default();
                        row.col(|ui| {
                            if ui.link(name).clicked() {
                                action = Some(TuningAction::Select(JobRef::new(
                                    job.source.clone(),
                                    name,
                                )));
                            }
                        });
                        row.col(|ui| {
                            let status = text(t, &["TrainingJobStatus"]).parse::<Status>().ok();
                            match status {
                                Some(s) => ui.label(theme::status_text(s)),
                                None => ui.label(text(t, &["TrainingJobStatus"])),
                            }
                            .on_hover_text(t["FailureReason"].as_str().unwrap_or_default());
                        });
                        row.col(|ui| {
                            ui.label(final_value(t).map_or_else(|| "–".into(), format_value));
                        });
                        for name in &names {
                            row.col(|ui| {
                                let value = text(t, &["TunedHyperParameters", name]);
                                ui.add(
                                    egui::Label::new(value).wrap_mode(egui::TextWrapMode::Extend),
                                );
                            });
                        }
                    });
                });
        });
    if order != before {
        ui.data_mut(|d| d.insert_temp(order_id, order));
    }
    action
}
