//! The size of a job's log and where a text was found in it: what the window pages and
//! searches by.

/// How many lines a job's log has, in all and by host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogSize {
    /// Lines of every host.
    pub total: u64,
    /// Each host's lines, by host name.
    pub hosts: Vec<(String, u64)>,
    /// Changes whenever the log does, lines redrawn in place (progress bars) included.
    pub stamp: u64,
}

impl LogSize {
    /// The rows shown with `host` chosen (every host's with none).
    pub fn rows(&self, host: Option<&str>) -> u64 {
        match host {
            None => self.total,
            Some(host) => self
                .hosts
                .iter()
                .find(|(h, _)| h == host)
                .map_or(0, |(_, n)| *n),
        }
    }
}

/// The lines of a log that hold a search text: their rows (the first ones, up to a cap) and
/// how many there are in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogHits {
    /// Rows in order: with no host chosen the line number less one, with a host that host's
    /// line counted from 0.
    pub rows: Vec<u64>,
    /// Matching lines in all.
    pub total: u64,
}
