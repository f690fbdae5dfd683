//! A comparison of training jobs from any sources: one row per job with its status,
//! source, duration, billable seconds, instances, final metric values and hyperparameters,
//! the hyperparameters that differ between the jobs first. The window's Compare view and
//! `sagedesk compare` print the same table; it exports as CSV and as JSON that reads back.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::JobDetail;

/// One job of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ComparedJob {
    /// `local`, or the AWS connection's `profile · region`.
    pub source: String,
    /// `TrainingJobName`.
    pub name: String,
    /// `TrainingJobStatus`.
    pub status: String,
    /// Creation to end (or to now while running), in seconds.
    pub duration_seconds: i64,
    /// `BillableTimeInSeconds`, when the service reports it.
    pub billable_seconds: Option<i64>,
    /// Managed spot training's savings (0 to 1), for spot jobs.
    #[serde(default)]
    pub spot_savings: Option<f64>,
    /// Estimated cost in USD: instance count × billable hours × the on-demand price.
    #[serde(default)]
    pub estimated_cost: Option<f64>,
    /// `InstanceType × InstanceCount` (or the instance groups').
    pub instances: String,
    /// Final value of each metric: `FinalMetricDataList`, else the last point seen.
    pub metrics: BTreeMap<String, f64>,
    /// `HyperParameters`.
    pub hyperparameters: BTreeMap<String, String>,
}

impl ComparedJob {
    /// The row of `detail` on `source`; `last_points` fills metrics the service has no
    /// final value for (a running job, local mode's series).
    pub fn new(source: String, detail: &JobDetail, last_points: &BTreeMap<String, f64>) -> Self {
        let mut metrics = last_points.clone();
        for m in &detail.final_metrics {
            metrics.insert(m.name.clone(), m.value);
        }
        Self {
            source,
            name: detail.summary.name.clone(),
            status: detail.summary.status.to_string(),
            duration_seconds: detail.summary.duration(chrono::Utc::now()).num_seconds(),
            billable_seconds: detail.billable_time_seconds,
            spot_savings: detail.billing().spot_savings(),
            estimated_cost: None,
            instances: detail
                .instances()
                .iter()
                .map(|(t, n)| format!("{} × {n}", t.unwrap_or("?")))
                .collect::<Vec<_>>()
                .join(" + "),
            metrics,
            hyperparameters: detail.request.hyper_parameters.clone().unwrap_or_default(),
        }
    }

    /// The row with its estimated cost, when known.
    pub fn with_cost(self, estimated_cost: Option<f64>) -> Self {
        Self {
            estimated_cost,
            ..self
        }
    }
}

/// The comparison: jobs in the order chosen, metric names, and hyperparameter names with
/// those that differ first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Comparison {
    /// The jobs.
    pub jobs: Vec<ComparedJob>,
    /// Every metric name any job has, sorted.
    pub metrics: Vec<String>,
    /// Hyperparameter names: those that differ between the jobs first, then the rest;
    /// the SageMaker SDK's own (`sagemaker_*`) after the user's within each part.
    pub hyperparameters: Vec<String>,
    /// How many of `hyperparameters` (from the start) differ.
    pub differing: usize,
}

/// A column of the comparison table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// `TrainingJobName`.
    Job,
    /// The source.
    Source,
    /// `TrainingJobStatus`.
    Status,
    /// Hyperparameter `i` of [`Comparison::hyperparameters`].
    Hyperparameter(usize),
    /// Metric `i` of [`Comparison::metrics`].
    Metric(usize),
    /// Creation to end, in seconds.
    Duration,
    /// `BillableTimeInSeconds`.
    Billable,
    /// Managed spot savings, in percent.
    SpotSavings,
    /// Estimated cost, in USD.
    Cost,
    /// Instance type × count.
    Instances,
}

impl Comparison {
    /// The comparison of `jobs`.
    pub fn new(jobs: Vec<ComparedJob>) -> Self {
        let metrics: BTreeSet<&String> = jobs.iter().flat_map(|j| j.metrics.keys()).collect();
        let names: BTreeSet<&String> = jobs.iter().flat_map(|j| j.hyperparameters.keys()).collect();
        let mut keyed: Vec<(bool, bool, &String)> = names
            .into_iter()
            .map(|name| {
                let first = jobs[0].hyperparameters.get(name);
                let same = jobs.iter().all(|j| j.hyperparameters.get(name) == first);
                (same, name.starts_with("sagemaker_"), name)
            })
            .collect();
        keyed.sort();
        let differing = keyed.iter().filter(|(same, ..)| !same).count();
        Self {
            metrics: metrics.into_iter().cloned().collect(),
            hyperparameters: keyed.into_iter().map(|(.., n)| n.clone()).collect(),
            differing,
            jobs,
        }
    }

    /// Whether hyperparameter column `i` differs between the jobs.
    pub fn differs(&self, i: usize) -> bool {
        i < self.differing
    }

    /// The job with the best final value of `metric` (lowest for losses and errors,
    /// highest otherwise), when at least two jobs have one.
    pub fn best(&self, metric: &str) -> Option<usize> {
        let values: Vec<(usize, f64)> = self
            .jobs
            .iter()
            .enumerate()
            .filter_map(|(i, j)| j.metrics.get(metric).map(|v| (i, *v)))
            .filter(|(_, v)| v.is_finite())
            .collect();
        if values.len() < 2 {
            return None;
        }
        let lower = lower_is_better(metric);
        values
            .into_iter()
            .reduce(|a, b| {
                let better = if lower { b.1 < a.1 } else { b.1 > a.1 };
                if better { b } else { a }
            })
            .map(|(i, _)| i)
    }

    /// The columns, in order: what the job is, the hyperparameters that differ, the final
    /// metric values, time and instances, then the hyperparameters all jobs share.
    pub fn columns(&self) -> Vec<Column> {
        let mut columns = vec![Column::Job, Column::Source, Column::Status];
        columns.extend((0..self.differing).map(Column::Hyperparameter));
        columns.extend((0..self.metrics.len()).map(Column::Metric));
        columns.extend([Column::Duration, Column::Billable]);
        if self.jobs.iter().any(|j| j.spot_savings.is_some()) {
            columns.push(Column::SpotSavings);
        }
        if self.jobs.iter().any(|j| j.estimated_cost.is_some()) {
            columns.push(Column::Cost);
        }
        columns.push(Column::Instances);
        columns.extend((self.differing..self.hyperparameters.len()).map(Column::Hyperparameter));
        columns
    }

    /// A column's header.
    pub fn title(&self, column: Column) -> &str {
        match column {
            Column::Job => "Job",
            Column::Source => "Source",
            Column::Status => "Status",
            Column::Hyperparameter(i) => &self.hyperparameters[i],
            Column::Metric(i) => &self.metrics[i],
            Column::Duration => "Duration (s)",
            Column::Billable => "Billable (s)",
            Column::SpotSavings => "Spot savings (%)",
            Column::Cost => "Estimated cost (USD)",
            Column::Instances => "Instances",
        }
    }

    /// Job `i`'s cell in `column` (empty where it has no value).
    pub fn cell(&self, i: usize, column: Column) -> String {
        let job = &self.jobs[i];
        match column {
            Column::Job => job.name.clone(),
            Column::Source => job.source.clone(),
            Column::Status => job.status.clone(),
            Column::Hyperparameter(h) => job
                .hyperparameters
                .get(&self.hyperparameters[h])
                .cloned()
                .unwrap_or_default(),
            Column::Metric(m) => job
                .metrics
                .get(&self.metrics[m])
                .map(|v| format_value(*v))
                .unwrap_or_default(),
            Column::Duration => job.duration_seconds.to_string(),
            Column::Billable => job
                .billable_seconds
                .map(|s| s.to_string())
                .unwrap_or_default(),
            Column::SpotSavings => job
                .spot_savings
                .map(|s| format!("{:.0}", s * 100.0))
                .unwrap_or_default(),
            Column::Cost => job
                .estimated_cost
                .map(|c| format!("{c:.2}"))
                .unwrap_or_default(),
            Column::Instances => job.instances.clone(),
        }
    }

    /// Every column's header, in the order of [`Self::columns`].
    pub fn header(&self) -> Vec<String> {
        self.columns()
            .into_iter()
            .map(|c| self.title(c).to_string())
            .collect()
    }

    /// Job `i`'s cells, in the order of [`Self::columns`].
    pub fn row(&self, i: usize) -> Vec<String> {
        self.columns()
            .into_iter()
            .map(|c| self.cell(i, c))
            .collect()
    }

    /// The table as CSV (RFC 4180 quoting), a header line and one line per job.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let lines = std::iter::once(self.header()).chain((0..self.jobs.len()).map(|i| self.row(i)));
        for line in lines {
            let cells: Vec<String> = line.iter().map(|c| csv_cell(c)).collect();
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// The table as aligned text for a terminal, one column per job (jobs side by side,
    /// fields down), with `*` on the best value of each metric and `≠` on the
    /// hyperparameters that differ.
    pub fn to_text(&self) -> String {
        let mut lines: Vec<Vec<String>> = Vec::new();
        for column in self.columns() {
            let label = match column {
                Column::Hyperparameter(h) if self.differs(h) => format!("≠ {}", self.title(column)),
                _ => self.title(column).to_string(),
            };
            let best = match column {
                Column::Metric(m) => self.best(&self.metrics[m]),
                _ => None,
            };
            let mut line = vec![label];
            for i in 0..self.jobs.len() {
                let mark = if best == Some(i) { " *" } else { "" };
                line.push(format!("{}{mark}", self.cell(i, column)));
            }
            lines.push(line);
        }
        let widths: Vec<usize> = (0..=self.jobs.len())
            .map(|k| {
                lines
                    .iter()
                    .map(|l| l[k].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in lines {
            let cells: Vec<String> = line
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

/// Whether a lower value of `metric` is better: losses, errors and distances.
pub fn lower_is_better(metric: &str) -> bool {
    let m = metric.to_ascii_lowercase();
    [
        "loss",
        "error",
        "err",
        "mse",
        "mae",
        "rmse",
        "perplexity",
        "wer",
        "cer",
        "logloss",
    ]
    .iter()
    .any(|w| m.contains(w))
}

/// A metric value with up to six significant decimals and no trailing zeros.
pub fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(name: &str, hps: &[(&str, &str)], metrics: &[(&str, f64)]) -> ComparedJob {
        ComparedJob {
            source: "local".into(),
            name: name.into(),
            status: "Completed".into(),
            duration_seconds: 10,
            billable_seconds: None,
            spot_savings: None,
            estimated_cost: None,
            instances: "ml.m5.xlarge × 1".into(),
            metrics: metrics.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            hyperparameters: hps
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn differing_hyperparameters_come_first_and_best_follows_the_metric() {
        let c = Comparison::new(vec![
            job(
                "a",
                &[("epochs", "5"), ("lr", "0.1"), ("sagemaker_job_name", "a")],
                &[("loss", 0.5), ("acc", 0.8)],
            ),
            job(
                "b",
                &[("epochs", "5"), ("lr", "0.01"), ("sagemaker_job_name", "b")],
                &[("loss", 0.3), ("acc", 0.7)],
            ),
        ]);
        assert_eq!(c.hyperparameters, ["lr", "sagemaker_job_name", "epochs"]);
        assert_eq!(c.differing, 2);
        assert_eq!(c.best("loss"), Some(1));
        assert_eq!(c.best("acc"), Some(0));
        assert_eq!(c.best("missing"), None);
        let text = c.to_text();
        assert!(text.contains("≠ lr"), "{text}");
        assert!(text.contains("0.3 *"), "{text}");
    }

    #[test]
    fn csv_quotes_and_keeps_one_line_per_job() {
        let c = Comparison::new(vec![
            job("a", &[("note", "x, \"y\"")], &[]),
            job("b", &[], &[]),
        ]);
        let csv = c.to_csv();
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].contains(",\"x, \"\"y\"\"\","), "{csv}");
        assert_eq!(
            lines[0],
            "Job,Source,Status,note,Duration (s),Billable (s),Instances"
        );
        assert!(lines[2].starts_with("b,local,Completed,,10,,"), "{csv}");
    }

    #[test]
    fn spot_savings_follow_the_service_formula_and_add_a_column() {
        let request = crate::request::request_from_value(
            serde_json::json!({"TrainingJobName": "spot", "EnableManagedSpotTraining": true}),
            "test",
        )
        .unwrap()
        .request;
        let mut detail = JobDetail::from_request(request, chrono::Utc::now());
        assert_eq!(
            detail.billing().spot_savings(),
            None,
            "unknown before the times are"
        );
        detail.training_time_seconds = Some(1000);
        detail.billable_time_seconds = Some(400);
        assert!((detail.billing().spot_savings().unwrap() - 0.6).abs() < 1e-9);
        let c = Comparison::new(vec![
            ComparedJob::new("local".into(), &detail, &Default::default()),
            job("b", &[], &[]),
        ]);
        let header = c.header();
        let i = header.iter().position(|h| h == "Spot savings (%)").unwrap();
        assert_eq!(c.row(0)[i], "60");
        assert_eq!(c.row(1)[i], "");
    }

    #[test]
    fn values_print_short() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.125), "0.125");
        assert_eq!(format_value(1.0 / 3.0), "0.333333");
    }
}
