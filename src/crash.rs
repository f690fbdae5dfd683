//! Crash reports: a panic hook that writes what happened (message, place, backtrace,
//! version, the last actions) to the data folder, and the lookup the next start uses to
//! say so.

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// How many recent actions a report lists.
const ACTIONS_KEPT: usize = 40;
/// The file that names the newest report the user has seen.
const SEEN: &str = "seen";

static ACTIONS: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());
static FOLDER: OnceLock<PathBuf> = OnceLock::new();
/// The report this process wrote last, for a part that recovers from its panic.
static LAST: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The report written for the last panic of this process, taken: a part that recovered
/// from the panic (the worker restarts) says so with it, and marks it seen.
pub fn take_last() -> Option<PathBuf> {
    LAST.lock().ok().and_then(|mut last| last.take())
}

/// The folder of crash reports under a data folder.
pub fn folder(home: &Path) -> PathBuf {
    home.join("crashes")
}

/// Remembers an action (a command sent, a dialog opened) for the next report.
pub fn note(action: impl Into<String>) {
    let Ok(mut actions) = ACTIONS.lock() else {
        return;
    };
    if actions.len() == ACTIONS_KEPT {
        actions.pop_front();
    }
    let mut action: String = action.into();
    action.truncate(action.floor_char_boundary(300));
    actions.push_back(format!(
        "{} {action}",
        crate::job::timestamp(chrono::Utc::now())
    ));
}

/// Installs the panic hook for reports under `home`; the default hook still prints.
/// Only the first call in a process takes effect.
pub fn install(home: &Path) {
    if FOLDER.set(folder(home)).is_err() {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(dir) = FOLDER.get() {
            match write_report(dir, info) {
                Ok(path) => {
                    say(format_args!(
                        "SageDesk crashed; a report is in {}",
                        path.display()
                    ));
                    if let Ok(mut last) = LAST.lock() {
                        *last = Some(path);
                    }
                }
                Err(e) => say(format_args!(
                    "SageDesk crashed and could not write a report: {e}"
                )),
            }
        }
        previous(info);
    }));
}

fn write_report(dir: &Path, info: &std::panic::PanicHookInfo<'_>) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    // Reports name files, jobs and the last actions: readable by their owner only.
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let now = chrono::Utc::now();
    let path = dir.join(format!(
        "crash-{}-{}.txt",
        now.format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id()
    ));
    let message = info
        .payload()
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| info.payload().downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into());
    let place = info
        .location()
        .map_or_else(|| "unknown".into(), |l| l.to_string());
    let thread = std::thread::current();
    let actions: Vec<String> = ACTIONS
        .try_lock()
        .map(|a| a.iter().cloned().collect())
        .unwrap_or_default();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    writeln!(file, "SageDesk {} crash report", env!("CARGO_PKG_VERSION"))?;
    writeln!(file, "time: {}", crate::job::timestamp(now))?;
    writeln!(
        file,
        "os: {} {}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )?;
    writeln!(file, "thread: {}", thread.name().unwrap_or("unnamed"))?;
    writeln!(file, "panic: {message}")?;
    writeln!(file, "at: {place}")?;
    writeln!(file, "\nlast actions (oldest first):")?;
    if actions.is_empty() {
        writeln!(file, "  (none)")?;
    }
    for action in actions {
        writeln!(file, "  {action}")?;
    }
    writeln!(
        file,
        "\nbacktrace:\n{}",
        std::backtrace::Backtrace::force_capture()
    )?;
    Ok(path)
}

/// The newest crash report under `home` the user has not been told of yet.
pub fn unseen(home: &Path) -> Option<PathBuf> {
    let dir = folder(home);
    let seen = std::fs::read_to_string(dir.join(SEEN)).unwrap_or_default();
    let newest = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("crash-") && n.ends_with(".txt"))
        .max()?;
    (newest.as_str() > seen.trim()).then(|| dir.join(newest))
}

/// Marks `report` (and every older one) as seen.
pub fn acknowledge(report: &Path) -> std::io::Result<()> {
    let (Some(dir), Some(name)) = (report.parent(), report.file_name()) else {
        return Ok(());
    };
    std::fs::write(dir.join(SEEN), name.as_encoded_bytes())
}

/// Writes a line to stderr, ignoring failure (a full disk must not panic inside the hook).
fn say(text: std::fmt::Arguments) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_reports_newer_than_the_seen_one_are_unseen() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(unseen(home.path()), None);
        let dir = folder(home.path());
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("crash-20261101T000000.000Z-1.txt"), "a").unwrap();
        let newest = dir.join("crash-20261102T000000.000Z-1.txt");
        std::fs::write(&newest, "b").unwrap();
        assert_eq!(unseen(home.path()).as_deref(), Some(newest.as_path()));
        acknowledge(&newest).unwrap();
        assert_eq!(unseen(home.path()), None);
    }
}
