//! Tuning jobs on this machine: created in the store, run by `sagedesk supervise-tuning
//! NAME` in a session of its own (so that closing the window or the terminal leaves it
//! running), and read back for `DescribeHyperParameterTuningJob` and the lists.

use std::process::Stdio;

use chrono::Utc;

use super::read;
use super::tuner::{Progress, Tuner};
use crate::backend::local::detach::supervisor_command;
use crate::backend::local::{LocalBackend, LocalConfig};
use crate::backend::{Backend, BackendError};
use crate::job::tuning::{Trial, TuningState, tuned_text};
use crate::job::{LocalRun, Status};
use crate::request::tuning::TuningJobRequest;
use crate::store::Store;

/// Adds `request` to the store as a new tuning job whose trials run as `run` says; refuses
/// a name that is taken.
pub fn create(
    store: &Store,
    request: &TuningJobRequest,
    run: LocalRun,
) -> Result<TuningState, BackendError> {
    let name = request.name();
    let mut state = TuningState::new(Utc::now());
    state.connection = run.connection;
    state.credentials = run.credentials;
    let text = serde_json::to_string(&state).map_err(|e| BackendError::internal(e.to_string()))?;
    store.insert_tuning_job(
        name,
        &request.to_value().to_string(),
        &text,
        state.created.timestamp_millis(),
    )?;
    Ok(state)
}

/// Creates tuning job `request` in the store and starts its tuner: its ARN.
pub fn launch(
    store: &Store,
    config: &LocalConfig,
    request: &TuningJobRequest,
    run: LocalRun,
) -> Result<String, BackendError> {
    create(store, request, run)?;
    start(config, request.name())?;
    Ok(crate::job::tuning::tuning_arn(request.name()))
}

/// Starts the tuner of tuning job `name` (already in the store): in a process of its own
/// when the configuration names the supervisor program, else on a thread of this one.
pub fn start(config: &LocalConfig, name: &str) -> Result<(), BackendError> {
    let Some(program) = &config.supervisor else {
        let (config, name) = (config.clone(), name.to_string());
        std::thread::Builder::new()
            .name(format!("tuner {name}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(runtime) => {
                        if let Err(e) = runtime.block_on(supervise(config, &name)) {
                            tracing::warn!("tuning job {name}: {e}");
                        }
                    }
                    Err(e) => tracing::warn!("tuning job {name}: {e}"),
                }
            })?;
        return Ok(());
    };
    let log = config.home.join("tuning").join(format!("{name}.log"));
    let mut command = supervisor_command(
        config,
        program,
        &["supervise-tuning", name],
        config.job_credentials,
        &log,
    )?;
    command.stdout(Stdio::null());
    let mut child = command.spawn().map_err(|e| {
        BackendError::internal(format!(
            "cannot start the tuner {} for {name}: {e}",
            program.display()
        ))
    })?;
    let pid = i64::from(child.id());
    let store = Store::open(&config.database())?;
    store.set_tuning_supervisor(name, (pid, crate::process::start_time(pid).unwrap_or(0)))?;
    // Reaped here when it ends while this process runs, adopted by init otherwise.
    std::thread::spawn(move || child.wait());
    Ok(())
}

/// Runs tuning job `name` to its end: the body of `sagedesk supervise-tuning NAME`.
pub async fn supervise(config: LocalConfig, name: &str) -> Result<(), BackendError> {
    let store = Store::open(&config.database())?;
    // Another live tuner (two processes resumed it at once) keeps it.
    let recorded = store.tuning_job(name)?.and_then(|j| j.supervisor);
    let me = crate::process::current();
    if let Some((pid, start)) = recorded
        && pid != me.0
        && crate::process::is_alive(pid, start)
    {
        return Err(BackendError::validation(format!(
            "tuning job {name} is run by process {pid} already"
        )));
    }
    store.set_tuning_supervisor(name, me)?;
    let job = read(&store, name)?;
    if job.state.status.is_terminal() {
        return Err(BackendError::validation(format!(
            "tuning job {name} has already ended ({})",
            job.state.status
        )));
    }
    let backend = LocalBackend::open(config)?;
    let parents = warm_start(&store, &job.request);
    let mut save = |state: &TuningState| -> Result<(), BackendError> {
        let text =
            serde_json::to_string(state).map_err(|e| BackendError::internal(e.to_string()))?;
        store.save_tuning_state(name, &text, state.status)
    };
    let mut tuner = match Tuner::new(&job.request, job.state.clone(), &parents) {
        Ok(tuner) => tuner,
        Err(why) => {
            let mut state = job.state;
            state.status = Status::Failed;
            state.failure_reason = Some(why);
            state.ended = Some(Utc::now());
            return save(&state);
        }
    };
    let mut stop = || {
        store
            .tuning_job(name)
            .ok()
            .flatten()
            .is_some_and(|j| j.stop_requested)
    };
    let mut progress = |p: Progress| match p {
        Progress::Started(t) => {
            let tuned = tuned_text(t.tuned.iter().map(|(k, v)| (k.as_str(), v.as_str())));
            eprintln!("{} started: {tuned}", t.name);
        }
        Progress::Ended(t) => eprintln!("{} {}", t.name, t.status),
        Progress::StoppingEarly(t) => eprintln!("{} stopped early", t.name),
        Progress::Ending(why) => eprintln!("{name}: {why}"),
    };
    let backend: &dyn Backend = &backend;
    tuner
        .run(backend, &mut save, &mut stop, &mut progress)
        .await
}

/// Starts a tuner again for each tuning job that has not ended and whose tuner is gone
/// (killed, or the machine restarted); their names. Its running trials, supervised on
/// their own, are followed again; the search goes on from the trials kept.
pub fn resume_orphans(config: &LocalConfig) -> Vec<String> {
    let Ok(store) = Store::open(&config.database()) else {
        return Vec::new();
    };
    if store.is_read_only() {
        return Vec::new();
    }
    // Only unfinished ones are read: this runs as every command starts.
    let orphans: Vec<String> = store
        .unfinished_tuning_jobs()
        .unwrap_or_default()
        .into_iter()
        .filter(|name| read(&store, name).is_ok_and(|j| j.orphaned))
        .collect();
    orphans
        .into_iter()
        .filter(|name| match start(config, name) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("resuming tuning job {name}: {e}");
                false
            }
        })
        .collect()
}

/// The finished trials of the parent tuning jobs of a warm start (local ones; others are
/// skipped).
fn warm_start(store: &Store, request: &TuningJobRequest) -> Vec<Trial> {
    let parents = request
        .warm_start_config
        .iter()
        .flat_map(|w| w.parent_hyper_parameter_tuning_jobs.iter().flatten())
        .filter_map(|p| p.hyper_parameter_tuning_job_name.as_deref());
    parents
        .filter_map(|parent| read(store, parent).ok())
        .flat_map(|job| job.state.trials)
        .filter(|t| t.final_value().is_some())
        .collect()
}
