//! The worker never waits on itself, timed: a page of the selected job's log (50 rows of a
//! 100,000-line log) asked for and answered while a 200 MiB artifact downloads from an AWS
//! source (a fake S3 on 127.0.0.1 that serves it at about 40 MiB/s; the download starts
//! again whenever it ends), against the same page with nothing else under way. A frame at
//! 60 Hz lasts 16.7 ms.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/fake_aws.rs"]
#[allow(dead_code)]
mod fake_aws;

use sagedesk::backend::local::{LocalBackend, LocalConfig};
use sagedesk::job::{AwsConnection, Connection, JobRef, Stream};
use sagedesk::request::request_from_value;
use sagedesk::store::{Ending, Record, Store};
use sagedesk::worker::{
    Event, Folders, FollowCommand, LogAsk, LogNews, SourceCommand, TaskCommand, Worker,
};

const LINES: u64 = 100_000;

/// A finished job named `paged` with `LINES` log lines in the store at `home`.
fn stored_job(home: &Path) {
    let store = Store::open(&LocalConfig::new(home).database()).unwrap();
    let request = request_from_value(
        serde_json::json!({"TrainingJobName": "paged",
            "OutputDataConfig": {"S3OutputPath": format!("file://{}", home.join("out").display())}}),
        "bench",
    )
    .unwrap()
    .request;
    store
        .insert_job(&request, "arn:bench", 0, sagedesk::process::current())
        .unwrap();
    let records: Vec<Record> = (0..LINES)
        .map(|i| Record {
            ts: 1_790_000_000_000 + i as i64,
            host: "algo-1".into(),
            stream: Stream::Stdout,
            line: format!("[step {i:>8}] loss={:.6} acc=0.91", 1.0 / (i + 1) as f64),
            open: false,
            points: Vec::new(),
        })
        .collect();
    for batch in records.chunks(10_000) {
        store.append("paged", &[], batch).unwrap();
    }
    store
        .finish("paged", &Ending::completed(), 1_790_000_001_000)
        .unwrap();
}

/// Events until `wanted` takes one; panics after a minute.
fn until(worker: &Worker, mut wanted: impl FnMut(&Event) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if worker.drain().any(|e| wanted(&e)) {
            return;
        }
        assert!(Instant::now() < deadline, "the worker did not answer");
        std::thread::yield_now();
    }
}

/// Asks for a page of rows starting at `row` and waits for it; what the download did in
/// the meantime (progress seen, ended) is noted.
fn page(worker: &Worker, job: &JobRef, row: u64, downloading: &mut Downloading) -> Duration {
    let start = Instant::now();
    worker.send(FollowCommand::Log {
        job: job.clone(),
        ask: LogAsk::Rows {
            host: None,
            rows: row..row + 50,
        },
    });
    until(worker, |e| {
        downloading.see(e);
        matches!(e, Event::Log { news: LogNews::Rows { start, .. }, .. } if *start == row)
    });
    start.elapsed()
}

/// The download's state as the events tell it.
#[derive(Default)]
struct Downloading {
    progress: u64,
    ended: bool,
}

impl Downloading {
    fn see(&mut self, event: &Event) {
        match event {
            Event::Progress { .. } => self.progress += 1,
            Event::Saved { .. } | Event::Error { .. } => self.ended = true,
            _ => {}
        }
    }
}

fn bench(c: &mut Criterion) {
    // SAFETY: set before any thread of this process reads the environment.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        std::env::set_var("AWS_CONFIG_FILE", "/dev/null");
        std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
    }
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    stored_job(&home);
    let backend = LocalBackend::open(LocalConfig::new(&home)).unwrap();
    let worker = Worker::spawn(Arc::new(backend), Some(Folders::at(&home))).unwrap();
    let aws = Connection::Aws(AwsConnection {
        profile: None,
        region: Some("us-east-1".into()),
        endpoint_url: Some(fake_aws::serve(false)),
    });
    worker.send(SourceCommand::Connect(aws.clone()));
    until(
        &worker,
        |e| matches!(e, Event::Connected { connection, .. } if connection.is_aws()),
    );
    let job = JobRef::local("paged");
    worker.send(FollowCommand::Select(Some(job.clone())));
    let mut row = 0;
    let mut next_row = || {
        row = (row + 7_919) % (LINES - 50);
        row
    };
    let mut idle = Downloading::default();
    c.bench_function("log page, nothing else under way", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| page(&worker, &job, next_row(), &mut idle))
                .sum()
        })
    });
    let dest = dir.path().join("big.bin");
    let download = || TaskCommand::Download {
        source: aws.clone(),
        uri: "s3://big-bucket/big.bin".into(),
        dest: dest.clone(),
    };
    let mut during = Downloading::default();
    worker.send(download());
    // Measured only once the download is under way.
    until(&worker, |e| matches!(e, Event::Progress { .. }));
    let mut restarts = 0;
    c.bench_function("log page during a 200 MiB download", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if during.ended {
                    during.ended = false;
                    restarts += 1;
                    worker.send(download());
                }
                total += page(&worker, &job, next_row(), &mut during);
            }
            total
        })
    });
    eprintln!(
        "download: {} progress events while paging, started {} times",
        during.progress,
        restarts + 1
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
