//! Local job overhead: a no-op entry point run through the local backend (create ->
//! Completed, with /opt/ml tree, config files, SQLite records and model.tar.gz) against
//! the same script started directly.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sagedesk::backend::Backend;
use sagedesk::backend::local::{LocalBackend, LocalConfig};
use sagedesk::request::request_from_value;
use serde_json::json;

const SCRIPT: &str =
    "import os\nopen(os.path.join(os.environ.get('SM_MODEL_DIR', '.'), 'm.txt'), 'w').write('1')\n";

fn local_start(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::write(code.join("train.py"), SCRIPT).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // The interpreter itself, not a launcher shim, so both sides start the same program.
    let python = String::from_utf8(
        Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    let mut config = LocalConfig::new(dir.path().join("home"));
    config.python = python.clone().into();
    let backend = runtime
        .block_on(async { LocalBackend::open(config) })
        .unwrap();

    let mut group = c.benchmark_group("local_start");
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("direct_python", |b| {
        b.iter(|| {
            let status = Command::new(&python)
                .arg(code.join("train.py"))
                .current_dir(&code)
                .status()
                .unwrap();
            assert!(status.success());
        })
    });
    let mut n = 0u64;
    group.bench_function("local_backend_job", |b| {
        b.iter(|| {
            n += 1;
            let name = format!("bench-{n}");
            runtime.block_on(run_job(&backend, &code, dir.path(), &name));
        })
    });
    group.finish();
}

async fn run_job(backend: &LocalBackend, code: &Path, root: &Path, name: &str) {
    let request = request_from_value(
        json!({
            "TrainingJobName": name,
            "AlgorithmSpecification": {"TrainingInputMode": "File"},
            "HyperParameters": {
                "sagemaker_program": "train.py",
                "sagemaker_submit_directory": format!("file://{}", code.display())
            },
            "OutputDataConfig": {"S3OutputPath": format!("file://{}", root.join("out").display())}
        }),
        "bench",
    )
    .unwrap()
    .request;
    backend.create_training_job(request).await.unwrap();
    loop {
        let detail = backend.describe_training_job(name).await.unwrap();
        if detail.summary.status.is_terminal() {
            assert_eq!(detail.summary.status, sagedesk::job::Status::Completed);
            return;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

criterion_group!(benches, local_start);
criterion_main!(benches);
