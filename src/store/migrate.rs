//! What stores made by earlier versions need once, when first opened for writing: lines
//! kept as a row each (`logs`) moved into blocks, each metric's last value kept apart, and
//! log blocks given a column for their trigram filters.

use rusqlite::params;

use super::Store;
use super::logs::Record;
use crate::job::Stream;

/// Whether the store has a table of that name (one an earlier version made).
fn has_table(store: &Store, name: &str) -> rusqlite::Result<bool> {
    store.conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
        [name],
        |r| r.get(0),
    )
}

/// Gives `log_blocks` its `grams` column; blocks written before have none and are always
/// read by a search.
pub(super) fn block_grams(store: &Store) -> rusqlite::Result<()> {
    if super::has_grams(&store.conn)? {
        return Ok(());
    }
    store
        .conn
        .execute_batch("ALTER TABLE log_blocks ADD COLUMN grams BLOB")
}

/// Lines moved per batch.
const BATCH: i64 = 20_000;

/// Moves the rows of an old `logs` table into blocks, then drops the table.
pub(super) fn line_rows_to_blocks(store: &Store) -> rusqlite::Result<()> {
    if !has_table(store, "logs")? {
        return Ok(());
    }
    let tx = store.write()?;
    let jobs: Vec<String> = tx
        .prepare("SELECT DISTINCT job FROM logs")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for job in jobs {
        tx.execute("INSERT OR IGNORE INTO log_keys (job) VALUES (?1)", [&job])?;
        let key: i64 = tx.query_row("SELECT key FROM log_keys WHERE job = ?1", [&job], |r| {
            r.get(0)
        })?;
        tx.execute("DELETE FROM log_blocks WHERE key = ?1", [key])?;
        let mut writer = super::logs::LogWriter::load(&tx, key)?;
        let mut after = 0i64;
        loop {
            let records: Vec<(i64, Record)> = tx
                .prepare_cached(
                    "SELECT id, ts, host, stream, line FROM logs WHERE job = ?1 AND id > ?2
                     ORDER BY id LIMIT ?3",
                )?
                .query_map(params![job, after, BATCH], |r| {
                    Ok((
                        r.get(0)?,
                        Record {
                            ts: r.get(1)?,
                            host: r.get(2)?,
                            stream: if r.get::<_, i64>(3)? == 1 {
                                Stream::Stderr
                            } else {
                                Stream::Stdout
                            },
                            line: r.get(4)?,
                            open: false,
                            points: Vec::new(),
                        },
                    ))
                })?
                .collect::<Result<_, _>>()?;
            let Some((last, _)) = records.last() else {
                break;
            };
            after = *last;
            let records: Vec<Record> = records.into_iter().map(|(_, r)| r).collect();
            writer.write_lines(&tx, &records)?;
        }
    }
    tx.execute_batch("DROP INDEX IF EXISTS logs_by_job; DROP TABLE logs;")?;
    tx.commit()
}

/// Points per row when points kept a row each are moved.
const RUN: usize = 4096;

/// Moves the points of an old `metrics` table (a row per point) into rows of many points
/// and keeps each metric's last value, then drops the table.
pub(super) fn metric_rows_to_runs(store: &Store) -> rusqlite::Result<()> {
    if !has_table(store, "metrics")? {
        return Ok(());
    }
    let tx = store.write()?;
    let series: Vec<(String, String)> = tx
        .prepare("SELECT DISTINCT job, name FROM metrics")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    for (job, name) in series {
        let points: Vec<(i64, f64)> = tx
            .prepare_cached(
                "SELECT ts, value FROM metrics WHERE job = ?1 AND name = ?2 ORDER BY id",
            )?
            .query_map(params![job, name], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for run in points.chunks(RUN) {
            super::metrics::append_points(&tx, &job, &name, run)?;
        }
    }
    tx.execute_batch("DROP INDEX IF EXISTS metrics_by_job; DROP TABLE metrics;")?;
    tx.commit()
}
