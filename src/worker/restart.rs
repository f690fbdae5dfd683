//! The worker's own supervision: the poller runs on a task; a panic in it is reported to the
//! window as what it is, with its crash report, and the poller starts again on the same
//! command queue.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Command, Event, Folders, Outbox, poll};
use crate::backend::Backend;

/// Restarts of the worker within [`RESTART_WINDOW`] after which it stays down.
const MAX_RESTARTS: usize = 5;
const RESTART_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs the poller until the window drops its command sender. A panic in it is reported to
/// the window as what it is (with the crash report written for it) and the poller starts
/// again on the same command queue; the window then sends what it follows again.
pub(super) async fn supervise(
    backend: Arc<dyn Backend>,
    folders: Option<Folders>,
    commands: mpsc::UnboundedReceiver<Command>,
    out: Outbox,
) {
    let commands = Arc::new(tokio::sync::Mutex::new(commands));
    let mut restarts: Vec<std::time::Instant> = Vec::new();
    loop {
        let run = tokio::spawn(poll::run(
            backend.clone(),
            folders.clone(),
            commands.clone(),
            out.clone(),
        ));
        let panic = match run.await {
            Ok(()) => return,
            Err(e) if e.is_panic() => e.into_panic(),
            Err(_) => return,
        };
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".into());
        restarts.retain(|t| t.elapsed() < RESTART_WINDOW);
        restarts.push(std::time::Instant::now());
        let restarted = restarts.len() <= MAX_RESTARTS;
        let report = crate::crash::take_last();
        if let Some(report) = &report {
            // The window stayed up: the next start must not say it closed.
            let _ = crate::crash::acknowledge(report);
        }
        out.send(Event::WorkerFailed {
            message,
            report,
            restarted,
        });
        out.flush();
        if !restarted {
            return;
        }
    }
}
