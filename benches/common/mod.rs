//! What the benchmarks that run local jobs share.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sagedesk::backend::Backend;
use sagedesk::backend::local::{LocalBackend, LocalConfig};
use sagedesk::request::TrainingJobRequest;

/// A benchmark's scratch: a temporary folder whose `code` folder holds one script, a
/// two-thread runtime, the interpreter, and local mode's configuration over `home` in the
/// folder with that interpreter.
pub struct Scratch {
    /// The temporary folder (removed when dropped).
    pub dir: tempfile::TempDir,
    /// Its `code` folder.
    pub code: PathBuf,
    /// The runtime the jobs run on.
    pub runtime: tokio::runtime::Runtime,
    /// The interpreter (see [`python`]).
    pub python: String,
    /// Local mode's configuration, to adjust before opening the backend.
    pub config: LocalConfig,
}

/// A scratch whose code folder holds `script` as `file`.
pub fn scratch(file: &str, script: &str) -> Scratch {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::write(code.join(file), script).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let python = python();
    let mut config = LocalConfig::new(dir.path().join("home"));
    config.python = python.clone().into();
    Scratch {
        dir,
        code,
        runtime,
        python,
        config,
    }
}

/// The interpreter itself, not a launcher shim, so a job and a direct run start the same
/// program.
pub fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Creates the job and waits for it to complete, describing it every `poll`.
pub async fn run_to_completion(
    backend: &LocalBackend,
    request: TrainingJobRequest,
    poll: Duration,
) {
    let name = request.name().to_string();
    backend.create_training_job(request).await.unwrap();
    loop {
        let detail = backend.describe_training_job(&name).await.unwrap();
        if detail.summary.status.is_terminal() {
            assert_eq!(detail.summary.status, sagedesk::job::Status::Completed);
            return;
        }
        tokio::time::sleep(poll).await;
    }
}
