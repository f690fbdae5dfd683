//! Metric points, as the recorder found them in the log lines: each batch's points of one
//! metric kept as one row (times as varint deltas, values as 8 bytes), each metric's last
//! value apart for describing a job, read back a page of rows at a time.

use rusqlite::{Connection, params};

use super::block::{get_varint, put_varint, unzigzag, zigzag};
use super::{Store, to_time};
use crate::error::BackendError;
use crate::job::{Cursor, MetricPage, MetricPoint, MetricSeries};

/// Rows read in one page at most (each holds a batch's points of one metric).
const PAGE_ROWS: i64 = 256;

/// Stores `points` (time, value) of metric `name`, and keeps the last as its latest value.
pub(super) fn append_points(
    conn: &Connection,
    job: &str,
    name: &str,
    points: &[(i64, f64)],
) -> rusqlite::Result<()> {
    let Some(&(last_ts, last_value)) = points.last() else {
        return Ok(());
    };
    let mut data = Vec::with_capacity(points.len() * 10);
    let mut previous = 0i64;
    for &(ts, value) in points {
        put_varint(&mut data, zigzag(ts.wrapping_sub(previous)));
        data.extend_from_slice(&value.to_le_bytes());
        previous = ts;
    }
    conn.prepare_cached(
        "INSERT INTO metric_points (job, name, count, data) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![job, name, points.len() as i64, data])?;
    conn.prepare_cached(
        "INSERT OR REPLACE INTO last_metrics (job, name, value, ts) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![job, name, last_value, last_ts])?;
    Ok(())
}

/// The points of one row.
fn decode(data: &[u8]) -> Result<Vec<MetricPoint>, String> {
    let mut points = Vec::new();
    let (mut at, mut ts) = (0, 0i64);
    while at < data.len() {
        ts = ts.wrapping_add(unzigzag(get_varint(data, &mut at)?));
        let bytes = data
            .get(at..at + 8)
            .ok_or("metric points cut short")?
            .try_into()
            .map_err(|_| "metric points cut short")?;
        at += 8;
        points.push(MetricPoint {
            timestamp: to_time(ts),
            value: f64::from_le_bytes(bytes),
        });
    }
    Ok(points)
}

impl Store {
    /// Metric points stored after row `cursor` (a page of rows at most), grouped by metric
    /// name, each series in time order.
    pub fn metrics_after(&self, job: &str, cursor: i64) -> Result<MetricPage, BackendError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, data FROM metric_points WHERE job = ?1 AND id > ?2
             ORDER BY id LIMIT ?3",
        )?;
        let mut series: Vec<MetricSeries> = Vec::new();
        let mut next_cursor = cursor;
        let mut rows = stmt.query(params![job, cursor, PAGE_ROWS])?;
        while let Some(r) = rows.next()? {
            next_cursor = next_cursor.max(r.get(0)?);
            let name: String = r.get(1)?;
            let data: Vec<u8> = r.get(2)?;
            let points = decode(&data)
                .map_err(|e| BackendError::internal(format!("the metrics of {job}: {e}")))?;
            match series.iter_mut().find(|s| s.name == name) {
                Some(s) => s.points.extend(points),
                None => series.push(MetricSeries { name, points }),
            }
        }
        series.sort_by(|a, b| a.name.cmp(&b.name));
        for s in &mut series {
            s.points.sort_by_key(|p| p.timestamp);
        }
        Ok(MetricPage {
            series,
            next_cursor: Cursor::at(next_cursor),
        })
    }
}
