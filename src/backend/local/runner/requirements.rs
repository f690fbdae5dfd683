//! What the toolkit installs before the entry point runs: `requirements.txt` for a script,
//! `pip install .` (with the requirements) for a code folder with `setup.py`. Installed into
//! an environment layered on the job's interpreter as it is: a virtual environment of its
//! own whose search path ends with every site folder the interpreter reads (a venv's, a
//! conda environment's, the system's and the user's), so whatever the interpreter could
//! import stays importable and the user's environment is never written. Cached under the
//! data folder by interpreter and files, so the next run with the same files starts at
//! once. pip's output is part of the job's log.

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
use crate::backend::local::contract::{EntryKind, HostLayout, LocalPlan, withhold_credentials};
use crate::job::Stream;
use crate::process;
use crate::store::{Record, Store, now_ms};

/// The name of the file the toolkit installs.
pub const REQUIREMENTS: &str = "requirements.txt";
/// The files of a package whose change calls for a new installation: those that say what
/// it depends on. Its modules themselves are read from the code folder, first on the path.
const PACKAGE_FILES: [&str; 3] = ["setup.py", "setup.cfg", "pyproject.toml"];
/// Lines of pip's stderr kept for `FailureReason`.
const TAIL: usize = 12;

/// Makes the layered environment `sys.argv[1]` on the interpreter running it: a venv
/// without pip of its own, a `.pth` file adding the interpreter's site folders after the
/// venv's own (so installed packages come first, and `.pth` files of those folders, such
/// as editable installs, still apply), and pip from the interpreter (or `ensurepip` where
/// the interpreter has none).
const LAYER: &str = r#"import os, site, subprocess, sys, venv
target = sys.argv[1]
dirs = list(site.getsitepackages())
if site.ENABLE_USER_SITE:
    dirs.append(site.getusersitepackages())
dirs = [d for d in dirs if os.path.isdir(d)]
venv.EnvBuilder(symlinks=True, with_pip=False).create(target)
exe = os.path.join(target, "bin", "python")
code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
purelib = subprocess.check_output([exe, "-c", code], text=True).strip()
with open(os.path.join(purelib, "_sagedesk_layer.pth"), "w") as f:
    f.write("import site; list(map(site.addsitedir, %r))\n" % dirs)
quiet = dict(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
if subprocess.call([exe, "-m", "pip", "--version"], **quiet) != 0:
    if subprocess.call([exe, "-m", "ensurepip", "--default-pip"]) != 0:
        sys.exit("%s has no pip, and cannot install it (ensurepip): install pip for it"
                 % sys.executable)
print("Layered on %s (%s)" % (sys.executable, ", ".join(dirs)))
"#;

/// What preparing the interpreter came to.
pub(super) enum Prepared {
    /// The interpreter to run `.py` entry points with.
    Ready(PathBuf),
    /// The installation failed, with the reason.
    Failed(String),
    /// A stop came while installing.
    Stopped,
}

/// What the toolkit would install for the entry point: `pip install .` for a package,
/// `-r requirements.txt` where there is one.
struct Install {
    package: bool,
    requirements: bool,
}

impl Install {
    fn of(plan: &LocalPlan, code: &Path) -> Option<Self> {
        let requirements = code.join(REQUIREMENTS).is_file();
        match plan.entry_kind {
            _ if plan.container_command.is_some() => None,
            EntryKind::Package => Some(Self {
                package: true,
                requirements,
            }),
            EntryKind::Program if requirements => Some(Self {
                package: false,
                requirements,
            }),
            _ => None,
        }
    }

    /// What is installed, as the log says it.
    fn what(&self) -> String {
        match (self.package, self.requirements) {
            (true, true) => format!("the package (pip install . -r {REQUIREMENTS})"),
            (true, false) => "the package (pip install .)".into(),
            _ => REQUIREMENTS.into(),
        }
    }

    /// pip's arguments, run in the code folder.
    fn pip_args(&self) -> Vec<String> {
        let mut args: Vec<String> = ["-m", "pip", "install", "--disable-pip-version-check"]
            .map(String::from)
            .into();
        args.push("--no-input".into());
        if self.package {
            args.push(".".into());
        }
        if self.requirements {
            args.extend(["-r".into(), REQUIREMENTS.into()]);
        }
        args
    }

    /// The contents that decide the environment: the requirements and, for a package,
    /// the files that name its dependencies.
    fn inputs(&self, code: &Path) -> std::io::Result<Vec<u8>> {
        let mut files = Vec::new();
        if self.requirements {
            files.push(REQUIREMENTS);
        }
        if self.package {
            files.extend(PACKAGE_FILES);
        }
        let mut out = Vec::new();
        for name in files {
            out.extend(name.as_bytes());
            out.push(0);
            match std::fs::read(code.join(name)) {
                Ok(bytes) => out.extend(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            out.push(0);
        }
        Ok(out)
    }
}

/// The interpreter the hosts run: `python` itself, or a cached environment layered on it
/// with what the toolkit installs (made now when there is none yet).
pub(super) async fn prepare(
    config: &LocalConfig,
    plan: &LocalPlan,
    layout: &HostLayout,
    python: &Path,
    store: &mut Store,
    tx: &Lines,
    groups: &mut ProcessGroups,
) -> Result<Prepared, BackendError> {
    let code = layout.code();
    let Some(install) = Install::of(plan, &code) else {
        return Ok(Prepared::Ready(python.to_path_buf()));
    };
    let python = process::which(python).unwrap_or_else(|| python.to_path_buf());
    let env = environment_dir(&config.home, &python, &install.inputs(&code)?);
    let env_python = env.join("bin/python");
    let host = &plan.hosts[0];
    if env.join(READY).exists() {
        let line = format!(
            "Using the environment for {} in {}",
            install.what(),
            env.display()
        );
        say(tx, host, line).await;
        return Ok(Prepared::Ready(env_python));
    }
    let partial = env.with_extension(format!("{}.partial", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    remove_abandoned(&config.home.join("envs"));
    if let Some(parent) = partial.parent() {
        std::fs::create_dir_all(parent)?;
    }
    say(
        tx,
        host,
        format!("Installing {} into {}", install.what(), env.display()),
    )
    .await;
    let steps: [(&str, PathBuf, Vec<String>); 2] = [
        (
            "creating the environment",
            python.clone(),
            vec!["-c".into(), LAYER.into(), partial.display().to_string()],
        ),
        (
            "pip install",
            partial.join("bin/python"),
            install.pip_args(),
        ),
    ];
    let environment = plan.environment(layout, host, 1);
    for (what, program, args) in steps {
        let run = Step {
            program: &program,
            args: &args,
            cwd: &code,
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
                let what = if what == "pip install" {
                    format!("installing {}", install.what())
                } else {
                    what.to_string()
                };
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

/// `<home>/envs/<hash>`: one environment per interpreter (its path as given, since two
/// venvs share one binary, and the binary's resolved path, size and modification time, so
/// an upgraded interpreter gets a new one) and files installed.
pub fn environment_dir(home: &Path, python: &Path, inputs: &[u8]) -> PathBuf {
    let interpreter = process::stamp(python).unwrap_or_default();
    let mut hash = Fnv::default();
    hash.write(python.as_os_str().as_encoded_bytes());
    hash.write(&[0]);
    hash.write(interpreter.as_bytes());
    hash.write(&[0]);
    hash.write(inputs);
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
pub(super) async fn say(tx: &Lines, host: &str, line: String) {
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
