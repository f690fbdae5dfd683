//! The worker, the window and the CLI on the AWS backend, against a real moto server.

mod common;

use std::process::Command as Process;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::moto::{Moto, child_env, connection};
use common::relay::Relay;
use common::window::{has_text, replace_text, wait_for};
use common::{LIMIT, Sandbox};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sagedesk::backend::aws::AwsBackend;
use sagedesk::backend::{Backend, Connection};
use sagedesk::request::{TrainingJobRequest, request_from_value};
use sagedesk::ui::SageDeskApp;
use sagedesk::worker::{Command, Event, Worker};
use serde_json::json;

fn request(name: &str) -> TrainingJobRequest {
    request_from_value(
        json!({
            "TrainingJobName": name,
            "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
            "AlgorithmSpecification": {"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:1", "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath": "s3://app-bucket/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600}
        }),
        "test",
    )
    .unwrap()
    .request
}

async fn seed(endpoint: &str, names: &[&str]) {
    let aws = AwsBackend::connect(connection(endpoint))
        .await
        .expect("connect");
    for name in names {
        aws.create_training_job(request(name))
            .await
            .expect("create");
    }
}

/// Drains events until one matches, failing after the test limit.
fn wait_event(worker: &Worker, what: &str, mut matches: impl FnMut(&Event) -> bool) -> Event {
    let deadline = Instant::now() + LIMIT;
    loop {
        for event in worker.drain() {
            if matches(&event) {
                return event;
            }
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The names of an AWS source's jobs, when the event lists them.
fn jobs_named(event: &Event) -> Vec<String> {
    match event {
        Event::Jobs {
            source: Connection::Aws(_),
            jobs,
        } => jobs.iter().map(|j| j.name.clone()).collect(),
        _ => Vec::new(),
    }
}

/// The activity of an AWS source, when the event is one.
fn aws_activity(event: &Event) -> Option<&sagedesk::worker::Activity> {
    match event {
        Event::Activity {
            source: Connection::Aws(_),
            activity,
        } => Some(activity),
        _ => None,
    }
}

#[test]
fn the_worker_survives_the_server_dying_and_recovers_when_it_returns() {
    let mut moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&moto.endpoint(), &["before-crash"]));
    let sb = Sandbox::new();
    let local: Arc<dyn Backend> = Arc::new(sb.backend());
    let worker = Worker::spawn(local, None).unwrap();

    // A connection that cannot be reached is refused, and the local one stays.
    let dead = connection(&format!("http://127.0.0.1:{}", common::moto::free_port()));
    worker.send(Command::Connect(Connection::Aws(dead)));
    let failed = wait_event(&worker, "ConnectFailed", |e| {
        matches!(e, Event::ConnectFailed { .. })
    });
    let Event::ConnectFailed { message, .. } = failed else {
        unreachable!()
    };
    assert!(message.starts_with("NetworkError"), "{message}");

    worker.send(Command::Connect(Connection::Aws(moto.connection())));
    let connected = wait_event(&worker, "Connected", |e| {
        matches!(e, Event::Connected { .. })
    });
    let Event::Connected { label, .. } = connected else {
        unreachable!()
    };
    assert!(
        label.starts_with("aws default · 123456789012 · us-east-1"),
        "{label}"
    );
    wait_event(&worker, "the moto job", |e| {
        jobs_named(e) == ["before-crash"]
    });

    moto.kill();
    let started = Instant::now();
    worker.send(Command::Refresh);
    let error = wait_event(&worker, "an error event", |e| {
        matches!(e, Event::Error { .. })
    });
    let Event::Error { context, message } = error else {
        unreachable!()
    };
    assert_eq!(context, "default · us-east-1: Listing jobs");
    assert!(message.starts_with("NetworkError"), "{message}");
    let activity = wait_event(&worker, "backing off", |e| {
        aws_activity(e).is_some_and(|a| a.backing_off)
    });
    let activity = aws_activity(&activity).unwrap().clone();
    assert!(
        activity.errors >= 1 && activity.last_error.is_some(),
        "{activity:?}"
    );
    assert!(activity.next_poll > Duration::from_secs(10), "{activity:?}");
    // The worker still answers commands while the service is down, and the local source
    // keeps updating: a local job runs to its end in the list.
    worker.send(Command::Select(None));
    worker.send(Command::SetVisible(true));
    sb.script("quick.py", "print('local while AWS is down')\n");
    let local_job = sb.request("local-while-aws-down", "quick.py", json!({}));
    worker.send(Command::Submit {
        source: Connection::Local,
        request: Box::new(local_job),
        origin: None,
    });
    wait_event(&worker, "the local job completed in the list", |e| {
        matches!(e, Event::Jobs { source: Connection::Local, jobs }
            if jobs.iter().any(|j| j.name == "local-while-aws-down"
                && j.status == sagedesk::job::Status::Completed))
    });
    assert!(started.elapsed() < LIMIT);

    // moto forgets everything on restart: the new server holds only the new job.
    moto.restart();
    runtime.block_on(seed(&moto.endpoint(), &["after-restart"]));
    worker.send(Command::Refresh);
    wait_event(&worker, "the job of the restarted server", |e| {
        jobs_named(e) == ["after-restart"]
    });
    let recovered = wait_event(&worker, "recovery", |e| {
        aws_activity(e).is_some_and(|a| !a.backing_off)
    });
    let recovered = aws_activity(&recovered).unwrap();
    assert!(recovered.calls > activity.calls, "{recovered:?}");

    // Removing the connection drops its source; nothing local is touched.
    worker.send(Command::Disconnect(Connection::Aws(moto.connection())));
    wait_event(&worker, "the source removed", |e| {
        matches!(e, Event::Disconnected(Connection::Aws(_)))
    });
    let jobs = sb.backend();
    let listed = runtime
        .block_on(jobs.list_training_jobs(&Default::default()))
        .unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
}

#[test]
fn throttled_lists_back_off() {
    let moto = Moto::start();
    let relay = Relay::start(moto.port);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&relay.endpoint(), &["throttled"]));
    let sb = Sandbox::new();
    let worker = Worker::spawn(Arc::new(sb.backend()), None).unwrap();
    worker.send(Command::Connect(Connection::Aws(connection(
        &relay.endpoint(),
    ))));
    wait_event(&worker, "the job", |e| jobs_named(e) == ["throttled"]);

    relay.throttle("ListTrainingJobs", 1000);
    worker.send(Command::Refresh);
    let error = wait_event(&worker, "throttling", |e| matches!(e, Event::Error { .. }));
    let Event::Error { message, .. } = error else {
        unreachable!()
    };
    assert_eq!(message, "ThrottlingException: Rate exceeded");
    // The SDK tried three times before the poller saw the error.
    assert_eq!(relay.throttled(), 3);
    let first = wait_event(&worker, "backoff", |e| {
        aws_activity(e).is_some_and(|a| a.backing_off)
    });
    let first = aws_activity(&first).unwrap().clone();
    worker.send(Command::Refresh);
    let second = wait_event(&worker, "a longer backoff", |e| {
        aws_activity(e).is_some_and(|a| a.errors > first.errors)
    });
    let second = aws_activity(&second).unwrap().clone();
    // Doubled, with ±25 % jitter: 20 s → [15, 25], 40 s → [30, 50].
    assert!(
        first.next_poll >= Duration::from_secs(15) && first.next_poll <= Duration::from_secs(25),
        "{first:?}"
    );
    assert!(
        second.next_poll >= Duration::from_secs(30) && second.next_poll <= Duration::from_secs(50),
        "{second:?}"
    );

    relay.throttle("ListTrainingJobs", 0);
    worker.send(Command::Refresh);
    wait_event(&worker, "recovery", |e| {
        aws_activity(e).is_some_and(|a| !a.backing_off)
    });
}

#[test]
fn the_window_connects_from_its_connection_window() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&moto.endpoint(), &["window-job-a", "window-job-b"]));
    let sb = Sandbox::new();
    let worker = common::window::worker(Arc::new(sb.backend()), &sb.home());
    let options = common::window::options(None);
    let mut h = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| SageDeskApp::new(cc, worker, options));
    h.run_steps(2);
    h.get_by_label_contains("🖧 local").click();
    h.run_steps(2);
    replace_text(&mut h, "Region", "us-east-1");
    replace_text(&mut h, "Endpoint URL", &moto.endpoint());
    h.get_by_label("Add connection").click();
    wait_for(&mut h, "the AWS jobs", |h| has_text(h, "window-job-b"));
    // The new source has its own status panel beside Local's.
    wait_for(&mut h, "the source's panel", |h| has_text(h, "Calls made"));
    // The summary button closes the window again.
    h.get_by_label_contains("🖧 local + default · us-east-1")
        .click();
    h.run_steps(2);
    assert!(!has_text(&h, "Calls made"));
    h.get_by_label("window-job-a").click();
    wait_for(&mut h, "the job's detail", |h| {
        has_text(
            h,
            "arn:aws:sagemaker:us-east-1:123456789012:training-job/window-job-a",
        )
    });
    // The summary opens the Connections window, where the source names its account.
    h.get_by_label_contains("🖧 local + default · us-east-1")
        .click();
    wait_for(&mut h, "the status panel", |h| has_text(h, "Calls made"));
    assert!(has_text(&h, "aws default · 123456789012 · us-east-1"));
    assert!(has_text(&h, "Failed polls"));
}

#[test]
fn the_cli_acts_on_aws_with_the_same_output() {
    let moto = Moto::start();
    // CloudWatch (read by `run`) goes through the CBOR relay; the rest passes through it.
    let relay = Relay::start(moto.port);
    let sb = Sandbox::new();
    let job = sb.path().join("job.json");
    std::fs::write(
        &job,
        serde_json::to_string(&request("cli-aws-job").to_value()).unwrap(),
    )
    .unwrap();
    let sagedesk = |args: &[&str]| {
        let mut cmd = Process::new(env!("CARGO_BIN_EXE_sagedesk"));
        cmd.env("SAGEDESK_HOME", sb.home())
            .envs(child_env(&relay.endpoint()))
            .args(args);
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, _, err) = sagedesk(&[
        "run",
        job.to_str().unwrap(),
        "--aws",
        "--region",
        "us-east-1",
    ]);
    // moto's jobs are born Completed, so the run ends at once.
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("started cli-aws-job (aws default · 123456789012 · us-east-1)"),
        "{err}"
    );
    let (code, out, err) = sagedesk(&["jobs", "--region", "us-east-1"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("cli-aws-job") && out.contains("Completed"),
        "{out}"
    );
    let (code, out, _) = sagedesk(&[
        "describe",
        "cli-aws-job",
        "--json",
        "--aws",
        "--endpoint-url",
        &relay.endpoint(),
        "--region",
        "us-east-1",
    ]);
    assert_eq!(code, Some(0));
    let value: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(value["TrainingJobStatus"], "Completed");
    // SageMaker (and moto) answer a missing job with ValidationException: exit 2.
    let (code, _, err) = sagedesk(&["describe", "missing-job", "--aws", "--region", "us-east-1"]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with("error: ValidationException: Could not find training job"),
        "{err}"
    );
    // Without a region anywhere, the message says where to set one.
    let (code, _, err) = sagedesk(&["jobs", "--aws"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("NoRegion") && err.contains("--region"),
        "{err}"
    );
    // The local store is untouched.
    let (code, out, _) = Process::new(env!("CARGO_BIN_EXE_sagedesk"))
        .env("SAGEDESK_HOME", sb.home())
        .arg("jobs")
        .output()
        .map(|o| {
            (
                o.status.code(),
                String::from_utf8_lossy(&o.stdout).to_string(),
                (),
            )
        })
        .unwrap();
    assert_eq!(code, Some(0));
    assert!(!out.contains("cli-aws-job"), "{out}");
}

#[test]
fn each_connection_costs_one_list_call_per_tick() {
    let moto = Moto::start();
    let relay = Relay::start(moto.port);
    let sb = Sandbox::new();
    let worker = Worker::spawn(Arc::new(sb.backend()), None).unwrap();
    // A long interval: ticks come only from Refresh, so they can be counted.
    worker.send(Command::SetListInterval(Duration::from_secs(600)));
    let regions = ["us-east-1", "eu-west-1"];
    for region in regions {
        let mut aws = connection(&relay.endpoint());
        aws.region = Some(region.into());
        worker.send(Command::Connect(Connection::Aws(aws)));
    }
    let mut listed = std::collections::HashSet::new();
    // Each source reports its calls at the end of its first tick.
    wait_event(&worker, "both connections listed", |e| {
        if let Event::Activity {
            source: Connection::Aws(aws),
            ..
        } = e
        {
            listed.insert(aws.region.clone());
        }
        listed.len() == 2
    });
    let lists = || {
        relay
            .seen()
            .iter()
            .filter(|target| target.ends_with(".ListTrainingJobs"))
            .count()
    };
    // One list call each when added.
    assert_eq!(lists(), 2);
    for _ in 0..3 {
        worker.send(Command::Refresh);
    }
    let deadline = Instant::now() + LIMIT;
    while lists() < 2 + 3 * regions.len() {
        assert!(Instant::now() < deadline, "{} list calls", lists());
        std::thread::sleep(Duration::from_millis(20));
    }
    // Three refreshes of two connections: six calls, and no more follow.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lists(), 2 + 3 * regions.len());
}

/// Appends `lines` to the job's log stream in moto's CloudWatch Logs, stamped now.
fn log_to_moto(moto: &Moto, job: &str, lines: &[&str]) {
    let events: Vec<String> = lines
        .iter()
        .map(|l| format!("{{'timestamp': int(time.time() * 1000), 'message': {l:?}}}"))
        .collect();
    moto.boto3(&format!(
        "import boto3, time\n\
         logs = boto3.client('logs')\n\
         group, stream = '/aws/sagemaker/TrainingJobs', '{job}/algo-1-1700000000'\n\
         try:\n    logs.create_log_group(logGroupName=group)\n\
         except logs.exceptions.ResourceAlreadyExistsException:\n    pass\n\
         try:\n    logs.create_log_stream(logGroupName=group, logStreamName=stream)\n\
         except logs.exceptions.ResourceAlreadyExistsException:\n    pass\n\
         logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{}])\n",
        events.join(", ")
    ));
}

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
    wait_for(&mut h, "the end", |h| has_text(h, "Completed · Completed"));
    wait_for(&mut h, "the toast", |h| {
        has_text(h, "live-job (default · us-east-1): Completed")
    });

    // Stop works on a job that runs.
    h.get_by_label("long-job").click();
    wait_for(&mut h, "its detail", |h| has_text(h, "⏹ Stop"));
    h.get_by_label_contains("⏹ Stop").click();
    wait_for(&mut h, "the confirmation", |h| has_text(h, "Stop long-job"));
    h.get_by_label("Stop job").click();
    wait_for(&mut h, "stopped", |h| has_text(h, "Stopped · Stopped"));
    assert!(
        relay.seen().iter().any(|t| t.ends_with(".StopTrainingJob")),
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
    let relay = Relay::start(moto.port);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&relay.endpoint(), &["priced-job"]));
    relay.run_job("priced-job", Duration::from_millis(200));
    relay.price("ml.m5.large", 0.25);
    let open = |relay: &Relay, sb: &Sandbox| {
        let state = sagedesk::ui::state::State {
            list_interval_seconds: 1,
            ..Default::default()
        };
        common::window::harness_with_aws_state(sb, connection(&relay.endpoint()), state)
    };
    let sb = Sandbox::new();
    let mut h = open(&relay, &sb);
    wait_for(&mut h, "the job", |h| has_text(h, "Completed · Completed"));
    h.get_by_label("priced-job").click();
    // One hour billed on one ml.m5.large at $0.25 an hour.
    wait_for(&mut h, "the estimate", |h| {
        has_text(
            h,
            "$0.25 (1 × ml.m5.large × 1.00 h at $0.25/h on demand in us-east-1",
        )
    });
    assert!(
        relay.seen().iter().any(|t| t.ends_with(".GetProducts")),
        "the Price List was asked"
    );

    // Without access to the Price List, the estimate says why instead of guessing.
    let denied = Relay::start(moto.port);
    denied.run_job("priced-job", Duration::from_millis(200));
    let sb = Sandbox::new();
    let mut h = open(&denied, &sb);
    wait_for(&mut h, "the job", |h| has_text(h, "Completed · Completed"));
    h.get_by_label("priced-job").click();
    wait_for(&mut h, "the reason", |h| {
        has_text(
            h,
            "not known: the Price List answered AccessDeniedException",
        )
    });
}
