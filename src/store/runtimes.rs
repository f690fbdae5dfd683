//! The runtime table (container image patterns to local interpreters) and what each
//! interpreter answered when probed.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::Store;
use crate::error::BackendError;

/// What an interpreter has, as it answered the probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct InterpreterInfo {
    /// `3.11.7`.
    pub python: String,
    /// Installed versions of the probed packages, by distribution name.
    pub packages: BTreeMap<String, String>,
}

/// One row of the runtime table: images matching `pattern` (`*` stands for anything) run
/// with `interpreter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeEntry {
    /// E.g. `*pytorch-training:2.3*`.
    pub pattern: String,
    /// A Python interpreter, or a virtual environment's `bin/python`.
    pub interpreter: PathBuf,
}

impl Store {
    /// The runtime table, in the order it is matched. A store that has no table yet (opened
    /// read-only from an older version) has no rows.
    pub fn runtimes(&self) -> Result<Vec<RuntimeEntry>, BackendError> {
        let Ok(mut stmt) = self
            .conn
            .prepare_cached("SELECT pattern, interpreter FROM runtimes ORDER BY position, pattern")
        else {
            return Ok(Vec::new());
        };
        let rows = stmt.query_map([], |r| {
            Ok(RuntimeEntry {
                pattern: r.get(0)?,
                interpreter: PathBuf::from(r.get::<_, String>(1)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Maps images matching `pattern` to `interpreter`: a new row goes last, an existing
    /// one keeps its place.
    pub fn set_runtime(&self, pattern: &str, interpreter: &Path) -> Result<(), BackendError> {
        self.conn.execute(
            "INSERT INTO runtimes (pattern, interpreter, position)
             VALUES (?1, ?2, (SELECT COALESCE(MAX(position), 0) + 1 FROM runtimes))
             ON CONFLICT(pattern) DO UPDATE SET interpreter = excluded.interpreter",
            params![pattern, interpreter.display().to_string()],
        )?;
        Ok(())
    }

    /// Removes the row for `pattern`; false when there was none.
    pub fn remove_runtime(&self, pattern: &str) -> Result<bool, BackendError> {
        Ok(self
            .conn
            .execute("DELETE FROM runtimes WHERE pattern = ?1", [pattern])?
            > 0)
    }

    /// What `path` answered when it was last probed as it is now (`stamp`).
    pub fn interpreter_info(
        &self,
        path: &Path,
        stamp: &str,
    ) -> Result<Option<InterpreterInfo>, BackendError> {
        let Ok(mut stmt) = self
            .conn
            .prepare_cached("SELECT info FROM interpreters WHERE path = ?1 AND stamp = ?2")
        else {
            return Ok(None);
        };
        let info: Option<String> = stmt
            .query_row(params![path.display().to_string(), stamp], |r| r.get(0))
            .optional()?;
        Ok(info.and_then(|text| serde_json::from_str(&text).ok()))
    }

    /// Keeps what `path` answered.
    pub fn save_interpreter_info(
        &self,
        path: &Path,
        stamp: &str,
        info: &InterpreterInfo,
    ) -> Result<(), BackendError> {
        let text =
            serde_json::to_string(info).map_err(|e| BackendError::internal(e.to_string()))?;
        self.conn.execute(
            "INSERT OR REPLACE INTO interpreters (path, stamp, info) VALUES (?1, ?2, ?3)",
            params![path.display().to_string(), stamp, text],
        )?;
        Ok(())
    }
}
