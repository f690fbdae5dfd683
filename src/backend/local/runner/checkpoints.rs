//! `CheckpointConfig` kept as the service keeps it: the prefix (or folder) copied into every
//! host's `LocalPath` before the script starts, files the script writes there copied back
//! while it runs (each as soon as it is closed, where inotify tells; other changes once they
//! have settled) and once more when it ends, however it ends.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::backend::local::contract::{CheckpointPlan, copy_file, list_files};
use crate::backend::local::off_thread;
use crate::backend::local::remote::Remote;
use crate::backend::s3::{self, Encryption, SharedProgress};
use crate::backend::{BackendError, archive};

/// How often the checkpoint folders are looked at while the job runs; a changed file is
/// copied once it has not changed for one interval. Files closed are copied at once where
/// inotify reports them; without it the folders are looked at every [`POLL_EVERY`].
const SYNC_EVERY: Duration = Duration::from_secs(5);
const POLL_EVERY: Duration = Duration::from_secs(1);

/// A file's size and modification time, to tell when it changed.
type Stamp = (u64, Option<SystemTime>);

/// The checkpoint folders of a job's hosts and where they are kept.
pub(super) struct Checkpoints {
    plan: CheckpointPlan,
    /// Each host's folder for `LocalPath`.
    dirs: Vec<PathBuf>,
    remote: Arc<Remote>,
    /// What was last copied, by path relative to the folder.
    copied: HashMap<PathBuf, Stamp>,
    /// Changed files seen at the last look, waiting to settle.
    pending: HashMap<PathBuf, Stamp>,
}

impl Checkpoints {
    pub(super) fn new(plan: CheckpointPlan, dirs: Vec<PathBuf>, remote: Arc<Remote>) -> Self {
        Self {
            plan,
            dirs,
            remote,
            copied: HashMap::new(),
            pending: HashMap::new(),
        }
    }

    /// Where the checkpoints are kept, for messages.
    fn place(&self) -> String {
        match (&self.plan.s3_uri, &self.plan.folder) {
            (Some(uri), _) => uri.clone(),
            (None, Some(folder)) => format!("file://{}", folder.display()),
            _ => String::new(),
        }
    }

    /// Copies the kept checkpoints into every host's folder; nothing kept yet is fine.
    pub(super) async fn restore(
        &mut self,
        progress: SharedProgress,
        limit: u64,
    ) -> Result<(), BackendError> {
        let first = self.dirs[0].clone();
        for dir in &self.dirs {
            std::fs::create_dir_all(dir)?;
        }
        if let Some(uri) = &self.plan.s3_uri {
            let client = self.remote.s3().await?;
            let root = s3::S3Uri::parse(uri, "CheckpointConfig.S3Uri")?;
            if !s3::list_all(client, &root).await?.is_empty() {
                let field = "CheckpointConfig.S3Uri";
                let fetched =
                    s3::download_prefix(client, uri, &first, field, limit, progress).await?;
                for skipped in fetched.skipped {
                    tracing::warn!("{field}: {skipped} was left out");
                }
            }
        } else if let Some(folder) = self.plan.folder.clone().filter(|f| f.is_dir()) {
            let target = first.clone();
            off_thread(move || copy_tree(&folder, &target)).await??;
        }
        let (first, others) = (first.clone(), self.dirs[1..].to_vec());
        off_thread(move || others.iter().try_for_each(|dir| copy_tree(&first, dir))).await??;
        // What is there now is what is kept: it need not be copied back.
        self.copied = self.stamps().await?;
        Ok(())
    }

    /// Every file of the hosts' folders (later hosts' replacing earlier ones') with its stamp.
    async fn stamps(&self) -> Result<HashMap<PathBuf, Stamp>, BackendError> {
        let dirs = self.dirs.clone();
        Ok(off_thread(move || -> std::io::Result<_> {
            let mut out = HashMap::new();
            // Links are not followed: a link to a file outside the folder (a credentials
            // file, /etc/passwd) is not a checkpoint, and neither is what it points to.
            for (rel, source) in archive::merge(&dirs)? {
                if let Ok(meta) = std::fs::symlink_metadata(&source.path)
                    && meta.is_file()
                {
                    out.insert(rel, (meta.len(), meta.modified().ok()));
                }
            }
            Ok(out)
        })
        .await??)
    }

    /// Copies changed files back; unless `settle`, only those unchanged since the last look.
    /// Returns how many were copied.
    pub(super) async fn sync(&mut self, settle: bool) -> Result<usize, BackendError> {
        let now = self.stamps().await?;
        let mut ready = Vec::new();
        let mut pending = HashMap::new();
        for (rel, stamp) in now {
            if self.copied.get(&rel) == Some(&stamp) {
                continue;
            }
            if settle || self.pending.get(&rel) == Some(&stamp) {
                ready.push((rel, stamp));
            } else {
                pending.insert(rel, stamp);
            }
        }
        self.pending = pending;
        self.copy(ready).await
    }

    /// Copies back the files `closed` (absolute paths under the hosts' folders) that
    /// changed since they were last copied. Returns how many were copied.
    async fn sync_closed(&mut self, closed: Vec<PathBuf>) -> Result<usize, BackendError> {
        let mut ready: Vec<(PathBuf, Stamp)> = Vec::new();
        for path in closed {
            let Some(rel) = self.dirs.iter().find_map(|d| path.strip_prefix(d).ok()) else {
                continue;
            };
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let stamp = (meta.len(), meta.modified().ok());
            if meta.is_file()
                && self.copied.get(rel) != Some(&stamp)
                && !ready.iter().any(|(r, _)| r == rel)
            {
                self.pending.remove(rel);
                ready.push((rel.to_path_buf(), stamp));
            }
        }
        self.copy(ready).await
    }

    /// Copies `ready` back and records them as copied.
    async fn copy(&mut self, ready: Vec<(PathBuf, Stamp)>) -> Result<usize, BackendError> {
        if ready.is_empty() {
            return Ok(0);
        }
        let sources = self.sources(&ready);
        self.send(sources).await?;
        let count = ready.len();
        self.copied.extend(ready);
        Ok(count)
    }

    /// The file each relative path comes from (the last host that has it).
    fn sources(&self, ready: &[(PathBuf, Stamp)]) -> Vec<(PathBuf, PathBuf)> {
        ready
            .iter()
            .filter_map(|(rel, _)| {
                let dir =
                    self.dirs.iter().rev().find(|d| {
                        std::fs::symlink_metadata(d.join(rel)).is_ok_and(|m| m.is_file())
                    })?;
                Some((dir.join(rel), rel.clone()))
            })
            .collect()
    }

    async fn send(&self, files: Vec<(PathBuf, PathBuf)>) -> Result<(), BackendError> {
        let place = self.place();
        // Each file is opened without following a link and read through its descriptor, so
        // a file swapped for a link after it was listed is not read either.
        let opened: Vec<(std::fs::File, PathBuf)> = files
            .into_iter()
            .filter_map(|(path, rel)| Some((open_no_follow(&path)?, rel)))
            .collect();
        let files: Vec<(PathBuf, PathBuf)> = opened
            .iter()
            .map(|(file, rel)| (descriptor_path(file), rel.clone()))
            .collect();
        let named = |mut e: BackendError| {
            e.message = format!("checkpoints to {place}: {}", e.message);
            e
        };
        if let Some(uri) = &self.plan.s3_uri {
            let client = self.remote.s3().await?;
            let keyed = files
                .into_iter()
                .map(|(path, rel)| (path, rel.display().to_string()))
                .collect();
            let ignore: SharedProgress = Arc::new(|_, _| {});
            s3::upload_folder(client, keyed, uri, &Encryption::default(), ignore)
                .await
                .map_err(named)?;
        } else if let Some(folder) = self.plan.folder.clone() {
            off_thread(move || -> std::io::Result<()> {
                for (path, rel) in files {
                    copy_file(&path, &folder.join(rel), &mut |_| {})?;
                }
                Ok(())
            })
            .await?
            .map_err(|e| named(e.into()))?;
        }
        Ok(())
    }

    /// Copies checkpoints back as they are closed (and every [`SYNC_EVERY`] what settled)
    /// until `stop` is notified, then once more with every change; the error of the last
    /// copy, if it failed.
    pub(super) fn spawn(mut self, stop: Arc<Notify>) -> JoinHandle<Result<(), BackendError>> {
        tokio::spawn(async move {
            let (tx, mut closed) = tokio::sync::mpsc::unbounded_channel();
            let ending = Arc::new(AtomicBool::new(false));
            let watch = super::closed::watch(&self.dirs, tx, ending.clone());
            let every = if watch.is_some() {
                SYNC_EVERY
            } else {
                POLL_EVERY
            };
            loop {
                let synced = tokio::select! {
                    _ = stop.notified() => break,
                    Some(files) = closed.recv() => self.sync_closed(files).await,
                    _ = tokio::time::sleep(every) => self.sync(false).await,
                };
                if let Err(e) = synced {
                    tracing::warn!("{e}");
                }
            }
            ending.store(true, Ordering::SeqCst);
            self.sync(true).await.map(|_| ())
        })
    }
}

/// `path` opened for reading if it is a regular file reached through no link at its end.
fn open_no_follow(path: &Path) -> Option<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

/// A path that opens the very file `file` holds open (`/proc/self/fd/N`).
fn descriptor_path(file: &std::fs::File) -> PathBuf {
    use std::os::fd::AsRawFd;
    PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()))
}

/// Copies every file under `from` into `to`, keeping relative paths.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    for (path, rel) in list_files(from)? {
        copy_file(&path, &to.join(rel), &mut |_| {})?;
    }
    Ok(())
}
