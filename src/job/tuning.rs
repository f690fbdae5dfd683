//! Tuning jobs as views: a local tuning job's state as its tuner keeps it (JSON in the
//! store), shown in `DescribeHyperParameterTuningJob`'s and
//! `ListTrainingJobsForHyperParameterTuningJob`'s shapes, and the summary a list shows of
//! any tuning job, read from those shapes (the service's or a local one).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::job::{AwsConnection, JobCredentials, LocalRun, Status, timestamp};
use crate::request::StringMap;
use crate::request::tuning::{Objective, TuningJobRequest};

/// One training job of a tuning job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// `<tuning>-NNN-xxxxxxxx`.
    pub name: String,
    /// The definition it ran (`TrainingJobDefinitions`), if named.
    pub definition: Option<String>,
    /// Its place in the searched space.
    pub point: Vec<f64>,
    /// `TunedHyperParameters`.
    pub tuned: StringMap,
    /// `TrainingJobStatus`.
    pub status: Status,
    /// The objective's values as the job reported them, in order.
    pub curve: Vec<f64>,
    /// Stopped by the tuning job's early stopping.
    pub early_stopped: bool,
    /// Why it failed.
    pub failure_reason: Option<String>,
    pub created: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
}

impl Trial {
    /// `FinalHyperParameterTuningJobObjectiveMetric.Value`: the last value reported, once
    /// the job ended (failed jobs have none).
    pub fn final_value(&self) -> Option<f64> {
        match self.status {
            Status::Completed | Status::Stopped => self.curve.last().copied(),
            _ => None,
        }
    }

    /// `ObjectiveStatus`: `Succeeded`, `Pending` or `Failed`.
    pub fn objective_status(&self) -> &'static str {
        match (self.status, self.final_value()) {
            (_, Some(_)) => "Succeeded",
            (Status::InProgress | Status::Stopping, None) => "Pending",
            _ => "Failed",
        }
    }
}

/// What the tuner keeps of a tuning job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuningState {
    /// `HyperParameterTuningJobStatus`.
    pub status: Status,
    /// Its trials, in the order they started.
    pub trials: Vec<Trial>,
    pub failure_reason: Option<String>,
    /// Why it ended before its last trial (target reached, not improving), if it did.
    pub completion_reason: Option<String>,
    pub created: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    pub last_modified: DateTime<Utc>,
    /// The AWS connection its trials reach `s3://` data and their role with (a local run of
    /// an AWS tuning job); local mode's own when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<AwsConnection>,
    /// Whose AWS credentials its trials get.
    #[serde(default)]
    pub credentials: JobCredentials,
    /// When the search converged (`ConvergenceDetectedTime`), if it ended so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub converged: Option<DateTime<Utc>>,
}

impl TuningState {
    /// A tuning job that has just been created.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            status: Status::InProgress,
            trials: Vec::new(),
            failure_reason: None,
            completion_reason: None,
            created: now,
            ended: None,
            last_modified: now,
            connection: None,
            credentials: JobCredentials::default(),
            converged: None,
        }
    }

    /// How each of its trials runs on this machine.
    pub fn trial_run(&self) -> LocalRun {
        LocalRun {
            connection: self.connection.clone(),
            credentials: self.credentials,
            debug: None,
        }
    }

    /// The index of the best trial with a final value.
    pub fn best(&self, minimize: bool) -> Option<usize> {
        self.trials
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.final_value().map(|v| (i, v)))
            .reduce(|a, b| {
                let better = if minimize { b.1 < a.1 } else { b.1 > a.1 };
                if better { b } else { a }
            })
            .map(|(i, _)| i)
    }

    /// Trials that ended since the best one (`NumberOfTrainingJobsObjectiveNotImproving`).
    pub fn not_improving(&self, minimize: bool) -> usize {
        let Some(best) = self.best(minimize) else {
            return self
                .trials
                .iter()
                .filter(|t| t.status.is_terminal())
                .count();
        };
        let best_end = self.trials[best].ended;
        self.trials
            .iter()
            .filter(|t| t.status.is_terminal() && t.ended > best_end)
            .count()
    }

    /// Trials still running (or being stopped).
    pub fn running(&self) -> usize {
        self.trials
            .iter()
            .filter(|t| !t.status.is_terminal())
            .count()
    }
}

/// The ARN a local tuning job is known by.
pub fn tuning_arn(name: &str) -> String {
    format!("arn:aws:sagemaker:local:000000000000:hyper-parameter-tuning-job/{name}")
}

/// The ARN of a local training job.
fn training_arn(name: &str) -> String {
    format!("arn:aws:sagemaker:local:000000000000:training-job/{name}")
}

/// `name=value` pairs of tuned hyperparameters, in one line.
pub fn tuned_text<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A trial in `HyperParameterTrainingJobSummary`'s shape.
pub fn trial_summary(trial: &Trial, tuning: &str, objective: Option<&Objective>) -> Value {
    let mut out = json!({
        "TrainingJobName": trial.name,
        "TrainingJobArn": training_arn(&trial.name),
        "TuningJobName": tuning,
        "CreationTime": timestamp(trial.created),
        "TrainingStartTime": timestamp(trial.created),
        "TrainingJobStatus": trial.status.as_str(),
        "TunedHyperParameters": trial.tuned,
        "ObjectiveStatus": trial.objective_status(),
    });
    if let Some(definition) = &trial.definition {
        out["TrainingJobDefinitionName"] = json!(definition);
    }
    if let Some(end) = trial.ended {
        out["TrainingEndTime"] = json!(timestamp(end));
    }
    if let Some(reason) = &trial.failure_reason {
        out["FailureReason"] = json!(reason);
    }
    if let (Some(value), Some(objective)) = (trial.final_value(), objective)
        && let Some(metric) = &objective.metric_name
    {
        let mut metric = json!({"MetricName": metric, "Value": value});
        if let Some(kind) = &objective.r#type {
            metric["Type"] = json!(kind);
        }
        out["FinalHyperParameterTuningJobObjectiveMetric"] = metric;
    }
    out
}

/// The tuning job in `DescribeHyperParameterTuningJob`'s shape.
pub fn describe(request: &TuningJobRequest, state: &TuningState) -> Value {
    let name = request.name();
    let objective = request.tuning_objective();
    let minimize = objective.is_some_and(|o| o.minimize());
    let mut out = request.to_value();
    let object = out.as_object_mut().expect("a request is an object");
    object.shift_remove("Tags");
    object.insert("HyperParameterTuningJobArn".into(), json!(tuning_arn(name)));
    object.insert(
        "HyperParameterTuningJobStatus".into(),
        json!(state.status.as_str()),
    );
    object.insert("CreationTime".into(), json!(timestamp(state.created)));
    if let Some(end) = state.ended {
        object.insert("HyperParameterTuningEndTime".into(), json!(timestamp(end)));
    }
    object.insert(
        "LastModifiedTime".into(),
        json!(timestamp(state.last_modified)),
    );
    let count = |f: &dyn Fn(&Trial) -> bool| state.trials.iter().filter(|t| f(t)).count();
    object.insert(
        "TrainingJobStatusCounters".into(),
        json!({
            "Completed": count(&|t| t.status == Status::Completed),
            "InProgress": count(&|t| matches!(t.status, Status::InProgress | Status::Stopping)),
            "RetryableError": 0,
            "NonRetryableError": count(&|t| t.status == Status::Failed),
            "Stopped": count(&|t| t.status == Status::Stopped),
        }),
    );
    object.insert(
        "ObjectiveStatusCounters".into(),
        json!({
            "Succeeded": count(&|t| t.objective_status() == "Succeeded"),
            "Pending": count(&|t| t.objective_status() == "Pending"),
            "Failed": count(&|t| t.objective_status() == "Failed"),
        }),
    );
    if let Some(best) = state.best(minimize) {
        object.insert(
            "BestTrainingJob".into(),
            trial_summary(&state.trials[best], name, objective),
        );
    }
    let mut details =
        json!({"NumberOfTrainingJobsObjectiveNotImproving": state.not_improving(minimize)});
    if let Some(when) = state.converged {
        details["ConvergenceDetectedTime"] = json!(timestamp(when));
    }
    object.insert("TuningJobCompletionDetails".into(), details);
    if let Some(reason) = &state.failure_reason {
        object.insert("FailureReason".into(), json!(reason));
    }
    out
}

/// A time as the service writes it (epoch seconds) or as local descriptions do (RFC 3339).
pub fn service_time(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::Number(n) => DateTime::from_timestamp_millis((n.as_f64()? * 1000.0) as i64),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc)),
        _ => None,
    }
}

/// `TrainingJobStatusCounters`, failures of both kinds together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub completed: u64,
    pub in_progress: u64,
    pub stopped: u64,
    pub failed: u64,
}

/// A tuning job as a list shows it: `HyperParameterTuningJobSummary`, read from a summary
/// or a description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TuningSummary {
    pub name: String,
    pub arn: String,
    pub status: Status,
    pub strategy: String,
    pub created: DateTime<Utc>,
    pub ended: Option<DateTime<Utc>>,
    pub counters: Counters,
    /// `ResourceLimits.MaxNumberOfTrainingJobs`.
    pub max_jobs: Option<u64>,
    /// The best trial's name and final objective value (descriptions only).
    pub best: Option<(String, f64)>,
    /// The objective's metric name (descriptions only).
    pub metric: Option<String>,
}

impl TuningSummary {
    /// The summary of the service's (or a local) `HyperParameterTuningJobSummary` or
    /// `DescribeHyperParameterTuningJob` JSON; `None` without a name.
    pub fn from_service(value: &Value) -> Option<Self> {
        let config = &value["HyperParameterTuningJobConfig"];
        let pick = |member: &str| {
            let top = &value[member];
            if top.is_null() { &config[member] } else { top }
        };
        let counters = &value["TrainingJobStatusCounters"];
        let count = |k: &str| counters[k].as_u64().unwrap_or(0);
        let best = &value["BestTrainingJob"];
        Some(Self {
            name: value["HyperParameterTuningJobName"].as_str()?.to_string(),
            arn: value["HyperParameterTuningJobArn"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            status: value["HyperParameterTuningJobStatus"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or(Status::InProgress),
            strategy: pick("Strategy").as_str().unwrap_or_default().to_string(),
            created: service_time(&value["CreationTime"]).unwrap_or_default(),
            ended: service_time(&value["HyperParameterTuningEndTime"]),
            counters: Counters {
                completed: count("Completed"),
                in_progress: count("InProgress"),
                stopped: count("Stopped"),
                failed: count("NonRetryableError") + count("RetryableError"),
            },
            max_jobs: pick("ResourceLimits")["MaxNumberOfTrainingJobs"].as_u64(),
            best: best["TrainingJobName"].as_str().and_then(|name| {
                let value =
                    best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"].as_f64()?;
                Some((name.to_string(), value))
            }),
            metric: config["HyperParameterTuningJobObjective"]["MetricName"]
                .as_str()
                .map(str::to_string),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_read_the_services_list_and_local_descriptions_alike() {
        let listed = json!({
            "HyperParameterTuningJobName": "hpo", "HyperParameterTuningJobArn": "arn:x",
            "HyperParameterTuningJobStatus": "InProgress", "Strategy": "Bayesian",
            "CreationTime": 1_700_000_000.5,
            "TrainingJobStatusCounters": {"Completed": 3, "InProgress": 2, "NonRetryableError": 1, "RetryableError": 1, "Stopped": 0},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 2}
        });
        let s = TuningSummary::from_service(&listed).unwrap();
        assert_eq!(
            (s.status, s.strategy.as_str(), s.max_jobs),
            (Status::InProgress, "Bayesian", Some(20))
        );
        assert_eq!(
            s.counters,
            Counters {
                completed: 3,
                in_progress: 2,
                stopped: 0,
                failed: 2
            }
        );
        assert_eq!(s.created.timestamp_millis(), 1_700_000_000_500);
        let described = json!({
            "HyperParameterTuningJobName": "here", "HyperParameterTuningJobStatus": "Completed",
            "HyperParameterTuningJobConfig": {"Strategy": "Random", "ResourceLimits": {"MaxNumberOfTrainingJobs": 4}},
            "CreationTime": "2026-12-05T20:00:00.000+00:00",
            "BestTrainingJob": {"TrainingJobName": "here-002-0000abcd", "FinalHyperParameterTuningJobObjectiveMetric": {"MetricName": "loss", "Value": 0.25}}
        });
        let s = TuningSummary::from_service(&described).unwrap();
        assert_eq!((s.strategy.as_str(), s.max_jobs), ("Random", Some(4)));
        assert_eq!(s.best, Some(("here-002-0000abcd".to_string(), 0.25)));
        assert!(TuningSummary::from_service(&json!({})).is_none());
    }
}
