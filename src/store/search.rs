//! Find in a job's log: the blocks whose trigram filter may hold the text (all of them
//! when it has no trigram to ask for) read, decompressed and scanned on worker threads.

use rusqlite::{Connection, params};

use super::Store;
use super::block::{Block, may_hold, needle_grams};
use super::logs::damaged;
use crate::error::BackendError;
use crate::job::LogHits;

impl Store {
    /// The rows of lines holding `needle` (ignoring case), every block of the log read and
    /// scanned on all cores; at most `cap` rows are returned, all are counted.
    pub fn search_log(
        &self,
        job: &str,
        host: Option<&str>,
        needle: &str,
        cap: usize,
    ) -> Result<LogHits, BackendError> {
        let Some(key) = self.log_key(job)? else {
            return Ok(LogHits::default());
        };
        if needle.is_empty() {
            return Ok(LogHits::default());
        }
        let pattern = regex::bytes::RegexBuilder::new(&regex::escape(needle))
            .case_insensitive(true)
            .build()
            .map_err(|e| BackendError::validation(format!("search text: {e}")))?;
        // Blocks whose trigram filter lacks one of the text's are not read at all.
        let bits = needle_grams(needle);
        let filtered = !bits.is_empty() && super::has_grams(&self.conn)?;
        let by_host = host.is_some();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
        let (work_tx, work_rx) = std::sync::mpsc::sync_channel::<Scan>(64);
        let work_rx = std::sync::Mutex::new(work_rx);
        let found = std::thread::scope(|scope| -> Result<Vec<Vec<u64>>, BackendError> {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let (rx, pattern) = (&work_rx, &pattern);
                    scope.spawn(move || {
                        let mut out = Vec::new();
                        loop {
                            let item = rx.lock().ok().and_then(|rx| rx.recv().ok());
                            let Some((first, ord, data)) = item else {
                                break;
                            };
                            let block = Block::decode(&data, first)?;
                            let base = if by_host { ord } else { first - 1 };
                            out.push(matching_rows(&block, pattern, by_host, base));
                        }
                        Ok::<_, String>(out)
                    })
                })
                .collect();
            let read = || -> rusqlite::Result<()> {
                let send = |item| work_tx.send(item).is_ok();
                if filtered {
                    read_candidates(&self.conn, key, host, &bits, send)
                } else {
                    read_all(&self.conn, key, host, send)
                }
            };
            let read = read();
            drop(work_tx);
            let mut found = Vec::new();
            for worker in workers {
                let part = worker
                    .join()
                    .map_err(|_| BackendError::internal("log search thread failed"))?;
                found.extend(part.map_err(|e| damaged(job, e))?);
            }
            read?;
            Ok(found)
        })?;
        // Blocks of several hosts interleave: the rows are put in order once all are in.
        let mut rows: Vec<u64> = found.into_iter().flatten().collect();
        rows.sort_unstable();
        let total = rows.len() as u64;
        rows.truncate(cap);
        Ok(LogHits { rows, total })
    }
}

/// A block to scan: its first line, its place among its host's lines, its data.
type Scan = (u64, u64, Vec<u8>);

/// Hands every block of the log (or of `host`) to `send`, in order, until it says stop.
fn read_all(
    conn: &Connection,
    key: i64,
    host: Option<&str>,
    send: impl Fn(Scan) -> bool,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT first, ord, data FROM log_blocks
         WHERE key = ?1 AND (?2 IS NULL OR host = ?2) ORDER BY first",
    )?;
    let mut rows = stmt.query(params![key, host])?;
    while let Some(r) = rows.next()? {
        let item = (
            r.get::<_, i64>(0)? as u64,
            r.get::<_, i64>(1)? as u64,
            r.get(2)?,
        );
        if !send(item) {
            break;
        }
    }
    Ok(())
}

/// Hands `send` the blocks whose trigram filter has every bit of `bits` (and those
/// without a filter): the filters are read first, then only those blocks' data.
fn read_candidates(
    conn: &Connection,
    key: i64,
    host: Option<&str>,
    bits: &[usize],
    send: impl Fn(Scan) -> bool,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, first, ord, grams FROM log_blocks
         WHERE key = ?1 AND (?2 IS NULL OR host = ?2) ORDER BY first",
    )?;
    let mut candidates = Vec::new();
    let mut rows = stmt.query(params![key, host])?;
    while let Some(r) = rows.next()? {
        if may_hold(r.get_ref(3)?.as_blob_or_null()?, bits) {
            candidates.push((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ));
        }
    }
    let mut data = conn.prepare_cached("SELECT data FROM log_blocks WHERE id = ?1")?;
    for (id, first, ord) in candidates {
        let blob: Vec<u8> = data.query_row([id], |r| r.get(0))?;
        if !send((first as u64, ord as u64, blob)) {
            break;
        }
    }
    Ok(())
}

/// The rows of a block's lines that `pattern` matches; `base` is the row of its first line.
fn matching_rows(
    block: &Block,
    pattern: &regex::bytes::Regex,
    by_host: bool,
    base: u64,
) -> Vec<u64> {
    let mut rows = Vec::new();
    let mut from = 0;
    while from < block.texts.len() {
        let Some(m) = pattern.find_at(&block.texts, from) else {
            break;
        };
        let i = block
            .heads
            .partition_point(|h| h.start <= m.start())
            .saturating_sub(1);
        let Some(head) = block.heads.get(i) else {
            break;
        };
        rows.push(if by_host {
            base + i as u64
        } else {
            head.seq - 1
        });
        from = head.end + 1;
    }
    rows
}
