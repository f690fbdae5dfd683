//! Scripted lives of training jobs for the relay: moto's jobs are born Completed, so the
//! relay rewrites `DescribeTrainingJob`, `ListTrainingJobs` and `Search` answers for the
//! jobs it is told about, moving them through InProgress (Starting, Downloading, Training, Uploading)
//! to Completed, one stage every `stage` seconds, and answers `StopTrainingJob` for them
//! (Stopping for a second, then Stopped). A completed job reports two hours of training
//! and one billed (`TrainingTimeInSeconds` 7200, `BillableTimeInSeconds` 3600).

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value as Json, json};

/// How long a stopped job stays Stopping.
const STOPPING: f64 = 1.0;

/// The stages of a job that runs to the end.
const STAGES: [(&str, &str); 5] = [
    ("InProgress", "Starting"),
    ("InProgress", "Downloading"),
    ("InProgress", "Training"),
    ("InProgress", "Uploading"),
    ("Completed", "Completed"),
];

/// One job's scripted life.
pub struct Life {
    started: Instant,
    started_epoch: f64,
    stage: Duration,
    stopped: Option<Instant>,
    /// The service's `FailureReason`, for a job that fails after Training.
    failure: Option<String>,
    /// `WarmPoolStatus.Status`, for a job that kept its instances.
    pub warm_pool: Option<String>,
}

impl Life {
    /// A life starting now, `stage` per stage.
    pub fn new(stage: Duration) -> Self {
        Self {
            started: Instant::now(),
            started_epoch: epoch_now(),
            stage,
            stopped: None,
            failure: None,
            warm_pool: None,
        }
    }

    /// A life that fails with `reason` where it would have completed.
    pub fn failing(stage: Duration, reason: &str) -> Self {
        Self {
            failure: Some(reason.to_string()),
            ..Self::new(stage)
        }
    }

    /// Asks the job to stop now.
    pub fn stop(&mut self) {
        self.stopped.get_or_insert_with(Instant::now);
    }

    /// The stages passed so far with their start offsets (seconds from the start), the
    /// current one last.
    fn stages(&self) -> Vec<(&'static str, &'static str, f64)> {
        let now = Instant::now();
        let stage = self.stage.as_secs_f64();
        let mut out: Vec<(&str, &str, f64)> = Vec::new();
        let cut = self.stopped.map(|s| (s - self.started).as_secs_f64());
        for (i, (status, secondary)) in STAGES.iter().enumerate() {
            let at = i as f64 * stage;
            let (status, secondary) = match (&self.failure, *status) {
                (Some(_), "Completed") => (&"Failed", &"Failed"),
                _ => (status, secondary),
            };
            if (now - self.started).as_secs_f64() < at || cut.is_some_and(|c| at > c) {
                break;
            }
            out.push((status, secondary, at));
        }
        if let Some(cut) = cut {
            out.push(("Stopping", "Stopping", cut));
            if (now - self.started).as_secs_f64() >= cut + STOPPING {
                out.push(("Stopped", "Stopped", cut + STOPPING));
            }
        }
        out
    }

    /// Rewrites one job's members (a `DescribeTrainingJob` answer or a list summary).
    fn apply(&self, job: &mut Json, transitions: bool) {
        let stages = self.stages();
        let (status, secondary, _) = *stages.last().expect("the first stage starts at once");
        let terminal = matches!(status, "Completed" | "Stopped" | "Failed");
        job["TrainingJobStatus"] = json!(status);
        job["SecondaryStatus"] = json!(secondary);
        job["CreationTime"] = json!(self.started_epoch);
        job["LastModifiedTime"] = json!(self.started_epoch + stages.last().unwrap().2);
        let object = job.as_object_mut().unwrap();
        if let Some(pool) = &self.warm_pool {
            object.insert(
                "WarmPoolStatus".into(),
                json!({"Status": pool, "ResourceRetainedBillableTimeInSeconds": 60}),
            );
        }
        if let (Some(reason), "Failed") = (&self.failure, status) {
            object.insert("FailureReason".into(), json!(reason));
        }
        if terminal {
            object.insert(
                "TrainingEndTime".into(),
                json!(self.started_epoch + stages.last().unwrap().2),
            );
            if status == "Completed" && transitions {
                object.insert("TrainingTimeInSeconds".into(), json!(7200));
                object.insert("BillableTimeInSeconds".into(), json!(3600));
            }
        } else {
            object.remove("TrainingEndTime");
            object.remove("FinalMetricDataList");
            object.remove("ModelArtifacts");
        }
        match stages.iter().find(|s| s.1 == "Training") {
            Some(training) => {
                object.insert(
                    "TrainingStartTime".into(),
                    json!(self.started_epoch + training.2),
                );
            }
            None => {
                object.remove("TrainingStartTime");
            }
        }
        if transitions {
            let list: Vec<Json> = stages
                .iter()
                .enumerate()
                .map(|(i, (_, secondary, at))| {
                    let mut t = json!({
                        "Status": secondary,
                        "StartTime": self.started_epoch + at,
                        "StatusMessage": format!("{secondary} (scripted)"),
                    });
                    if let Some(next) = stages.get(i + 1) {
                        t["EndTime"] = json!(self.started_epoch + next.2);
                    }
                    t
                })
                .collect();
            object.insert("SecondaryStatusTransitions".into(), Json::Array(list));
        }
    }
}

/// Rewrites an answer of `target` (an `X-Amz-Target`) for the scripted jobs; true when the
/// body changed.
pub fn rewrite(lives: &HashMap<String, Life>, target: &str, body: &mut Json) -> bool {
    if target.ends_with(".DescribeTrainingJob") {
        return apply_named(lives, "TrainingJobName", body, |l, j| l.apply(j, true));
    } else if target.ends_with(".Search")
        && let Some(results) = body["Results"].as_array_mut()
    {
        let jobs = results.iter_mut().filter_map(|r| r.get_mut("TrainingJob"));
        return apply_each(lives, jobs, true);
    } else if target.ends_with(".ListTrainingJobs")
        && let Some(summaries) = body["TrainingJobSummaries"].as_array_mut()
    {
        return apply_each(lives, summaries.iter_mut(), false);
    }
    false
}

/// Rewrites the scripted ones of `jobs`; true when any changed.
fn apply_each<'a>(
    lives: &HashMap<String, Life>,
    jobs: impl Iterator<Item = &'a mut Json>,
    transitions: bool,
) -> bool {
    // Every one is applied: `any` would stop at the first.
    let applied = jobs.map(|job| {
        apply_named(lives, "TrainingJobName", job, |l, j| {
            l.apply(j, transitions)
        })
    });
    applied.filter(|&changed| changed).count() > 0
}

/// Now, in seconds since the epoch, as the service writes times.
pub fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Applies `apply` to `job` when the life its member `key` names is scripted; true then.
pub fn apply_named<L>(
    lives: &HashMap<String, L>,
    key: &str,
    job: &mut Json,
    apply: impl Fn(&L, &mut Json),
) -> bool {
    let name = job[key].as_str().unwrap_or_default().to_string();
    match lives.get(&name) {
        Some(life) => {
            apply(life, job);
            true
        }
        None => false,
    }
}
