//! Local tuning jobs: kept in the store (read, listed, asked to stop), run by their tuner
//! (`run`, `tuner`) with the search of `crate::tuning`, and resumed when their tuner is gone.

pub mod run;
pub mod tuner;

use crate::backend::BackendError;
use crate::job::Status;
use crate::job::tuning::{TuningState, TuningSummary, describe};
use crate::request::tuning::{TuningJobRequest, tuning_request_from_value};
use crate::store::{Store, StoredTuningJob};

/// A tuning job as read from the store.
#[derive(Debug, Clone)]
pub struct TuningJob {
    pub request: TuningJobRequest,
    pub state: TuningState,
    /// It has not ended, and the process that ran it is gone (killed, or the machine
    /// restarted): it is to be resumed.
    pub orphaned: bool,
}

pub(crate) fn not_found(name: &str) -> BackendError {
    BackendError::new(
        "ResourceNotFound",
        format!("Requested resource not found: tuning job {name:?} does not exist here"),
    )
}

fn damaged(name: &str, what: &str, e: serde_json::Error) -> BackendError {
    BackendError::internal(format!(
        "the stored {what} of tuning job {name} is damaged: {e}"
    ))
}

/// Tuning job `name`, as last saved.
pub fn read(store: &Store, name: &str) -> Result<TuningJob, BackendError> {
    let stored = store.tuning_job(name)?.ok_or_else(|| not_found(name))?;
    from_stored(&stored)
}

/// A tuning job from its stored row.
fn from_stored(stored: &StoredTuningJob) -> Result<TuningJob, BackendError> {
    let name = stored.name.as_str();
    let value: serde_json::Value =
        serde_json::from_str(&stored.request).map_err(|e| damaged(name, "request", e))?;
    let request = tuning_request_from_value(value, name)
        .map_err(|e| BackendError::internal(e.to_string()))?;
    let state: TuningState =
        serde_json::from_str(&stored.state).map_err(|e| damaged(name, "state", e))?;
    // Without a process recorded, it is orphaned only once its start is well past: the
    // process that created it records its tuner right after.
    let unstarted = chrono::Utc::now() - state.created > chrono::Duration::seconds(30);
    let orphaned = !state.status.is_terminal()
        && stored.supervisor.map_or(unstarted, |(pid, start)| {
            !crate::process::is_alive(pid, start)
        });
    Ok(TuningJob {
        request,
        state,
        orphaned,
    })
}

/// Every tuning job here, newest first, as a list shows it. One whose stored request or
/// state cannot be read is listed as Failed with what the store holds, so the others still
/// show and opening it says what is damaged.
pub fn summaries(store: &Store) -> Result<Vec<TuningSummary>, BackendError> {
    Ok(store
        .tuning_jobs()?
        .into_iter()
        .filter_map(|stored| match from_stored(&stored) {
            Ok(job) => TuningSummary::from_service(&describe(&job.request, &job.state)),
            Err(e) => {
                tracing::warn!("tuning job {}: {e}", stored.name);
                Some(damaged_summary(&stored))
            }
        })
        .collect())
}

/// What a list shows of a tuning job whose stored request or state cannot be read.
fn damaged_summary(stored: &StoredTuningJob) -> TuningSummary {
    TuningSummary {
        name: stored.name.clone(),
        arn: crate::job::tuning::tuning_arn(&stored.name),
        status: Status::Failed,
        strategy: String::new(),
        created: chrono::DateTime::from_timestamp_millis(stored.created_ms).unwrap_or_default(),
        ended: None,
        counters: Default::default(),
        max_jobs: None,
        best: None,
        metric: None,
    }
}

/// Tuning job `name` in `DescribeHyperParameterTuningJob`'s shape.
pub fn described(store: &Store, name: &str) -> Result<serde_json::Value, BackendError> {
    let job = read(store, name)?;
    Ok(describe(&job.request, &job.state))
}

/// Asks tuning job `name`'s tuner to stop it (its running trials are stopped).
pub fn stop(store: &Store, name: &str) -> Result<(), BackendError> {
    if store.request_tuning_stop(name)? {
        Ok(())
    } else {
        Err(not_found(name))
    }
}

/// A tuning job's trials in `HyperParameterTrainingJobSummary`'s shape, as started.
pub fn trials(job: &TuningJob) -> Vec<serde_json::Value> {
    let objective = job.request.tuning_objective();
    job.state
        .trials
        .iter()
        .map(|t| crate::job::tuning::trial_summary(t, job.request.name(), objective))
        .collect()
}
