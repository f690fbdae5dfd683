//! The selected job's log as the window pages through it. Local mode keeps logs in its
//! store, read by row range and searched there; a remote job's log can only be read
//! forward (CloudWatch Logs), so the lines read so far are kept here, in the worker, and
//! the window holds only the rows on its screen either way.

use std::collections::BTreeMap;
use std::ops::Range;

use crate::job::text::Needle;
use crate::job::{LogHits, LogLine, LogSize};

/// Search hits kept at most (all are counted).
pub const HITS_KEPT: usize = 1_000_000;

/// What the window asks of the selected job's log.
#[derive(Debug, Clone, PartialEq)]
pub enum LogAsk {
    /// The lines at these rows (with a host, that host's rows).
    Rows {
        host: Option<String>,
        rows: Range<u64>,
    },
    /// The rows of lines holding `text`, ignoring case.
    Find { host: Option<String>, text: String },
}

impl LogAsk {
    /// A short description, for crash reports (no search text).
    pub fn label(&self) -> String {
        match self {
            LogAsk::Rows { rows, .. } => format!("rows {}..{}", rows.start, rows.end),
            LogAsk::Find { .. } => "find".into(),
        }
    }
}

/// What the worker tells the window about the selected job's log.
#[derive(Debug, Clone, PartialEq)]
pub enum LogNews {
    /// How many lines it has now.
    Size(LogSize),
    /// Lines asked for, from row `start`.
    Rows {
        host: Option<String>,
        start: u64,
        lines: Vec<LogLine>,
    },
    /// Where a text was found.
    Hits {
        host: Option<String>,
        text: String,
        hits: LogHits,
    },
}

/// A remote job's lines read so far, with each host's rows.
#[derive(Debug, Default)]
pub struct MemoryLog {
    lines: Vec<LogLine>,
    by_host: BTreeMap<String, Vec<u32>>,
}

impl MemoryLog {
    /// Adds lines read after the others.
    pub fn extend(&mut self, lines: Vec<LogLine>) {
        for line in lines {
            let index = self.lines.len() as u32;
            self.by_host
                .entry(line.host.clone())
                .or_default()
                .push(index);
            self.lines.push(line);
        }
    }

    /// How many lines there are, in all and by host.
    pub fn size(&self) -> LogSize {
        LogSize {
            total: self.lines.len() as u64,
            hosts: self
                .by_host
                .iter()
                .map(|(host, rows)| (host.clone(), rows.len() as u64))
                .collect(),
            stamp: self.lines.len() as u64,
        }
    }

    /// Index into `lines` of each row shown with `host`.
    fn row(&self, host: Option<&str>, row: u64) -> Option<usize> {
        match host {
            None => ((row as usize) < self.lines.len()).then_some(row as usize),
            Some(host) => self
                .by_host
                .get(host)?
                .get(row as usize)
                .map(|&i| i as usize),
        }
    }

    /// The lines at `rows`.
    pub fn rows(&self, host: Option<&str>, rows: Range<u64>) -> Vec<LogLine> {
        rows.map_while(|r| self.row(host, r).map(|i| self.lines[i].clone()))
            .collect()
    }

    /// The rows of lines holding `text`, ignoring case.
    pub fn search(&self, host: Option<&str>, text: &str, cap: usize) -> LogHits {
        let needle = Needle::new(text);
        let mut hits = LogHits::default();
        let count = self.size().rows(host);
        for row in 0..count {
            let Some(i) = self.row(host, row) else {
                break;
            };
            if needle.is_in(&self.lines[i].text) {
                hits.total += 1;
                if hits.rows.len() < cap {
                    hits.rows.push(row);
                }
            }
        }
        hits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Stream;

    fn line(host: &str, text: &str) -> LogLine {
        LogLine {
            id: 0,
            timestamp: chrono::DateTime::default(),
            host: host.into(),
            stream: Stream::Stdout,
            text: text.into(),
        }
    }

    #[test]
    fn rows_and_hits_by_host_or_all() {
        let mut log = MemoryLog::default();
        log.extend(vec![
            line("algo-1", "a Loss"),
            line("algo-2", "b"),
            line("algo-1", "c loss"),
        ]);
        assert_eq!(log.size().total, 3);
        assert_eq!(log.size().rows(Some("algo-1")), 2);
        let texts = |lines: Vec<LogLine>| lines.into_iter().map(|l| l.text).collect::<Vec<_>>();
        assert_eq!(texts(log.rows(None, 1..9)), ["b", "c loss"]);
        assert_eq!(texts(log.rows(Some("algo-1"), 1..2)), ["c loss"]);
        let hits = log.search(None, "LOSS", 1);
        assert_eq!((hits.rows, hits.total), (vec![0], 2));
        assert_eq!(log.search(Some("algo-1"), "loss", 9).rows, [0, 1]);
    }
}
