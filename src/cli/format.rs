//! Plain-text renderings of jobs, logs and metrics for the terminal.

use std::fmt::Write;

use chrono::{DateTime, Utc};

use crate::job::{
    JobDetail, JobSummary, LogLine, MetricSeries, format_duration as duration, local_time,
    timestamp,
};

pub use crate::request::unique_name;

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<w$}  ");
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The job list as a table.
pub fn job_table(jobs: &[JobSummary], now: DateTime<Utc>) -> String {
    if jobs.is_empty() {
        return "no jobs\n".into();
    }
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.name.clone(),
                j.status.to_string(),
                j.secondary_status
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                local_time(j.creation_time),
                duration(j.duration(now)),
            ]
        })
        .collect();
    table(
        &["NAME", "STATUS", "SECONDARY", "CREATED", "DURATION"],
        &rows,
    )
}

/// A readable summary of DescribeTrainingJob.
pub fn describe(d: &JobDetail) -> String {
    let s = &d.summary;
    let mut out = String::new();
    let _ = writeln!(out, "TrainingJobName       {}", s.name);
    let _ = writeln!(out, "TrainingJobArn        {}", s.arn);
    let secondary = s
        .secondary_status
        .map(|x| format!(" ({x})"))
        .unwrap_or_default();
    let _ = writeln!(out, "TrainingJobStatus     {}{secondary}", s.status);
    let _ = writeln!(out, "CreationTime          {}", local_time(s.creation_time));
    if let Some(t) = d.training_start_time {
        let _ = writeln!(out, "TrainingStartTime     {}", local_time(t));
    }
    if let Some(t) = s.end_time {
        let _ = writeln!(out, "TrainingEndTime       {}", local_time(t));
    }
    if let Some(secs) = d.training_time_seconds {
        let _ = writeln!(out, "TrainingTimeInSeconds {secs}");
    }
    if let Some(uri) = &d.model_artifacts {
        let _ = writeln!(out, "ModelArtifacts        {uri}");
    }
    if let Some(reason) = &d.failure_reason {
        let _ = writeln!(out, "\nFailureReason:");
        for line in reason.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    if !d.transitions.is_empty() {
        let _ = writeln!(out, "\nSecondaryStatusTransitions:");
        for t in &d.transitions {
            let took = t
                .end_time
                .map(|e| duration(e - t.start_time))
                .unwrap_or_else(|| "...".into());
            let _ = writeln!(
                out,
                "  {:<20} {}  {:>6}  {}",
                t.status.as_str(),
                local_time(t.start_time),
                took,
                t.message
            );
        }
    }
    let request = d.request.to_value();
    for member in crate::job::secret::MEMBERS {
        let Some(map) = request.get(member).and_then(|v| v.as_object()) else {
            continue;
        };
        if map.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n{member}:");
        for (key, value) in map {
            let text = match value.as_str() {
                Some(_) if crate::job::secret::is_secret_key(key) => {
                    format!(
                        "{} (secret; describe --json shows it)",
                        crate::job::secret::MASK
                    )
                }
                Some(text) => text.to_string(),
                None => value.to_string(),
            };
            let _ = writeln!(out, "  {key:<24} {text}");
        }
    }
    if !d.final_metrics.is_empty() {
        let _ = writeln!(out, "\nFinalMetricDataList:");
        for m in &d.final_metrics {
            let _ = writeln!(out, "  {:<24} {}", m.name, m.value);
        }
    }
    out
}

/// One log line: `timestamp host text`.
pub fn log_line(line: &LogLine) -> String {
    let text = crate::job::text::terminal_view(&line.text);
    format!("{} {} {text}", timestamp(line.timestamp), line.host)
}

/// Metric summary: name, number of points, last, min and max.
pub fn metrics_table(series: &[MetricSeries]) -> String {
    if series.is_empty() {
        return "no metric points\n".into();
    }
    let rows: Vec<Vec<String>> = series
        .iter()
        .map(|s| {
            let values = s.points.iter().map(|p| p.value);
            let min = values.clone().fold(f64::INFINITY, f64::min);
            let max = values.fold(f64::NEG_INFINITY, f64::max);
            let last = s.points.last().map(|p| p.value).unwrap_or(f64::NAN);
            vec![
                s.name.clone(),
                s.points.len().to_string(),
                last.to_string(),
                min.to_string(),
                max.to_string(),
            ]
        })
        .collect();
    table(&["METRIC", "POINTS", "LAST", "MIN", "MAX"], &rows)
}

/// Every point as CSV with a header row.
pub fn metrics_csv(series: &[MetricSeries]) -> String {
    let mut out = String::from("metric,timestamp,value\n");
    for s in series {
        let name = csv_field(&s.name);
        for p in &s.points {
            let _ = writeln!(out, "{name},{},{}", timestamp(p.timestamp), p.value);
        }
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_fit_the_api_pattern() {
        let long = "a".repeat(80);
        for base in ["demo", long.as_str(), "x-"] {
            let name = unique_name(base);
            assert!(crate::request::is_valid_job_name(&name), "{name}");
        }
    }

    #[test]
    fn csv_quotes_names_with_commas() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("loss"), "loss");
    }
}
