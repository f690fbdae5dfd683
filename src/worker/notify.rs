//! Desktop notifications for jobs that end while the window is in the background:
//! freedesktop notifications over D-Bus, sent with `notify-send` (libnotify) or `gdbus`
//! (GLib), whichever the desktop has; skipped where neither is installed or no notification
//! server answers.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::backend::JobRef;
use crate::job::Status;
use crate::process::which;

/// Sends a notification when a job ends while the window is in the background.
#[derive(Debug, Default)]
pub struct Notifier {
    program: Mutex<Option<PathBuf>>,
    background: AtomicBool,
}

impl Notifier {
    /// A notifier over the desktop's `notify-send` or `gdbus`, if either is on `PATH`.
    pub fn detect() -> Self {
        let program = ["notify-send", "gdbus"]
            .iter()
            .find_map(|name| which(Path::new(name)));
        Self {
            program: Mutex::new(program),
            background: AtomicBool::new(false),
        }
    }

    /// Uses `program` (a `notify-send` or `gdbus` executable) instead, or nothing.
    pub fn set_program(&self, program: Option<PathBuf>) {
        *self.program.lock().unwrap_or_else(|e| e.into_inner()) = program;
    }

    /// Whether the window is in the background (minimised or not focused).
    pub fn set_background(&self, background: bool) {
        self.background.store(background, Ordering::Relaxed);
    }

    /// Tells the desktop that `job` ended, when the window is in the background.
    pub fn finished(&self, job: &JobRef, status: Status) {
        if !self.background.load(Ordering::Relaxed) {
            return;
        }
        let Some(program) = self
            .program
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        else {
            return;
        };
        let summary = format!("{}: {status}", job.name);
        let body = format!("Training job on {}", job.source.source_label());
        let urgency = if status == Status::Failed {
            "critical"
        } else {
            "normal"
        };
        let args = arguments(&program, &summary, &body, urgency);
        // Fire and forget: a missing notification server only makes the program fail.
        let spawned = std::process::Command::new(&program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            Ok(mut child) => {
                std::thread::spawn(move || child.wait());
            }
            Err(e) => tracing::debug!("notification not sent: {e}"),
        }
    }
}

/// The command line for `program`: `gdbus` calls `Notify` itself, anything else is taken
/// for `notify-send`.
fn arguments(program: &Path, summary: &str, body: &str, urgency: &str) -> Vec<String> {
    if program.file_name().is_some_and(|n| n == "gdbus") {
        let quote = |s: &str| format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"));
        return [
            "call",
            "--session",
            "--dest",
            "org.freedesktop.Notifications",
            "--object-path",
            "/org/freedesktop/Notifications",
            "--method",
            "org.freedesktop.Notifications.Notify",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([
            quote("SageDesk"),
            "0".into(),
            quote("sagedesk"),
            quote(summary),
            quote(body),
            "[]".into(),
            "{}".into(),
            "-1".into(),
        ])
        .collect();
    }
    vec![
        "--app-name=SageDesk".into(),
        "--icon=sagedesk".into(),
        format!("--urgency={urgency}"),
        summary.into(),
        body.into(),
    ]
}

#[cfg(test)]
mod tests {
    use super::arguments;
    use std::path::Path;

    #[test]
    fn gdbus_gets_quoted_variants_and_notify_send_plain_words() {
        let gdbus = arguments(
            Path::new("/usr/bin/gdbus"),
            "it's: Completed",
            "b",
            "normal",
        );
        assert!(
            gdbus.contains(&"'it\\'s: Completed'".to_string()),
            "{gdbus:?}"
        );
        assert_eq!(gdbus.last().unwrap(), "-1");
        let send = arguments(Path::new("/usr/bin/notify-send"), "s", "b", "critical");
        assert_eq!(send[2..], ["--urgency=critical", "s", "b"]);
    }
}
