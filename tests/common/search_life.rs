//! Scripted lives of tuning jobs for the relay. moto creates a tuning job but never runs it,
//! and has neither `ListTrainingJobsForHyperParameterTuningJob` nor
//! `StopHyperParameterTuningJob`. For a tuning job the relay is told about, its trials run in
//! waves of `parallel`, one wave every `stage`, each ending Completed with its given
//! objective value; the relay answers the trials' listing and the stop itself (running
//! trials Stopping for a second, then Stopped), and rewrites the tuning job's status,
//! counters and best training job in `DescribeHyperParameterTuningJob` and
//! `ListHyperParameterTuningJobs`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

use super::life::{apply_named, epoch_now};

/// How long a stopped tuning job and its running trials stay Stopping.
const STOPPING: f64 = 1.0;

/// One scripted trial: its name, tuned hyperparameters and final objective value.
pub struct ScriptedTrial {
    pub name: String,
    pub tuned: Json,
    pub value: f64,
}

/// One tuning job's scripted life.
pub struct SearchLife {
    started: Instant,
    started_epoch: f64,
    stage: f64,
    parallel: usize,
    metric: String,
    trials: Vec<ScriptedTrial>,
    stopped: Option<f64>,
}

/// Where a trial is at some moment.
struct TrialState<'a> {
    trial: &'a ScriptedTrial,
    status: &'static str,
    start: f64,
    end: Option<f64>,
}

impl SearchLife {
    /// A life from now: `trials` in waves of `parallel`, `stage` a wave, `metric` the
    /// objective.
    pub fn new(trials: Vec<ScriptedTrial>, parallel: usize, stage: Duration, metric: &str) -> Self {
        Self {
            started: Instant::now(),
            started_epoch: epoch_now(),
            stage: stage.as_secs_f64(),
            parallel: parallel.max(1),
            metric: metric.to_string(),
            trials,
            stopped: None,
        }
    }

    /// Asks the tuning job to stop now.
    pub fn stop(&mut self) {
        self.stopped
            .get_or_insert(self.started.elapsed().as_secs_f64());
    }

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The trials started so far, with their status now.
    fn states(&self) -> Vec<TrialState<'_>> {
        let now = self.now();
        self.trials
            .iter()
            .enumerate()
            .filter_map(|(i, trial)| {
                let start = (i / self.parallel) as f64 * self.stage;
                let end = start + self.stage;
                if start > now || self.stopped.is_some_and(|cut| start > cut) {
                    return None;
                }
                let (status, end) = match self.stopped {
                    Some(cut) if cut < end && now >= cut + STOPPING => {
                        ("Stopped", Some(cut + STOPPING))
                    }
                    Some(cut) if cut < end => ("Stopping", None),
                    _ if now >= end => ("Completed", Some(end)),
                    _ => ("InProgress", None),
                };
                Some(TrialState {
                    trial,
                    status,
                    start,
                    end,
                })
            })
            .collect()
    }

    /// `HyperParameterTuningJobStatus` now, and when it ended.
    fn status(&self, states: &[TrialState]) -> (&'static str, Option<f64>) {
        let last = self.trials.len().div_ceil(self.parallel) as f64 * self.stage;
        match self.stopped {
            Some(cut) if self.now() >= cut + STOPPING => ("Stopped", Some(cut + STOPPING)),
            Some(_) => ("Stopping", None),
            None if self.now() >= last && states.len() == self.trials.len() => {
                ("Completed", Some(last))
            }
            None => ("InProgress", None),
        }
    }

    /// A `HyperParameterTrainingJobSummary` of a trial.
    fn summary(&self, tuning: &str, state: &TrialState) -> Json {
        let mut summary = json!({
            "TrainingJobName": state.trial.name,
            "TrainingJobArn": format!("arn:aws:sagemaker:us-east-1:123456789012:training-job/{}", state.trial.name),
            "TuningJobName": tuning,
            "CreationTime": self.started_epoch + state.start,
            "TrainingStartTime": self.started_epoch + state.start,
            "TrainingJobStatus": state.status,
            "TunedHyperParameters": state.trial.tuned,
            "ObjectiveStatus": if state.status == "Completed" { "Succeeded" } else { "Pending" },
        });
        if let Some(end) = state.end {
            summary["TrainingEndTime"] = json!(self.started_epoch + end);
        }
        if state.status == "Completed" {
            summary["FinalHyperParameterTuningJobObjectiveMetric"] =
                json!({"MetricName": self.metric, "Value": state.trial.value});
        }
        summary
    }

    /// `ListTrainingJobsForHyperParameterTuningJob`'s answer.
    pub fn listing(&self, tuning: &str) -> Json {
        let summaries: Vec<Json> = self
            .states()
            .iter()
            .map(|s| self.summary(tuning, s))
            .collect();
        json!({"TrainingJobSummaries": summaries})
    }

    /// Rewrites a tuning job's description, or its list summary (which has no best
    /// training job in the service's shape).
    fn apply(&self, job: &mut Json, described: bool) {
        let states = self.states();
        let (status, ended) = self.status(&states);
        let count = |s: &str| states.iter().filter(|t| t.status == s).count();
        job["HyperParameterTuningJobStatus"] = json!(status);
        job["TrainingJobStatusCounters"] = json!({
            "Completed": count("Completed"),
            "InProgress": count("InProgress") + count("Stopping"),
            "RetryableError": 0,
            "NonRetryableError": 0,
            "Stopped": count("Stopped"),
        });
        job["ObjectiveStatusCounters"] = json!({
            "Succeeded": count("Completed"),
            "Pending": count("InProgress") + count("Stopping"),
            "Failed": count("Stopped"),
        });
        if let Some(end) = ended {
            job["HyperParameterTuningEndTime"] = json!(self.started_epoch + end);
        }
        let tuning = job["HyperParameterTuningJobName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let best = states
            .iter()
            .filter(|s| s.status == "Completed")
            .min_by(|a, b| a.trial.value.total_cmp(&b.trial.value));
        if let Some(best) = best.filter(|_| described) {
            job["BestTrainingJob"] = self.summary(&tuning, best);
        }
    }
}

/// Rewrites an answer of `target` for the scripted tuning jobs; true when it changed.
pub fn rewrite(lives: &HashMap<String, SearchLife>, target: &str, body: &mut Json) -> bool {
    const NAME: &str = "HyperParameterTuningJobName";
    if target.ends_with(".DescribeHyperParameterTuningJob") {
        return apply_named(lives, NAME, body, |l, j| l.apply(j, true));
    }
    if target.ends_with(".ListHyperParameterTuningJobs")
        && let Some(summaries) = body["HyperParameterTuningJobSummaries"].as_array_mut()
    {
        // Every one is applied: `any` would stop at the first.
        let applied = summaries
            .iter_mut()
            .map(|summary| apply_named(lives, NAME, summary, |l, j| l.apply(j, false)));
        return applied.filter(|&changed| changed).count() > 0;
    }
    false
}

/// The relay's own answer to the two tuning calls moto lacks, for a scripted tuning job.
pub fn answer(lives: &mut HashMap<String, SearchLife>, body: &Json, target: &str) -> Option<Json> {
    let name = body["HyperParameterTuningJobName"].as_str()?;
    let life = lives.get_mut(name)?;
    if target.ends_with(".ListTrainingJobsForHyperParameterTuningJob") {
        Some(life.listing(name))
    } else if target.ends_with(".StopHyperParameterTuningJob") {
        life.stop();
        Some(Json::Object(Default::default()))
    } else {
        None
    }
}
