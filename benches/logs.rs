//! Logs at scale: a script printing 1,000,000 lines of about 90 bytes run directly (output
//! to /dev/null) and as a local job under its own supervisor process (every line read,
//! matched against metric definitions and stored); the bytes the store keeps per line;
//! opening a 10,000,000-line log (its size and its last screen of rows, from a store opened
//! afresh) and searching all of it.
//!
//! The job's supervisor is this build's `sagedesk`, or the binary `SAGEDESK_SUPERVISOR`
//! names: a packaged build's ingestion is measured with the same harness.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};

mod common;
use sagedesk::backend::local::LocalBackend;
use sagedesk::job::Stream;
use sagedesk::request::request_from_value;
use sagedesk::store::{Record, Store};
use serde_json::json;

/// About 90 bytes a line, with a loss the metric definition finds.
const CHATTY: &str = "import sys\nw = sys.stdout.write\nfor i in range(1_000_000):\n    \
    w(f'[step {i:>8}] epoch {i // 10000:>3} loss={1 / (i + 1):.6f} acc=0.9123 lr=3.0e-04 tok/s=41234\\n')\n";

async fn run_job(backend: &LocalBackend, code: &Path, root: &Path, name: &str) {
    let request = request_from_value(
        json!({
            "TrainingJobName": name,
            "AlgorithmSpecification": {
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "loss", "Regex": "loss=([0-9.]+)"}]
            },
            "HyperParameters": {
                "sagemaker_program": "chatty.py",
                "sagemaker_submit_directory": format!("file://{}", code.display())
            },
            "OutputDataConfig": {"S3OutputPath": format!("file://{}", root.join("out").display())}
        }),
        "bench",
    )
    .unwrap()
    .request;
    common::run_to_completion(backend, request, Duration::from_millis(5)).await;
}

fn ingestion(c: &mut Criterion) {
    let common::Scratch {
        dir,
        code,
        runtime,
        python,
        mut config,
    } = common::scratch("chatty.py", CHATTY);
    config.supervisor = Some(
        std::env::var_os("SAGEDESK_SUPERVISOR")
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_sagedesk").into())
            .into(),
    );
    let database = config.database();
    let backend = runtime
        .block_on(async { LocalBackend::open(config) })
        .unwrap();

    let mut group = c.benchmark_group("ingestion_1m_lines");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(40));
    group.bench_function("direct_to_dev_null", |b| {
        b.iter(|| {
            let status = Command::new(&python)
                .arg(code.join("chatty.py"))
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success());
        })
    });
    let mut n = 0u64;
    let before = std::fs::metadata(&database).map_or(0, |m| m.len());
    group.bench_function("local_job_stored", |b| {
        b.iter(|| {
            n += 1;
            runtime.block_on(run_job(&backend, &code, dir.path(), &format!("chatty-{n}")));
        })
    });
    group.finish();
    drop(backend);
    let conn = rusqlite::Connection::open(&database).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    let after = std::fs::metadata(&database).unwrap().len();
    println!(
        "store: {:.1} bytes per line over {n} jobs of 1,000,000 lines ({:.1} MB a job)",
        (after - before) as f64 / (n as f64 * 1e6),
        (after - before) as f64 / n as f64 / 1e6
    );
}

/// A store holding one job with `lines` lines of about 90 bytes.
fn big_log(path: &Path, lines: u64) {
    let store = Store::open(path).unwrap();
    let mut writer = store.log_writer("big").unwrap();
    let mut batch = Vec::with_capacity(8192);
    for i in 0..lines {
        batch.push(Record {
            ts: 1_790_000_000_000 + i as i64 / 10,
            host: "algo-1".into(),
            stream: if i % 1000 == 0 {
                Stream::Stderr
            } else {
                Stream::Stdout
            },
            line: format!(
                "[step {i:>8}] epoch {:>3} loss={:.6} acc=0.9123 lr=3.0e-04 tok/s={}",
                i / 10_000,
                1.0 / (i as f64 + 1.0),
                40_000 + i % 5_000
            ),
            open: false,
            points: Vec::new(),
        });
        if batch.len() == 8192 {
            store.write_log(&mut writer, "big", &[], &batch).unwrap();
            batch.clear();
        }
    }
    store.write_log(&mut writer, "big", &[], &batch).unwrap();
}

fn ten_million(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sagedesk.db");
    let lines = 10_000_000;
    big_log(&path, lines);
    let mut group = c.benchmark_group("log_10m_lines");
    group.sample_size(10);
    group.bench_function("open_size_and_last_screen", |b| {
        b.iter(|| {
            let store = Store::open(&path).unwrap();
            let size = store.log_size("big").unwrap();
            assert_eq!(size.total, lines);
            let rows = store
                .log_rows("big", None, size.total - 660..size.total)
                .unwrap();
            assert_eq!(rows.len(), 660);
        })
    });
    let store = Store::open(&path).unwrap();
    group.bench_function("jump_to_the_middle", |b| {
        b.iter(|| {
            let rows = store.log_rows("big", None, 5_000_000..5_000_660).unwrap();
            assert_eq!(rows.len(), 660);
        })
    });
    group.bench_function("search_rare_text", |b| {
        b.iter(|| {
            let hits = store
                .search_log("big", None, "STEP  7654321]", 1_000_000)
                .unwrap();
            assert_eq!(hits.total, 1);
        })
    });
    group.bench_function("search_common_text", |b| {
        b.iter(|| {
            let hits = store
                .search_log("big", None, "epoch 123", 1_000_000)
                .unwrap();
            assert_eq!(hits.total, 10_000);
        })
    });
    // A text in every line: every block may hold it, so every block is read.
    group.bench_function("search_text_in_every_line", |b| {
        b.iter(|| {
            let hits = store
                .search_log("big", None, "acc=0.9123", 1_000_000)
                .unwrap();
            assert_eq!(hits.total, lines);
        })
    });
    group.finish();
}

criterion_group!(benches, ingestion, ten_million);
criterion_main!(benches);
