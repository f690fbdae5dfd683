//! The selected job's log as the window pages through it. Local mode keeps logs in its
//! store, read by row range and searched there; a remote job's log can only be read
//! forward (CloudWatch Logs), so the lines read so far are kept by the worker in a scratch
//! store of the same kind, and the window holds only the rows on its screen either way.

use std::ops::Range;

use crate::backend::BackendError;
use crate::job::{LogHits, LogLine, LogSize};
use crate::store::{LogWriter, Record, Store};

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

/// The one log in a remote job's scratch store.
const REMOTE: &str = "remote";

/// A remote job's lines read so far, kept in a scratch store of their own (opened with the
/// first lines, gone with this value) and paged and searched there as a local job's are.
#[derive(Default)]
pub struct RemoteLog {
    kept: Option<(Store, LogWriter)>,
}

impl RemoteLog {
    /// Adds lines read after the others.
    pub fn extend(&mut self, lines: Vec<LogLine>) -> Result<(), BackendError> {
        if lines.is_empty() {
            return Ok(());
        }
        let (store, writer) = match &mut self.kept {
            Some(kept) => kept,
            empty => {
                let store = Store::scratch()?;
                let writer = store.log_writer(REMOTE)?;
                empty.insert((store, writer))
            }
        };
        let records: Vec<Record> = lines
            .into_iter()
            .map(|line| Record {
                ts: line.timestamp.timestamp_millis(),
                host: line.host,
                stream: line.stream,
                line: line.text,
                open: false,
                points: Vec::new(),
            })
            .collect();
        store.write_log(writer, REMOTE, &[], &records)
    }

    /// The scratch store, once lines were kept.
    fn store(&self) -> Option<&Store> {
        self.kept.as_ref().map(|(store, _)| store)
    }

    /// How many lines there are, in all and by host.
    pub fn size(&self) -> Result<LogSize, BackendError> {
        self.store()
            .map_or(Ok(LogSize::default()), |s| s.log_size(REMOTE))
    }

    /// The lines at `rows`.
    pub fn rows(&self, host: Option<&str>, rows: Range<u64>) -> Result<Vec<LogLine>, BackendError> {
        self.store()
            .map_or(Ok(Vec::new()), |s| s.log_rows(REMOTE, host, rows))
    }

    /// The rows of lines holding `text`, ignoring case.
    pub fn search(
        &self,
        host: Option<&str>,
        text: &str,
        cap: usize,
    ) -> Result<LogHits, BackendError> {
        self.store().map_or(Ok(LogHits::default()), |s| {
            s.search_log(REMOTE, host, text, cap)
        })
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
    fn rows_and_hits_by_host_or_all_from_the_scratch_store() {
        let mut log = RemoteLog::default();
        assert_eq!(log.size().unwrap().total, 0);
        assert!(log.rows(None, 0..9).unwrap().is_empty());
        log.extend(vec![line("algo-1", "a Loss"), line("algo-2", "b")])
            .unwrap();
        log.extend(vec![line("algo-1", "c loss\nwith a traceback")])
            .unwrap();
        let size = log.size().unwrap();
        assert_eq!(size.total, 3);
        assert_eq!(size.rows(Some("algo-1")), 2);
        let texts = |lines: Vec<LogLine>| lines.into_iter().map(|l| l.text).collect::<Vec<_>>();
        assert_eq!(
            texts(log.rows(None, 1..9).unwrap()),
            ["b", "c loss\nwith a traceback"]
        );
        assert_eq!(
            texts(log.rows(Some("algo-1"), 1..2).unwrap()),
            ["c loss\nwith a traceback"]
        );
        let hits = log.search(None, "LOSS", 1).unwrap();
        assert_eq!((hits.rows, hits.total), (vec![0], 2));
        assert_eq!(log.search(Some("algo-1"), "loss", 9).unwrap().rows, [0, 1]);
        assert_eq!(log.search(None, "TRACEBACK", 9).unwrap().rows, [2]);
    }
}
