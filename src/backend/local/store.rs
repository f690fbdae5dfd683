//! The local job history: a SQLite database (WAL) shared by every SageDesk process.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::backend::BackendError;
use crate::job::{
    Cursor, FinalMetric, JobDetail, JobSummary, ListFilter, LogLine, LogPage, MetricPage,
    MetricPoint, MetricSeries, SecondaryStatus, Status, StatusTransition, Stream,
};
use crate::spec::TrainingJobRequest;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    request TEXT NOT NULL,
    status TEXT NOT NULL,
    secondary_status TEXT,
    failure_reason TEXT,
    model_artifacts TEXT,
    creation_time INTEGER NOT NULL,
    training_start_time INTEGER,
    end_time INTEGER,
    last_modified INTEGER NOT NULL,
    supervisor_pid INTEGER,
    supervisor_start INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_by_creation ON jobs(creation_time);
CREATE TABLE IF NOT EXISTS transitions (
    job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    start_time INTEGER NOT NULL,
    end_time INTEGER,
    message TEXT NOT NULL,
    PRIMARY KEY (job, seq)
);
CREATE TABLE IF NOT EXISTS processes (
    job TEXT NOT NULL REFERENCES jobs(name) ON DELETE CASCADE,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    start INTEGER NOT NULL,
    PRIMARY KEY (job, host)
);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    ts INTEGER NOT NULL,
    host TEXT NOT NULL,
    stream INTEGER NOT NULL,
    line TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_by_job ON logs(job, id);
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    name TEXT NOT NULL,
    ts INTEGER NOT NULL,
    value REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS metrics_by_job ON metrics(job, ts);
CREATE TABLE IF NOT EXISTS templates (
    name TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS drafts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    request TEXT NOT NULL,
    updated INTEGER NOT NULL
);
";

/// A line and the metric points found in it, ready to be stored.
#[derive(Debug, Clone)]
pub struct Record {
    /// Epoch milliseconds.
    pub ts: i64,
    /// `algo-N`.
    pub host: String,
    /// Which stream.
    pub stream: Stream,
    /// The text.
    pub line: String,
    /// `(metric name index, value)` pairs found in the line.
    pub points: Vec<(usize, f64)>,
}

/// How a job ended: its final status and what it left.
#[derive(Debug, Clone, Copy)]
pub struct Ending<'a> {
    /// `Completed`, `Failed` or `Stopped`.
    pub status: Status,
    /// The final secondary status.
    pub secondary: SecondaryStatus,
    /// The final transition's message.
    pub message: &'a str,
    /// `FailureReason`.
    pub failure_reason: Option<&'a str>,
    /// `ModelArtifacts.S3ModelArtifacts`.
    pub model_artifacts: Option<&'a str>,
}

impl<'a> Ending<'a> {
    /// A failure with `reason`.
    pub fn failed(reason: &'a str) -> Self {
        Ending {
            status: Status::Failed,
            secondary: SecondaryStatus::Failed,
            message: "Training job failed",
            failure_reason: Some(reason),
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

/// An open connection to the job store.
pub struct Store {
    conn: Connection,
    read_only: bool,
}

/// Epoch milliseconds now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

fn to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn parse_status(s: &str) -> Status {
    s.parse().unwrap_or(Status::Failed)
}

/// Code of the error a write to a read-only store gives.
pub const READ_ONLY: &str = "ReadOnlyStore";
/// Code of the error a write gives when the disk is full.
pub const STORAGE_FULL: &str = "StorageFull";

/// The data folder (and the store in it) are readable by their owner only: requests hold
/// Environment values.
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    if let Some(parent) = path.parent()
        && !parent.exists()
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    if !path.exists() {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)?;
    } else if std::fs::metadata(path)?.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Why the store at `path` cannot be opened, and what to do.
fn open_error(path: &Path, e: impl std::fmt::Display, damaged: bool) -> BackendError {
    let path = path.display();
    if damaged {
        BackendError::internal(format!(
            "the job store {path} is damaged ({e}): keep a copy (mv {path} {path}.damaged), \
             then start SageDesk again to begin with an empty store"
        ))
    } else {
        BackendError::internal(format!("cannot open the job store {path}: {e}"))
    }
}

fn is_damage(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

fn is_read_only(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(
            rusqlite::ErrorCode::ReadOnly
                | rusqlite::ErrorCode::CannotOpen
                | rusqlite::ErrorCode::PermissionDenied
        )
    )
}

impl Store {
    /// Opens (and creates, if needed) the database at `path`. A store on a read-only file
    /// system or folder opens read-only (see [`Store::is_read_only`]).
    pub fn open(path: &Path) -> Result<Store, BackendError> {
        match create_private(path) {
            Ok(()) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
                ) =>
            {
                return Self::open_read_only(path);
            }
            Err(e) => return Err(open_error(path, e, false)),
        }
        match Self::open_writable(path) {
            Ok(Some(store)) => Ok(store),
            Ok(None) => Self::open_read_only(path),
            Err(e) if is_damage(&e) => Err(open_error(path, e, true)),
            Err(e) if is_read_only(&e) => Self::open_read_only(path),
            Err(e) => Err(open_error(path, e, false)),
        }
    }

    /// The store opened for writing; `None` when SQLite could only open it for reading.
    fn open_writable(path: &Path) -> rusqlite::Result<Option<Store>> {
        let conn = Connection::open(path)?;
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Ok(None);
        }
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Some(Store {
            conn,
            read_only: false,
        }))
    }

    /// Opens the store for reading only; with no `-wal`/`-shm` files beside it (a clean
    /// close) and no way to create them, as an immutable file.
    pub fn open_read_only(path: &Path) -> Result<Store, BackendError> {
        use rusqlite::OpenFlags;
        if !path.exists() {
            return Err(BackendError::new(
                READ_ONLY,
                format!(
                    "{} cannot be created: its folder is read-only; set SAGEDESK_HOME to a \
                     writable folder",
                    path.display()
                ),
            ));
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
        let plain = Connection::open_with_flags(path, flags).and_then(|conn| {
            conn.query_row("SELECT count(*) FROM jobs", [], |_| Ok(()))?;
            Ok(conn)
        });
        let conn = match plain {
            Ok(conn) => conn,
            Err(e) if is_damage(&e) => return Err(open_error(path, e, true)),
            Err(_) => {
                let uri = format!("file:{}?immutable=1", path.display());
                let conn = Connection::open_with_flags(uri, flags)
                    .map_err(|e| open_error(path, &e, is_damage(&e)))?;
                conn.query_row("SELECT count(*) FROM jobs", [], |_| Ok(()))
                    .map_err(|e| open_error(path, &e, is_damage(&e)))?;
                conn
            }
        };
        conn.busy_timeout(Duration::from_secs(10))?;
        Ok(Store {
            conn,
            read_only: true,
        })
    }

    /// Whether this store was opened read-only (its folder or file system is).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// Starts a write transaction that takes the write lock at once, so that concurrent
    /// writers wait for each other (busy timeout) instead of failing on a stale snapshot.
    fn write(&self) -> rusqlite::Result<Transaction<'_>> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
    }

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

    /// Ends the job: final status, reason, artifacts and end time, in one transaction.
    pub fn finish(&self, name: &str, ending: &Ending<'_>, now: i64) -> Result<(), BackendError> {
        let tx = self.write()?;
        transition_in(
            &tx,
            name,
            ending.status,
            ending.secondary,
            ending.message,
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

    /// Stores log lines and their metric points in one transaction.
    pub fn append(
        &self,
        job: &str,
        metric_names: &[String],
        records: &[Record],
    ) -> Result<(), BackendError> {
        let tx = self.write()?;
        {
            let mut log = tx.prepare_cached(
                "INSERT INTO logs (job, ts, host, stream, line) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut metric = tx.prepare_cached(
                "INSERT INTO metrics (job, name, ts, value) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for r in records {
                let stream = matches!(r.stream, Stream::Stderr) as i64;
                log.execute(params![job, r.ts, r.host, stream, r.line])?;
                for (index, value) in &r.points {
                    metric.execute(params![job, metric_names[*index], r.ts, value])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The last `n` stderr lines of a host, oldest first.
    pub fn stderr_tail(
        &self,
        job: &str,
        host: &str,
        n: usize,
    ) -> Result<Vec<String>, BackendError> {
        let mut stmt = self.conn.prepare(
            "SELECT line FROM logs WHERE job = ?1 AND host = ?2 AND stream = 1
             ORDER BY id DESC LIMIT ?3",
        )?;
        let mut lines: Vec<String> = stmt
            .query_map(params![job, host, n as i64], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        lines.reverse();
        Ok(lines)
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
            "SELECT m.name, m.value, m.ts FROM metrics m
             JOIN (SELECT name, MAX(id) AS id FROM metrics WHERE job = ?1 GROUP BY name) last
             ON m.id = last.id ORDER BY m.name",
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

    /// Log lines after `cursor`, at most `limit`.
    pub fn logs_after(
        &self,
        job: &str,
        cursor: i64,
        limit: usize,
    ) -> Result<LogPage, BackendError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, ts, host, stream, line FROM logs WHERE job = ?1 AND id > ?2
             ORDER BY id LIMIT ?3",
        )?;
        let lines = stmt
            .query_map(params![job, cursor, limit as i64], |r| {
                Ok(LogLine {
                    id: r.get(0)?,
                    timestamp: to_time(r.get(1)?),
                    host: r.get(2)?,
                    stream: if r.get::<_, i64>(3)? == 1 {
                        Stream::Stderr
                    } else {
                        Stream::Stdout
                    },
                    text: r.get(4)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = lines.last().map(|l| l.id).unwrap_or(cursor);
        Ok(LogPage {
            lines,
            next_cursor: Cursor::at(next_cursor),
        })
    }

    /// Metric points stored after row `cursor`, grouped by metric name.
    pub fn metrics_after(&self, job: &str, cursor: i64) -> Result<MetricPage, BackendError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT name, ts, value, id FROM metrics WHERE job = ?1 AND id > ?2 ORDER BY name, ts, id",
        )?;
        let mut series: Vec<MetricSeries> = Vec::new();
        let mut next_cursor = cursor;
        let mut rows = stmt.query(params![job, cursor])?;
        while let Some(r) = rows.next()? {
            next_cursor = next_cursor.max(r.get(3)?);
            let name: String = r.get(0)?;
            let point = MetricPoint {
                timestamp: to_time(r.get(1)?),
                value: r.get(2)?,
            };
            match series.last_mut() {
                Some(s) if s.name == name => s.points.push(point),
                _ => series.push(MetricSeries {
                    name,
                    points: vec![point],
                }),
            }
        }
        Ok(MetricPage {
            series,
            next_cursor: Cursor::at(next_cursor),
        })
    }

    /// Saves (or replaces) a named template of the job builder.
    pub fn save_template(&self, name: &str, request: &str) -> Result<(), BackendError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO templates (name, request, updated) VALUES (?1, ?2, ?3)",
            params![name, request, now_ms()],
        )?;
        Ok(())
    }

    /// Every saved template, `(name, request JSON)`, by name.
    pub fn templates(&self) -> Result<Vec<(String, String)>, BackendError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, request FROM templates ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Deletes a template.
    pub fn delete_template(&self, name: &str) -> Result<(), BackendError> {
        self.conn
            .execute("DELETE FROM templates WHERE name = ?1", [name])?;
        Ok(())
    }

    /// Renames a template; refuses a name that is taken.
    pub fn rename_template(&self, from: &str, to: &str) -> Result<(), BackendError> {
        let tx = self.write()?;
        let taken: Option<i64> = tx
            .query_row("SELECT 1 FROM templates WHERE name = ?1", [to], |r| {
                r.get(0)
            })
            .optional()?;
        if taken.is_some() {
            return Err(BackendError::new(
                "ResourceInUse",
                format!("a template named {to:?} exists"),
            ));
        }
        tx.execute(
            "UPDATE templates SET name = ?2, updated = ?3 WHERE name = ?1",
            params![from, to, now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Saves the builder's draft (there is one).
    pub fn save_draft(&self, request: &str) -> Result<(), BackendError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO drafts (id, request, updated) VALUES (1, ?1, ?2)",
            params![request, now_ms()],
        )?;
        Ok(())
    }

    /// The builder's draft, if one was saved.
    pub fn draft(&self) -> Result<Option<String>, BackendError> {
        Ok(self
            .conn
            .query_row("SELECT request FROM drafts WHERE id = 1", [], |r| r.get(0))
            .optional()?)
    }

    /// Forgets the draft (after it was submitted).
    pub fn clear_draft(&self) -> Result<(), BackendError> {
        self.conn.execute("DELETE FROM drafts", [])?;
        Ok(())
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
