//! One full frame of the window (logic, layout, tessellation; no GPU): 10,000 jobs in the
//! list and an open chart of 1,000,000 points; 10,000 local and 10,000 AWS jobs filtered
//! by source; those AWS jobs with their cost column, sorted by cost; and the Compare view
//! of 20 jobs × 5 metrics × 100,000 points.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{Duration as ChronoDuration, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use sagedesk::backend::local::{LocalBackend, LocalConfig};
use sagedesk::backend::sdk::AwsConnection;
use sagedesk::backend::{Backend, Connection, JobRef};
use sagedesk::job::{
    Billing, InstancePrice, JobDetail, JobSummary, MetricPoint, MetricSeries, SecondaryStatus,
    Status,
};
use sagedesk::process;
use sagedesk::request::request_from_value;
use sagedesk::store::Store;
use sagedesk::ui::state::{SortColumn, State, Tab};
use sagedesk::ui::{AppOptions, SageDeskApp};
use sagedesk::worker::{Event, Folders, Worker};
use serde_json::json;

const JOBS: usize = 10_000;
const POINTS: usize = 1_000_000;
const COMPARED: usize = 20;
const COMPARED_METRICS: usize = 5;
const COMPARED_POINTS: usize = 100_000;

fn raw_input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 800.0),
        )),
        ..Default::default()
    }
}

fn frame(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let config = LocalConfig::new(dir.path().join("home"));
    // The selected job exists in the store, so the worker describes it like any other.
    let request = request_from_value(
        json!({"TrainingJobName": "job-00000", "AlgorithmSpecification": {"MetricDefinitions": [
            {"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]}}),
        "bench",
    )
    .unwrap()
    .request;
    Store::open(&config.database())
        .unwrap()
        .insert_job(&request, "arn:bench", 0, process::current())
        .unwrap();
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::open(config.clone()).unwrap());

    let ctx = egui::Context::default();
    let state = State {
        selection: Some(JobRef::local("job-00000")),
        tab: Tab::Metrics,
        ..State::default()
    };
    let options = AppOptions::default();
    let worker = Worker::spawn(backend, Some(Folders::at(&config.home))).unwrap();
    // The worker loads the store's own list on its thread: let it arrive first, so that it
    // does not replace the synthetic list below.
    let mut early = Vec::new();
    while !early.iter().any(|e| matches!(e, Event::Jobs { .. })) {
        early.extend(worker.drain());
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut app = SageDeskApp::with_state(&ctx, worker, options, state);
    for event in early {
        app.apply(event);
    }

    let start = Utc.timestamp_opt(1_790_000_000, 0).unwrap();
    app.apply(Event::Jobs {
        source: Connection::Local,
        jobs: jobs("job", start),
    });
    let points: Vec<MetricPoint> = (0..POINTS)
        .map(|i| MetricPoint {
            timestamp: start + ChronoDuration::milliseconds(i as i64 * 10),
            value: 1.0 / (1.0 + i as f64 / 1000.0) + ((i * 7919) % 100) as f64 * 1e-4,
        })
        .collect();
    app.apply(Event::Metrics {
        job: JobRef::local("job-00000"),
        series: vec![MetricSeries {
            name: "train:loss".into(),
            points,
        }],
    });

    let run = |app: &mut SageDeskApp| {
        let mut output = ctx.run_ui(raw_input(), |ui| app.show(ui));
        // There is no GPU to upload font textures to.
        output.textures_delta.clear();
        ctx.tessellate(output.shapes, output.pixels_per_point)
    };
    // Let the worker's first answers arrive and fonts settle.
    for _ in 0..20 {
        run(&mut app);
        std::thread::sleep(std::time::Duration::from_millis(10));
    }

    let mut group = c.benchmark_group("frame");
    group.bench_function("10k_jobs_1m_point_chart", |b| {
        b.iter(|| run(&mut app).len())
    });
    let mut i = POINTS as i64;
    group.bench_function("10k_jobs_1m_point_chart_new_point_each_frame", |b| {
        b.iter(|| {
            i += 1;
            app.apply(Event::Metrics {
                job: JobRef::local("job-00000"),
                series: vec![MetricSeries {
                    name: "train:loss".into(),
                    points: vec![MetricPoint {
                        timestamp: start + ChronoDuration::milliseconds(i * 10),
                        value: 0.5,
                    }],
                }],
            });
            run(&mut app).len()
        })
    });
    group.finish();

    // Another source with as many jobs, the list filtered to it, no job open.
    let aws = Connection::Aws(AwsConnection {
        profile: Some("bench".into()),
        region: Some("us-east-1".into()),
        endpoint_url: None,
    });
    app.apply(Event::Connected {
        connection: aws.clone(),
        label: "aws bench · 000000000000 · us-east-1".into(),
    });
    app.apply(Event::Jobs {
        source: aws.clone(),
        jobs: jobs("aws-job", start),
    });
    app.state_mut().selection = None;
    app.state_mut().source_filter = Some(aws.clone());
    for _ in 0..5 {
        run(&mut app);
    }
    let mut group = c.benchmark_group("frame");
    group.bench_function("10k_local_10k_aws_jobs_filtered_by_source", |b| {
        b.iter(|| run(&mut app).len())
    });
    group.finish();

    // The cost column on, sorted by cost: every AWS job billed and priced, and the rows
    // (with each job's estimate and the total) recomputed every frame as a list poll that
    // changed them would.
    app.apply(Event::Billing {
        source: aws.clone(),
        billing: (0..JOBS)
            .map(|i| {
                let billing = Billing {
                    instances: vec![(Some("ml.m5.large".into()), 1 + (i % 4) as i64)],
                    billable_time_seconds: Some(60 + i as i64),
                    training_time_seconds: Some(120 + i as i64),
                    spot: i % 2 == 0,
                };
                (format!("aws-job-{i:05}"), billing)
            })
            .collect(),
    });
    // A price that changes each time: every frame has rows to estimate and sort again.
    let mut cents = 0u32;
    let mut price = || {
        cents += 1;
        Event::Price {
            source: aws.clone(),
            instance_type: "ml.m5.large".into(),
            price: Ok(InstancePrice {
                instance_type: "ml.m5.large".into(),
                region: "us-east-1".into(),
                usd_per_hour: 0.115 + f64::from(cents % 2) / 1000.0,
                date: "2026-11-23".into(),
            }),
        }
    };
    app.apply(price());
    app.state_mut().show_cost = true;
    app.state_mut().sort = SortColumn::Cost;
    for _ in 0..5 {
        run(&mut app);
    }
    let mut group = c.benchmark_group("frame");
    group.bench_function("10k_aws_jobs_by_cost_rows_recomputed_each_frame", |b| {
        b.iter(|| {
            app.apply(price());
            run(&mut app).len()
        })
    });
    group.finish();
    app.state_mut().show_cost = false;
    app.state_mut().sort = SortColumn::Created;

    // The Compare view: 20 jobs of that source, each with 5 metrics of 100,000 points.
    app.state_mut().source_filter = None;
    let compared: Vec<JobRef> = (0..COMPARED)
        .map(|i| JobRef::new(aws.clone(), format!("aws-job-{i:05}")))
        .collect();
    app.compare(compared.clone());
    for (j, job) in compared.iter().enumerate() {
        let mut detail = JobDetail::from_request(
            request_from_value(
                json!({"TrainingJobName": job.name, "HyperParameters": {"lr": format!("0.{j}"), "epochs": "10"}}),
                "bench",
            )
            .unwrap()
            .request,
            start,
        );
        detail.summary.status = Status::Completed;
        app.apply(Event::Compared {
            job: job.clone(),
            detail: Box::new(detail),
        });
        let series = (0..COMPARED_METRICS)
            .map(|m| MetricSeries {
                name: format!("metric-{m}"),
                points: (0..COMPARED_POINTS)
                    .map(|i| MetricPoint {
                        timestamp: start + ChronoDuration::milliseconds(i as i64 * 100),
                        value: (m + 1) as f64 / (1.0 + i as f64 / 1000.0)
                            + ((i * 7919 + j) % 100) as f64 * 1e-4,
                    })
                    .collect(),
            })
            .collect();
        app.apply(Event::ComparedMetrics {
            job: job.clone(),
            series,
        });
    }
    for _ in 0..5 {
        run(&mut app);
    }
    let mut group = c.benchmark_group("frame");
    group.bench_function("compare_20_jobs_5_metrics_100k_points", |b| {
        b.iter(|| run(&mut app).len())
    });
    group.finish();
}

/// 10,000 list rows named `<prefix>-NNNNN`, a minute apart, in every status.
fn jobs(prefix: &str, start: chrono::DateTime<Utc>) -> Vec<JobSummary> {
    (0..JOBS)
        .map(|i| {
            let status = Status::ALL[i % 5];
            let created = start + ChronoDuration::seconds(i as i64 * 60);
            JobSummary {
                name: format!("{prefix}-{i:05}"),
                arn: format!("arn:aws:sagemaker:local:000000000000:training-job/{prefix}-{i:05}"),
                status,
                secondary_status: Some(SecondaryStatus::Training),
                creation_time: created,
                end_time: status
                    .is_terminal()
                    .then(|| created + ChronoDuration::seconds(300)),
                last_modified: created,
                warm_pool: None,
            }
        })
        .collect()
}

criterion_group!(benches, frame);
criterion_main!(benches);
