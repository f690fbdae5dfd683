//! The application's persistence: a SQLite database (WAL) in the data folder, shared by
//! every SageDesk process. This file opens it (creating it private, falling back to
//! read-only, naming a damaged file); `jobs` holds local jobs and their statuses, `logs` the
//! lines and metric points (a remote job's too, in a scratch store), `library` the window's
//! templates, draft, links, cached lists and prices, `runtimes` local mode's runtime table,
//! `tuning` local tuning jobs (their request and state as JSON).
//! It imports the job views, the request model and the error vocabulary only.

mod block;
mod jobs;
mod library;
mod logs;
mod metrics;
mod migrate;
mod runtimes;
mod search;
mod tuning;

pub use runtimes::{InterpreterInfo, RuntimeEntry};

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use jobs::{Ending, Supervised};
pub use logs::{LogWriter, Record};
pub use tuning::StoredTuningJob;

use crate::error::BackendError;
use crate::job::Status;

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
CREATE TABLE IF NOT EXISTS log_keys (
    key INTEGER PRIMARY KEY,
    job TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS log_blocks (
    id INTEGER PRIMARY KEY,
    key INTEGER NOT NULL,
    host TEXT NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    count INTEGER NOT NULL,
    data BLOB NOT NULL,
    grams BLOB
);
CREATE INDEX IF NOT EXISTS log_blocks_by_host ON log_blocks(key, host, ord);
CREATE INDEX IF NOT EXISTS log_blocks_by_last ON log_blocks(key, last, first);
CREATE TABLE IF NOT EXISTS metric_points (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS metric_points_by_job ON metric_points(job, id);
CREATE TABLE IF NOT EXISTS last_metrics (
    job TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (job, name)
);
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
CREATE TABLE IF NOT EXISTS prices (
    key TEXT PRIMARY KEY,
    price TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS billing (
    source TEXT NOT NULL,
    job TEXT NOT NULL,
    billing TEXT NOT NULL,
    PRIMARY KEY (source, job)
);
CREATE TABLE IF NOT EXISTS source_jobs (
    source TEXT PRIMARY KEY,
    jobs TEXT NOT NULL,
    updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    job TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runtimes (
    pattern TEXT PRIMARY KEY,
    interpreter TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS tuning_jobs (
    name TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    creation_time INTEGER NOT NULL,
    supervisor_pid INTEGER,
    supervisor_start INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS interpreters (
    path TEXT PRIMARY KEY,
    stamp TEXT NOT NULL,
    info TEXT NOT NULL
);
";

/// Whether the store's `log_blocks` has a `grams` column (stores of earlier versions
/// lack it).
fn has_grams(conn: &rusqlite::Connection) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM pragma_table_info('log_blocks') WHERE name = 'grams')",
    )?
    .query_row([], |r| r.get(0))
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

pub(super) fn to_time(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub(super) fn parse_status(s: &str) -> Status {
    s.parse().unwrap_or(Status::Failed)
}

pub use crate::error::{READ_ONLY, STORAGE_FULL};

/// The store's file in the data folder `home`.
pub fn path_in(home: &Path) -> std::path::PathBuf {
    home.join("sagedesk.db")
}

/// SQLite's errors in the shared vocabulary: a full disk, a read-only store and a damaged
/// file each with their own code and what to do.
impl From<rusqlite::Error> for BackendError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Self::new(
                STORAGE_FULL,
                format!("job store: no space left on device ({e})"),
            ),
            Some(rusqlite::ErrorCode::ReadOnly) => Self::new(
                READ_ONLY,
                format!(
                    "job store: the data folder is read-only ({e}); SageDesk can show its jobs \
                     but not change them: make it writable or set SAGEDESK_HOME to another folder"
                ),
            ),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                Self::internal(format!(
                    "job store: the file is damaged ({e}): keep a copy (move sagedesk.db in the \
                     data folder to sagedesk.db.damaged), then start SageDesk again to begin \
                     with an empty store"
                ))
            }
            _ => Self::internal(format!("job store: {e}")),
        }
    }
}

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
        if path.is_dir() {
            let shown = path.display();
            return Err(BackendError::internal(format!(
                "{shown} is a folder, not the job store: move it aside (mv {shown} \
                 {shown}.folder) or set SAGEDESK_HOME to another data folder"
            )));
        }
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

    /// A private store that lives as long as this value (SQLite's temporary database: in
    /// memory until it outgrows its cache, then in an unlinked file), for lines read from
    /// elsewhere that are paged and searched like a local job's.
    pub fn scratch() -> Result<Store, BackendError> {
        let conn = Connection::open("")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Store {
            conn,
            read_only: false,
        })
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
        let store = Store {
            conn,
            read_only: false,
        };
        migrate::block_grams(&store)?;
        migrate::line_rows_to_blocks(&store)?;
        migrate::metric_rows_to_runs(&store)?;
        Ok(Some(store))
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
        // Opened and read from, so that a damaged or unopenable file shows here.
        let probe = |target: String| {
            let conn = Connection::open_with_flags(target, flags)?;
            conn.query_row("SELECT count(*) FROM jobs", [], |_| Ok(()))?;
            Ok::<_, rusqlite::Error>(conn)
        };
        let conn = match probe(path.display().to_string()) {
            Ok(conn) => conn,
            Err(e) if is_damage(&e) => return Err(open_error(path, e, true)),
            Err(_) => probe(format!("file:{}?immutable=1", path.display()))
                .map_err(|e| open_error(path, &e, is_damage(&e)))?,
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
    pub(super) fn write(&self) -> rusqlite::Result<Transaction<'_>> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
    }
}
