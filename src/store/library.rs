//! The window's library: the builder's named templates and the draft being edited, the
//! links between a job and the job it was cloned from, the last list of each remote
//! source, and the instance prices read from the AWS Price List.

use rusqlite::{OptionalExtension, params};

use super::{Store, now_ms};
use crate::error::BackendError;

impl Store {
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

    /// Records that `job` was made from `origin` (both as the caller names jobs).
    pub fn save_link(&self, job: &str, origin: &str) -> Result<(), BackendError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO links (job, origin, created) VALUES (?1, ?2, ?3)",
            params![job, origin, now_ms()],
        )?;
        Ok(())
    }

    /// Every link, `(job, origin)`, oldest first.
    pub fn links(&self) -> Result<Vec<(String, String)>, BackendError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT job, origin FROM links ORDER BY created")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Keeps the last list of a remote source (JSON), to paint at the next start.
    pub fn save_source_jobs(&self, source: &str, jobs: &str) -> Result<(), BackendError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO source_jobs (source, jobs, updated) VALUES (?1, ?2, ?3)",
            params![source, jobs, now_ms()],
        )?;
        Ok(())
    }

    /// The last list kept for a remote source.
    pub fn source_jobs(&self, source: &str) -> Result<Option<String>, BackendError> {
        Ok(self
            .conn
            .query_row(
                "SELECT jobs FROM source_jobs WHERE source = ?1",
                [source],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Keeps a price (JSON) under `key` (a connection and an instance type).
    pub fn save_price(&self, key: &str, price: &str) -> Result<(), BackendError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO prices (key, price) VALUES (?1, ?2)",
            params![key, price],
        )?;
        Ok(())
    }

    /// The price kept under `key`.
    pub fn price(&self, key: &str) -> Result<Option<String>, BackendError> {
        Ok(self
            .conn
            .query_row("SELECT price FROM prices WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Keeps what a finished job of a remote source is billed for (JSON).
    pub fn save_billing(&self, source: &str, job: &str, billing: &str) -> Result<(), BackendError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO billing (source, job, billing) VALUES (?1, ?2, ?3)",
            params![source, job, billing],
        )?;
        Ok(())
    }

    /// Every billing kept for a remote source, `(job, billing)`.
    pub fn billing(&self, source: &str) -> Result<Vec<(String, String)>, BackendError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT job, billing FROM billing WHERE source = ?1")?;
        let rows = stmt.query_map([source], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
