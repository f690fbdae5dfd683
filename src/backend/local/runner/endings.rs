//! How a job's end is kept when the disk is full: the reserve given up and the write tried
//! again, else the ending kept in memory and in the job's folder for the other processes;
//! and what went wrong storing its lines.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::{LocalConfig, Unrecorded};
use crate::backend::{BackendError, ErrorKind};
use crate::job::Status;
use crate::store::{Ending, Store, now_ms};

/// Writes the job's end; on a full disk frees the data folder's reserve and tries again, and
/// failing that keeps the ending in memory for this process to report.
pub(super) fn record_end(
    store: &Store,
    config: &LocalConfig,
    name: &str,
    ending: &Ending,
    unrecorded: &Unrecorded,
) -> Result<(), BackendError> {
    match store.finish(name, ending, now_ms()) {
        Err(e) if e.kind == ErrorKind::StorageFull => {
            config.release_reserve();
            store.finish(name, ending, now_ms()).inspect_err(|_| {
                remember(unrecorded, config, name, ending);
            })
        }
        other => other,
    }
}

/// Keeps an ending the store could not take: in memory for this process, and in the job's
/// folder (on the space the reserve gave back) for the others.
pub(super) fn remember(unrecorded: &Unrecorded, config: &LocalConfig, name: &str, ending: &Ending) {
    let reason = ending
        .failure_reason
        .clone()
        .unwrap_or_else(|| ending.message.clone());
    let kept = serde_json::json!({"job": name, "status": ending.status.as_str(), "reason": reason});
    let _ = std::fs::write(config.job_dir(name).join(UNRECORDED), kept.to_string());
    // A supervisor of its own process also tells the process that started it, through its
    // standard output: a full disk may take the file too.
    if config.detached {
        use std::io::Write;
        let _ = writeln!(std::io::stdout().lock(), "{kept}");
    }
    if let Ok(mut map) = unrecorded.lock() {
        map.insert(name.to_string(), (ending.status, reason));
    }
}

/// The file in a job's folder holding an ending the store could not take.
pub const UNRECORDED: &str = "unrecorded-ending.json";

/// The ending kept in a job's folder, if the store could not take it.
pub fn unrecorded_ending(config: &LocalConfig, name: &str) -> Option<(Status, String)> {
    let text = std::fs::read_to_string(config.job_dir(name).join(UNRECORDED)).ok()?;
    parse_unrecorded(&text).map(|(_, status, reason)| (status, reason))
}

/// A kept ending as written: job, status and reason.
pub fn parse_unrecorded(text: &str) -> Option<(String, Status, String)> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let status = value["status"].as_str()?.parse().ok()?;
    Some((
        value["job"].as_str()?.to_string(),
        status,
        value["reason"].as_str()?.to_string(),
    ))
}

/// What went wrong storing a job's lines: the first error and how many lines were dropped.
#[derive(Default)]
pub(super) struct StorageFault {
    first: Mutex<Option<BackendError>>,
    dropped: AtomicU64,
}

impl StorageFault {
    /// Records a failed batch; true the first time (the error is reported once).
    pub(super) fn record(&self, error: BackendError, lines: usize) -> bool {
        self.dropped.fetch_add(lines as u64, Ordering::Relaxed);
        let Ok(mut first) = self.first.lock() else {
            return false;
        };
        let new = first.is_none();
        first.get_or_insert(error);
        new
    }

    pub(super) fn is_full(&self) -> bool {
        self.first
            .lock()
            .is_ok_and(|f| f.as_ref().is_some_and(|e| e.kind == ErrorKind::StorageFull))
    }

    fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Logs, once, how many lines of `job` could not be stored and why.
    pub(super) fn report(&self, job: &str) {
        if let Some(first) = self.first.lock().ok().and_then(|f| f.clone()) {
            tracing::error!(
                "job {job}: {} log lines could not be stored; the first error: {first}",
                self.dropped()
            );
        }
    }

    /// What the job's end says about lines that could not be stored, if any were not.
    pub(super) fn note(&self, config: &LocalConfig) -> Option<String> {
        let first = self.first.lock().ok().and_then(|f| f.clone())?;
        Some(if first.kind == ErrorKind::StorageFull {
            format!(
                "{} log lines were dropped: no space left on device at {}",
                self.dropped(),
                config.home.display()
            )
        } else {
            format!("{} log lines could not be stored: {first}", self.dropped())
        })
    }

    /// `FailureReason` for a job ended by a full disk.
    pub(super) fn reason(&self, config: &LocalConfig) -> String {
        format!(
            "ClientError: no space left on device at {}, {} log lines dropped",
            config.home.display(),
            self.dropped()
        )
    }
}
