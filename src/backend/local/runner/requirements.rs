//! `requirements.txt` installed before the entry point, as the framework containers do: into
//! a virtual environment layered on the job's interpreter (`--system-site-packages`, so its
//! own packages stay visible), cached under the data folder by interpreter and file, so
//! the next run with the same file starts at once. pip's output is part of the job's log.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Instant;

use tokio::process::Command;
use tokio::sync::mpsc;

use super::groups::ProcessGroups;
use super::output::{Lines, READERS_GRACE, Reader, child_pipes};
use super::{LocalConfig, POLL};
use crate::backend::BackendError;
use crate::backend::local::contract::{HostLayout, LocalPlan, withhold_credentials};
use crate::job::Stream;
use crate::process;
use crate::store::{Record, Store, now_ms};

/// The name of the file the toolkit installs.
pub const REQUIREMENTS: &str = "requirements.txt";
/// Lines of pip's stderr kept for `FailureReason`.
const TAIL: usize = 12;

/// What preparing the interpreter came to.
pub(super) enum Prepared {
    /// The interpreter to run `.py` entry points with.
    Ready(PathBuf),
    /// The installation failed, with the reason.
    Failed(String),
    /// A stop came while installing.
    Stopped,
}

/// The interpreter the hosts run: `python` itself, or a cached environment on it with the
/// code's `requirements.txt` installed (made now when there is none yet).
pub(super) async fn prepare(
    config: &LocalConfig,
    plan: &LocalPlan,
    layout: &HostLayout,
    python: &Path,
    store: &mut Store,
    tx: &Lines,
    groups: &mut ProcessGroups,
) -> Result<Prepared, BackendError> {
    let file = layout.code().join(REQUIREMENTS);
    if !plan.program.ends_with(".py") || !file.is_file() {
        return Ok(Prepared::Ready(python.to_path_buf()));
    }
    let contents = std::fs::read(&file)?;
    let env = environment_dir(&config.home, python, &contents);
    let env_python = env.join("bin/python");
    let host = &plan.hosts[0];
    if env.join(READY).exists() {
        let line = format!(
            "Using the environment for {REQUIREMENTS} in {}",
            env.display()
        );
        say(tx, host, line).await;
        return Ok(Prepared::Ready(env_python));
    }
    let partial = env.with_extension(format!("{}.partial", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    remove_abandoned(&config.home.join("envs"));
    let venv = partial.display().to_string();
    say(
        tx,
        host,
        format!("Installing {REQUIREMENTS} into {}", env.display()),
    )
    .await;
    let steps: [(PathBuf, Vec<String>); 2] = [
        (
            python.to_path_buf(),
            ["-m", "venv", "--system-site-packages", &venv]
                .map(String::from)
                .to_vec(),
        ),
        (
            partial.join("bin/python"),
            [
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-r",
            ]
            .map(String::from)
            .into_iter()
            .chain([file.display().to_string()])
            .collect(),
        ),
    ];
    let environment = plan.environment(layout, host, 1);
    for (program, args) in steps {
        let what = if args[1] == "venv" {
            "creating the environment".to_string()
        } else {
            format!("pip install -r {REQUIREMENTS}")
        };
        let run = Step {
            program: &program,
            args: &args,
            cwd: &layout.code(),
            environment: &environment,
        };
        match run.run(store, &plan.job, host, tx, groups).await? {
            StepEnd::Done => {}
            StepEnd::Stopped => {
                let _ = std::fs::remove_dir_all(&partial);
                return Ok(Prepared::Stopped);
            }
            StepEnd::Failed(how, tail) => {
                let _ = std::fs::remove_dir_all(&partial);
                let mut reason = format!("ClientError: {what} failed ({how})");
                if !tail.is_empty() {
                    reason = format!("{reason}:\n{}", tail.join("\n"));
                }
                return Ok(Prepared::Failed(reason));
            }
        }
    }
    std::fs::write(partial.join(READY), b"")?;
    // Another job may have made the same environment meanwhile: either one will do.
    if std::fs::rename(&partial, &env).is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    Ok(Prepared::Ready(env_python))
}

/// Removes environments left half-made by an installation whose process is gone (killed
/// mid-way): `<hash>.<pid>.partial` folders whose pid no longer runs.
fn remove_abandoned(envs: &Path) {
    let Ok(entries) = std::fs::read_dir(envs) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".partial"))
            .and_then(|n| n.rsplit('.').next())
            .and_then(|p| p.parse::<i64>().ok())
        else {
            continue;
        };
        if process::start_time(pid).is_none() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The file that marks a finished environment.
const READY: &str = ".sagedesk-ready";

/// `<home>/envs/<hash>`: one environment per interpreter (its resolved path, size and
/// modification time, so an upgraded interpreter gets a new one) and requirements file.
pub fn environment_dir(home: &Path, python: &Path, requirements: &[u8]) -> PathBuf {
    let interpreter = process::stamp(python).unwrap_or_else(|| python.display().to_string());
    let mut hash = Fnv::default();
    hash.write(interpreter.as_bytes());
    hash.write(&[0]);
    hash.write(requirements);
    home.join("envs").join(format!("{:016x}", hash.0))
}

/// FNV-1a, 64 bits: a hash that stays the same across builds.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Writes a line of SageDesk's own into the job's log.
async fn say(tx: &Lines, host: &str, line: String) {
    let _ = tx
        .send(vec![Record {
            ts: now_ms(),
            host: host.to_string(),
            stream: Stream::Stdout,
            line,
            open: false,
            points: Vec::new(),
        }])
        .await;
}

/// One command of the installation.
struct Step<'a> {
    program: &'a Path,
    args: &'a [String],
    cwd: &'a Path,
    environment: &'a [(String, String)],
}

enum StepEnd {
    Done,
    Stopped,
    /// How it ended and the last lines of its stderr.
    Failed(String, Vec<String>),
}

impl Step<'_> {
    /// Runs the command with its output in the job's log, killing it if the job is stopped.
    async fn run(
        &self,
        store: &mut Store,
        job: &str,
        host: &str,
        tx: &Lines,
        groups: &mut ProcessGroups,
    ) -> Result<StepEnd, BackendError> {
        let mut command = Command::new(self.program);
        withhold_credentials(&mut command, self.environment);
        let (mark, job_mark) = groups.mark();
        let spawned = command
            .args(self.args)
            .current_dir(self.cwd)
            .envs(self.environment.iter().cloned())
            .env(mark, job_mark)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) => {
                let how = format!("cannot start {}: {e}", self.program.display());
                return Ok(StepEnd::Failed(how, Vec::new()));
            }
        };
        let pid = child.id().map(i64::from).unwrap_or(0);
        groups.add(pid);
        let mut readers = Vec::new();
        // stderr goes to the log through a tee that keeps its last lines.
        let (err_tx, mut err_rx) = mpsc::channel::<Vec<Record>>(256);
        for (pipe, kind) in child_pipes(&mut child, host) {
            let lines = match kind {
                Stream::Stdout => tx.clone(),
                Stream::Stderr => err_tx.clone(),
            };
            readers.push(Reader::spawn(pipe, host.to_string(), kind, lines, false));
        }
        drop(err_tx);
        let forward = tx.clone();
        let tee = tokio::spawn(async move {
            let mut tail = VecDeque::with_capacity(TAIL);
            while let Some(batch) = err_rx.recv().await {
                for record in batch.iter().filter(|r| !r.open) {
                    if tail.len() == TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(record.line.clone());
                }
                let _ = forward.send(batch).await;
            }
            tail.into_iter().collect::<Vec<_>>()
        });
        let status = loop {
            tokio::select! {
                status = child.wait() => break Some(status?),
                _ = tokio::time::sleep(POLL) => {
                    if store.stop_requested(job)? {
                        process::signal_group(pid, process::SIGKILL);
                        let _ = child.wait().await;
                        break None;
                    }
                }
            }
        };
        let until = Instant::now() + READERS_GRACE;
        for reader in readers {
            reader.finish(until).await;
        }
        let tail = tee.await.unwrap_or_default();
        Ok(match status {
            None => StepEnd::Stopped,
            Some(s) if s.success() => StepEnd::Done,
            Some(s) => StepEnd::Failed(
                s.code()
                    .map_or_else(|| "killed by a signal".into(), |c| format!("exit code {c}")),
                tail,
            ),
        })
    }
}
