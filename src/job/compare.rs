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
            instances: instances(&detail.request),
            metrics,
            hyperparameters: detail.request.hyper_parameters.clone().unwrap_or_default(),
        }
    }
}

/// `ml.m5.xlarge × 2`, or the instance groups joined with `+`.
fn instances(request: &crate::request::TrainingJobRequest) -> String {
    let Some(resources) = &request.resource_config else {
        return String::new();
    };
    if let Some(groups) = resources.instance_groups.as_ref().filter(|g| !g.is_empty()) {
        return groups
            .iter()
            .map(|g| {
                format!(
                    "{} × {}",
                    g.instance_type.as_deref().unwrap_or("?"),
                    g.instance_count.unwrap_or(0)
                )
            })
            .collect::<Vec<_>>()
            .join(" + ");
    }
    format!(
        "{} × {}",
        resources.instance_type.as_deref().unwrap_or("?"),
        resources.instance_count.unwrap_or(1)
    )
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

/// The fixed columns before metrics and hyperparameters.
pub const FIXED_COLUMNS: [&str; 6] = [
    "Job",
    "Source",
    "Status",
    "Duration (s)",
    "Billable (s)",
    "Instances",
];

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

    /// Every column's header: the fixed ones, the metrics, the hyperparameters.
    pub fn header(&self) -> Vec<String> {
        FIXED_COLUMNS
            .iter()
            .map(|c| c.to_string())
            .chain(self.metrics.iter().cloned())
            .chain(self.hyperparameters.iter().cloned())
            .collect()
    }

    /// Job `i`'s cells, in the order of [`Self::header`] (empty where it has no value).
    pub fn row(&self, i: usize) -> Vec<String> {
        let job = &self.jobs[i];
        let mut cells = vec![
            job.name.clone(),
            job.source.clone(),
            job.status.clone(),
            job.duration_seconds.to_string(),
            job.billable_seconds
                .map(|s| s.to_string())
                .unwrap_or_default(),
            job.instances.clone(),
        ];
        cells.extend(self.metrics.iter().map(|m| {
            job.metrics
                .get(m)
                .map(|v| format_value(*v))
                .unwrap_or_default()
        }));
        cells.extend(
            self.hyperparameters
                .iter()
                .map(|h| job.hyperparameters.get(h).cloned().unwrap_or_default()),
        );
        cells
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
        let header = self.header();
        let rows: Vec<Vec<String>> = (0..self.jobs.len()).map(|i| self.row(i)).collect();
        let metric_start = FIXED_COLUMNS.len();
        let hp_start = metric_start + self.metrics.len();
        let mut lines: Vec<Vec<String>> = Vec::new();
        for (c, name) in header.iter().enumerate() {
            let mut label = name.clone();
            if c >= hp_start && self.differs(c - hp_start) {
                label = format!("≠ {label}");
            }
            let best = (metric_start..hp_start)
                .contains(&c)
                .then(|| self.best(name))
                .flatten();
            let mut line = vec![label];
            for (i, row) in rows.iter().enumerate() {
                let mark = if best == Some(i) { " *" } else { "" };
                line.push(format!("{}{mark}", row[c]));
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
        assert!(lines[1].ends_with("\"x, \"\"y\"\"\""), "{csv}");
        assert!(lines[2].starts_with("b,local,Completed,10,,"), "{csv}");
    }

    #[test]
    fn values_print_short() {
        assert_eq!(format_value(3.0), "3");
        assert_eq!(format_value(0.125), "0.125");
        assert_eq!(format_value(1.0 / 3.0), "0.333333");
    }
}
