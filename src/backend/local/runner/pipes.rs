//! Pipe mode: a Pipe channel reaches each of its hosts as a named pipe per epoch,
//! `input/data/<channel>_<epoch>`, from `_0` on. Each epoch is the channel's records in
//! order (the host's shard of the files, or an augmented manifest's records), written as
//! they are (RecordIO and TFRecord files untouched) or each wrapped in a RecordIO record
//! with `RecordWrapperType: RecordIO`. The next epoch's pipe exists before the last one
//! ends, so a reader can open it as soon as it sees the end of the data. A reader that
//! stops reading holds nothing up: the job's end unblocks every feeder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::backend::local::contract::{HostLayout, LocalPlan, PipeRecord, list_files};

/// MXNet RecordIO's magic number, before each record.
const RECORDIO_MAGIC: u32 = 0xced7_230a;
/// How long the end of a job waits for its feeders.
const FINISH: Duration = Duration::from_secs(2);

/// The feeders of a job's Pipe channels.
pub(super) struct Pipes {
    stop: Arc<AtomicBool>,
    feeders: Vec<Feeder>,
}

struct Feeder {
    /// The pipe the feeder waits on or writes to.
    current: Arc<Mutex<PathBuf>>,
    thread: JoinHandle<()>,
}

impl Pipes {
    /// Makes each Pipe channel's first pipe on each of its hosts and starts feeding it.
    pub(super) fn start(plan: &LocalPlan, layouts: &[HostLayout]) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut feeders = Vec::new();
        for channel in plan.channels.iter().filter(|c| c.pipe) {
            let receivers: Vec<usize> = (0..layouts.len())
                .filter(|i| {
                    plan.channels_of(&plan.hosts[*i])
                        .any(|c| c.name == channel.name)
                })
                .collect();
            let files = if channel.records.is_empty() {
                list_files(&channel.source)?
            } else {
                Vec::new()
            };
            for (slot, host) in receivers.iter().enumerate() {
                let records: Vec<PipeRecord> = if !channel.records.is_empty() {
                    channel.records.clone()
                } else {
                    files
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !channel.sharded || i % receivers.len() == slot)
                        .map(|(_, (abs, _))| PipeRecord::File(abs.clone()))
                        .collect()
                };
                let dir = layouts[*host].root.join("input/data");
                std::fs::create_dir_all(&dir)?;
                let first = epoch_path(&dir, &channel.name, 0);
                make_fifo(&first)?;
                let current = Arc::new(Mutex::new(first));
                let feed = Feed {
                    dir,
                    channel: channel.name.clone(),
                    records,
                    record_io: channel.record_io,
                    stop: stop.clone(),
                    current: current.clone(),
                };
                let thread = std::thread::Builder::new()
                    .name(format!("pipe {}", channel.name))
                    .spawn(move || feed.run())?;
                feeders.push(Feeder { current, thread });
            }
        }
        Ok(Self { stop, feeders })
    }

    /// Ends every feeder: a feeder waiting for a reader is let go by opening its pipe
    /// here; one whose reader stopped reading ended with the reader's process.
    pub(super) fn finish(self) {
        self.stop.store(true, Ordering::SeqCst);
        let until = Instant::now() + FINISH;
        let mut left = self.feeders;
        while !left.is_empty() && Instant::now() < until {
            for feeder in &left {
                let path = feeder
                    .current
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                let _ = open_reader(&path);
            }
            std::thread::sleep(Duration::from_millis(10));
            left.retain(|f| !f.thread.is_finished());
        }
        if !left.is_empty() {
            tracing::warn!("{} pipe feeders did not end", left.len());
        }
    }
}

/// One channel's feeding of one host.
struct Feed {
    dir: PathBuf,
    channel: String,
    records: Vec<PipeRecord>,
    record_io: bool,
    stop: Arc<AtomicBool>,
    current: Arc<Mutex<PathBuf>>,
}

impl Feed {
    fn run(self) {
        for epoch in 0.. {
            let path = epoch_path(&self.dir, &self.channel, epoch);
            *self.current.lock().unwrap_or_else(|e| e.into_inner()) = path.clone();
            // Waits for the reader of this epoch.
            let pipe = std::fs::OpenOptions::new().write(true).open(&path);
            if self.stop.load(Ordering::SeqCst) {
                return;
            }
            let Ok(mut pipe) = pipe else { return };
            if make_fifo(&epoch_path(&self.dir, &self.channel, epoch + 1)).is_err() {
                return;
            }
            // A reader that closes early ends its epoch; the next one is there.
            let _ = self.write_epoch(&mut pipe);
        }
    }

    fn write_epoch(&self, pipe: &mut std::fs::File) -> std::io::Result<()> {
        widen(pipe);
        let mut out = std::io::BufWriter::with_capacity(1 << 20, pipe);
        for record in &self.records {
            if self.stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let bytes = match record {
                PipeRecord::Bytes(bytes) => bytes.clone(),
                PipeRecord::File(path) if !self.record_io => {
                    // File to pipe straight, which the kernel splices.
                    out.flush()?;
                    std::io::copy(&mut std::fs::File::open(path)?, out.get_mut())?;
                    continue;
                }
                PipeRecord::File(path) => std::fs::read(path)?,
            };
            if self.record_io {
                write_recordio(&mut out, &bytes)?;
            } else {
                out.write_all(&bytes)?;
            }
        }
        out.flush()
    }
}

/// Gives a pipe 1 MiB of room (64 KiB by default), for fewer wake-ups on both sides; the
/// default stays where the system refuses.
fn widen(pipe: &std::fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETPIPE_SZ on a descriptor this process holds open.
    unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
}

/// `<dir>/<channel>_<epoch>`.
fn epoch_path(dir: &Path, channel: &str, epoch: u64) -> PathBuf {
    dir.join(format!("{channel}_{epoch}"))
}

/// Makes a named pipe only its owner may use.
fn make_fifo(path: &Path) -> std::io::Result<()> {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| std::io::Error::other("a path with a NUL byte"))?;
    // SAFETY: mkfifo reads a NUL-terminated path that lives across the call.
    if unsafe { libc::mkfifo(name.as_ptr(), 0o600) } == 0 {
        return Ok(());
    }
    let error = std::io::Error::last_os_error();
    if error.kind() == std::io::ErrorKind::AlreadyExists {
        return Ok(());
    }
    Err(error)
}

/// Opens `path` for reading without waiting for a writer, and closes it.
fn open_reader(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map(drop)
}

/// One RecordIO record: the magic number, the length (flag bits 0), the bytes, padding
/// to four bytes.
fn write_recordio(out: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    let length = u32::try_from(bytes.len())
        .ok()
        .filter(|n| *n < 1 << 29)
        .ok_or_else(|| std::io::Error::other("a record of 512 MiB or more"))?;
    out.write_all(&RECORDIO_MAGIC.to_le_bytes())?;
    out.write_all(&length.to_le_bytes())?;
    out.write_all(bytes)?;
    out.write_all(&[0; 3][..(4 - bytes.len() % 4) % 4])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recordio_record_is_framed_and_padded_to_four_bytes() {
        let mut out = Vec::new();
        write_recordio(&mut out, b"hello").unwrap();
        assert_eq!(&out[..4], &[0x0a, 0x23, 0xd7, 0xce]);
        assert_eq!(&out[4..8], &5u32.to_le_bytes());
        assert_eq!(&out[8..13], b"hello");
        assert_eq!(out.len(), 16);
    }
}
