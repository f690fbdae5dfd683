//! Metric points, as the recorder found them in the log lines, read back a page at a time.

use rusqlite::params;

use super::{Store, to_time};
use crate::backend::BackendError;
use crate::job::{Cursor, MetricPage, MetricPoint, MetricSeries};

impl Store {
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
