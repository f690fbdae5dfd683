//! The selected job's log as the window pages through it. Local mode keeps logs in its
//! store, read by row range and searched there; a remote job's log can only be read
//! forward (CloudWatch Logs), so the lines read so far are kept by the worker in a scratch
//! store of the same kind, and the window holds only the rows on its screen either way.

use std::ops::Range;
use std::sync::{Arc, Mutex};

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
    /// The last lines, sent unasked with a new size to a window whose last read reached
    /// the end: a followed log needs no second round trip to show its new lines.
    Tail {
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
/// Its SQLite work runs on the blocking pool, never on the worker's async threads.
#[derive(Default, Clone)]
pub struct RemoteLog {
    kept: Arc<Mutex<Option<(Store, LogWriter)>>>,
}

impl RemoteLog {
    /// Runs `work` on the scratch store (none yet: `empty`) on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        empty: T,
        work: impl FnOnce(&Store) -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        let kept = self.kept.clone();
        tokio::task::spawn_blocking(move || {
            let kept = kept
                .lock()
                .map_err(|_| BackendError::internal("the log's scratch store was poisoned"))?;
            match kept.as_ref() {
                Some((store, _)) => work(store),
                None => Ok(empty),
            }
        })
        .await
        .map_err(|e| BackendError::internal(format!("log task: {e}")))?
    }

    /// Adds lines read after the others.
    pub async fn extend(&self, lines: Vec<LogLine>) -> Result<(), BackendError> {
        if lines.is_empty() {
            return Ok(());
        }
        let kept = self.kept.clone();
        tokio::task::spawn_blocking(move || {
            let mut kept = kept
                .lock()
                .map_err(|_| BackendError::internal("the log's scratch store was poisoned"))?;
            let (store, writer) = match &mut *kept {
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
        })
        .await
        .map_err(|e| BackendError::internal(format!("log task: {e}")))?
    }

    /// How many lines there are, in all and by host.
    pub async fn size(&self) -> Result<LogSize, BackendError> {
        self.with(LogSize::default(), |s| s.log_size(REMOTE)).await
    }

    /// The lines at `rows`.
    pub async fn rows(
        &self,
        host: Option<String>,
        rows: Range<u64>,
    ) -> Result<Vec<LogLine>, BackendError> {
        self.with(Vec::new(), move |s| {
            s.log_rows(REMOTE, host.as_deref(), rows)
        })
        .await
    }

    /// The rows of lines holding `text`, ignoring case.
    pub async fn search(
        &self,
        host: Option<String>,
        text: String,
        cap: usize,
    ) -> Result<LogHits, BackendError> {
        self.with(LogHits::default(), move |s| {
            s.search_log(REMOTE, host.as_deref(), &text, cap)
        })
        .await
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

    #[tokio::test]
    async fn rows_and_hits_by_host_or_all_from_the_scratch_store() {
        let log = RemoteLog::default();
        assert_eq!(log.size().await.unwrap().total, 0);
        assert!(log.rows(None, 0..9).await.unwrap().is_empty());
        log.extend(vec![line("algo-1", "a Loss"), line("algo-2", "b")])
            .await
            .unwrap();
        log.extend(vec![line("algo-1", "c loss\nwith a traceback")])
            .await
            .unwrap();
        let size = log.size().await.unwrap();
        assert_eq!(size.total, 3);
        assert_eq!(size.rows(Some("algo-1")), 2);
        let texts = |lines: Vec<LogLine>| lines.into_iter().map(|l| l.text).collect::<Vec<_>>();
        assert_eq!(
            texts(log.rows(None, 1..9).await.unwrap()),
            ["b", "c loss\nwith a traceback"]
        );
        let algo1 = Some("algo-1".to_string());
        assert_eq!(
            texts(log.rows(algo1.clone(), 1..2).await.unwrap()),
            ["c loss\nwith a traceback"]
        );
        let hits = log.search(None, "LOSS".into(), 1).await.unwrap();
        assert_eq!((hits.rows, hits.total), (vec![0], 2));
        let hits = log.search(algo1, "loss".into(), 9).await.unwrap();
        assert_eq!(hits.rows, [0, 1]);
        let hits = log.search(None, "TRACEBACK".into(), 9).await.unwrap();
        assert_eq!(hits.rows, [2]);
    }
}
