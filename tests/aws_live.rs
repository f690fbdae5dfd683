//! AWS jobs watched live in the window, against moto through the relay: jobs that move
//! through their stages, metrics read from their logs, every job reachable by search and
//! older pages, the list kept between runs, the selection restored, and their cost.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::Sandbox;
use common::moto::{Moto, connection, log_to_moto, seed};
use common::relay::Relay;
use common::window::{
    has_label, has_text, replace_text, type_into_focused, wait_for, wait_for_detail,
};
use egui_kittest::kittest::Queryable;
use sagedesk::backend::Connection;

#[test]
fn an_aws_jobs_log_lines_chart_its_metrics_from_the_log() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&moto.endpoint(), &["logged-job"]));
    // moto gives every job one definition, test:dcg, matching these lines.
    let point = |v: f64| format!("#quality_metric: host=algo-1, test dcg <score>={v}");
    log_to_moto(
        &moto,
        "logged-job",
        &["epoch 1", &point(0.5), "epoch 2", &point(0.75)],
    );
    let sb = Sandbox::new();
    let mut h = common::window::harness_with_aws(&sb, moto.connection());
    wait_for(&mut h, "the job", |h| has_text(h, "logged-job"));
    h.get_by_label("logged-job").click();
    wait_for(&mut h, "the detail", |h| has_text(h, "Metrics ("));
    h.get_by_label_contains("Metrics (").click();
    wait_for(&mut h, "the chart from the log", |h| {
        has_text(h, "test:dcg") && has_text(h, "from the log") && has_text(h, "2 points")
    });
    assert!(has_text(&h, "last 0.75000"));
    // A line logged later is read from the last token and charted.
    log_to_moto(&moto, "logged-job", &[&point(0.875)]);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    wait_for(&mut h, "the new point", |h| has_text(h, "3 points"));
    assert!(has_text(&h, "last 0.87500"));
    // The lines read are paged and searched like a local job's.
    h.get_by_label_contains("Logs (").click();
    wait_for(&mut h, "the log", |h| {
        has_text(h, "5 lines") && has_text(h, "epoch 2")
    });
    h.get_by_label("Find").focus();
    h.step();
    type_into_focused(&h, "the Find field", "EPOCH");
    wait_for(&mut h, "the count of matching lines", |h| {
        has_text(h, "1 of 2 lines")
    });
}

#[test]
fn every_aws_job_is_reachable_by_search_and_by_loading_older_pages() {
    let moto = Moto::start();
    moto.boto3(
        "import boto3\n\
         sm = boto3.client('sagemaker')\n\
         for n in range(350):\n    sm.create_training_job(TrainingJobName=f'bulk-{n:03}', \
         RoleArn='arn:aws:iam::123456789012:role/R', \
         AlgorithmSpecification={'TrainingImage': 'i', 'TrainingInputMode': 'File'}, \
         OutputDataConfig={'S3OutputPath': 's3://b/o'}, \
         ResourceConfig={'InstanceType': 'ml.m5.large', 'InstanceCount': 1, 'VolumeSizeInGB': 1}, \
         StoppingCondition={'MaxRuntimeInSeconds': 60})\n",
    );
    let sb = Sandbox::new();
    let mut h = common::window::harness_with_aws(&sb, moto.connection());
    // The newest page first.
    wait_for(&mut h, "the newest page", |h| {
        has_text(h, "100 of 100 jobs")
    });
    assert!(!has_text(&h, "bulk-012"));
    // The search goes to the service (NameContains): an old job is found.
    replace_text(&mut h, "Search", "bulk-012");
    wait_for(&mut h, "the old job found", |h| {
        has_text(h, "bulk-012") && has_text(h, "1 of 1 jobs")
    });
    replace_text(&mut h, "Search", "");
    wait_for(&mut h, "the newest page again", |h| {
        has_text(h, "100 of 100 jobs")
    });
    // Older pages, a hundred at a time, down to the oldest job.
    for shown in ["200 of 200 jobs", "300 of 300 jobs", "350 of 350 jobs"] {
        h.get_by_label_contains("Older jobs from default · us-east-1")
            .click();
        wait_for(&mut h, shown, |h| has_text(h, shown));
    }
    assert!(!has_text(&h, "Older jobs from"), "nothing older is left");
}

#[test]
fn an_aws_list_paints_from_the_last_run_and_is_marked_when_its_connection_fails() {
    let mut moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&moto.endpoint(), &["kept-a", "kept-b"]));
    let sb = Sandbox::new();
    {
        let mut h = common::window::harness_with_aws(&sb, moto.connection());
        wait_for(&mut h, "the jobs", |h| {
            has_text(h, "kept-a") && has_text(h, "kept-b")
        });
    }
    // The next start cannot reach the service: the kept list paints, marked.
    moto.kill();
    let mut h = common::window::harness_with_aws(&sb, moto.connection());
    wait_for(&mut h, "the kept rows", |h| {
        has_text(h, "kept-a") && has_text(h, "kept-b")
    });
    wait_for(&mut h, "the rows marked", |h| {
        has_text(h, "source unreachable")
    });
    // The Connections window offers to retry or forget it.
    h.get_by_label_contains("🖧 local + default · us-east-1")
        .click();
    wait_for(&mut h, "the failed connection", |h| {
        has_text(h, "not connected")
    });
    h.get_by_label("Remove").click();
    wait_for(&mut h, "the rows gone", |h| !has_text(h, "kept-a"));
}

#[test]
fn an_aws_job_is_watched_through_its_stages_with_live_metrics_a_toast_and_stop() {
    let moto = Moto::start();
    let relay = Relay::start(moto.port);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&relay.endpoint(), &["live-job", "long-job"]));
    relay.run_job("live-job", Duration::from_secs(4));
    relay.run_job("long-job", Duration::from_secs(600));
    let sb = Sandbox::new();
    let state = sagedesk::ui::state::State {
        list_interval_seconds: 1,
        log_interval_seconds: 1,
        ..Default::default()
    };
    let mut h = common::window::harness_with_aws_state(&sb, connection(&relay.endpoint()), state);
    wait_for(&mut h, "the jobs", |h| {
        has_text(h, "live-job") && has_text(h, "long-job")
    });
    h.get_by_label("live-job").click();
    // The list and the detail follow the stages.
    for stage in ["InProgress · Downloading", "InProgress · Training"] {
        wait_for(&mut h, stage, |h| has_text(h, stage));
    }
    // A metric logged while it trains is charted from the log, before CloudWatch has it.
    h.get_by_label_contains("Metrics (").click();
    log_to_moto(
        &moto,
        "live-job",
        &["#quality_metric: host=algo-1, test dcg <score>=0.25"],
    );
    wait_for(&mut h, "the point from the log", |h| {
        has_text(h, "from the log") && has_text(h, "last 0.25000")
    });
    log_to_moto(
        &moto,
        "live-job",
        &["#quality_metric: host=algo-1, test dcg <score>=0.5"],
    );
    wait_for(&mut h, "the second point", |h| has_text(h, "2 points"));
    h.get_by_label_contains("Logs (").click();
    wait_for(&mut h, "the lines", |h| has_text(h, "test dcg <score>=0.5"));
    wait_for(&mut h, "the upload stage", |h| {
        has_text(h, "InProgress · Uploading")
    });
    wait_for(&mut h, "the end", |h| has_label(h, "Completed"));
    wait_for(&mut h, "the toast", |h| {
        has_text(h, "live-job (default · us-east-1): Completed")
    });

    // Stop works on a job that runs.
    h.get_by_label("long-job").click();
    wait_for(&mut h, "its detail", |h| has_text(h, "⏹ Stop"));
    h.get_by_label_contains("⏹ Stop").click();
    wait_for(&mut h, "the confirmation", |h| has_text(h, "Stop long-job"));
    h.get_by_label("Stop job").click();
    wait_for(&mut h, "stopped", |h| has_label(h, "Stopped"));
    assert!(
        relay.count("StopTrainingJob") > 0,
        "StopTrainingJob was called"
    );
}

#[test]
fn an_aws_selection_and_tab_come_back_after_a_restart() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&moto.endpoint(), &["chosen-job"]));
    log_to_moto(&moto, "chosen-job", &["a line of chosen-job"]);
    let sb = Sandbox::new();
    let source = Connection::Aws(moto.connection());
    // What the window saved when it closed: the job selected on AWS, its Logs tab.
    let state = sagedesk::ui::state::State {
        selection: Some(sagedesk::backend::JobRef::new(source.clone(), "chosen-job")),
        tab: sagedesk::ui::state::Tab::Logs,
        sources: vec![sagedesk::ui::state::SavedSource {
            connection: source,
            polling: true,
        }],
        ..Default::default()
    };
    let mut h = common::window::harness_with_aws_state(&sb, moto.connection(), state);
    wait_for(&mut h, "the job's logs", |h| {
        has_text(h, "a line of chosen-job") && has_text(h, "on default · us-east-1")
    });
}

#[test]
fn an_aws_jobs_cost_is_estimated_from_the_price_list_or_says_why_not() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    // With the Price List: one hour billed on one ml.m5.large at $0.25 an hour. Without
    // access to it, the estimate says why instead of guessing.
    let priced = Relay::start(moto.port);
    priced.price("ml.m5.large", 0.25);
    let denied = Relay::start(moto.port);
    runtime.block_on(seed(&priced.endpoint(), &["priced-job"]));
    for (relay, shown) in [
        (
            &priced,
            "$0.25 (1 × ml.m5.large × 1.00 h at $0.25/h on demand in us-east-1",
        ),
        (
            &denied,
            "not known: the Price List answered AccessDeniedException",
        ),
    ] {
        relay.run_job("priced-job", Duration::from_millis(200));
        let sb = Sandbox::new();
        let state = sagedesk::ui::state::State {
            list_interval_seconds: 1,
            ..Default::default()
        };
        let mut h =
            common::window::harness_with_aws_state(&sb, connection(&relay.endpoint()), state);
        wait_for(&mut h, "the job", |h| has_label(h, "Completed"));
        h.get_by_label("priced-job").click();
        // The estimate is on the Overview (a completed job opens on its metrics).
        wait_for_detail(&mut h, "priced-job");
        h.get_by_label("Overview").click();
        wait_for(&mut h, shown, |h| has_text(h, shown));
        assert!(relay.count("GetProducts") > 0, "the Price List was asked");
    }
}

#[test]
fn the_list_totals_the_cost_of_the_rows_shown_and_keeps_what_it_read() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let relay = Relay::start(moto.port);
    relay.price("ml.m5.large", 0.25);
    let names = ["cost-a-1", "cost-a-2", "cost-b-1"];
    runtime.block_on(seed(&relay.endpoint(), &names));
    for name in names {
        relay.run_job(name, Duration::from_millis(100));
    }
    let sb = Sandbox::new();
    let source = Connection::Aws(connection(&relay.endpoint()));
    let state = sagedesk::ui::state::State {
        list_interval_seconds: 1,
        show_cost: true,
        ..Default::default()
    };
    {
        // Each finished job: one hour billed on one ml.m5.large at $0.25 an hour.
        let mut h = common::window::harness_with_aws_state(
            &sb,
            connection(&relay.endpoint()),
            state.clone(),
        );
        wait_for(&mut h, "the total of three jobs", |h| {
            has_text(h, "$0.75 for 3 AWS jobs")
        });
        assert!(has_text(&h, "$0.25"), "each row shows its cost");
        assert!(
            relay.count("Search") > 0,
            "billing is read a hundred jobs a call"
        );
        replace_text(&mut h, "Search", "cost-a");
        wait_for(&mut h, "the total of the rows found", |h| {
            has_text(h, "$0.50 for 2 AWS jobs")
        });
    }
    // Billing never changes once a job ends: the next start reads it from the store.
    let before = relay.count("DescribeTrainingJob");
    {
        let mut h = common::window::harness_with_aws_state(
            &sb,
            connection(&relay.endpoint()),
            state.clone(),
        );
        wait_for(&mut h, "the total from the store", |h| {
            has_text(h, "$0.75 for 3 AWS jobs")
        });
        let listed = relay.count("ListTrainingJobs");
        wait_for(&mut h, "two more list calls", |_| {
            relay.count("ListTrainingJobs") >= listed + 2
        });
        assert_eq!(
            relay.count("DescribeTrainingJob"),
            before,
            "no job is described again"
        );
    }
    let state = sagedesk::ui::state::State {
        compare: vec![
            sagedesk::backend::JobRef::new(source.clone(), "cost-a-1"),
            sagedesk::backend::JobRef::new(source, "cost-b-1"),
        ],
        comparing: true,
        ..state
    };
    let mut h = common::window::harness_with_aws_state(&sb, connection(&relay.endpoint()), state);
    wait_for(&mut h, "the Compare table's cost column", |h| {
        has_text(h, "Estimated cost (USD)") && has_text(h, "0.25")
    });
}

#[test]
fn without_search_the_cost_column_describes_the_finished_jobs() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let relay = Relay::start(moto.port);
    relay.price("ml.m5.large", 0.5);
    relay.throttle(".Search", 1000);
    runtime.block_on(seed(&relay.endpoint(), &["nosearch-1", "nosearch-2"]));
    for name in ["nosearch-1", "nosearch-2"] {
        relay.run_job(name, Duration::from_millis(100));
    }
    let sb = Sandbox::new();
    let state = sagedesk::ui::state::State {
        list_interval_seconds: 1,
        show_cost: true,
        ..Default::default()
    };
    let mut h = common::window::harness_with_aws_state(&sb, connection(&relay.endpoint()), state);
    wait_for(&mut h, "the total from describes", |h| {
        has_text(h, "$1.00 for 2 AWS jobs")
    });
    assert!(relay.throttled() > 0, "Search was refused");
}

/// The AWS side of the README's screenshots: moto behind the relay, with three jobs whose
/// logs and CloudWatch metrics draw curves. Run by hand (`cargo test --test aws_live --
/// --ignored readme_fixture --nocapture`, with `SAGEDESK_FIXTURE` naming a file): the
/// endpoint is written into that file, and the fixture serves until the file is removed.
#[test]
#[ignore = "serves the README's screenshot fixture until its file is removed"]
fn readme_fixture() {
    let Ok(marker) = std::env::var("SAGEDESK_FIXTURE") else {
        panic!("set SAGEDESK_FIXTURE to a file for the endpoint");
    };
    let moto = Moto::start();
    let relay = Relay::start(moto.port);
    moto.boto3(
        "import boto3, time, math, io, tarfile\n\
         sm = boto3.client('sagemaker'); logs = boto3.client('logs'); cw = boto3.client('cloudwatch')\n\
         s3 = boto3.client('s3'); s3.create_bucket(Bucket='ml-artifacts-123456789012')\n\
         logs.create_log_group(logGroupName='/aws/sagemaker/TrainingJobs')\n\
         for name, lr in [('resnet50-cifar10-lr3e-4', 3e-4), ('resnet50-cifar10-lr1e-3', 1e-3), ('bert-base-sst2-ft', 2e-5)]:\n\
         \x20   sm.create_training_job(TrainingJobName=name,\n\
         \x20       AlgorithmSpecification={'TrainingImage': '763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311', 'TrainingInputMode': 'File'},\n\
         \x20       RoleArn='arn:aws:iam::123456789012:role/SageMakerRole',\n\
         \x20       HyperParameters={'epochs': '60', 'lr': str(lr), 'batch-size': '128'},\n\
         \x20       Environment={'WANDB_API_KEY': 'wandb-9f8e7d6c5b4a', 'NCCL_DEBUG': 'WARN'},\n\
         \x20       OutputDataConfig={'S3OutputPath': 's3://ml-artifacts-123456789012/cifar10'},\n\
         \x20       ResourceConfig={'InstanceType': 'ml.g5.2xlarge', 'InstanceCount': 1, 'VolumeSizeInGB': 50},\n\
         \x20       StoppingCondition={'MaxRuntimeInSeconds': 86400})\n\
         \x20   model = io.BytesIO()\n\
         \x20   with tarfile.open(fileobj=model, mode='w:gz') as t:\n\
         \x20       info = tarfile.TarInfo('model.pth'); info.size = 7000; t.addfile(info, io.BytesIO(b'weights' * 1000))\n\
         \x20   s3.put_object(Bucket='ml-artifacts-123456789012', Key=f'cifar10/{name}/output/model.tar.gz', Body=model.getvalue())\n\
         \x20   stream = name + '/algo-1-1732300000'\n\
         \x20   logs.create_log_stream(logGroupName='/aws/sagemaker/TrainingJobs', logStreamName=stream)\n\
         \x20   start = int(time.time()) - 3600\n\
         \x20   events, data = [], []\n\
         \x20   for step in range(60):\n\
         \x20       t = start + step * 60\n\
         \x20       dcg = 0.95 - 0.6 * math.exp(-step / (12 if lr > 1e-4 else 25)) + 0.01 * math.sin(step)\n\
         \x20       events.append({'timestamp': t * 1000, 'message': f'[epoch {step:3d}] train_loss={1.2 * math.exp(-step / 15):.4f}'})\n\
         \x20       events.append({'timestamp': t * 1000 + 1, 'message': f'#quality_metric: host=algo-1, test dcg <score>={dcg:.4f}'})\n\
         \x20       for metric, value in [('CPUUtilization', 60 + 30 * math.sin(step / 5)), ('GPUUtilization', 85 + 10 * math.cos(step / 7))]:\n\
         \x20           data.append({'MetricName': metric, 'Dimensions': [{'Name': 'Host', 'Value': name + '/algo-1'}], 'Timestamp': t, 'Value': value})\n\
         \x20   logs.put_log_events(logGroupName='/aws/sagemaker/TrainingJobs', logStreamName=stream, logEvents=events)\n\
         \x20   for i in range(0, len(data), 20):\n\
         \x20       cw.put_metric_data(Namespace='/aws/sagemaker/TrainingJobs', MetricData=data[i:i + 20])\n",
    );
    std::fs::write(&marker, relay.endpoint()).unwrap();
    eprintln!("serving {} until {marker} is removed", relay.endpoint());
    while Path::new(&marker).exists() {
        std::thread::sleep(Duration::from_millis(500));
    }
    assert!(
        relay.count("ListTrainingJobs") > 0,
        "a window listed the jobs through the relay"
    );
}
