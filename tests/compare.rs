//! Local and AWS jobs in one list, and the Compare view, on the real window: two local
//! demo runs with different hyperparameters compared, a moto job run locally and linked
//! to it, the CLI's `compare`.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command as Process;

use common::moto::{Moto, child_env};
use common::window::{
    compare_in_window, harness_with_aws, has_label, has_text, replace_text, two_demo_runs, wait_for,
};
use common::*;
use egui_kittest::kittest::Queryable;
use sagedesk::backend::aws::AwsBackend;
use sagedesk::backend::local::LocalBackend;
use sagedesk::backend::{Backend, Connection};
use sagedesk::ui::state::GroupBy;
use serde_json::json;

/// Runs `name` (`train.py`, with `extra` merged into the request) on another process's
/// backend until it ends.
fn run_to_end(
    runtime: &tokio::runtime::Runtime,
    local: &LocalBackend,
    sb: &Sandbox,
    name: &str,
    extra: serde_json::Value,
) {
    runtime
        .block_on(local.create_training_job(sb.request(name, "train.py", extra)))
        .unwrap();
    runtime.block_on(wait_for_end(local, name, LIMIT));
}

#[test]
fn two_local_runs_are_compared_with_the_differing_hyperparameter_first() {
    let sb = Sandbox::new();
    let (a, b) = two_demo_runs(&sb);
    let mut h = compare_in_window(&sb, [1400.0, 900.0], &a, &b);
    wait_for(&mut h, "the comparison table", |h| {
        has_text(h, "Comparing 2 jobs") && has_text(h, "Billable (s)")
    });
    // Charts out of view are not drawn; a window tall enough for all shows one per metric.
    wait_for(&mut h, "the charts in view", |h| {
        (1..4).contains(&h.query_all_by_label("Save PNG…").count())
    });
    h.set_size(egui::vec2(1400.0, 2400.0));
    wait_for(&mut h, "a chart per metric", |h| {
        h.query_all_by_label("Save PNG…").count() == 4
    });
    for metric in [
        "train:loss",
        "train:accuracy",
        "validation:loss",
        "validation:accuracy",
    ] {
        assert!(has_text(&h, metric), "no {metric}");
    }
    // The best final value of each metric is marked.
    assert!(has_text(&h, "★ "));

    let table = h.state().comparison();
    assert_eq!(table.hyperparameters[0], "epochs", "{table:?}");
    assert!(table.differs(0));
    let csv = table.to_csv();
    let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(lines.len(), 3, "{csv}");
    let header = &lines[0];
    let epochs = header
        .iter()
        .position(|c| *c == "epochs")
        .expect("an epochs column");
    let names: Vec<&str> = lines[1..].iter().map(|l| l[0]).collect();
    assert_eq!(names, [a.as_str(), b.as_str()]);
    assert_eq!(lines[1][epochs], "2");
    assert_eq!(lines[2][epochs], "3");
    let loss = header.iter().position(|c| *c == "train:loss").unwrap();
    assert!(lines[1][loss].parse::<f64>().is_ok(), "{csv}");

    // The JSON export reads back with the CLI, which prints the same table.
    let file = sb.path().join("comparison.json");
    std::fs::write(&file, serde_json::to_vec(&table).unwrap()).unwrap();
    let out = Process::new(env!("CARGO_BIN_EXE_sagedesk"))
        .env("SAGEDESK_HOME", sb.home())
        .args(["compare", file.to_str().unwrap(), "--csv"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), csv);
    // And from the jobs themselves: the same jobs and the differing hyperparameter first.
    let out = Process::new(env!("CARGO_BIN_EXE_sagedesk"))
        .env("SAGEDESK_HOME", sb.home())
        .args(["compare", &format!("local:{a}"), &b])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<&str> = text.lines().collect();
    assert!(
        rows[0].starts_with("Job") && rows[0].contains(&a) && rows[0].contains(&b),
        "{text}"
    );
    let first_hp = rows
        .iter()
        .position(|r| r.starts_with("≠ "))
        .expect("a differing hyperparameter");
    assert!(rows[first_hp].starts_with("≠ epochs"), "{text}");
    // A job that is not there is named.
    let out = Process::new(env!("CARGO_BIN_EXE_sagedesk"))
        .env("SAGEDESK_HOME", sb.home())
        .args(["compare", &a, "no-such-job"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-job"));

    // Clicking a job's name in the table opens its detail.
    // (The list row comes first, then the table's link, then the charts' legends.)
    h.get_all_by_label(a.as_str()).nth(1).unwrap().click();
    wait_for(&mut h, "the job's detail", |h| {
        has_text(h, "Copy request JSON")
    });
    assert!(!h.state().state().comparing);
}

/// The Compare view's charts keep the bounds their data gives, wherever the pointer rests:
/// over a chart's axis (outside its frame), in the margins beyond its data, inside, or
/// away from it.
#[test]
fn compare_charts_keep_their_bounds_wherever_the_pointer_is() {
    let sb = Sandbox::new();
    let (a, b) = two_demo_runs(&sb);
    let mut h = compare_in_window(&sb, [1024.0, 1000.0], &a, &b);
    wait_for(&mut h, "the first chart", |h| {
        h.query_all_by_label("Save PNG…").count() >= 1
    });
    let id = sagedesk::ui::compare::chart::plot_id("train:accuracy");
    let memory = |h: &egui_kittest::Harness<sagedesk::ui::SageDeskApp>| {
        egui_plot::PlotMemory::load(&h.ctx, id).expect("the chart's memory")
    };
    h.run_steps(5);
    let settled = *memory(&h).bounds();
    let frame = *memory(&h).transform().frame();
    assert!(
        frame.bottom() < 1000.0,
        "the chart is in the window: {frame:?}"
    );
    assert!(
        settled.width() > 0.0 && settled.width() < 3600.0,
        "{settled:?}"
    );
    for (place, at) in [
        (
            "over the y axis",
            egui::pos2(frame.left() - 8.0, frame.center().y),
        ),
        (
            "in the left margin",
            egui::pos2(frame.left() + 3.0, frame.center().y),
        ),
        (
            "in the right margin",
            egui::pos2(frame.right() - 14.0, frame.center().y),
        ),
        ("inside", frame.center()),
        ("away", egui::pos2(frame.center().x, frame.top() - 60.0)),
    ] {
        h.hover_at(at);
        h.run_steps(30);
        let now = *memory(&h).bounds();
        assert!(
            (now.min()[0] - settled.min()[0]).abs() < 1e-6
                && (now.max()[0] - settled.max()[0]).abs() < 1e-6,
            "pointer {place}: x bounds went from {settled:?} to {now:?}"
        );
    }
}

#[test]
fn local_and_aws_jobs_share_one_list_and_an_aws_job_runs_locally_linked_to_it() {
    let mut moto = Moto::start();
    let sb = Sandbox::new();
    sb.script("train.py", "print('loss=0.25', flush=True)\n");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let aws = runtime.block_on(async { AwsBackend::connect(moto.connection()).await.unwrap() });
    runtime
        .block_on(aws.create_training_job(sb.request(
            "moto-origin",
            "train.py",
            json!({"AlgorithmSpecification": {"MetricDefinitions": [
                {"Name": "loss", "Regex": "loss=([0-9.]+)"}]}}),
        )))
        .unwrap();
    let local = runtime.block_on(async { LocalBackend::open(sb.config()).unwrap() });
    run_to_end(&runtime, &local, &sb, "local-first", json!({}));

    let mut h = harness_with_aws(&sb, moto.connection());
    wait_for(&mut h, "both sources' jobs", |h| {
        has_text(h, "moto-origin") && has_text(h, "local-first")
    });
    // The source column names each row's source.
    assert!(has_text(&h, "default · us-east-1"));

    // The source filter keeps one source's rows.
    h.state_mut().state_mut().source_filter = Some(Connection::Local);
    h.run_steps(3);
    assert!(!has_text(&h, "moto-origin") && has_text(&h, "local-first"));
    h.state_mut().state_mut().source_filter = None;
    h.run_steps(3);

    h.get_by_label("moto-origin").click();
    wait_for(&mut h, "the AWS job's detail", |h| {
        has_text(h, "▶ Run locally")
    });
    // Run locally is a choice of credentials: the job's role here.
    h.get_by_label_contains("▶ Run locally").click();
    h.run_steps(2);
    h.get_by_label("As its role").click();
    wait_for(&mut h, "the local copy selected and linked", |h| {
        has_text(h, "cloned from") && has_label(h, "Completed")
    });
    let copy = h
        .state()
        .state()
        .selection
        .clone()
        .expect("the copy is selected");
    assert_eq!(copy.source, Connection::Local);
    assert!(copy.name.starts_with("moto-origin-local-"), "{copy:?}");
    // The link leads back to the origin, whose detail names its copy.
    h.get_by_label("moto-origin (default · us-east-1)").click();
    wait_for(&mut h, "the origin's detail", |h| has_text(h, "cloned as"));
    assert!(has_text(&h, &copy.name));

    // The copy and its origin compare across sources.
    let origin = h.state().state().selection.clone().unwrap();
    h.state_mut().compare(vec![origin, copy.clone()]);
    // The list's "Completed · Completed" above may be the origin's row: the copy can still
    // be running here, and the comparison follows it to its end.
    wait_for(
        &mut h,
        "the cross-source comparison, the copy completed",
        |h| {
            let table = h.state().comparison();
            table.jobs.len() == 2 && table.jobs[1].status == "Completed"
        },
    );
    let table = h.state().comparison();
    assert_eq!(table.jobs[0].source, "default · us-east-1");
    assert_eq!(table.jobs[1].source, "local");
    assert_eq!(table.jobs[1].status, "Completed", "{table:?}");

    // The CLI names jobs of both sources on one line.
    let out = Process::new(env!("CARGO_BIN_EXE_sagedesk"))
        .env("SAGEDESK_HOME", sb.home())
        .envs(child_env(&moto.endpoint()))
        .args([
            "compare",
            "aws:moto-origin",
            &format!("local:{}", copy.name),
            "--csv",
            "--region",
            "us-east-1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = String::from_utf8_lossy(&out.stdout);
    assert!(
        csv.contains("moto-origin,default · us-east-1,Completed"),
        "{csv}"
    );
    assert!(
        csv.contains(&format!("{},local,Completed", copy.name)),
        "{csv}"
    );
    // moto answers no CloudWatch metrics to the Rust SDK: said, and the table still prints.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning: the metric series of moto-origin"),
        "{err}"
    );
    // Nor a Price List: the estimate is left out with why.
    assert!(err.contains("warning: no price for ml."), "{err}");

    // The AWS connection dies: its rows say so, and local rows keep updating.
    moto.kill();
    h.state_mut().close_compare();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::R);
    wait_for(&mut h, "the AWS rows marked", |h| {
        has_text(h, "source unreachable")
    });
    run_to_end(&runtime, &local, &sb, "local-after", json!({}));
    wait_for(&mut h, "the new local job in the list", |h| {
        has_text(h, "local-after")
    });
    assert!(has_text(&h, "moto-origin"), "the AWS rows stay, marked");
}

#[test]
fn a_local_job_runs_on_aws_with_its_code_uploaded_and_linked_to_it() {
    let moto = Moto::start();
    moto.boto3("import boto3; boto3.client('s3').create_bucket(Bucket='code-bucket')");
    let sb = Sandbox::new();
    sb.script("train.py", "print('hello from the code folder')\n");
    std::fs::write(sb.path().join("code/util.py"), "X = 1\n").unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let local = runtime.block_on(async { LocalBackend::open(sb.config()).unwrap() });
    run_to_end(&runtime, &local, &sb, "local-origin", json!({}));

    let mut h = harness_with_aws(&sb, moto.connection());
    wait_for(&mut h, "the local job", |h| has_text(h, "local-origin"));
    wait_for(&mut h, "the AWS source", |h| {
        has_text(h, "default · us-east-1")
    });
    h.get_by_label("local-origin").click();
    wait_for(&mut h, "the detail", |h| has_text(h, "Run on AWS…"));
    h.get_by_label_contains("Run on AWS…").click();
    wait_for(&mut h, "the builder on the AWS source", |h| {
        has_text(h, "Upload it as sourcedir.tar.gz to")
    });
    let builder = h.state().builder().expect("the builder is open");
    assert!(builder.source.is_aws());
    assert_eq!(builder.origin.as_ref().unwrap().name, "local-origin");
    // The output path on this machine is listed for the user to upload.
    assert!(has_text(&h, "OutputDataConfig.S3OutputPath = file://"));

    replace_text(
        &mut h,
        "Upload it as sourcedir.tar.gz to",
        "s3://code-bucket/experiments/source/",
    );
    h.get_by_label_contains("Upload code").click();
    wait_for(&mut h, "the upload", |h| {
        has_text(
            h,
            "Uploaded s3://code-bucket/experiments/source/sourcedir.tar.gz",
        )
    });
    let value = h.state().builder().unwrap().value().clone();
    assert_eq!(
        value["HyperParameters"]["sagemaker_submit_directory"],
        "s3://code-bucket/experiments/source/sourcedir.tar.gz"
    );
    // Remembered, so that the AWS job's tracebacks map back to this folder.
    assert_eq!(
        sagedesk::uploads::folder_of(
            &sb.home(),
            "s3://code-bucket/experiments/source/sourcedir.tar.gz"
        ),
        Some(sb.path().join("code"))
    );
    // The archive holds the folder's files at its root, as the SageMaker SDK packs it.
    moto.boto3(
        "import boto3, io, tarfile\n\
         body = boto3.client('s3').get_object(Bucket='code-bucket', \
         Key='experiments/source/sourcedir.tar.gz')['Body'].read()\n\
         names = sorted(tarfile.open(fileobj=io.BytesIO(body)).getnames())\n\
         assert names == ['train.py', 'util.py'], names\n",
    );

    // With the output in S3 too, the job is created on AWS and linked to its origin.
    h.state_mut().builder_mut().unwrap().set_at(
        "/OutputDataConfig/S3OutputPath",
        "s3://code-bucket/out".into(),
    );
    h.run_steps(2);
    h.get_by_label_contains("▶ Submit").click();
    wait_for(&mut h, "the AWS job's detail", |h| {
        has_text(h, "cloned from") && has_text(h, "on default · us-east-1")
    });
    let job = h.state().state().selection.clone().unwrap();
    assert!(job.source.is_aws(), "{job:?}");
    assert!(job.name.starts_with("local-origin"), "{job:?}");
}

#[test]
fn jobs_group_by_a_tag_across_sources_and_a_group_compares_its_jobs() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    sb.script("train.py", "print('loss=0.5', flush=True)\n");
    let tagged = |value: Option<&str>| match value {
        Some(v) => {
            json!({"Tags": [{"Key": "experiment", "Value": v}, {"Key": "team", "Value": "vision"}]})
        }
        None => json!({}),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let local = runtime.block_on(async { LocalBackend::open(sb.config()).unwrap() });
    for (name, value) in [
        ("base-a", Some("baseline")),
        ("base-b", Some("baseline")),
        ("tuned-a", Some("tuned")),
        ("untagged", None),
    ] {
        run_to_end(&runtime, &local, &sb, name, tagged(value));
    }
    let aws = runtime.block_on(async { AwsBackend::connect(moto.connection()).await.unwrap() });
    runtime
        .block_on(aws.create_training_job(sb.request(
            "aws-base",
            "train.py",
            tagged(Some("baseline")),
        )))
        .unwrap();

    let mut h = harness_with_aws(&sb, moto.connection());
    wait_for(&mut h, "every job", |h| {
        has_text(h, "aws-base") && has_text(h, "untagged")
    });
    h.state_mut().state_mut().group_by = GroupBy::Tag("experiment".into());
    // Tags are read from the store locally and with ListTags on AWS.
    wait_for(&mut h, "the groups", |h| {
        has_text(h, "experiment = baseline")
            && has_text(h, "experiment = tuned")
            && has_text(h, "no experiment tag")
            && !has_text(h, "tags being read")
    });
    assert!(
        has_text(&h, "3 jobs"),
        "two local runs and the AWS run share a group"
    );
    h.get_by_label("experiment = baseline").click_secondary();
    h.run_steps(2);
    h.get_by_label("Compare all 3 jobs").click();
    wait_for(&mut h, "the group's comparison", |h| {
        has_text(h, "Comparing 3 jobs")
    });
    let mut names: Vec<String> = h
        .state()
        .state()
        .compare
        .iter()
        .map(|j| j.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["aws-base", "base-a", "base-b"]);
}

#[test]
fn a_tuning_jobs_trials_group_under_it_and_compare_with_their_hyperparameters_ranked() {
    let sb = Sandbox::new();
    let file = common::tuning::request(&sb, "sweep", common::tuning::grid(10), json!({}));
    common::cli::succeeded(common::cli::sagedesk(&sb.home()).arg("tune").arg(&file));
    let mut h = common::window::harness(&sb, [1400.0, 1000.0], None);
    h.state_mut().state_mut().group_by = GroupBy::TuningJob;
    wait_for(&mut h, "the tuning job's group", |h| {
        has_text(h, "tuning job sweep") && has_text(h, "6 jobs")
    });
    h.get_by_label("tuning job sweep").click_secondary();
    h.run_steps(2);
    h.get_by_label("Compare all 6 jobs").click();
    wait_for(&mut h, "the hyperparameters' study", |h| {
        has_text(h, "Which hyperparameters matter") && has_text(h, "6 of 6 jobs shown")
    });
    // The objective is the tuning job's, read from the trials' `_tuning_objective_metric`.
    let table = h.state().comparison();
    assert_eq!(
        sagedesk::job::importance::default_objective(&table).as_deref(),
        Some("loss")
    );
    let study = sagedesk::job::importance::study(&table, "loss");
    let mut axes: Vec<&str> = study.axes.iter().map(|a| a.name.as_str()).collect();
    axes.sort();
    assert_eq!(axes, ["kind", "rate"]);
    assert_eq!(study.lines.len(), 6);
    assert!(study.axes.iter().all(|a| a.importance.is_some()));
    assert!(has_text(
        &h,
        "Importance: the share of the objective's variance"
    ));
    assert!(h.query_by_label("Export importance CSV…").is_some());
}
