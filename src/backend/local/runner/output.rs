//! The job's output: stdout and stderr read in bounded chunks into lines, sent in batches
//! to a recorder thread that extracts metrics and stores lines in blocks without ever
//! holding up the job. A line still being redrawn (a progress bar's carriage returns) is
//! stored as it stands every quarter second and replaced when it ends.

use std::collections::HashMap;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::StorageFault;
use crate::backend::BackendError;
use crate::job::Stream;
use crate::request::metrics::MetricExtractor;
use crate::store::{Record, Store, now_ms};

/// The longest line stored; longer lines are cut, as CloudWatch cuts events at 256 KiB.
const MAX_LINE: usize = 256 * 1024;
/// Of a cut line, the bytes kept from its end (where a progress bar's last values are).
const LINE_TAIL: usize = 4 * 1024;
/// How many lines the recorder stores in one transaction at most.
const BATCH: usize = 8192;
/// A line without its end is stored as it stands this often while it changes.
const OPEN_EVERY: Duration = Duration::from_millis(250);
/// Batches of lines waiting for the recorder (each at most one read of [`CHUNK`] bytes).
pub(super) const QUEUE: usize = 256;

/// How long a stream is read after its process has exited: a leftover process that still
/// holds the pipe open does not keep the job alive.
pub(super) const READERS_GRACE: Duration = Duration::from_secs(5);

/// Lines on their way to the recorder.
pub(super) type Lines = mpsc::Sender<Vec<Record>>;

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

    /// The line so far as text, with a marker where bytes were dropped.
    fn text(&self) -> String {
        let mut tail: &[u8] = &self.tail;
        let mut dropped = self.dropped;
        if self.head.len() + tail.len() > MAX_LINE {
            let cut = self.head.len() + tail.len() - MAX_LINE;
            dropped += cut as u64;
            tail = &tail[cut..];
        }
        let mut line = String::from_utf8_lossy(&self.head).into_owned();
        if dropped > 0 {
            line.push_str(&format!(
                " […{dropped} bytes of this line not kept: lines keep their first and last \
                 bytes, {} KiB in all…] ",
                MAX_LINE / 1024
            ));
        }
        line.push_str(&String::from_utf8_lossy(tail));
        line
    }

    /// The ended line as text (a `\r` before its end dropped); the buffer is emptied.
    fn take(&mut self) -> String {
        while matches!(self.tail.last().or(self.head.last()), Some(b'\r')) {
            if self.tail.pop().is_none() {
                self.head.pop();
            }
        }
        let line = self.text();
        self.head.clear();
        self.tail.clear();
        self.dropped = 0;
        line
    }
}

/// Text of an ended line read whole in one chunk (the common case: no copy into a buffer).
fn whole_line(mut bytes: &[u8]) -> String {
    while let [rest @ .., b'\r'] = bytes {
        bytes = rest;
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// After a read that found little, how long a reader of a widened pipe waits before the
/// next: the job writes on into the pipe's room instead of waking the reader for every
/// few lines.
const NAP: Duration = Duration::from_millis(5);
/// A read smaller than this found little.
const SMALL_READ: usize = 32 * 1024;
/// The most read from a pipe at once (one batch of records).
const CHUNK: usize = 256 * 1024;

/// One stream of one host read on a thread of its own: blocking reads sleep in the kernel
/// and a nap wakes nobody, where a reader on the async runtime is woken by every write a
/// script makes unbuffered.
pub(super) struct Reader {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<()>,
}

impl Reader {
    /// Starts reading `pipe` into batches of records, one batch per read. `nap` when the
    /// pipe has room for more than a nap's output (see `train::widen`).
    pub(super) fn spawn(
        pipe: impl Into<OwnedFd>,
        host: String,
        kind: Stream,
        tx: Lines,
        nap: bool,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let pipe = pipe.into();
        let thread = std::thread::spawn(move || {
            read_lines(pipe, &host, kind, &tx, nap, &stopped);
        });
        Self { stop, thread }
    }

    /// Waits for the stream's end until `until`, then stops reading it (a leftover process
    /// may hold the pipe open).
    pub(super) async fn finish(self, until: Instant) {
        let Self { stop, thread } = self;
        // Joined as soon as it ends, not at the next look.
        let mut joined = tokio::task::spawn_blocking(move || thread.join());
        if tokio::time::timeout_at(until.into(), &mut joined)
            .await
            .is_err()
        {
            stop.store(true, Ordering::Relaxed);
            let _ = joined.await;
        }
    }
}

/// A child's stdout and stderr, taken from the async runtime for reader threads; a pipe
/// the runtime cannot give up is logged and left unread.
pub(super) fn child_pipes(child: &mut tokio::process::Child, host: &str) -> Vec<(OwnedFd, Stream)> {
    let out = child
        .stdout
        .take()
        .map(|p| (p.into_owned_fd(), Stream::Stdout));
    let err = child
        .stderr
        .take()
        .map(|p| (p.into_owned_fd(), Stream::Stderr));
    out.into_iter()
        .chain(err)
        .filter_map(|(pipe, kind)| match pipe {
            Ok(pipe) => Some((pipe, kind)),
            Err(e) => {
                tracing::error!("{host}'s {kind:?} cannot be read: {e}");
                None
            }
        })
        .collect()
}

/// Whether `pipe` has something to read (or has ended) within `wait`.
fn readable(pipe: &impl AsRawFd, wait: Duration) -> bool {
    let mut poll = libc::pollfd {
        fd: pipe.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = wait.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd for a descriptor this thread owns.
    unsafe { libc::poll(&mut poll, 1, millis) > 0 }
}

/// Reads `pipe` until it ends, a read fails, the recorder is gone or `stop` is set.
fn read_lines(pipe: OwnedFd, host: &str, kind: Stream, tx: &Lines, nap: bool, stop: &AtomicBool) {
    let mut chunk = vec![0u8; CHUNK];
    let mut pipe = std::fs::File::from(pipe);
    let mut line = LineBuffer::default();
    // The unended line: stored as it stands when it changed since, at most every OPEN_EVERY.
    let mut changed = false;
    let mut shown = Instant::now();
    let record = |ts: i64, line: String, open: bool| Record {
        ts,
        host: host.to_string(),
        stream: kind,
        line,
        open,
        points: Vec::new(),
    };
    while !stop.load(Ordering::Relaxed) {
        let mut batch = Vec::new();
        let used = if readable(&pipe, OPEN_EVERY) {
            match pipe.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                    ) =>
                {
                    0
                }
                Err(_) => break,
            }
        } else {
            0
        };
        let ts = now_ms();
        let mut rest = &chunk[..used];
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let text = if line.is_empty() && end <= MAX_LINE {
                whole_line(&rest[..end])
            } else {
                line.push(&rest[..end]);
                line.take()
            };
            batch.push(record(ts, text, false));
            changed = false;
            rest = &rest[end + 1..];
        }
        if !rest.is_empty() {
            if line.is_empty() {
                shown = Instant::now();
            }
            line.push(rest);
            changed = true;
        }
        if changed && shown.elapsed() >= OPEN_EVERY {
            batch.push(record(ts, line.text(), true));
            changed = false;
            shown = Instant::now();
        }
        if !batch.is_empty() && tx.blocking_send(batch).is_err() {
            return;
        }
        if nap && used > 0 && used < SMALL_READ {
            std::thread::sleep(NAP);
        }
    }
    if !line.is_empty() {
        let _ = tx.blocking_send(vec![record(now_ms(), line.take(), false)]);
    }
}

/// Finds the metric points of each record; a line redrawn with carriage returns gives the
/// points of every state it was drawn in, each once, however often it was stored open.
#[derive(Default)]
struct Points {
    /// Of the open line of a host and stream, the bytes whose states were looked at.
    seen: HashMap<(String, Stream), usize>,
}

impl Points {
    fn find(&mut self, extractor: &MetricExtractor, record: &mut Record) {
        if extractor.is_empty() {
            return;
        }
        let text = record.line.as_str();
        // Most lines end at once with no line open: no state to look up.
        let from = if self.seen.is_empty() {
            0
        } else {
            self.seen
                .remove(&(record.host.clone(), record.stream))
                .filter(|&at| at <= text.len() && text.is_char_boundary(at))
                .unwrap_or(0)
        };
        // An open line's last state may still be being drawn: it is read when it ends.
        let upto = if record.open {
            match text[from..].rfind('\r') {
                Some(at) => from + at + 1,
                None => from,
            }
        } else {
            text.len()
        };
        let points = &mut record.points;
        for state in text[from..upto].split('\r').filter(|s| !s.is_empty()) {
            extractor.extract(state, |i, v| points.push((i, v)));
        }
        if record.open {
            self.seen.insert((record.host.clone(), record.stream), upto);
        }
    }
}

/// After a failed write, how long lines are dropped before the store is tried again.
const RETRY: Duration = Duration::from_secs(5);

/// Says once, in the job's status message, that its lines are being dropped (if even that
/// can be written); the job goes on.
fn say_dropping(store: &Store, job: &str, error: &BackendError) {
    let why = if error.kind == crate::backend::ErrorKind::StorageFull {
        "no space left on device".to_string()
    } else {
        error.to_string()
    };
    let message = format!("Training in progress; log lines are being dropped: {why}");
    let _ = store.transition(
        job,
        crate::job::Status::InProgress,
        crate::job::SecondaryStatus::Training,
        &message,
        now_ms(),
    );
}

/// A thread with its own connection that extracts metrics and stores lines in batches.
/// Lines it cannot store are counted in `fault` (the first error is reported once) and the
/// channel is still drained, so the job's output never backs up.
pub(super) fn spawn_recorder(
    database: PathBuf,
    job: String,
    extractor: MetricExtractor,
    mut rx: mpsc::Receiver<Vec<Record>>,
    fault: Arc<StorageFault>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let opened = Store::open(&database).and_then(|s| Ok((s.log_writer(&job)?, s)));
        let (mut writer, store) = match opened {
            Ok(opened) => opened,
            Err(e) => {
                tracing::error!("recorder for {job}: {e}");
                let mut lines = 0;
                while let Some(batch) = rx.blocking_recv() {
                    lines += batch.len();
                }
                fault.record(e, lines);
                return;
            }
        };
        let names = extractor.names().to_vec();
        let mut points = Points::default();
        let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
        // After a failed write, lines are dropped (and counted) until the next try.
        let mut failed_at: Option<Instant> = None;
        while let Some(first) = rx.blocking_recv() {
            batch.extend(first);
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(more) => batch.extend(more),
                    Err(_) => break,
                }
            }
            for record in &mut batch {
                points.find(&extractor, record);
            }
            if failed_at.is_some_and(|at| at.elapsed() < RETRY) {
                fault.record(BackendError::internal("dropped"), batch.len());
                batch.clear();
                continue;
            }
            match store.write_log(&mut writer, &job, &names, &batch) {
                Ok(()) => failed_at = None,
                Err(e) => {
                    failed_at = Some(Instant::now());
                    if fault.record(e.clone(), batch.len()) {
                        tracing::error!("recorder for {job}: {e}; later failures are counted");
                        say_dropping(&store, &job, &e);
                    }
                }
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
