//! Log lines and metric points: stored in batches as a job prints them, read back a page at
//! a time.

use rusqlite::params;

use super::{Store, to_time};
use crate::backend::BackendError;
use crate::job::{Cursor, LogLine, LogPage, MetricPage, MetricPoint, MetricSeries, Stream};

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

impl Store {
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
}
