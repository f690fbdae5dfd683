//! Where local mode keeps its data and how it runs jobs: the data folder, the interpreter,
//! the stop grace period, the AWS connection for S3, the supervisor program and whose AWS
//! credentials jobs get.

use std::path::PathBuf;
use std::time::Duration;

pub use crate::job::JobCredentials;

/// Size of the data folder's reserve: room for the last writes of jobs on a full disk.
const RESERVE_BYTES: u64 = 2 << 20;

/// The service's grace period between SIGTERM and SIGKILL.
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(120);

/// Where local mode keeps its data and how it runs jobs.
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// The data folder: the database, job trees and default output.
    pub home: PathBuf,
    /// The Python interpreter for `.py` entry points.
    pub python: PathBuf,
    /// Time between SIGTERM and SIGKILL on stop or when MaxRuntimeInSeconds passes.
    pub stop_grace: Duration,
    /// Where `s3://` input channels are read from (the environment's profile and region
    /// unless set).
    pub aws: crate::backend::sdk::AwsConnection,
    /// The program that supervises each job in a process of its own (`PROGRAM supervise
    /// JOB`), so jobs outlive the window or terminal that started them (else: in this one).
    pub supervisor: Option<PathBuf>,
    /// This process is a job's own supervisor: endings it cannot store are also written to
    /// its standard output, read by the process that started it.
    pub detached: bool,
    /// Whose AWS credentials jobs that reach AWS get: their role's (by default), the
    /// connection's own (by the user's explicit choice) or none.
    pub job_credentials: JobCredentials,
    /// Jobs wait for a debugger (debugpy) on this port of 127.0.0.1 (host `algo-N` on the
    /// port plus N − 1) before their entry point runs.
    pub debug_port: Option<u16>,
}

/// The program [`LocalConfig::from_env`] names as the supervisor: set once by the
/// `sagedesk` program itself.
static SUPERVISOR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// Makes `program` (`sagedesk`) the supervisor of jobs started through configurations read
/// from the environment.
pub fn supervise_with(program: PathBuf) {
    let _ = SUPERVISOR.set(program);
}

impl LocalConfig {
    /// A configuration rooted at `home`, with `python3` and the service's grace period.
    pub fn new(home: impl Into<PathBuf>) -> Self {
        Self {
            home: home.into(),
            python: PathBuf::from("python3"),
            stop_grace: DEFAULT_STOP_GRACE,
            aws: Default::default(),
            supervisor: None,
            detached: false,
            job_credentials: JobCredentials::default(),
            debug_port: None,
        }
    }

    /// From the environment: `SAGEDESK_HOME` (else the platform data folder),
    /// `SAGEDESK_PYTHON`, `SAGEDESK_STOP_GRACE_SECONDS` and `SAGEDESK_JOB_CREDENTIALS`.
    pub fn from_env() -> Result<Self, String> {
        let home = match std::env::var_os("SAGEDESK_HOME") {
            Some(home) if !home.is_empty() => PathBuf::from(home),
            _ => directories::ProjectDirs::from("", "", "SageDesk")
                .map(|d| d.data_dir().to_path_buf())
                .ok_or("no home folder: set SAGEDESK_HOME to a folder for SageDesk's data")?,
        };
        let mut config = Self::new(home);
        config.supervisor = SUPERVISOR.get().cloned();
        if let Some(python) = std::env::var_os("SAGEDESK_PYTHON").filter(|p| !p.is_empty()) {
            config.python = PathBuf::from(python);
        }
        if let Ok(grace) = std::env::var("SAGEDESK_STOP_GRACE_SECONDS") {
            let secs: f64 = grace.trim().parse().map_err(|_| {
                format!("SAGEDESK_STOP_GRACE_SECONDS={grace:?} is not a number of seconds")
            })?;
            if !(0.0..=86_400.0).contains(&secs) {
                return Err(format!(
                    "SAGEDESK_STOP_GRACE_SECONDS={grace:?} must be between 0 and 86400"
                ));
            }
            config.stop_grace = Duration::from_secs_f64(secs);
        }
        if let Ok(port) = std::env::var("SAGEDESK_DEBUG_PORT") {
            config.debug_port = Some(
                port.trim()
                    .parse()
                    .map_err(|_| format!("SAGEDESK_DEBUG_PORT={port:?} is not a port number"))?,
            );
        }
        if let Ok(word) = std::env::var("SAGEDESK_JOB_CREDENTIALS") {
            config.job_credentials = JobCredentials::parse(&word).ok_or_else(|| {
                format!("SAGEDESK_JOB_CREDENTIALS={word:?} must be role, mine or none")
            })?;
        }
        Ok(config)
    }

    /// The SQLite database.
    pub fn database(&self) -> PathBuf {
        crate::store::path_in(&self.home)
    }

    /// The `/opt/ml` trees of a job, one folder per host.
    pub fn job_dir(&self, job: &str) -> PathBuf {
        self.home.join("jobs").join(job)
    }

    /// A file of spare space in the data folder, given up on a full disk so that jobs can
    /// still record how they ended.
    pub fn reserve(&self) -> PathBuf {
        self.home.join("reserve")
    }

    /// Creates the reserve if it is missing (and there is room).
    pub(super) fn keep_reserve(&self) {
        use std::os::unix::fs::OpenOptionsExt;
        let path = self.reserve();
        if path.exists() {
            return;
        }
        let made = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut file| {
                // Real blocks, not a sparse file: freeing them must give space back.
                std::io::Write::write_all(&mut file, &vec![0u8; RESERVE_BYTES as usize])?;
                file.sync_all()
            });
        if made.is_err() {
            let _ = std::fs::remove_file(&path);
        }
    }

    /// Frees the reserve.
    pub fn release_reserve(&self) {
        let _ = std::fs::remove_file(self.reserve());
    }

    /// Where artifacts go when the request names no `S3OutputPath`.
    pub fn default_output(&self) -> PathBuf {
        self.home.join("output")
    }
}
