//! Watching a job's `file://` code folder for saves: a change counts once the folder has
//! stayed the same for a moment, so a burst of saves is one change; editors' temporary
//! files and byte-code caches do not count, and a folder that is gone is waited for.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::request::TrainingJobRequest;

/// How long the folder must stay the same before a change counts.
pub const SETTLE: Duration = Duration::from_millis(400);
/// How often a watched folder is looked at.
pub const LOOK: Duration = Duration::from_millis(200);
/// Most files of a code folder looked at.
const MOST_FILES: usize = 20_000;

/// The `file://` submit folder of a request.
pub fn code_folder(request: &TrainingJobRequest) -> Option<PathBuf> {
    let raw = request
        .hyper_parameters
        .as_ref()?
        .get(crate::request::SUBMIT_DIRECTORY)?;
    let uri = serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.clone());
    let path = PathBuf::from(uri.strip_prefix("file://")?);
    path.is_dir().then_some(path)
}

/// A file's path, size and modification time.
type Stamp = Vec<(PathBuf, u64, Option<SystemTime>)>;

/// A code folder as last run, and a change waiting to settle.
pub struct CodeWatch {
    folder: PathBuf,
    ran: Option<Stamp>,
    pending: Option<(Stamp, Instant)>,
}

impl CodeWatch {
    /// Watches `folder`, as it is now.
    pub fn new(folder: PathBuf) -> Self {
        let ran = stamp(&folder);
        Self {
            folder,
            ran,
            pending: None,
        }
    }

    /// Whether the folder changed since the last run and has since stayed the same for
    /// [`SETTLE`]; a folder that is gone is waited for.
    pub fn changed(&mut self) -> bool {
        let Some(now) = stamp(&self.folder) else {
            self.pending = None;
            return false;
        };
        if self.ran.as_ref() == Some(&now) {
            self.pending = None;
            return false;
        }
        match &self.pending {
            Some((seen, since)) if *seen == now => {
                if since.elapsed() < SETTLE {
                    return false;
                }
                self.ran = Some(now);
                self.pending = None;
                true
            }
            _ => {
                self.pending = Some((now, Instant::now()));
                false
            }
        }
    }
}

/// Every file of `folder` that counts, with its size and time; `None` when it is gone.
fn stamp(folder: &Path) -> Option<Stamp> {
    if !folder.is_dir() {
        return None;
    }
    let mut out = Vec::new();
    let mut stack = vec![folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name();
            if ignored(&name.to_string_lossy()) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(entry.path());
            } else if meta.is_file() && out.len() < MOST_FILES {
                out.push((entry.path(), meta.len(), meta.modified().ok()));
            }
        }
    }
    out.sort();
    Some(out)
}

/// Names that are not the user's code: hidden files, editors' backups and swap files,
/// byte-code caches.
fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || [".swp", ".swo", ".swx", ".tmp", ".pyc"]
            .iter()
            .any(|s| name.ends_with(s))
        || name == "__pycache__"
        || name == "4913"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_counts_once_it_settles_and_temporary_files_never() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("train.py");
        std::fs::write(&file, "a").unwrap_or_else(|e| panic!("{e}"));
        let mut watch = CodeWatch::new(dir.path().to_path_buf());
        assert!(!watch.changed());
        std::fs::write(dir.path().join(".train.py.swp"), "x").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("train.py~"), "x").unwrap_or_else(|e| panic!("{e}"));
        assert!(!watch.changed());
        std::fs::write(&file, "bb").unwrap_or_else(|e| panic!("{e}"));
        assert!(!watch.changed(), "not settled yet");
        std::thread::sleep(SETTLE + Duration::from_millis(50));
        assert!(watch.changed());
        assert!(!watch.changed(), "counted once");
        std::fs::remove_dir_all(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(!watch.changed(), "a folder that is gone is waited for");
    }
}
