//! The selected job's log as the window holds it: its size, the rows around the screen
//! (asked for from the worker by row range, with a margin) and the last search's hits.
//! However long the log, the window holds a few hundred lines.

use std::ops::Range;

use crate::job::{LogHits, LogLine, LogSize};
use crate::worker::{LogAsk, LogNews};

/// Rows held on each side of those on screen.
pub const MARGIN: u64 = 300;
/// Rows held at most while following the end: a tall screen's rows and the margin.
const TAIL_HELD: usize = 3 * MARGIN as usize;

/// The search whose hits are held.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub host: Option<String>,
    pub text: String,
    pub hits: LogHits,
    /// The log's size when the search ran.
    pub at: u64,
}

/// The rows held and what was asked for.
#[derive(Debug, Default)]
pub struct LogPages {
    /// The log's size, in all and by host.
    pub size: LogSize,
    /// Host of the rows held.
    host: Option<String>,
    /// Row of `lines[0]`.
    start: u64,
    lines: Vec<LogLine>,
    /// The held rows may have changed (lines still being redrawn at the end).
    stale: bool,
    /// Rows asked for and not yet answered.
    pending: Option<(Option<String>, Range<u64>)>,
    /// The last search answered.
    pub found: Option<Found>,
    /// The search asked for and not yet answered.
    pub finding: Option<(Option<String>, String)>,
}

impl LogPages {
    /// Takes in news from the worker.
    pub fn apply(&mut self, news: LogNews) {
        match news {
            LogNews::Size(size) => {
                // Rows near the end may be lines still being redrawn: read them again.
                let end = self.start + self.lines.len() as u64;
                if end + MARGIN >= self.size.rows(self.host.as_deref()) {
                    self.stale = true;
                }
                self.size = size;
            }
            LogNews::Rows { host, start, lines } => {
                if self
                    .pending
                    .as_ref()
                    .is_some_and(|(h, r)| *h == host && r.start == start)
                {
                    self.pending = None;
                }
                self.host = host;
                self.start = start;
                self.lines = lines;
                self.stale = false;
            }
            LogNews::Tail { host, start, lines } => {
                // Taken only while the held rows are the end and nothing else was asked;
                // the held rows before the tail are kept, up to `TAIL_HELD` rows in all.
                let end = self.start + self.lines.len() as u64;
                if self.stale
                    && self.host == host
                    && self.pending.is_none()
                    && (self.start..=end).contains(&start)
                {
                    self.lines.truncate((start - self.start) as usize);
                    self.lines.extend(lines);
                    let over = self.lines.len().saturating_sub(TAIL_HELD);
                    self.lines.drain(..over);
                    self.start += over as u64;
                    self.stale = false;
                }
            }
            LogNews::Hits { host, text, hits } => {
                if self.finding.as_ref() == Some(&(host.clone(), text.clone())) {
                    self.finding = None;
                }
                let at = self.size.rows(host.as_deref());
                self.found = Some(Found {
                    host,
                    text,
                    hits,
                    at,
                });
            }
        }
    }

    /// The line at `row` of `host`'s rows, if held.
    pub fn line(&self, host: Option<&str>, row: u64) -> Option<&LogLine> {
        if self.host.as_deref() != host || row < self.start {
            return None;
        }
        self.lines.get((row - self.start) as usize)
    }

    /// How many lines are held.
    pub fn held(&self) -> usize {
        self.lines.len()
    }

    /// The lines held, in row order, from row [`LogPages::first_row`].
    pub fn lines(&self) -> &[LogLine] {
        &self.lines
    }

    /// The row of the first line held.
    pub fn first_row(&self) -> u64 {
        self.start
    }

    /// What to ask the worker for, given what a view needs (rows on screen, a search):
    /// nothing when it is held or asked for already.
    pub fn request(&mut self, need: LogAsk) -> Option<LogAsk> {
        match need {
            LogAsk::Rows { host, rows } => self.wants(host.as_deref(), rows),
            LogAsk::Find { host, text } => self.find(host.as_deref(), &text),
        }
    }

    /// The read to ask for so that rows `need` of `host` are held, with a margin; none when
    /// they are held (and fresh) or already asked for.
    pub fn wants(&mut self, host: Option<&str>, need: Range<u64>) -> Option<LogAsk> {
        let total = self.size.rows(host);
        let need = need.start.min(total)..need.end.min(total);
        let end = self.start + self.lines.len() as u64;
        let held = self.host.as_deref() == host
            && self.start <= need.start
            && need.end <= end
            && !self.stale;
        let asked = self.pending.as_ref().is_some_and(|(h, r)| {
            h.as_deref() == host && r.start <= need.start && need.end <= r.end
        });
        if held || asked || (need.is_empty() && self.host.as_deref() == host && !self.stale) {
            return None;
        }
        let rows = need.start.saturating_sub(MARGIN)..(need.end + MARGIN).min(total);
        self.pending = Some((host.map(str::to_string), rows.clone()));
        self.stale = false;
        Some(LogAsk::Rows {
            host: host.map(str::to_string),
            rows,
        })
    }

    /// The search to ask for: `text` in `host`'s rows, unless it was asked already and the
    /// log has not grown since.
    pub fn find(&mut self, host: Option<&str>, text: &str) -> Option<LogAsk> {
        let key = (host.map(str::to_string), text.to_string());
        if text.is_empty() || self.finding.as_ref() == Some(&key) {
            return None;
        }
        if self
            .found
            .as_ref()
            .is_some_and(|f| f.host == key.0 && f.text == key.1 && f.at == self.size.rows(host))
        {
            return None;
        }
        self.finding = Some(key.clone());
        Some(LogAsk::Find {
            host: key.0,
            text: key.1,
        })
    }

    /// The hits of `text` in `host`'s rows, if that was the last search.
    pub fn hits(&self, host: Option<&str>, text: &str) -> Option<&LogHits> {
        self.found
            .as_ref()
            .filter(|f| f.host.as_deref() == host && f.text == text)
            .map(|f| &f.hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::Stream;

    fn lines(from: u64, n: u64) -> Vec<LogLine> {
        (from..from + n)
            .map(|i| LogLine {
                id: i as i64 + 1,
                timestamp: chrono::DateTime::default(),
                host: "algo-1".into(),
                stream: Stream::Stdout,
                text: format!("line {i}"),
            })
            .collect()
    }

    #[test]
    fn rows_are_asked_for_once_with_a_margin_and_held_until_they_change() {
        let mut pages = LogPages::default();
        pages.apply(LogNews::Size(LogSize {
            total: 10_000,
            ..Default::default()
        }));
        let ask = pages.wants(None, 5_000..5_040).unwrap();
        assert_eq!(
            ask,
            LogAsk::Rows {
                host: None,
                rows: 4_700..5_340
            }
        );
        assert_eq!(pages.wants(None, 5_000..5_040), None, "asked already");
        pages.apply(LogNews::Rows {
            host: None,
            start: 4_700,
            lines: lines(4_700, 640),
        });
        assert_eq!(pages.line(None, 5_001).unwrap().text, "line 5001");
        assert_eq!(pages.wants(None, 5_100..5_140), None, "held");
        assert!(pages.wants(Some("algo-1"), 0..40).is_some(), "another host");
        // The end of a growing log is read again when the log changes.
        pages.apply(LogNews::Rows {
            host: None,
            start: 9_600,
            lines: lines(9_600, 400),
        });
        assert_eq!(pages.wants(None, 9_960..10_000), None);
        pages.apply(LogNews::Size(LogSize {
            total: 10_005,
            ..Default::default()
        }));
        assert!(pages.wants(None, 9_965..10_005).is_some());
        assert!(pages.held() <= 2 * MARGIN as usize + 100);
    }

    #[test]
    fn a_followed_end_takes_the_last_rows_sent_with_the_size() {
        let mut pages = LogPages::default();
        let size = |total| {
            LogNews::Size(LogSize {
                total,
                ..Default::default()
            })
        };
        pages.apply(size(1_000));
        pages.wants(None, 960..1_000).unwrap();
        pages.apply(LogNews::Rows {
            host: None,
            start: 660,
            lines: lines(660, 340),
        });
        pages.apply(size(1_002));
        pages.apply(LogNews::Tail {
            host: None,
            start: 662,
            lines: lines(662, 340),
        });
        assert_eq!(pages.wants(None, 962..1_002), None, "no second read");
        assert_eq!(pages.line(None, 1_001).unwrap().text, "line 1001");
        assert_eq!(pages.first_row(), 660, "the rows before the tail are kept");
        // A log shorter than the screen keeps its first rows; a long one is cut to a
        // screen and margins.
        for end in (1_003..=1_700).step_by(100) {
            pages.apply(size(end));
            pages.apply(LogNews::Tail {
                host: None,
                start: end - 340,
                lines: lines(end - 340, 340),
            });
        }
        assert_eq!(pages.held(), TAIL_HELD);
        assert_eq!(pages.first_row() + TAIL_HELD as u64, 1_603);
        assert_eq!(pages.wants(None, 1_563..1_603), None);
        let mut short = LogPages::default();
        short.apply(size(10));
        short.wants(None, 0..10).unwrap();
        short.apply(LogNews::Rows {
            host: None,
            start: 0,
            lines: lines(0, 10),
        });
        short.apply(size(11));
        short.apply(LogNews::Tail {
            host: None,
            start: 1,
            lines: lines(1, 10),
        });
        assert_eq!(
            short.wants(None, 0..11),
            None,
            "the first row is still held"
        );
        assert_eq!(short.line(None, 10).unwrap().text, "line 10");
        // Another host's tail is not taken.
        short.apply(size(12));
        short.apply(LogNews::Tail {
            host: Some("algo-2".into()),
            start: 2,
            lines: lines(2, 10),
        });
        assert_eq!(short.held(), 11);
        // Scrolled away (another read in flight): the tail does not replace the rows.
        short.apply(size(400));
        short.wants(None, 0..40).unwrap();
        short.apply(size(401));
        short.apply(LogNews::Tail {
            host: None,
            start: 61,
            lines: lines(61, 340),
        });
        assert_eq!((short.first_row(), short.held()), (0, 11));
    }

    #[test]
    fn a_search_is_asked_again_only_when_the_log_grew() {
        let mut pages = LogPages::default();
        assert!(pages.find(None, "loss").is_some());
        assert!(pages.find(None, "loss").is_none(), "in flight");
        pages.apply(LogNews::Hits {
            host: None,
            text: "loss".into(),
            hits: LogHits {
                rows: vec![3],
                total: 1,
            },
        });
        assert!(pages.find(None, "loss").is_none());
        assert_eq!(pages.hits(None, "loss").unwrap().rows, [3]);
        pages.apply(LogNews::Size(LogSize {
            total: 50,
            ..Default::default()
        }));
        assert!(pages.find(None, "loss").is_some());
    }
}
