//! Every process a job starts, and the watchdog that kills them if the supervisor dies.
//! Each process the job starts carries the job's mark in its environment
//! ([`process::JOB_MARK`]), so a child that left its process group (`setsid`,
//! `start_new_session=True`) is still found and ended with the job.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use crate::process;

/// The job's processes. Dropping this kills every group and marked process (an error
/// path, a panic), and a watchdog process kills them if the supervisor itself dies
/// (`kill -9`, a crash), so no job's process outlives it.
pub(super) struct ProcessGroups {
    mark: String,
    pgids: Vec<i64>,
    watchdog: Option<(Child, ChildStdin)>,
}

/// The watchdog: learns the groups on its stdin, exits on `done`; at EOF without `done`
/// (the supervisor died) kills the groups, then every process carrying `$SAGEDESK_REAP`
/// (the job's `NAME=value` mark) in its environment, a few passes over `/proc`.
const WATCHDOG: &str = r#"groups=""
while read -r line; do
  case "$line" in
    done) exit 0 ;;
    "group "*) groups="$groups -${line#group }" ;;
  esac
done
[ -n "$groups" ] && kill -s KILL -- $groups 2>/dev/null
for pass in 1 2 3; do
  for e in /proc/[0-9]*/environ; do
    if tr '\0' '\n' < "$e" 2>/dev/null | grep -qxF -- "$SAGEDESK_REAP"; then
      p=${e#/proc/}; kill -s KILL "${p%/environ}" 2>/dev/null
    fi
  done
done"#;

impl ProcessGroups {
    /// The processes of the job marked `mark`, with no watchdog yet.
    pub(super) fn new(mark: String) -> Self {
        Self {
            mark,
            pgids: Vec::new(),
            watchdog: None,
        }
    }

    /// The mark every process of the job carries: `(name, value)` for its environment.
    pub(super) fn mark(&self) -> (&'static str, &str) {
        (process::JOB_MARK, &self.mark)
    }

    /// Adds the process group led by `pgid`, and tells the watchdog.
    pub(super) fn add(&mut self, pgid: i64) {
        if pgid <= 1 {
            return;
        }
        self.pgids.push(pgid);
        if let Some((_, stdin)) = &mut self.watchdog {
            let _ = writeln!(stdin, "group {pgid}");
        }
    }

    /// Starts the watchdog, in its own process group and without the job's mark.
    pub(super) fn arm(&mut self) {
        let reap = format!("{}={}", process::JOB_MARK, self.mark);
        let spawned = Command::new("/bin/sh")
            .args(["-c", WATCHDOG])
            .env("SAGEDESK_REAP", reap)
            .env_remove(process::JOB_MARK)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn();
        match spawned {
            Ok(mut child) => {
                if let Some(mut stdin) = child.stdin.take() {
                    for pgid in &self.pgids {
                        let _ = writeln!(stdin, "group {pgid}");
                    }
                    self.watchdog = Some((child, stdin));
                }
            }
            Err(e) => tracing::warn!("no watchdog for the job's processes: {e}"),
        }
    }

    /// Kills what is left of the job and tells the watchdog all is well.
    pub(super) async fn finish(mut self) {
        let mark = std::mem::take(&mut self.mark);
        let pgids = std::mem::take(&mut self.pgids);
        let watchdog = self.watchdog.take();
        let ended = tokio::task::spawn_blocking(move || {
            kill_all(&pgids, &mark);
            if let Some((mut child, mut stdin)) = watchdog {
                let _ = stdin.write_all(b"done\n");
                drop(stdin);
                let _ = child.wait();
            }
        });
        let _ = tokio::time::timeout(Duration::from_secs(5), ended).await;
    }
}

impl Drop for ProcessGroups {
    fn drop(&mut self) {
        // An early return: the watchdog's stdin closes with it and it kills them too.
        if !self.mark.is_empty() {
            kill_all(&self.pgids, &self.mark);
        }
    }
}

/// Kills the process groups `pgids`, then every process left that carries `mark`.
fn kill_all(pgids: &[i64], mark: &str) {
    for pgid in pgids {
        process::signal_group(*pgid, process::SIGKILL);
    }
    process::kill_marked(mark);
}
