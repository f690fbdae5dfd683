//! The job's output: stdout and stderr read in bounded chunks into lines, and a recorder
//! thread that extracts metrics and stores lines in batches without ever holding up the job.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::mpsc;

use super::StorageFault;
use crate::backend::local::store::{Record, Store, now_ms};
use crate::job::Stream;
use crate::request::metrics::MetricExtractor;

/// The longest line stored; longer lines are cut, as CloudWatch cuts events at 256 KiB.
const MAX_LINE: usize = 256 * 1024;
/// Of a cut line, the bytes kept from its end (where a progress bar's last values are).
const LINE_TAIL: usize = 4 * 1024;
/// How many lines the recorder stores in one transaction at most.
const BATCH: usize = 2048;

/// One line as it is read: the first bytes up to [`MAX_LINE`] (less a tail), the last
/// [`LINE_TAIL`] bytes, and how many in between were dropped. Memory stays bounded however
/// long a line runs without a newline.
#[derive(Default)]
struct LineBuffer {
    head: Vec<u8>,
    tail: Vec<u8>,
    dropped: u64,
}

impl LineBuffer {
    const HEAD: usize = MAX_LINE - LINE_TAIL;

    fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < Self::HEAD {
            let room = (Self::HEAD - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..room]);
            bytes = &bytes[room..];
        }
        if bytes.is_empty() {
            return;
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * LINE_TAIL {
            let cut = self.tail.len() - LINE_TAIL;
            self.dropped += cut as u64;
            self.tail.drain(..cut);
        }
    }

    fn is_empty(&self) -> bool {
        self.head.is_empty() && self.tail.is_empty() && self.dropped == 0
    }

    /// The line as text, with a marker where bytes were dropped; the buffer is emptied.
    fn take(&mut self) -> String {
        let mut tail = std::mem::take(&mut self.tail);
        while matches!(tail.last().or(self.head.last()), Some(b'\r')) {
            if tail.pop().is_none() {
                self.head.pop();
            }
        }
        if self.head.len() + tail.len() > MAX_LINE {
            let cut = self.head.len() + tail.len() - MAX_LINE;
            self.dropped += cut as u64;
            tail.drain(..cut);
        }
        let mut line = String::from_utf8_lossy(&self.head).into_owned();
        if self.dropped > 0 {
            line.push_str(&format!(
                " […{} bytes of this line not kept: lines keep their first and last bytes, \
                 {} KiB in all…] ",
                self.dropped,
                MAX_LINE / 1024
            ));
        }
        line.push_str(&String::from_utf8_lossy(&tail));
        self.head.clear();
        self.dropped = 0;
        line
    }
}

pub(super) async fn read_lines(
    stream: impl AsyncRead + Unpin,
    host: String,
    kind: Stream,
    tx: mpsc::Sender<Record>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut line = LineBuffer::default();
    loop {
        let (used, complete) = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => match chunk.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    line.push(&chunk[..end]);
                    (end + 1, true)
                }
                None => {
                    line.push(chunk);
                    (chunk.len(), false)
                }
            },
        };
        reader.consume(used);
        if complete && !send_line(&tx, &host, kind, line.take()).await {
            return;
        }
    }
    if !line.is_empty() {
        send_line(&tx, &host, kind, line.take()).await;
    }
}

async fn send_line(tx: &mpsc::Sender<Record>, host: &str, stream: Stream, line: String) -> bool {
    let record = Record {
        ts: now_ms(),
        host: host.to_string(),
        stream,
        line,
        points: Vec::new(),
    };
    tx.send(record).await.is_ok()
}

/// A thread with its own connection that extracts metrics and stores lines in batches.
/// Lines it cannot store are counted in `fault` (the first error is reported once) and the
/// channel is still drained, so the job's output never backs up.
pub(super) fn spawn_recorder(
    database: PathBuf,
    job: String,
    extractor: MetricExtractor,
    mut rx: mpsc::Receiver<Record>,
    fault: Arc<StorageFault>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let store = match Store::open(&database) {
            Ok(store) => store,
            Err(e) => {
                tracing::error!("recorder for {job}: {e}");
                let mut lines = 0;
                while rx.blocking_recv().is_some() {
                    lines += 1;
                }
                fault.record(e, lines);
                return;
            }
        };
        let names = extractor.names().to_vec();
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(first) = rx.blocking_recv() {
            batch.push(first);
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(record) => batch.push(record),
                    Err(_) => break,
                }
            }
            for record in &mut batch {
                let points = &mut record.points;
                extractor.extract(&record.line, |i, v| points.push((i, v)));
            }
            if let Err(e) = store.append(&job, &names, &batch)
                && fault.record(e.clone(), batch.len())
            {
                tracing::error!("recorder for {job}: {e}; later failures are counted");
            }
            batch.clear();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_without_end_keeps_its_head_and_tail() {
        let mut line = LineBuffer::default();
        line.push(b"start ");
        for _ in 0..10_000 {
            line.push(&[b'x'; 1000]);
        }
        line.push(b" loss=0.25\r");
        assert!(line.head.len() + line.tail.len() <= MAX_LINE + LINE_TAIL);
        let text = line.take();
        assert!(text.len() < MAX_LINE + 200, "{}", text.len());
        assert!(text.starts_with("start xxx"));
        assert!(
            text.ends_with("x loss=0.25"),
            "{}",
            &text[text.len() - 40..]
        );
        let dropped = 6 + 10_000_000 + 10 - (MAX_LINE);
        assert!(text.contains(&format!("…{dropped} bytes")), "{dropped}");
        assert!(line.is_empty());
        line.push(b"short\r");
        assert_eq!(line.take(), "short");
    }
}
