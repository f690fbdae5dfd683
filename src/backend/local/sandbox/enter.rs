//! Entering a host's sandbox from outside it: how `mpirun` on the master starts its daemon
//! on another host of the job (its remote shell agent, which `ssh` is on the service). The
//! job writes each host's sandbox and environment to `<job>/hosts.d/<host>.json`; the
//! agent (`sagedesk enter-host`) reads it and becomes `sh -c COMMAND` in a fresh sandbox
//! of that host, which shows the same `/opt/ml`, name and hosts file as the host's own.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::HostSandbox;

/// The folder of a job's host entries, in the job's folder.
pub const HOST_ENTRIES: &str = "hosts.d";

/// What entering a host takes: its sandbox and its process's whole environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostEntry {
    pub sandbox: HostSandbox,
    pub environment: Vec<(String, String)>,
    /// The host's command as it started (the program, then its arguments), if it runs one.
    #[serde(default)]
    pub command: Vec<String>,
}

impl HostEntry {
    /// Reads the entry of `host` in `dir`.
    pub fn read(dir: &Path, host: &str) -> io::Result<Self> {
        let path = Self::path(dir, host);
        std::fs::read(&path).and_then(|bytes| {
            serde_json::from_slice(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        })
    }

    /// The host's Python entry point again, under pdb: the exception it raises opens pdb
    /// at the frame that raised it (`python -m pdb -c continue …`); `None` for a command
    /// that is not the interpreter running a script or module.
    pub fn under_pdb(&self) -> Option<Vec<String>> {
        let (program, args) = self.command.split_first()?;
        let script = args.first()?;
        let python = !script.starts_with('-') || script == "-m";
        let is_shell = program.ends_with("/sh") || program.ends_with("/bash");
        (python && !is_shell).then(|| {
            let mut out: Vec<String> = vec![program.clone()];
            out.extend(["-m", "pdb", "-c", "continue"].map(String::from));
            out.extend(args.iter().cloned());
            out
        })
    }

    /// The file of `host` in the folder `dir`.
    pub fn path(dir: &Path, host: &str) -> PathBuf {
        dir.join(format!("{host}.json"))
    }

    /// Writes the entry of `host` into `dir`, readable by its owner only (the environment
    /// holds the job's credentials endpoint).
    pub fn write(&self, dir: &Path, host: &str) -> io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let text = serde_json::to_vec(self).map_err(io::Error::other)?;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(Self::path(dir, host))?
            .write_all(&text)
    }
}

/// Replaces this process with `sh -c "WORDS…"` in `host`'s sandbox, as its entry in `dir`
/// says; returns only on failure, saying why.
pub fn enter_host(dir: &Path, host: &str, words: &[String]) -> io::Error {
    let entry = match HostEntry::read(dir, host) {
        Ok(entry) => entry,
        Err(e) => {
            let path = HostEntry::path(dir, host);
            let why = format!("{host} is not a host of this job ({}: {e})", path.display());
            return io::Error::new(e.kind(), why);
        }
    };
    let mut command = std::process::Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(words.join(" "))
        .env_clear()
        .envs(entry.environment.iter().map(|(k, v)| (k, v)));
    // The job's mark, which every process of the job carries, comes from the caller.
    if let Some(mark) = std::env::var_os(crate::process::JOB_MARK) {
        command.env(crate::process::JOB_MARK, mark);
    }
    if let Err(e) = entry.sandbox.apply(&mut command) {
        return e;
    }
    let error = command.exec();
    match super::explain(&error) {
        Some(why) => io::Error::other(why),
        None => error,
    }
}
