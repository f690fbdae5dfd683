//! Files closed after writing (or moved in) anywhere under some folders, as inotify reports
//! them (`IN_CLOSE_WRITE`, `IN_MOVED_TO`); folders made later are watched as they appear.
//! Read on a thread of its own, which ends when told to.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::mpsc;

/// What the watch reports on: files closed after writing or moved in.
const FILES: u32 = libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO;
/// What makes a new folder to watch.
const FOLDERS: u32 = libc::IN_CREATE | libc::IN_MOVED_TO;
/// How often the thread looks whether it must end.
const TICK_MS: i32 = 200;

/// Watches of folder trees on one inotify descriptor.
struct Watch {
    fd: OwnedFd,
    folders: HashMap<i32, PathBuf>,
}

impl Watch {
    fn new() -> std::io::Result<Self> {
        // SAFETY: inotify_init1 takes flags only; a valid descriptor is owned from here.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Self {
            // SAFETY: `fd` is a new descriptor no one else owns.
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
            folders: HashMap::new(),
        })
    }

    /// Watches `dir` and every folder under it; returns the files already there (which
    /// may have been closed before the watch began).
    fn add_tree(&mut self, dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(name) = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()) else {
                continue;
            };
            // SAFETY: a NUL-terminated path that lives across the call.
            let wd = unsafe {
                libc::inotify_add_watch(self.fd.as_raw_fd(), name.as_ptr(), FILES | FOLDERS)
            };
            if wd < 0 {
                continue;
            }
            self.folders.insert(wd, dir.clone());
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                match entry.file_type() {
                    Ok(t) if t.is_dir() => stack.push(entry.path()),
                    Ok(t) if t.is_file() => files.push(entry.path()),
                    _ => {}
                }
            }
        }
        files
    }

    /// The files closed or moved in since the last read (new folders watched on the way).
    fn read(&mut self) -> Vec<PathBuf> {
        let mut buffer = [0u8; 16 * 1024];
        let mut out = Vec::new();
        loop {
            // SAFETY: reads into a buffer of ours of the length given.
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    buffer.as_mut_ptr().cast(),
                    buffer.len(),
                )
            };
            if n <= 0 {
                return out;
            }
            let mut at = 0;
            let header = std::mem::size_of::<libc::inotify_event>();
            while at + header <= n as usize {
                // SAFETY: the kernel wrote a whole event at `at`; read without alignment.
                let event: libc::inotify_event =
                    unsafe { std::ptr::read_unaligned(buffer[at..].as_ptr().cast()) };
                let name_bytes = &buffer[at + header..at + header + event.len as usize];
                let name_end = name_bytes
                    .iter()
                    .position(|b| *b == 0)
                    .unwrap_or(name_bytes.len());
                let name = &name_bytes[..name_end];
                at += header + event.len as usize;
                let Some(dir) = self.folders.get(&event.wd).cloned() else {
                    continue;
                };
                if name.is_empty() {
                    continue;
                }
                let path = dir.join(std::ffi::OsStr::from_bytes(name));
                if event.mask & libc::IN_ISDIR != 0 {
                    out.extend(self.add_tree(&path));
                } else if event.mask & FILES != 0 {
                    out.push(path);
                }
            }
        }
    }
}

/// Sends the files closed under `dirs` to `tx` as they are closed, until `stop` is set;
/// `None` when this machine gives no inotify (the caller polls instead).
pub(super) fn watch(
    dirs: &[PathBuf],
    tx: mpsc::UnboundedSender<Vec<PathBuf>>,
    stop: Arc<AtomicBool>,
) -> Option<std::thread::JoinHandle<()>> {
    let mut watch = Watch::new().ok()?;
    let mut first = Vec::new();
    for dir in dirs {
        first.extend(watch.add_tree(dir));
    }
    let thread = std::thread::Builder::new()
        .name("checkpoint watch".into())
        .spawn(move || {
            if !first.is_empty() && tx.send(first).is_err() {
                return;
            }
            while !stop.load(Ordering::SeqCst) {
                let mut poll = libc::pollfd {
                    fd: watch.fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one pollfd of ours, for at most TICK_MS.
                if unsafe { libc::poll(&mut poll, 1, TICK_MS) } > 0 {
                    let closed = watch.read();
                    if !closed.is_empty() && tx.send(closed).is_err() {
                        return;
                    }
                }
            }
        })
        .ok()?;
    Some(thread)
}
