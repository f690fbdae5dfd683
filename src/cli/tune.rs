//! `sagedesk tune` and `sagedesk tuning ...`: tuning jobs run on this machine.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use super::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_STOPPED, Failure, TuningAction, report};
use crate::job::Status;
use crate::request::tuning::{TuningJobRequest, read_tuning_file};
use crate::request::validate::{self, Target};
use crate::store::Store;
use crate::tuning::local::{self as tuning, TuningJob, tuned_text};
use crate::tuning::state::{Trial, describe, trial_summary};

/// How often a waiting `tune` reads the tuning job's state.
const LOOK: Duration = Duration::from_millis(250);

fn store() -> Result<Store, Failure> {
    Ok(Store::open(&super::local::config()?.database())?)
}

/// The request of `file`, renamed as asked, refused (with every problem) when local mode
/// could not run it.
fn read_checked(file: &Path, name: Option<String>) -> Result<TuningJobRequest, Failure> {
    let (_, mut request) = read_tuning_file(file)?;
    if let Some(name) = name {
        request.hyper_parameter_tuning_job_name = Some(name);
    }
    let origin = file.display().to_string();
    let diagnostics = validate::validate_tuning_value(&request.to_value(), Target::Local);
    if validate::error_count(&diagnostics) > 0 {
        return Err(Failure {
            message: format!(
                "local mode cannot run this tuning job\n{}",
                report::text(&origin, &diagnostics, Target::Local)
            ),
            code: EXIT_BAD_INPUT,
        });
    }
    // Each trial is a training job: it must run here too.
    let checks = super::runtime_checks(Target::Local);
    for definition in request.definitions() {
        let trial = definition.trial(
            &format!("{}-001-00000000", request.name()),
            &Default::default(),
            None,
        );
        let diagnostics = validate::validate(&trial, Target::Local, checks.as_deref());
        if validate::error_count(&diagnostics) > 0 {
            return Err(Failure {
                message: format!(
                    "local mode cannot run this tuning job's training jobs\n{}",
                    report::text(&format!("{origin}: a trial"), &diagnostics, Target::Local)
                ),
                code: EXIT_BAD_INPUT,
            });
        }
    }
    Ok(request)
}

/// `sagedesk tune FILE`: starts the tuning job and, unless `detach`, waits for its end.
pub async fn tune(
    file: &Path,
    follow: bool,
    json: bool,
    name: Option<String>,
    detach: bool,
) -> Result<u8, Failure> {
    let request = read_checked(file, name)?;
    let config = super::local::config()?;
    let store = Store::open(&config.database())?;
    let name = request.name().to_string();
    tuning::create(&store, &request)?;
    tuning::start(&config, &name)?;
    let strategy = request
        .hyper_parameter_tuning_job_config
        .as_ref()
        .and_then(|c| c.strategy.clone())
        .unwrap_or_else(|| "Bayesian".into());
    eprintln!("started tuning job {name} ({strategy}, local)");
    if detach {
        return Ok(0);
    }
    let job = wait(&store, &name, follow).await?;
    if json {
        println!("{}", pretty(&describe(&job.request, &job.state)));
    } else {
        print!("{}", summary(&job));
    }
    Ok(match job.state.status {
        Status::Completed => 0,
        Status::Stopped | Status::Stopping => EXIT_STOPPED,
        _ => EXIT_FAILED,
    })
}

/// Waits for tuning job `name` to end, saying each trial's start and end when `follow`.
/// Ctrl+C stops it; a second Ctrl+C stops waiting.
async fn wait(store: &Store, name: &str, follow: bool) -> Result<TuningJob, Failure> {
    let mut seen: HashMap<String, Status> = HashMap::new();
    let mut stopping = false;
    loop {
        let job = tuning::read(store, name)?;
        if follow {
            for trial in &job.state.trials {
                if seen.get(&trial.name) != Some(&trial.status) {
                    eprintln!("{}", trial_line(trial, seen.contains_key(&trial.name)));
                    seen.insert(trial.name.clone(), trial.status);
                }
            }
        }
        if job.state.status.is_terminal() {
            return Ok(job);
        }
        tokio::select! {
            _ = tokio::time::sleep(LOOK) => {}
            _ = tokio::signal::ctrl_c() => {
                if stopping {
                    return Err(Failure {
                        message: format!("left {name} stopping; `sagedesk tuning describe {name}` follows it"),
                        code: EXIT_STOPPED,
                    });
                }
                stopping = true;
                tuning::stop(store, name)?;
                eprintln!("stopping {name} and its running trials; Ctrl+C again to stop waiting");
            }
        }
    }
}

/// A trial's start or end, in one line.
fn trial_line(trial: &Trial, started_before: bool) -> String {
    match (trial.status, trial.final_value()) {
        (Status::InProgress, _) if !started_before => {
            format!("{} started: {}", trial.name, tuned_text(trial))
        }
        (status, Some(value)) if trial.early_stopped => {
            format!("{} {status} early: objective {value}", trial.name)
        }
        (status, Some(value)) => format!("{} {status}: objective {value}", trial.name),
        (status, None) => match &trial.failure_reason {
            Some(reason) => format!("{} {status}: {reason}", trial.name),
            None => format!("{} {status}", trial.name),
        },
    }
}

/// The tuning job's end in a few lines: status, counts, the best trial.
fn summary(job: &TuningJob) -> String {
    let state = &job.state;
    let name = job.request.name();
    let mut out = format!("{name}: {}", state.status);
    let count = |s: Status| state.trials.iter().filter(|t| t.status == s).count();
    out.push_str(&format!(
        " ({} trials: {} completed, {} stopped, {} failed)\n",
        state.trials.len(),
        count(Status::Completed),
        count(Status::Stopped),
        count(Status::Failed)
    ));
    if let Some(reason) = &state.completion_reason {
        out.push_str(&format!("ended early: {reason}\n"));
    }
    if let Some(reason) = &state.failure_reason {
        out.push_str(&format!("failure: {reason}\n"));
    }
    if let Some(best) = state.best(minimize(&job.request)) {
        let trial = &state.trials[best];
        out.push_str(&format!(
            "best: {} objective {} ({})\n",
            trial.name,
            trial.final_value().unwrap_or_default(),
            tuned_text(trial)
        ));
    }
    out
}

fn minimize(request: &TuningJobRequest) -> bool {
    request
        .definitions()
        .first()
        .and_then(|d| request.objective(d))
        .is_some_and(|o| o.minimize())
}

fn objective(request: &TuningJobRequest) -> Option<(String, String)> {
    let o = request
        .definitions()
        .first()
        .and_then(|d| request.objective(d))?;
    Some((o.r#type.clone()?, o.metric_name.clone()?))
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("JSON values serialize")
}

/// `sagedesk tuning ACTION`.
pub fn tuning(action: TuningAction) -> Result<u8, Failure> {
    let store = store()?;
    match action {
        TuningAction::List => {
            let jobs = tuning::list(&store)?;
            println!("NAME\tSTATUS\tSTRATEGY\tTRIALS\tBEST\tCREATED");
            for job in jobs {
                let strategy = job
                    .request
                    .hyper_parameter_tuning_job_config
                    .as_ref()
                    .and_then(|c| c.strategy.clone())
                    .unwrap_or_default();
                let best = job
                    .state
                    .best(minimize(&job.request))
                    .and_then(|i| job.state.trials[i].final_value())
                    .map_or_else(|| "-".into(), |v| v.to_string());
                println!(
                    "{}\t{}\t{strategy}\t{}\t{best}\t{}",
                    job.request.name(),
                    job.state.status,
                    job.state.trials.len(),
                    job.state.created.format("%Y-%m-%d %H:%M:%S")
                );
            }
            Ok(0)
        }
        TuningAction::Describe { name, json } => {
            let job = tuning::read(&store, &name)?;
            if json {
                println!("{}", pretty(&describe(&job.request, &job.state)));
            } else {
                print!("{}", summary(&job));
            }
            Ok(0)
        }
        TuningAction::Trials { name, json } => {
            let job = tuning::read(&store, &name)?;
            let kind = objective(&job.request);
            let kind = kind.as_ref().map(|(k, m)| (k.as_str(), m.as_str()));
            let mut trials: Vec<&Trial> = job.state.trials.iter().collect();
            let sign = if minimize(&job.request) { 1.0 } else { -1.0 };
            trials.sort_by(|a, b| {
                let key = |t: &Trial| t.final_value().map_or(f64::INFINITY, |v| sign * v);
                key(a).total_cmp(&key(b))
            });
            if json {
                let summaries: Vec<_> = trials
                    .iter()
                    .map(|t| trial_summary(t, &name, kind))
                    .collect();
                println!(
                    "{}",
                    pretty(&serde_json::json!({ "TrainingJobSummaries": summaries }))
                );
            } else {
                println!("NAME\tSTATUS\tOBJECTIVE\tHYPERPARAMETERS");
                for t in trials {
                    let value = t
                        .final_value()
                        .map_or_else(|| "-".into(), |v| v.to_string());
                    println!("{}\t{}\t{value}\t{}", t.name, t.status, tuned_text(t));
                }
            }
            Ok(0)
        }
        TuningAction::Stop { name } => {
            tuning::stop(&store, &name)?;
            println!("{name}: stopping");
            Ok(0)
        }
    }
}

/// The body of `sagedesk supervise-tuning NAME`.
pub async fn supervise(name: &str) -> Result<u8, Failure> {
    crate::tuning::local::supervise(super::local::config()?, name).await?;
    Ok(0)
}
