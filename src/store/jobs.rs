//! Job rows: creation, status transitions, the ending, stop requests, supervisors and
//! their processes, listing and describing.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::{Store, parse_status, to_time};
use crate::error::BackendError;
use crate::job::{
    FinalMetric, JobDetail, JobSummary, ListFilter, SecondaryStatus, Status, StatusTransition,
};
use crate::request::TrainingJobRequest;

/// How a job ended: its final status and what it left.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    /// `Completed`, `Failed` or `Stopped`.
    pub status: Status,
    /// The final secondary status.
    pub secondary: SecondaryStatus,
    /// The final transition's message.
    pub message: String,
    /// `FailureReason`.
    pub failure_reason: Option<String>,
    /// `ModelArtifacts.S3ModelArtifacts`.
    pub model_artifacts: Option<String>,
}

impl Ending {
    /// A failure with `reason`.
    pub fn failed(reason: impl Into<String>) -> Self {
        Ending {
            status: Status::Failed,
            secondary: SecondaryStatus::Failed,
            message: "Training job failed".into(),
            failure_reason: Some(reason.into()),
            model_artifacts: None,
        }
    }

    /// A stop (asked for, or MaxRuntimeInSeconds) with its secondary status.
    pub fn stopped(secondary: SecondaryStatus, message: impl Into<String>) -> Self {
        Ending {
            status: Status::Stopped,
            secondary,
            message: message.into(),
            failure_reason: None,
            model_artifacts: None,
        }
    }

    /// A success.
    pub fn completed() -> Self {
        Ending {
            status: Status::Completed,
            secondary: SecondaryStatus::Completed,
            message: "Training job completed".into(),
            failure_reason: None,
            model_artifacts: None,
        }
    }
}

/// A job whose supervisor may have died.
#[derive(Debug, Clone)]
pub struct Supervised {
    /// The job name.
    pub name: String,
    /// The supervising process, if recorded.
    pub pid: Option<i64>,
    /// That process's start time (clock ticks after boot).
    pub start: Option<i64>,
}

impl Store {
    /// Records a new job; refuses a name that is taken (`ResourceInUse`).
    pub fn insert_job(
        &self,
        request: &TrainingJobRequest,
        arn: &str,
        now: i64,
        supervisor: (i64, i64),
    ) -> Result<(), BackendError> {
        let name = request.name();
        let json = serde_json::to_string(request).expect("a request always serializes");
        let inserted = self.conn.execute(
            "INSERT OR IGNORE INTO jobs (name, arn, request, status, creation_time, last_modified,
                                         supervisor_pid, supervisor_start)
             VALUES (?1, ?2, ?3, 'InProgress', ?4, ?4, ?5, ?6)",
            params![name, arn, json, now, supervisor.0, supervisor.1],
        )?;
        if inserted == 0 {
            return Err(BackendError::in_use(name));
        }
        // Lines kept from a deleted job of the same name are not this job's.
        Store::clear_log(&self.conn, name)?;
        Ok(())
    }

    /// Records the process that supervises a job (pid and start time).
    pub fn set_supervisor(&self, name: &str, supervisor: (i64, i64)) -> Result<(), BackendError> {
        self.conn.execute(
            "UPDATE jobs SET supervisor_pid = ?2, supervisor_start = ?3 WHERE name = ?1",
            params![name, supervisor.0, supervisor.1],
        )?;
        Ok(())
    }

    /// Records a host's process so that an orphan can be found after a crash.
    pub fn add_process(
        &self,
        name: &str,
        host: &str,
        pid: i64,
        start: i64,
    ) -> Result<(), BackendError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO processes (job, host, pid, start) VALUES (?1, ?2, ?3, ?4)",
            params![name, host, pid, start],
        )?;
        Ok(())
    }

    /// The recorded host processes of a job: `(pid, start)`.
    pub fn processes(&self, name: &str) -> Result<Vec<(i64, i64)>, BackendError> {
        let mut stmt = self
            .conn
            .prepare("SELECT pid, start FROM processes WHERE job = ?1")?;
        let rows = stmt.query_map([name], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Moves the job to a new secondary status, closing the previous transition.
    pub fn transition(
        &self,
        name: &str,
        status: Status,
        secondary: SecondaryStatus,
        message: &str,
        now: i64,
    ) -> Result<(), BackendError> {
        let tx = self.write()?;
        // A stop requested by any process wins over the stages the supervisor moves through.
        let stopping = stop_flag(&tx, name)?;
        if !(stopping && status == Status::InProgress) {
            transition_in(&tx, name, status, secondary, message, now)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks the start of training (`TrainingStartTime`).
    pub fn set_training_start(&self, name: &str, now: i64) -> Result<(), BackendError> {
        self.conn.execute(
            "UPDATE jobs SET training_start_time = ?2 WHERE name = ?1 AND training_start_time IS NULL",
            params![name, now],
        )?;
        Ok(())
    }

    /// Ends the job: final status, reason, artifacts and end time, in one transaction. A job
    /// that has ended already keeps its ending: another process that found its supervisor
    /// gone a moment after it finished must not overwrite it.
    pub fn finish(&self, name: &str, ending: &Ending, now: i64) -> Result<(), BackendError> {
        let tx = self.write()?;
        let status: Option<String> = tx
            .query_row("SELECT status FROM jobs WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        if status.is_some_and(|s| parse_status(&s).is_terminal()) {
            return Ok(());
        }
        transition_in(
            &tx,
            name,
            ending.status,
            ending.secondary,
            &ending.message,
            now,
        )?;
        tx.execute(
            "UPDATE transitions SET end_time = ?2 WHERE job = ?1 AND end_time IS NULL",
            params![name, now],
        )?;
        tx.execute(
            "UPDATE jobs SET failure_reason = ?2, model_artifacts = ?3, end_time = ?4,
             last_modified = ?4 WHERE name = ?1",
            params![name, ending.failure_reason, ending.model_artifacts, now],
        )?;
        tx.execute("DELETE FROM processes WHERE job = ?1", [name])?;
        tx.commit()?;
        Ok(())
    }

    /// Asks the supervisor to stop the job. Returns the status the job had.
    pub fn request_stop(&self, name: &str, now: i64) -> Result<Status, BackendError> {
        let tx = self.write()?;
        let status: Option<String> = tx
            .query_row("SELECT status FROM jobs WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?;
        let status = parse_status(&status.ok_or_else(|| BackendError::not_found(name))?);
        if status == Status::InProgress {
            tx.execute("UPDATE jobs SET stop_requested = 1 WHERE name = ?1", [name])?;
            transition_in(
                &tx,
                name,
                Status::Stopping,
                SecondaryStatus::Stopping,
                "Stopping the training job",
                now,
            )?;
        }
        tx.commit()?;
        Ok(status)
    }

    /// Whether a stop was requested, by this process or another.
    pub fn stop_requested(&self, name: &str) -> Result<bool, BackendError> {
        Ok(stop_flag(&self.conn, name)?)
    }

    /// Jobs that have not ended, with their supervisors.
    pub fn unfinished(&self) -> Result<Vec<Supervised>, BackendError> {
        let mut stmt = self.conn.prepare(
            "SELECT name, supervisor_pid, supervisor_start FROM jobs
             WHERE status IN ('InProgress', 'Stopping')",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(Supervised {
                name: r.get(0)?,
                pid: r.get(1)?,
                start: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Jobs matching the filter, newest first.
    pub fn list(&self, filter: &ListFilter) -> Result<Vec<JobSummary>, BackendError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, arn, status, secondary_status, creation_time, end_time, last_modified
             FROM jobs
             WHERE (?1 IS NULL OR status = ?1)
               AND (?2 IS NULL OR instr(lower(name), lower(?2)) > 0)
               AND (?3 IS NULL OR creation_time > ?3)
               AND (?4 IS NULL OR creation_time < ?4)
             ORDER BY creation_time DESC, name
             LIMIT ?5",
        )?;
        let limit = filter.max_results.map(|n| n as i64).unwrap_or(-1);
        let rows = stmt.query_map(
            params![
                filter.status.map(Status::as_str),
                filter.name_contains.as_deref().filter(|s| !s.is_empty()),
                filter.created_after.map(|t| t.timestamp_millis()),
                filter.created_before.map(|t| t.timestamp_millis()),
                limit
            ],
            summary_from_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Everything known about one job.
    pub fn detail(&self, name: &str) -> Result<JobDetail, BackendError> {
        let row = self
            .conn
            .query_row(
                "SELECT name, arn, status, secondary_status, creation_time, end_time, last_modified,
                        request, failure_reason, model_artifacts, training_start_time
                 FROM jobs WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        summary_from_row(r)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, Option<String>>(8)?,
                        r.get::<_, Option<String>>(9)?,
                        r.get::<_, Option<i64>>(10)?,
                    ))
                },
            )
            .optional()?;
        let Some((summary, request, failure_reason, model_artifacts, start)) = row else {
            return Err(BackendError::not_found(name));
        };
        let request: TrainingJobRequest = serde_json::from_str(&request)
            .map_err(|e| BackendError::internal(format!("stored request of {name}: {e}")))?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT status, start_time, end_time, message FROM transitions WHERE job = ?1 ORDER BY seq",
        )?;
        let transitions = stmt
            .query_map([name], |r| {
                Ok(StatusTransition {
                    status: SecondaryStatus::parse(&r.get::<_, String>(0)?),
                    start_time: to_time(r.get(1)?),
                    end_time: r.get::<_, Option<i64>>(2)?.map(to_time),
                    message: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, value, ts FROM last_metrics WHERE job = ?1 ORDER BY name",
        )?;
        let final_metrics = stmt
            .query_map([name], |r| {
                Ok(FinalMetric {
                    name: r.get(0)?,
                    value: r.get(1)?,
                    timestamp: to_time(r.get(2)?),
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let training_start_time = start.map(to_time);
        let training_time_seconds = match (training_start_time, summary.end_time) {
            (Some(s), Some(e)) => Some((e - s).num_seconds().max(0)),
            _ => None,
        };
        Ok(JobDetail {
            request,
            summary,
            failure_reason,
            model_artifacts,
            training_start_time,
            transitions,
            final_metrics,
            training_time_seconds,
            billable_time_seconds: training_time_seconds,
            service_response: None,
        })
    }

    /// Whether a job exists.
    pub fn exists(&self, name: &str) -> Result<bool, BackendError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM jobs WHERE name = ?1", [name], |_| Ok(()))
            .optional()?
            .is_some())
    }
}

fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobSummary> {
    Ok(JobSummary {
        name: r.get(0)?,
        arn: r.get(1)?,
        status: parse_status(&r.get::<_, String>(2)?),
        secondary_status: r
            .get::<_, Option<String>>(3)?
            .map(|s| SecondaryStatus::parse(&s)),
        creation_time: to_time(r.get(4)?),
        end_time: r.get::<_, Option<i64>>(5)?.map(to_time),
        last_modified: to_time(r.get(6)?),
        warm_pool: None,
    })
}

/// Whether a stop was requested for `name` (false for an unknown job).
fn stop_flag(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    let flag: Option<i64> = conn
        .query_row(
            "SELECT stop_requested FROM jobs WHERE name = ?1",
            [name],
            |r| r.get(0),
        )
        .optional()?;
    Ok(flag.unwrap_or(0) != 0)
}

fn transition_in(
    tx: &Transaction<'_>,
    name: &str,
    status: Status,
    secondary: SecondaryStatus,
    message: &str,
    now: i64,
) -> Result<(), BackendError> {
    let current: Option<(i64, String)> = tx
        .query_row(
            "SELECT seq, status FROM transitions WHERE job = ?1 ORDER BY seq DESC LIMIT 1",
            [name],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let seq = match &current {
        Some((seq, last)) if last == secondary.as_str() => {
            tx.execute(
                "UPDATE transitions SET message = ?3 WHERE job = ?1 AND seq = ?2",
                params![name, seq, message],
            )?;
            None
        }
        Some((seq, _)) => {
            tx.execute(
                "UPDATE transitions SET end_time = ?3 WHERE job = ?1 AND seq = ?2",
                params![name, seq, now],
            )?;
            Some(seq + 1)
        }
        None => Some(0),
    };
    if let Some(seq) = seq {
        tx.execute(
            "INSERT INTO transitions (job, seq, status, start_time, message) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![name, seq, secondary.as_str(), now, message],
        )?;
    }
    let updated = tx.execute(
        "UPDATE jobs SET status = ?2, secondary_status = ?3, last_modified = ?4 WHERE name = ?1",
        params![name, status.as_str(), secondary.as_str(), now],
    )?;
    if updated == 0 {
        return Err(BackendError::not_found(name));
    }
    Ok(())
}
