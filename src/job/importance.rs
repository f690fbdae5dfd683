//! Which hyperparameters matter, for any set of compared jobs (a tuning job's trials, or
//! jobs chosen by hand): each hyperparameter that differs is an axis, numeric (logarithmic
//! when it spans two decades or more) or categorical, and its importance is estimated
//! against an objective metric by the method [`METHOD`] names.

use serde::Serialize;

use super::compare::{Comparison, lower_is_better};
use crate::request::tuning::TUNING_OBJECTIVE_METRIC;

/// How the importance is estimated, as shown next to it.
pub const METHOD: &str = "the share of the objective's variance each hyperparameter explains \
     alone (ω²: the correlation ratio corrected for the number of groups), with the jobs \
     grouped by a categorical value, or by a number into about √n bins of equal counts, so \
     that a best value in the middle of a range counts as much as a trend. One \
     hyperparameter at a time: interactions are not counted";

/// An axis's values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Scale {
    /// Numbers from `min` to `max`, spaced by their logarithm when `log`.
    Numeric { min: f64, max: f64, log: bool },
    /// Text values, in sorted order.
    Categorical { values: Vec<String> },
}

impl Scale {
    /// Where `value` sits on the axis, from 0 (bottom) to 1.
    pub fn position(&self, value: &str) -> Option<f64> {
        match self {
            Scale::Numeric { min, max, log } => {
                let v = number(value)?;
                Some(if max <= min {
                    0.5
                } else if *log {
                    (v.ln() - min.ln()) / (max.ln() - min.ln())
                } else {
                    (v - min) / (max - min)
                })
            }
            Scale::Categorical { values } => {
                let i = values.iter().position(|s| s == value)?;
                let n = values.len();
                Some(if n == 1 {
                    0.5
                } else {
                    i as f64 / (n - 1) as f64
                })
            }
        }
    }
}

/// One hyperparameter as an axis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis {
    pub name: String,
    pub scale: Scale,
    /// Between 0 and 1; `None` with fewer than three jobs that have it and the objective.
    pub importance: Option<f64>,
}

/// One job on the axes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    pub name: String,
    /// Its place on each axis, from 0 (bottom) to 1; `None` where it lacks the value.
    pub positions: Vec<Option<f64>>,
    /// The objective's final value.
    pub objective: f64,
    /// Its rank among the lines by the objective, from 0 (the worst) to 1 (the best).
    pub rank: f64,
}

/// The jobs on the axes of their differing hyperparameters, with an objective.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Study {
    pub objective: String,
    pub lower_is_better: bool,
    pub axes: Vec<Axis>,
    /// Jobs with a final value of the objective.
    pub lines: Vec<Line>,
    /// The objective's lowest and highest value.
    pub range: (f64, f64),
    /// The objective is shown on a logarithmic scale: its values are positive and span a
    /// decade or more.
    pub log_objective: bool,
}

/// The metric to study by default: the tuning objective the jobs were given
/// (`_tuning_objective_metric`), else the first metric.
pub fn default_objective(comparison: &Comparison) -> Option<String> {
    comparison
        .jobs
        .iter()
        .find_map(|j| j.hyperparameters.get(TUNING_OBJECTIVE_METRIC))
        .filter(|m| comparison.metrics.contains(m))
        .cloned()
        .or_else(|| comparison.metrics.first().cloned())
}

/// A hyperparameter value as shown: JSON strings (as the SageMaker SDK writes them)
/// without their quotes.
fn shown(value: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => value.to_string(),
    }
}

fn number(value: &str) -> Option<f64> {
    value.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// The study of `comparison`'s jobs against `objective`.
pub fn study(comparison: &Comparison, objective: &str) -> Study {
    let jobs: Vec<(usize, f64)> = comparison
        .jobs
        .iter()
        .enumerate()
        .filter_map(|(i, j)| Some((i, *j.metrics.get(objective)?)))
        .filter(|(_, v)| v.is_finite())
        .collect();
    let names = comparison.hyperparameters[..comparison.differing]
        .iter()
        .filter(|n| !n.starts_with("sagemaker_") && n.as_str() != TUNING_OBJECTIVE_METRIC);
    let mut axes = Vec::new();
    let mut positions: Vec<Vec<Option<f64>>> = vec![Vec::new(); jobs.len()];
    for name in names {
        let values: Vec<Option<String>> = jobs
            .iter()
            .map(|(i, _)| {
                comparison.jobs[*i]
                    .hyperparameters
                    .get(name)
                    .map(|v| shown(v))
            })
            .collect();
        let present: Vec<&String> = values.iter().flatten().collect();
        if present.is_empty() {
            continue;
        }
        let numeric: Option<Vec<f64>> = present.iter().map(|v| number(v)).collect();
        let scale = match numeric {
            Some(numbers) => {
                let min = numbers.iter().copied().fold(f64::INFINITY, f64::min);
                let max = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let log = min > 0.0 && max / min >= 100.0;
                Scale::Numeric { min, max, log }
            }
            None => {
                let mut values: Vec<String> = present.iter().map(|v| v.to_string()).collect();
                values.sort();
                values.dedup();
                Scale::Categorical { values }
            }
        };
        for (line, value) in positions.iter_mut().zip(&values) {
            line.push(value.as_deref().and_then(|v| scale.position(v)));
        }
        let pairs: Vec<(&str, f64)> = values
            .iter()
            .zip(&jobs)
            .filter_map(|(v, (_, y))| Some((v.as_deref()?, *y)))
            .collect();
        let importance = match &scale {
            Scale::Numeric { .. } => {
                let mut numbered: Vec<(f64, f64)> = pairs
                    .iter()
                    .filter_map(|(v, y)| Some((number(v)?, *y)))
                    .collect();
                numbered.sort_by(|a, b| a.0.total_cmp(&b.0));
                omega_squared(&quantile_groups(&numbered))
            }
            Scale::Categorical { values } => {
                let groups: Vec<Vec<f64>> = values
                    .iter()
                    .map(|value| {
                        pairs
                            .iter()
                            .filter(|(v, _)| v == value)
                            .map(|p| p.1)
                            .collect()
                    })
                    .collect();
                omega_squared(&groups)
            }
        };
        axes.push(Axis {
            name: name.clone(),
            scale,
            importance,
        });
    }
    let lower = lower_is_better(objective);
    let values: Vec<f64> = jobs.iter().map(|(_, y)| *y).collect();
    let lines: Vec<Line> = jobs
        .iter()
        .zip(positions)
        .zip(ranks(&values, lower))
        .map(|(((i, y), positions), rank)| Line {
            name: comparison.jobs[*i].name.clone(),
            positions,
            objective: *y,
            rank,
        })
        .collect();
    let range = lines
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), l| {
            (lo.min(l.objective), hi.max(l.objective))
        });
    Study {
        objective: objective.to_string(),
        lower_is_better: lower,
        axes,
        lines,
        range,
        log_objective: range.0 > 0.0 && range.1 / range.0 >= 10.0,
    }
}

/// Each value's rank, from 0 (the worst) to 1 (the best; the lowest when
/// `lower_is_better`); 0.5 for a single value. Colours by rank stay apart when one value is
/// far from the others.
pub fn ranks(values: &[f64], lower_is_better: bool) -> Vec<f64> {
    let n = values.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (values[a], values[b]);
        if lower_is_better {
            y.total_cmp(&x)
        } else {
            x.total_cmp(&y)
        }
    });
    let mut out = vec![0.5; n];
    if n > 1 {
        for (rank, &i) in order.iter().enumerate() {
            out[i] = rank as f64 / (n - 1) as f64;
        }
    }
    out
}

/// The objective values of `sorted` (by the hyperparameter's value) in about √n groups of
/// equal counts, equal values kept in one group.
fn quantile_groups(sorted: &[(f64, f64)]) -> Vec<Vec<f64>> {
    let n = sorted.len();
    let k = ((n as f64).sqrt().round() as usize).max(2);
    let mut groups: Vec<Vec<f64>> = Vec::new();
    let mut current: Vec<f64> = Vec::new();
    for (i, (x, y)) in sorted.iter().enumerate() {
        let full = current.len() * k >= n;
        let new_value = i > 0 && sorted[i - 1].0 != *x;
        if full && new_value {
            groups.push(std::mem::take(&mut current));
        }
        current.push(*y);
    }
    groups.push(current);
    groups
}

/// ω² of values in groups: the share of their variance the grouping explains, less what
/// as many groups of noise would explain; `None` with fewer than three values, or no
/// values left to measure the noise with (as many groups as values).
fn omega_squared(groups: &[Vec<f64>]) -> Option<f64> {
    let groups: Vec<&Vec<f64>> = groups.iter().filter(|g| !g.is_empty()).collect();
    let n: usize = groups.iter().map(|g| g.len()).sum();
    let k = groups.len();
    if n < 3 || n <= k {
        return None;
    }
    let mean = groups.iter().flat_map(|g| g.iter()).sum::<f64>() / n as f64;
    let total: f64 = groups
        .iter()
        .flat_map(|g| g.iter())
        .map(|y| (y - mean).powi(2))
        .sum();
    if total <= 0.0 {
        return Some(0.0);
    }
    let between: f64 = groups
        .iter()
        .map(|g| {
            let m = g.iter().sum::<f64>() / g.len() as f64;
            g.len() as f64 * (m - mean).powi(2)
        })
        .sum();
    let within = (total - between) / (n - k) as f64;
    Some(((between - (k - 1) as f64 * within) / (total + within)).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::compare::ComparedJob;
    use std::collections::BTreeMap;

    fn job(name: &str, hypers: &[(&str, &str)], loss: f64) -> ComparedJob {
        ComparedJob {
            source: "local".into(),
            name: name.into(),
            status: "Completed".into(),
            duration_seconds: 1,
            billable_seconds: None,
            spot_savings: None,
            estimated_cost: None,
            instances: String::new(),
            metrics: BTreeMap::from([
                ("valid:loss".to_string(), loss),
                ("acc".to_string(), 1.0 - loss),
            ]),
            hyperparameters: hypers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn a_hyperparameter_that_drives_the_objective_ranks_above_one_that_does_not() {
        let mut jobs = Vec::new();
        for i in 0..12 {
            let lr = 10f64.powi(-(i % 6)); // 1 to 1e-5: spans decades
            let noise = ((i * 7) % 5) as f64;
            let opt = if i % 2 == 0 { "\"adam\"" } else { "\"sgd\"" };
            let loss = (i % 6) as f64 * 0.1 + if i % 2 == 0 { 0.0 } else { 0.05 };
            jobs.push(job(
                &format!("t-{i:03}-0000000{i}"),
                &[
                    ("lr", &lr.to_string()),
                    ("seed", &noise.to_string()),
                    ("optimizer", opt),
                    ("_tuning_objective_metric", "valid:loss"),
                    ("sagemaker_program", &format!("\"train{}.py\"", i % 2)),
                ],
                loss,
            ));
        }
        let comparison = Comparison::new(jobs);
        assert_eq!(
            default_objective(&comparison).as_deref(),
            Some("valid:loss")
        );
        let s = study(&comparison, "valid:loss");
        assert!(s.lower_is_better);
        let axis = |n: &str| s.axes.iter().find(|a| a.name == n).unwrap();
        assert!(s.axes.iter().all(|a| !a.name.starts_with("sagemaker_")));
        assert!(matches!(axis("lr").scale, Scale::Numeric { log: true, .. }));
        assert_eq!(
            axis("optimizer").scale,
            Scale::Categorical {
                values: vec!["adam".into(), "sgd".into()]
            }
        );
        let lr = axis("lr").importance.unwrap();
        let seed = axis("seed").importance.unwrap();
        assert!(lr > 0.6 && seed < 0.2, "lr {lr}, seed {seed}");
        assert!(axis("optimizer").importance.unwrap() < lr);
        // Every line has a place on every axis, within the axis.
        for line in &s.lines {
            assert!(
                line.positions
                    .iter()
                    .all(|p| p.is_some_and(|p| (0.0..=1.0).contains(&p)))
            );
        }
        assert_eq!(s.range, (0.0, 0.55));
        assert!(!s.log_objective);
        // The lowest loss ranks best.
        let best = s.lines.iter().find(|l| l.rank == 1.0).unwrap();
        assert_eq!(best.objective, 0.0);
        assert_eq!(ranks(&[3.0, 1.0, 2.0], false), [1.0, 0.0, 0.5]);
    }

    #[test]
    fn too_few_jobs_have_no_estimate_and_equal_values_group_together() {
        let comparison = Comparison::new(vec![
            job("a", &[("lr", "1")], 0.1),
            job("b", &[("lr", "2")], 0.2),
        ]);
        let s = study(&comparison, "valid:loss");
        assert_eq!(s.axes[0].importance, None);
        // Equal values stay in one group.
        let groups = quantile_groups(&[(1.0, 0.1), (1.0, 0.2), (1.0, 0.3), (2.0, 0.4)]);
        assert_eq!(groups, [vec![0.1, 0.2, 0.3], vec![0.4]]);
    }

    #[test]
    fn a_best_value_in_the_middle_of_a_range_counts_as_much_as_a_trend() {
        // A valley: the loss is lowest for lr near 1e-3, whatever the other does.
        let jobs: Vec<ComparedJob> = (0..25)
            .map(|i| {
                let exponent = -1.0 - 4.0 * (i % 5) as f64 / 4.0; // 1e-1 .. 1e-5
                let lr = 10f64.powf(exponent);
                let width = (i * 37 % 11) as f64;
                let loss = (exponent + 3.0).powi(2);
                job(
                    &format!("j{i}"),
                    &[("lr", &lr.to_string()), ("width", &width.to_string())],
                    loss,
                )
            })
            .collect();
        let s = study(&Comparison::new(jobs), "valid:loss");
        let get = |n: &str| {
            s.axes
                .iter()
                .find(|a| a.name == n)
                .unwrap()
                .importance
                .unwrap()
        };
        assert!(get("lr") > 0.9, "{}", get("lr"));
        assert!(get("width") < 0.2, "{}", get("width"));
    }
}
