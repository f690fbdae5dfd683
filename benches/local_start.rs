//! Local job overhead: a no-op entry point run through the local backend (create ->
//! Completed, with /opt/ml tree, config files, SQLite records and model.tar.gz) against
//! the same script started directly; and the same job with a `requirements.txt`, on its
//! first run (the environment made and the package installed) and after (reused).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use sagedesk::backend::local::{LocalBackend, LocalConfig};
use sagedesk::request::request_from_value;
use serde_json::json;

const SCRIPT: &str =
    "import os\nopen(os.path.join(os.environ.get('SM_MODEL_DIR', '.'), 'm.txt'), 'w').write('1')\n";

fn local_start(c: &mut Criterion) {
    let common::Scratch {
        dir,
        code,
        runtime,
        python,
        config,
    } = common::scratch("train.py", SCRIPT);
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
    // The same script with a requirements.txt naming a wheel from a local folder.
    let with_requirements = dir.path().join("code-req");
    std::fs::create_dir_all(&with_requirements).unwrap();
    std::fs::write(with_requirements.join("train.py"), SCRIPT).unwrap();
    std::fs::write(
        with_requirements.join("requirements.txt"),
        "benchpkg==1.0\n",
    )
    .unwrap();
    let wheels = dir.path().join("wheels");
    wheel(&wheels);
    let mut index = IndexEnv::new(&wheels);
    runtime.block_on(run_job(&backend, &with_requirements, dir.path(), "warm-up"));
    group.bench_function("local_backend_job_cached_requirements", |b| {
        b.iter(|| {
            n += 1;
            let name = format!("bench-{n}");
            runtime.block_on(run_job(&backend, &with_requirements, dir.path(), &name));
        })
    });
    group.finish();

    let mut group = c.benchmark_group("local_start_first_run");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("requirements_installed", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                // A new data folder: no environment to reuse.
                let home = tempfile::tempdir().unwrap();
                let mut config = LocalConfig::new(home.path());
                config.python = python.clone().into();
                let fresh = LocalBackend::open(config).unwrap();
                let started = std::time::Instant::now();
                let name = format!("first-{i}");
                runtime.block_on(run_job(&fresh, &with_requirements, home.path(), &name));
                total += started.elapsed();
            }
            total
        })
    });
    group.finish();
    index.restore();
}

/// Writes `benchpkg-1.0-py3-none-any.whl` (one module) into `dir`.
fn wheel(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let script = r#"import zipfile, sys
with zipfile.ZipFile(sys.argv[1] + "/benchpkg-1.0-py3-none-any.whl", "w") as z:
    z.writestr("benchpkg/__init__.py", "")
    z.writestr("benchpkg-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: benchpkg\nVersion: 1.0\n")
    z.writestr("benchpkg-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
    z.writestr("benchpkg-1.0.dist-info/RECORD", "")
"#;
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

/// pip pointed at the wheel folder only, for this process and the jobs it starts.
struct IndexEnv;

impl IndexEnv {
    fn new(wheels: &Path) -> Self {
        // SAFETY: set before any job starts; the benchmark's threads only read it later.
        unsafe {
            std::env::set_var("PIP_FIND_LINKS", wheels);
            std::env::set_var("PIP_NO_INDEX", "1");
        }
        IndexEnv
    }

    fn restore(&mut self) {
        // SAFETY: every job has ended.
        unsafe {
            std::env::remove_var("PIP_FIND_LINKS");
            std::env::remove_var("PIP_NO_INDEX");
        }
    }
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
    common::run_to_completion(backend, request, Duration::from_millis(2)).await;
}

criterion_group!(benches, local_start);
criterion_main!(benches);
