//! Local tuning jobs: each one's request and state (JSON the tuner reads and writes), its
//! status for listing, the process running it and whether a stop was asked for.

use rusqlite::{OptionalExtension, params};

use super::{Store, parse_status};
use crate::error::BackendError;
use crate::job::Status;

/// A tuning job as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTuningJob {
    pub name: String,
    /// The `CreateHyperParameterTuningJob` request, JSON.
    pub request: String,
    /// The tuner's state, JSON.
    pub state: String,
    pub status: Status,
    /// The process running it: pid and start time.
    pub supervisor: Option<(i64, i64)>,
    /// A stop was asked for.
    pub stop_requested: bool,
    /// When it was created, in milliseconds since the epoch.
    pub created_ms: i64,
}

const COLUMNS: &str =
    "name, request, state, status, supervisor_pid, supervisor_start, stop_requested, creation_time";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredTuningJob> {
    let pid: Option<i64> = r.get(4)?;
    let start: Option<i64> = r.get(5)?;
    Ok(StoredTuningJob {
        name: r.get(0)?,
        request: r.get(1)?,
        state: r.get(2)?,
        status: parse_status(&r.get::<_, String>(3)?),
        supervisor: pid.map(|pid| (pid, start.unwrap_or(0))),
        stop_requested: r.get::<_, i64>(6)? != 0,
        created_ms: r.get(7)?,
    })
}

impl Store {
    /// Adds a tuning job; refuses a name that is taken, as the service does.
    pub fn insert_tuning_job(
        &self,
        name: &str,
        request: &str,
        state: &str,
        created_ms: i64,
    ) -> Result<(), BackendError> {
        let added = self.conn.execute(
            "INSERT OR IGNORE INTO tuning_jobs (name, request, state, status, creation_time)
             VALUES (?1, ?2, ?3, 'InProgress', ?4)",
            params![name, request, state, created_ms],
        )?;
        if added == 0 {
            return Err(BackendError::new(
                "ResourceInUse",
                format!("a tuning job named {name} exists here: give the request another name"),
            ));
        }
        Ok(())
    }

    /// Saves a tuning job's state and status.
    pub fn save_tuning_state(
        &self,
        name: &str,
        state: &str,
        status: Status,
    ) -> Result<(), BackendError> {
        self.conn.execute(
            "UPDATE tuning_jobs SET state = ?2, status = ?3 WHERE name = ?1",
            params![name, state, status.as_str()],
        )?;
        Ok(())
    }

    /// Records the process running a tuning job.
    pub fn set_tuning_supervisor(
        &self,
        name: &str,
        supervisor: (i64, i64),
    ) -> Result<(), BackendError> {
        self.conn.execute(
            "UPDATE tuning_jobs SET supervisor_pid = ?2, supervisor_start = ?3 WHERE name = ?1",
            params![name, supervisor.0, supervisor.1],
        )?;
        Ok(())
    }

    /// Asks a tuning job's tuner to stop it; false when there is no such job.
    pub fn request_tuning_stop(&self, name: &str) -> Result<bool, BackendError> {
        Ok(self.conn.execute(
            "UPDATE tuning_jobs SET stop_requested = 1 WHERE name = ?1",
            [name],
        )? > 0)
    }

    /// The tuning job named `name`.
    pub fn tuning_job(&self, name: &str) -> Result<Option<StoredTuningJob>, BackendError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM tuning_jobs WHERE name = ?1"),
                [name],
                row,
            )
            .optional()?)
    }

    /// The names of the tuning jobs that have not ended (running or being stopped).
    pub fn unfinished_tuning_jobs(&self) -> Result<Vec<String>, BackendError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name FROM tuning_jobs WHERE status IN ('InProgress', 'Stopping')",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Every tuning job, newest first.
    pub fn tuning_jobs(&self) -> Result<Vec<StoredTuningJob>, BackendError> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM tuning_jobs ORDER BY creation_time DESC, name"
        ))?;
        let rows = stmt.query_map([], row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
