//! Shared helpers for the integration tests: a throwaway data folder, scripts written to
//! disk, requests built as JSON, and waiting for jobs to end.
#![allow(dead_code)]

pub mod cbor;
pub mod cli;
pub mod disk;
pub mod fake_aws;
pub mod life;
pub mod moto;
pub mod relay;
pub mod sdk;
pub mod search_life;
pub mod tuning;
pub mod window;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use sagedesk::backend::Backend;
use sagedesk::backend::local::{LocalBackend, LocalConfig};
use sagedesk::job::{Cursor, JobDetail};
use sagedesk::request::{TrainingJobRequest, request_from_value};
use serde_json::{Value, json};

/// A data folder and a code folder under one temporary directory.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    pub fn config(&self) -> LocalConfig {
        let mut config = LocalConfig::new(self.home());
        config.stop_grace = Duration::from_secs(10);
        config.supervisor = Some(PathBuf::from(env!("CARGO_BIN_EXE_sagedesk")));
        config
    }

    pub fn backend(&self) -> LocalBackend {
        LocalBackend::open(self.config()).expect("open local backend")
    }

    /// Writes `text` to `code/<name>` and returns the code folder.
    pub fn script(&self, name: &str, text: &str) -> PathBuf {
        let code = self.path().join("code");
        std::fs::create_dir_all(&code).unwrap();
        std::fs::write(code.join(name), text).unwrap();
        code
    }

    /// Writes files into `data/<channel>/`.
    pub fn data(&self, channel: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.path().join("data").join(channel);
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    /// A request that runs `program` from the sandbox's code folder, with extra members merged in.
    pub fn request(&self, name: &str, program: &str, extra: Value) -> TrainingJobRequest {
        let mut value = json!({
            "TrainingJobName": name,
            "RoleArn": "arn:aws:iam::111122223333:role/Test",
            "AlgorithmSpecification": {
                "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/test:latest",
                "TrainingInputMode": "File"
            },
            "HyperParameters": {
                "sagemaker_program": program,
                "sagemaker_submit_directory": format!("file://{}", self.path().join("code").display())
            },
            "OutputDataConfig": { "S3OutputPath": format!("file://{}", self.path().join("out").display()) },
            "ResourceConfig": { "InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1 },
            "StoppingCondition": { "MaxRuntimeInSeconds": 300 }
        });
        merge(&mut value, extra);
        request_from_value(value, "test")
            .expect("valid request")
            .request
    }

    /// Where a job's artifacts land.
    pub fn artifacts(&self, job: &str) -> PathBuf {
        self.path().join("out").join(job).join("output")
    }
}

/// Deep-merges `extra` into `base` (objects merge, everything else replaces).
pub fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                match b.get_mut(&k) {
                    Some(slot) => merge(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Polls until the job has ended; panics with its last state after `limit`.
pub async fn wait_for_end(backend: &impl Backend, name: &str, limit: Duration) -> JobDetail {
    let deadline = Instant::now() + limit;
    loop {
        let detail = backend.describe_training_job(name).await.expect("describe");
        if detail.summary.status.is_terminal() {
            return detail;
        }
        assert!(
            Instant::now() < deadline,
            "job {name} did not end: {detail:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for job `name` to end and fails the test, with its reason and log, unless it
/// completed; its detail and log lines.
pub async fn completed(
    backend: &impl Backend,
    name: &str,
    limit: Duration,
) -> (JobDetail, Vec<String>) {
    let detail = wait_for_end(backend, name, limit).await;
    let log = log_text(backend, name).await;
    assert_eq!(
        detail.summary.status,
        sagedesk::job::Status::Completed,
        "{:?}\n{}",
        detail.failure_reason,
        log.join("\n")
    );
    (detail, log)
}

/// Polls until a log line containing `needle` has been stored.
pub async fn wait_for_line(backend: &impl Backend, name: &str, needle: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let page = backend
            .get_log_events(name, &Cursor::default(), 100_000)
            .await
            .expect("logs");
        if page.lines.iter().any(|l| l.text.contains(needle)) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no line {needle:?} in {name}: {page:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// All stored log text of a job.
pub async fn log_text(backend: &impl Backend, name: &str) -> Vec<String> {
    backend
        .get_log_events(name, &Cursor::default(), 1_000_000)
        .await
        .expect("logs")
        .lines
        .into_iter()
        .map(|l| l.text)
        .collect()
}

/// Unpacks a `.tar.gz` into a fresh folder and returns it.
pub fn unpack(archive: &Path, into: &Path) -> PathBuf {
    sagedesk::backend::archive::unpack_tar_gz(archive, into, u64::MAX).expect("unpack");
    into.to_path_buf()
}

pub const LIMIT: Duration = Duration::from_secs(60);

/// A completed job named `name` in the store at `home`, its output under `out`, with
/// `lines` as its log.
pub fn stored_job(home: &Path, out: &Path, name: &str, lines: impl Iterator<Item = String>) {
    let request = json!({"TrainingJobName": name,
        "OutputDataConfig": {"S3OutputPath": format!("file://{}", out.display())}});
    stored_request_job(home, request, lines);
}

/// A completed job of `request` (JSON) in the store at `home`, with `lines` as its log.
pub fn stored_request_job(home: &Path, request: Value, lines: impl Iterator<Item = String>) {
    let (store, name) = running_request_job(home, request, lines);
    store
        .finish(
            &name,
            &sagedesk::store::Ending::completed(),
            1_790_000_001_000,
        )
        .unwrap();
}

/// A job of `request` still in progress (its process is this one) in the store at `home`,
/// with `lines` as its log so far; the store, to add lines with [`log_records`], and its name.
pub fn running_request_job(
    home: &Path,
    request: Value,
    lines: impl Iterator<Item = String>,
) -> (sagedesk::store::Store, String) {
    let config = LocalConfig::new(home);
    let store = sagedesk::store::Store::open(&config.database()).unwrap();
    let request = request_from_value(request, "test").unwrap().request;
    let name = request.name().to_string();
    store
        .insert_job(&request, "arn:test", 0, sagedesk::process::current())
        .unwrap();
    for batch in log_records(lines).chunks(10_000) {
        store.append(&name, &[], batch).unwrap();
    }
    (store, name)
}

/// Log records of `lines`, from host algo-1.
pub fn log_records(lines: impl Iterator<Item = String>) -> Vec<sagedesk::store::Record> {
    lines
        .map(|line| sagedesk::store::Record {
            ts: 1_790_000_000_000,
            host: "algo-1".into(),
            stream: sagedesk::job::Stream::Stdout,
            line,
            open: false,
            points: Vec::new(),
        })
        .collect()
}

/// Every path under `dir`, in no set order (links not followed).
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

/// Writes a wheel of a pure-Python package `name` 1.0 (a module with `VALUE = "<value>"`)
/// into `dir`, as a package index folder for `--find-links`.
pub fn wheel(dir: &Path, name: &str, value: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let script = format!(
        "import zipfile, sys\n\
         p = sys.argv[1] + '/{name}-1.0-py3-none-any.whl'\n\
         with zipfile.ZipFile(p, 'w') as z:\n\
         \x20   z.writestr('{name}/__init__.py', 'VALUE = \"{value}\"\\n')\n\
         \x20   z.writestr('{name}-1.0.dist-info/METADATA', 'Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\n')\n\
         \x20   z.writestr('{name}-1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n')\n\
         \x20   z.writestr('{name}-1.0.dist-info/RECORD', '')\n"
    );
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}
