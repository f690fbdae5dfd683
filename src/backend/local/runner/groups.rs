//! The job's process groups, and the watchdog that kills them if the supervisor dies.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

use crate::backend::local::process;

/// The job's process groups. Dropping this kills every group (an error path, a panic), and
/// a watchdog process kills them if the supervisor itself dies (`kill -9`, a crash), so no
/// job trains unsupervised.
pub(super) struct ProcessGroups {
    pgids: Vec<i64>,
    watchdog: Option<(Child, ChildStdin)>,
}

impl ProcessGroups {
    pub(super) fn new() -> Self {
        Self {
            pgids: Vec::new(),
            watchdog: None,
        }
    }

    pub(super) fn add(&mut self, pgid: i64) {
        if pgid > 1 {
            self.pgids.push(pgid);
        }
    }

    /// Starts the watchdog: a shell in its own process group that waits for the supervisor
    /// to close its stdin. EOF without `done` means the supervisor died: kill the groups.
    pub(super) fn arm(&mut self) {
        if self.pgids.is_empty() {
            return;
        }
        let groups: Vec<String> = self.pgids.iter().map(|p| format!("-{p}")).collect();
        let script = format!(
            "read line; [ \"$line\" = done ] || kill -s KILL -- {}",
            groups.join(" ")
        );
        let spawned = Command::new("/bin/sh")
            .args(["-c", &script])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .kill_on_drop(false)
            .spawn();
        match spawned {
            Ok(mut child) => {
                if let Some(stdin) = child.stdin.take() {
                    self.watchdog = Some((child, stdin));
                }
            }
            Err(e) => tracing::warn!("no watchdog for the job's processes: {e}"),
        }
    }

    fn signal(&self, signal: i32) {
        for pgid in &self.pgids {
            process::signal_group(*pgid, signal);
        }
    }

    /// Kills what is left and tells the watchdog all is well.
    pub(super) async fn finish(mut self) {
        self.signal(process::SIGKILL);
        self.pgids.clear();
        if let Some((mut child, mut stdin)) = self.watchdog.take() {
            let _ = stdin.write_all(b"done\n").await;
            drop(stdin);
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
        }
    }
}

impl Drop for ProcessGroups {
    fn drop(&mut self) {
        // An early return: the watchdog's stdin closes with it and it kills the groups too.
        self.signal(process::SIGKILL);
    }
}
