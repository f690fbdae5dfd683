//! Log lines: kept in compressed blocks of one host's lines (`block`), written in batches
//! as a job prints them, read back by row range and counted exactly (Find is `search`).
//!
//! Rows: with no host chosen, row `r` is the job's line `r + 1` (lines are numbered from 1
//! across hosts, in the order they were read); with a host, row `r` is that host's line
//! `r` (counted from 0).

use std::collections::HashMap;
use std::ops::Range;

use rusqlite::{Connection, OptionalExtension, params};

use super::block::Block;
use super::{Store, to_time};
use crate::error::BackendError;
use crate::job::{Cursor, LogLine, LogPage, LogSize, Stream};

/// A line and the metric points found in it, ready to be stored.
#[derive(Debug, Clone)]
pub struct Record {
    /// Epoch milliseconds.
    pub ts: i64,
    /// `algo-N`.
    pub host: String,
    /// Which stream.
    pub stream: Stream,
    /// The text, as printed (carriage returns kept).
    pub line: String,
    /// The line has no end yet: this is its text so far, and the next record of the same
    /// host and stream replaces it.
    pub open: bool,
    /// `(metric name index, value)` pairs found in the line.
    pub points: Vec<(usize, f64)>,
}

/// The block a host is filling.
struct Tail {
    /// Its row once stored.
    id: Option<i64>,
    block: Block,
    /// The host's line number (from 0) of the block's first line.
    ord: u64,
}

/// Where a job's log goes on: the next line number, each host's block being filled and the
/// lines still open (progress bars). Kept by the one process that writes a job's log.
pub struct LogWriter {
    key: i64,
    next_seq: u64,
    tails: HashMap<String, Tail>,
    open: HashMap<(String, Stream), u64>,
}

impl LogWriter {
    /// Picks up after what the store holds.
    pub(super) fn load(conn: &Connection, key: i64) -> rusqlite::Result<Self> {
        Ok(Self {
            key,
            next_seq: line_count(conn, key)? + 1,
            tails: HashMap::new(),
            open: HashMap::new(),
        })
    }

    /// The block `host` fills, started after its stored lines when new.
    fn tail(&mut self, conn: &Connection, host: &str) -> rusqlite::Result<&mut Tail> {
        if !self.tails.contains_key(host) {
            let ord = host_count(conn, self.key, host)?;
            self.tails.insert(
                host.to_string(),
                Tail {
                    id: None,
                    block: Block::default(),
                    ord,
                },
            );
        }
        Ok(self.tails.get_mut(host).expect("just inserted"))
    }

    /// Adds the lines of `records` inside the caller's transaction.
    pub(super) fn write_lines(
        &mut self,
        conn: &Connection,
        records: &[Record],
    ) -> rusqlite::Result<()> {
        let mut dirty: Vec<String> = Vec::new();
        for r in records {
            let text = r.line.as_bytes();
            // Most lines end at once and no line is open: nothing to look up.
            let open_seq = if self.open.is_empty() {
                None
            } else {
                self.open.get(&(r.host.clone(), r.stream)).copied()
            };
            if let Some(seq) = open_seq {
                if !r.open {
                    self.open.remove(&(r.host.clone(), r.stream));
                }
                let tail = self.tail(conn, &r.host)?;
                if !tail.block.replace(seq, r.ts, r.open, text) {
                    replace_stored(conn, self.key, &r.host, seq, r.ts, r.open, text)?;
                } else if !dirty.contains(&r.host) {
                    dirty.push(r.host.clone());
                }
            } else {
                let seq = self.next_seq;
                self.next_seq += 1;
                if r.open {
                    self.open.insert((r.host.clone(), r.stream), seq);
                }
                let writer_key = self.key;
                let tail = self.tail(conn, &r.host)?;
                if tail.block.is_full() {
                    store_tail(conn, writer_key, &r.host, tail, true)?;
                    let ord = tail.ord + tail.block.heads.len() as u64;
                    *tail = Tail {
                        id: None,
                        block: Block::default(),
                        ord,
                    };
                }
                tail.block.push(seq, r.ts, r.stream, r.open, text);
                if !dirty.contains(&r.host) {
                    dirty.push(r.host.clone());
                }
            }
        }
        for host in dirty {
            let key = self.key;
            if let Some(tail) = self.tails.get_mut(&host) {
                store_tail(conn, key, &host, tail, false)?;
            }
        }
        Ok(())
    }
}

/// Writes a host's block being filled (a new row the first time); a `sealed` one (full:
/// no line is added to it again) gets its trigram filter.
fn store_tail(
    conn: &Connection,
    key: i64,
    host: &str,
    tail: &mut Tail,
    sealed: bool,
) -> rusqlite::Result<()> {
    if tail.block.is_empty() {
        return Ok(());
    }
    let data = tail.block.encode();
    let grams = sealed.then(|| tail.block.grams());
    let (first, last, count) = (
        tail.block.first() as i64,
        tail.block.last() as i64,
        tail.block.heads.len() as i64,
    );
    match tail.id {
        Some(id) => {
            conn.prepare_cached(
                "UPDATE log_blocks SET last = ?2, count = ?3, data = ?4, grams = ?5 WHERE id = ?1",
            )?
            .execute(params![id, last, count, data, grams])?;
        }
        None => {
            conn.prepare_cached(
                "INSERT INTO log_blocks (key, host, first, last, ord, count, data, grams)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                key,
                host,
                first,
                last,
                tail.ord as i64,
                count,
                data,
                grams
            ])?;
            tail.id = Some(conn.last_insert_rowid());
        }
    }
    Ok(())
}

/// Gives a line of an already stored block (no longer the one being filled) its new text.
fn replace_stored(
    conn: &Connection,
    key: i64,
    host: &str,
    seq: u64,
    ts: i64,
    open: bool,
    text: &[u8],
) -> rusqlite::Result<()> {
    let found: Option<(i64, i64, Vec<u8>)> = conn
        .query_row(
            "SELECT id, first, data FROM log_blocks WHERE key = ?1 AND host = ?2 AND first <= ?3
             ORDER BY first DESC LIMIT 1",
            params![key, host, seq as i64],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, first, data)) = found else {
        return Ok(());
    };
    let Ok(mut block) = Block::decode(&data, first as u64) else {
        return Ok(());
    };
    if block.replace(seq, ts, open, text) {
        conn.execute(
            "UPDATE log_blocks SET data = ?2, grams = ?3 WHERE id = ?1",
            params![id, block.encode(), block.grams()],
        )?;
    }
    Ok(())
}

/// How many lines the log has stored (the number of its last line).
fn line_count(conn: &Connection, key: i64) -> rusqlite::Result<u64> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT max(last) FROM log_blocks WHERE key = ?1")?
        .query_row([key], |r| r.get(0))?;
    Ok(last.unwrap_or(0) as u64)
}

/// The hosts that have logged, in name order.
fn host_names(conn: &Connection, key: i64) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached("SELECT DISTINCT host FROM log_blocks WHERE key = ?1 ORDER BY host")?
        .query_map([key], |r| r.get(0))?
        .collect()
}

/// How many lines `host` has stored.
fn host_count(conn: &Connection, key: i64, host: &str) -> rusqlite::Result<u64> {
    let n: Option<i64> = conn
        .query_row(
            "SELECT ord + count FROM log_blocks WHERE key = ?1 AND host = ?2
             ORDER BY ord DESC LIMIT 1",
            params![key, host],
            |r| r.get(0),
        )
        .optional()?;
    Ok(n.unwrap_or(0) as u64)
}

/// A stored block as read: its host, first line, the host's row of its first line, data.
type StoredBlock = (String, u64, u64, Vec<u8>);

pub(super) fn damaged(job: &str, e: String) -> BackendError {
    BackendError::internal(format!("the log of {job}: {e}"))
}

impl Store {
    pub(super) fn log_key(&self, job: &str) -> rusqlite::Result<Option<i64>> {
        self.conn
            .prepare_cached("SELECT key FROM log_keys WHERE job = ?1")?
            .query_row([job], |r| r.get(0))
            .optional()
    }

    /// A writer for `job`'s log, after the lines already stored.
    pub fn log_writer(&self, job: &str) -> Result<LogWriter, BackendError> {
        self.conn
            .execute("INSERT OR IGNORE INTO log_keys (job) VALUES (?1)", [job])?;
        let key = self.log_key(job)?.expect("just inserted");
        Ok(LogWriter::load(&self.conn, key)?)
    }

    /// Stores log lines and their metric points in one transaction. On an error nothing of
    /// the batch is kept and the writer starts over from what the store holds.
    pub fn write_log(
        &self,
        writer: &mut LogWriter,
        job: &str,
        metric_names: &[String],
        records: &[Record],
    ) -> Result<(), BackendError> {
        let written = self.write().and_then(|tx| {
            writer.write_lines(&tx, records)?;
            let mut points: Vec<Vec<(i64, f64)>> = vec![Vec::new(); metric_names.len()];
            for r in records {
                for (index, value) in &r.points {
                    points[*index].push((r.ts, *value));
                }
            }
            for (name, points) in metric_names.iter().zip(points) {
                super::metrics::append_points(&tx, job, name, &points)?;
            }
            tx.commit()
        });
        if let Err(e) = written {
            if let Ok(fresh) = LogWriter::load(&self.conn, writer.key) {
                *writer = fresh;
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Stores log lines after the job's others, with a writer of its own.
    pub fn append(
        &self,
        job: &str,
        metric_names: &[String],
        records: &[Record],
    ) -> Result<(), BackendError> {
        let mut writer = self.log_writer(job)?;
        self.write_log(&mut writer, job, metric_names, records)
    }

    /// Forgets a job's log (a new job takes the name of a deleted one).
    pub(super) fn clear_log(conn: &Connection, job: &str) -> rusqlite::Result<()> {
        conn.execute(
            "DELETE FROM log_blocks WHERE key IN (SELECT key FROM log_keys WHERE job = ?1)",
            [job],
        )?;
        conn.execute("DELETE FROM metric_points WHERE job = ?1", [job])?;
        conn.execute("DELETE FROM last_metrics WHERE job = ?1", [job])?;
        Ok(())
    }

    /// How many rows the log has: all lines, or one host's.
    pub fn log_count(&self, job: &str, host: Option<&str>) -> Result<u64, BackendError> {
        let Some(key) = self.log_key(job)? else {
            return Ok(0);
        };
        Ok(match host {
            Some(host) => host_count(&self.conn, key, host)?,
            None => line_count(&self.conn, key)?,
        })
    }

    /// How many lines the log has, in all and by host.
    pub fn log_size(&self, job: &str) -> Result<LogSize, BackendError> {
        let Some(key) = self.log_key(job)? else {
            return Ok(LogSize::default());
        };
        let mut hosts = Vec::new();
        let mut stamp = 0u64;
        for host in host_names(&self.conn, key)? {
            let (count, tail): (i64, i64) = self.conn.query_row(
                "SELECT ord + count, length(data) FROM log_blocks WHERE key = ?1 AND host = ?2
                 ORDER BY ord DESC LIMIT 1",
                params![key, host],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            // The block being filled is rewritten whenever a line is added or redrawn.
            stamp = stamp
                .wrapping_mul(31)
                .wrapping_add((count as u64) << 20 ^ tail as u64);
            hosts.push((host, count as u64));
        }
        Ok(LogSize {
            total: line_count(&self.conn, key)?,
            hosts,
            stamp,
        })
    }

    /// The hosts that have logged, in name order.
    pub fn log_hosts(&self, job: &str) -> Result<Vec<String>, BackendError> {
        match self.log_key(job)? {
            Some(key) => Ok(host_names(&self.conn, key)?),
            None => Ok(Vec::new()),
        }
    }

    /// The blocks holding rows `rows` (see the module's note on rows).
    fn blocks_for(
        &self,
        key: i64,
        host: Option<&str>,
        rows: &Range<u64>,
    ) -> rusqlite::Result<Vec<StoredBlock>> {
        let map = |r: &rusqlite::Row| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)? as u64,
                r.get::<_, Vec<u8>>(3)?,
            ))
        };
        match host {
            None => self
                .conn
                .prepare_cached(
                    "SELECT host, first, ord, data FROM log_blocks
                     WHERE key = ?1 AND last > ?2 AND first <= ?3 ORDER BY first",
                )?
                .query_map(params![key, rows.start as i64, rows.end as i64], map)?
                .collect(),
            Some(host) => {
                let mut found: Vec<_> = self
                    .conn
                    .prepare_cached(
                        "SELECT host, first, ord, data FROM log_blocks
                         WHERE key = ?1 AND host = ?2 AND ord <= ?3 ORDER BY ord DESC LIMIT 1",
                    )?
                    .query_map(params![key, host, rows.start as i64], map)?
                    .collect::<Result<_, _>>()?;
                found.extend(
                    self.conn
                        .prepare_cached(
                            "SELECT host, first, ord, data FROM log_blocks
                             WHERE key = ?1 AND host = ?2 AND ord > ?3 AND ord < ?4 ORDER BY ord",
                        )?
                        .query_map(params![key, host, rows.start as i64, rows.end as i64], map)?
                        .collect::<Result<Vec<_>, _>>()?,
                );
                Ok(found)
            }
        }
    }

    /// The lines at rows `rows`, in order (fewer at the end of the log).
    pub fn log_rows(
        &self,
        job: &str,
        host: Option<&str>,
        rows: Range<u64>,
    ) -> Result<Vec<LogLine>, BackendError> {
        let Some(key) = self.log_key(job)? else {
            return Ok(Vec::new());
        };
        let mut lines: Vec<(u64, LogLine)> = Vec::new();
        for (block_host, first, ord, data) in self.blocks_for(key, host, &rows)? {
            let block = Block::decode(&data, first).map_err(|e| damaged(job, e))?;
            for (i, h) in block.heads.iter().enumerate() {
                let row = if host.is_some() {
                    ord + i as u64
                } else {
                    h.seq - 1
                };
                if rows.contains(&row) {
                    lines.push((row, line(&block_host, &block, h)));
                }
            }
        }
        lines.sort_by_key(|(row, _)| *row);
        Ok(lines.into_iter().map(|(_, l)| l).collect())
    }

    /// The last `n` stderr lines of a host, oldest first.
    pub fn stderr_tail(
        &self,
        job: &str,
        host: &str,
        n: usize,
    ) -> Result<Vec<String>, BackendError> {
        let count = self.log_count(job, Some(host))?;
        let mut lines = Vec::new();
        let mut end = count;
        // Read back a block's worth at a time until enough stderr lines are found.
        while end > 0 && lines.len() < n {
            let start = end.saturating_sub(super::block::BLOCK_LINES as u64);
            let page = self.log_rows(job, Some(host), start..end)?;
            let mut found: Vec<String> = page
                .into_iter()
                .filter(|l| l.stream == Stream::Stderr)
                .map(|l| l.text)
                .collect();
            found.append(&mut lines);
            lines = found;
            end = start;
        }
        let cut = lines.len().saturating_sub(n);
        Ok(lines.split_off(cut))
    }

    /// Log lines after `cursor` (a line number), at most `limit`.
    pub fn logs_after(
        &self,
        job: &str,
        cursor: i64,
        limit: usize,
    ) -> Result<LogPage, BackendError> {
        let start = cursor.max(0) as u64;
        let lines = self.log_rows(job, None, start..start + limit as u64)?;
        let next_cursor = lines.last().map(|l| l.id).unwrap_or(cursor);
        Ok(LogPage {
            lines,
            next_cursor: Cursor::at(next_cursor),
        })
    }
}

fn line(host: &str, block: &Block, head: &super::block::Head) -> LogLine {
    LogLine {
        id: head.seq as i64,
        timestamp: to_time(head.ts),
        host: host.to_string(),
        stream: head.stream,
        text: String::from_utf8_lossy(block.text(head)).into_owned(),
    }
}
