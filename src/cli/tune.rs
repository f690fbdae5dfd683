//! `sagedesk tune` and `sagedesk tuning ...`: tuning jobs on this machine, or on AWS with
//! the connection flags. Both answer in the service's shapes
//! (`DescribeHyperParameterTuningJob`, `ListTrainingJobsForHyperParameterTuningJob`), which
//! the text output is read from.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_STOPPED, Failure, TuningAction, report};
use crate::backend::aws::AwsBackend;
use crate::backend::local::LocalBackend;
use crate::backend::local::tuning::run as here;
use crate::backend::{Backend, Connection};
use crate::job::tuning::tuned_text;
use crate::request::tuning::{TuningJobRequest, read_tuning_file};
use crate::request::validate::{self, Target};

/// `HyperParameterTuningJobStatus` values that end a tuning job.
const ENDED: [&str; 3] = ["Completed", "Failed", "Stopped"];

/// How often a waiting `tune` looks again: here, and on AWS (whose calls are rate-limited).
const LOOK_HERE: Duration = Duration::from_millis(250);
const LOOK_AWS: Duration = Duration::from_secs(5);

/// Where the tuning jobs are: this machine, or SageMaker.
struct Place {
    backend: Box<dyn Backend>,
    target: Target,
}

impl Place {
    async fn of(connection: Option<Connection>) -> Result<Self, Failure> {
        Ok(match connection {
            Some(Connection::Aws(aws)) => Place {
                backend: Box::new(AwsBackend::connect(aws).await?),
                target: Target::Aws,
            },
            _ => Place {
                backend: Box::new(LocalBackend::open(super::local::config()?)?),
                target: Target::Local,
            },
        })
    }

    fn target(&self) -> Target {
        self.target
    }

    async fn describe(&self, name: &str) -> Result<Value, Failure> {
        Ok(self.backend.describe_tuning_job(name).await?)
    }

    async fn trials(&self, name: &str) -> Result<Vec<Value>, Failure> {
        Ok(self.backend.list_tuning_trials(name).await?)
    }

    async fn stop(&self, name: &str) -> Result<(), Failure> {
        Ok(self.backend.stop_tuning_job(name).await?)
    }
}

/// The request of `file`, renamed as asked, refused (with every problem) when `target`
/// could not run it, nor each trial's training job.
fn read_checked(
    file: &Path,
    name: Option<String>,
    target: Target,
) -> Result<TuningJobRequest, Failure> {
    let (_, mut request) = read_tuning_file(file)?;
    if let Some(name) = name {
        request.hyper_parameter_tuning_job_name = Some(name);
    }
    let origin = file.display().to_string();
    let refusal = match target {
        Target::Local => "local mode cannot run this tuning job",
        Target::Aws => "SageMaker would refuse this tuning job",
    };
    let diagnostics = validate::validate_tuning_value(&request.to_value(), target, None);
    if validate::error_count(&diagnostics) > 0 {
        return Err(Failure {
            message: format!("{refusal}\n{}", report::text(&origin, &diagnostics, target)),
            code: EXIT_BAD_INPUT,
        });
    }
    let checks = super::runtime_checks(target);
    for trial in trials_of(&request) {
        let diagnostics = validate::validate(&trial, target, checks.as_deref());
        if validate::error_count(&diagnostics) > 0 {
            return Err(Failure {
                message: format!(
                    "{refusal}: its training jobs would fail\n{}",
                    report::text(&format!("{origin}: a trial"), &diagnostics, target)
                ),
                code: EXIT_BAD_INPUT,
            });
        }
    }
    Ok(request)
}

/// A training job request of each definition, as its first trial would be.
fn trials_of(request: &TuningJobRequest) -> Vec<crate::request::TrainingJobRequest> {
    request
        .definitions()
        .into_iter()
        .map(|d| d.first_trial(request.name()))
        .collect()
}

/// `sagedesk tune FILE`: starts the tuning job (here, or on AWS after preflight) and,
/// unless `detach`, waits for its end.
pub async fn tune(
    file: &Path,
    connection: Option<Connection>,
    options: TuneOptions,
) -> Result<u8, Failure> {
    let place = Place::of(connection.clone()).await?;
    let request = read_checked(file, options.name, place.target())?;
    let name = request.name().to_string();
    if place.target() == Target::Aws && !options.no_preflight {
        let origin = file.display().to_string();
        for trial in trials_of(&request) {
            super::preflight::before_submit(&trial, connection.clone(), &origin).await?;
        }
    }
    place.backend.create_tuning_job(request.clone()).await?;
    let strategy = request
        .hyper_parameter_tuning_job_config
        .as_ref()
        .and_then(|c| c.strategy.clone())
        .unwrap_or_else(|| "Bayesian".into());
    let on = match place.target() {
        Target::Local => "here",
        Target::Aws => "on AWS",
    };
    eprintln!("started tuning job {name} ({strategy}, {on})");
    if options.detach {
        return Ok(0);
    }
    let described = wait(&place, &name, options.follow).await?;
    if options.json {
        println!("{}", pretty(&described));
    } else {
        print!("{}", summary(&described));
    }
    Ok(match status(&described) {
        "Completed" => 0,
        "Stopped" | "Stopping" => EXIT_STOPPED,
        _ => EXIT_FAILED,
    })
}

/// What `sagedesk tune` was asked besides the file.
pub struct TuneOptions {
    pub follow: bool,
    pub json: bool,
    pub name: Option<String>,
    pub detach: bool,
    pub no_preflight: bool,
}

fn status(described: &Value) -> &str {
    described["HyperParameterTuningJobStatus"]
        .as_str()
        .unwrap_or("")
}

/// Waits for tuning job `name` to end, saying each trial's start and end when `follow`;
/// its description at the end. Ctrl+C stops it; a second Ctrl+C stops waiting.
async fn wait(place: &Place, name: &str, follow: bool) -> Result<Value, Failure> {
    let look = match place.target() {
        Target::Local => LOOK_HERE,
        Target::Aws => LOOK_AWS,
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut stopping = false;
    let mut interrupt = super::interrupt::Interrupts::listen();
    loop {
        let described = place.describe(name).await?;
        if follow {
            for trial in place.trials(name).await? {
                let job = trial["TrainingJobName"].as_str().unwrap_or("").to_string();
                let state = trial["TrainingJobStatus"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                if seen.get(&job) != Some(&state) {
                    eprintln!("{}", trial_line(&trial, seen.contains_key(&job)));
                    seen.insert(job, state);
                }
            }
        }
        if ENDED.contains(&status(&described)) {
            return Ok(described);
        }
        tokio::select! {
            _ = tokio::time::sleep(look) => {}
            _ = interrupt.next() => {
                if stopping {
                    return Err(Failure {
                        message: format!("left {name} stopping; `sagedesk tuning describe {name}` follows it"),
                        code: EXIT_STOPPED,
                    });
                }
                stopping = true;
                place.stop(name).await?;
                eprintln!("stopping {name} and its running trials; Ctrl+C again to stop waiting");
            }
        }
    }
}

/// `name=value` pairs of a trial's tuned hyperparameters.
fn tuned(trial: &Value) -> String {
    let tuned = trial["TunedHyperParameters"].as_object();
    tuned_text(
        tuned
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
    )
}

fn final_value(trial: &Value) -> Option<f64> {
    trial["FinalHyperParameterTuningJobObjectiveMetric"]["Value"].as_f64()
}

/// A trial's start or end, in one line.
fn trial_line(trial: &Value, started_before: bool) -> String {
    let name = trial["TrainingJobName"].as_str().unwrap_or("");
    let state = trial["TrainingJobStatus"].as_str().unwrap_or("");
    match (state, final_value(trial), trial["FailureReason"].as_str()) {
        ("InProgress", _, _) if !started_before => format!("{name} started: {}", tuned(trial)),
        (_, Some(value), _) => format!("{name} {state}: objective {value}"),
        (_, None, Some(reason)) => format!("{name} {state}: {reason}"),
        _ => format!("{name} {state}"),
    }
}

/// The tuning job's metric type and name.
fn objective(described: &Value) -> Option<(String, String)> {
    let o = &described["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"];
    let o = if o.is_null() {
        &described["TrainingJobDefinition"]["TuningObjective"]
    } else {
        o
    };
    Some((
        o["Type"].as_str()?.to_string(),
        o["MetricName"].as_str()?.to_string(),
    ))
}

/// A tuning job in a few lines: status, counts, why it ended, the best trial.
fn summary(described: &Value) -> String {
    let name = described["HyperParameterTuningJobName"]
        .as_str()
        .unwrap_or("");
    let counters = &described["TrainingJobStatusCounters"];
    let count = |k: &str| counters[k].as_u64().unwrap_or(0);
    let mut out = format!(
        "{name}: {} ({} completed, {} in progress, {} stopped, {} failed)\n",
        status(described),
        count("Completed"),
        count("InProgress"),
        count("Stopped"),
        count("NonRetryableError") + count("RetryableError"),
    );
    if let Some(reason) = described["FailureReason"].as_str() {
        out.push_str(&format!("failure: {reason}\n"));
    }
    let best = &described["BestTrainingJob"];
    if let Some(job) = best["TrainingJobName"].as_str() {
        out.push_str(&format!(
            "best: {job} objective {} ({})\n",
            final_value(best).map_or_else(|| "-".into(), |v| v.to_string()),
            tuned(best)
        ));
    }
    out
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialize")
}

/// `sagedesk tuning ACTION`, here or on AWS.
pub async fn tuning(action: TuningAction, connection: Option<Connection>) -> Result<u8, Failure> {
    let place = Place::of(connection).await?;
    match action {
        TuningAction::List => {
            println!("NAME\tSTATUS\tSTRATEGY\tCOMPLETED\tIN PROGRESS\tFAILED\tCREATED");
            for job in place.backend.list_tuning_jobs().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    job.name,
                    job.status,
                    job.strategy,
                    job.counters.completed,
                    job.counters.in_progress,
                    job.counters.failed,
                    job.created.format("%Y-%m-%d %H:%M:%S"),
                );
            }
            Ok(0)
        }
        TuningAction::Describe { name, json } => {
            let described = place.describe(&name).await?;
            if json {
                println!("{}", pretty(&described));
            } else {
                print!("{}", summary(&described));
            }
            Ok(0)
        }
        TuningAction::Trials { name, json } => {
            let mut trials = place.trials(&name).await?;
            let described = place.describe(&name).await?;
            let sign = match objective(&described) {
                Some((kind, _)) if kind == "Maximize" => -1.0,
                _ => 1.0,
            };
            trials.sort_by(|a, b| {
                let key = |t: &Value| final_value(t).map_or(f64::INFINITY, |v| sign * v);
                key(a).total_cmp(&key(b))
            });
            if json {
                println!("{}", pretty(&json!({ "TrainingJobSummaries": trials })));
            } else {
                println!("NAME\tSTATUS\tOBJECTIVE\tHYPERPARAMETERS");
                for t in &trials {
                    println!(
                        "{}\t{}\t{}\t{}",
                        t["TrainingJobName"].as_str().unwrap_or(""),
                        t["TrainingJobStatus"].as_str().unwrap_or(""),
                        final_value(t).map_or_else(|| "-".into(), |v| v.to_string()),
                        tuned(t)
                    );
                }
            }
            Ok(0)
        }
        TuningAction::Stop { name } => {
            place.stop(&name).await?;
            println!("{name}: stopping");
            Ok(0)
        }
    }
}

/// The body of `sagedesk supervise-tuning NAME`.
pub async fn supervise(name: &str) -> Result<u8, Failure> {
    here::supervise(super::local::config()?, name).await?;
    Ok(0)
}
