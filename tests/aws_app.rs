//! The worker, the window and the CLI on the AWS backend, against a real moto server.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command as Process;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::moto::{Moto, aws_request, child_env, connection, seed};
use common::relay::Relay;
use common::window::{has_text, replace_text, wait_for, wait_for_detail};
use common::{LIMIT, Sandbox};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sagedesk::backend::{Backend, Connection};
use sagedesk::ui::SageDeskApp;
use sagedesk::worker::{Event, FollowCommand, SourceCommand, TaskCommand, Worker};
use serde_json::json;

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
    worker.send(SourceCommand::Connect(Connection::Aws(dead)));
    let failed = wait_event(&worker, "ConnectFailed", |e| {
        matches!(e, Event::ConnectFailed { .. })
    });
    let Event::ConnectFailed { message, .. } = failed else {
        unreachable!()
    };
    assert!(message.starts_with("NetworkError"), "{message}");

    worker.send(SourceCommand::Connect(Connection::Aws(moto.connection())));
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
    worker.send(SourceCommand::Refresh);
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
    worker.send(FollowCommand::Select(None));
    worker.send(FollowCommand::SetVisible(true));
    sb.script("quick.py", "print('local while AWS is down')\n");
    let local_job = sb.request("local-while-aws-down", "quick.py", json!({}));
    worker.send(TaskCommand::Submit {
        source: Connection::Local,
        request: Box::new(local_job),
        origin: None,
        credentials: Default::default(),
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
    worker.send(SourceCommand::Refresh);
    wait_event(&worker, "the job of the restarted server", |e| {
        jobs_named(e) == ["after-restart"]
    });
    let recovered = wait_event(&worker, "recovery", |e| {
        aws_activity(e).is_some_and(|a| !a.backing_off)
    });
    let recovered = aws_activity(&recovered).unwrap();
    assert!(recovered.calls > activity.calls, "{recovered:?}");

    // Removing the connection drops its source; nothing local is touched.
    worker.send(SourceCommand::Disconnect(Connection::Aws(
        moto.connection(),
    )));
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
    worker.send(SourceCommand::Connect(Connection::Aws(connection(
        &relay.endpoint(),
    ))));
    wait_event(&worker, "the job", |e| jobs_named(e) == ["throttled"]);

    relay.throttle("ListTrainingJobs", 1000);
    worker.send(SourceCommand::Refresh);
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
    worker.send(SourceCommand::Refresh);
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
    worker.send(SourceCommand::Refresh);
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
    wait_for_detail(&mut h, "window-job-a");
    // Its ARN is on the Overview (a job still running opens on its logs).
    h.get_by_label("Overview").click();
    wait_for(&mut h, "the job's overview", |h| {
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
        serde_json::to_string(&aws_request("cli-aws-job").to_value()).unwrap(),
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
    // The account behind the request does not exist in moto (no role, bucket or image):
    // preflight would refuse it, which tests/preflight.rs covers.
    let (code, _, err) = sagedesk(&[
        "run",
        job.to_str().unwrap(),
        "--aws",
        "--region",
        "us-east-1",
        "--no-preflight",
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
    worker.send(FollowCommand::SetListInterval(Duration::from_secs(600)));
    let regions = ["us-east-1", "eu-west-1"];
    for region in regions {
        let mut aws = connection(&relay.endpoint());
        aws.region = Some(region.into());
        worker.send(SourceCommand::Connect(Connection::Aws(aws)));
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
    let lists = || relay.count("ListTrainingJobs");
    // One list call each when added.
    assert_eq!(lists(), 2);
    // Each refresh after the last one's calls came back (a refresh while a call is under
    // way lists once more after it, not once per click).
    let deadline = Instant::now() + LIMIT;
    for n in 1..=3 {
        worker.send(SourceCommand::Refresh);
        while lists() < 2 + n * regions.len() {
            assert!(Instant::now() < deadline, "{} list calls", lists());
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Three refreshes of two connections: six calls, and no more follow.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lists(), 2 + 3 * regions.len());
    // Refreshes sent together while calls are under way are folded into one more each.
    for _ in 0..3 {
        worker.send(SourceCommand::Refresh);
    }
    std::thread::sleep(Duration::from_millis(1500));
    let after = lists() - (2 + 3 * regions.len());
    assert!(
        (regions.len()..=2 * regions.len()).contains(&after),
        "{after} calls for three quick refreshes"
    );
}

/// A connection that may not read CloudWatch metrics says so once, calmly, whichever of its
/// jobs are opened: no error per job.
#[test]
fn metrics_a_connection_may_not_read_are_one_notice() {
    let moto = Moto::start();
    let relay = Relay::start(moto.port);
    relay.deny("GetMetricData");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&relay.endpoint(), &["quiet-a", "quiet-b"]));
    let sb = Sandbox::new();
    let mut h = common::window::harness_with_aws(&sb, connection(&relay.endpoint()));
    wait_for(&mut h, "the AWS jobs", |h| {
        has_text(h, "quiet-a") && has_text(h, "quiet-b")
    });
    for name in ["quiet-a", "quiet-b", "quiet-a"] {
        h.get_all_by_label(name).next().unwrap().click();
        wait_for_detail(&mut h, name);
        let deadline = Instant::now() + Duration::from_secs(5);
        while relay.count("GetMetricData") == 0 && Instant::now() < deadline {
            h.run_steps(2);
            std::thread::sleep(Duration::from_millis(50));
        }
        h.run_steps(4);
    }
    assert!(relay.count("GetMetricData") >= 2, "{:?}", relay.seen());
    let notes: Vec<String> = h
        .query_all_by_label_contains("cannot be read")
        .map(|n| format!("{n:?}"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains("AccessDeniedException") && notes[0].contains("GetMetricData"),
        "{notes:?}"
    );
    assert!(!has_text(&h, "Reading the metrics of"), "no error per job");
}
