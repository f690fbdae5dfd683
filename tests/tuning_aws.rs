//! Tuning jobs on SageMaker, through moto and the relay's scripted searches (moto creates a
//! tuning job but never runs its trials): one sent as written and read back in the service's
//! shapes, then run locally from the window; the CLI and the window following trials to the
//! end; a stop reaching the service; a local tuning job sent to AWS from its view.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::Sandbox;
use common::cli::{sagedesk, succeeded, text};
use common::relay::Relay;
use common::search_life::ScriptedTrial;
use common::tuning::{described, request, trials};
use serde_json::{Value, json};

/// Scripted trials of tuning job `tuning` ending with `values`, named as the service names them.
fn scripted(tuning: &str, values: &[f64]) -> Vec<ScriptedTrial> {
    values
        .iter()
        .enumerate()
        .map(|(i, value)| ScriptedTrial {
            name: format!("{tuning}-{:03}-{:08x}", i + 1, 0xa11ce + i),
            tuned: json!({"rate": format!("{:.1}", 0.1 * (i + 1) as f64), "kind": "b"}),
            value: *value,
        })
        .collect()
}

#[test]
fn an_aws_tuning_jobs_trials_are_followed_to_the_end_and_a_stop_reaches_the_service() {
    let moto = common::moto::Moto::start();
    let relay = Relay::start(moto.port);
    let sb = Sandbox::new();
    let aws = || {
        let mut command = sagedesk(&sb.home());
        command
            .envs(common::moto::child_env(&relay.endpoint()))
            .args(["--aws", "--region", "us-east-1"]);
        command
    };
    for name in ["searched", "halted"] {
        let file = request(
            &sb,
            name,
            json!({}),
            json!({"sagemaker_submit_directory": "\"s3://bucket/code/sourcedir.tar.gz\""}),
        );
        let mut value: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        value["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] =
            json!("s3://bucket/out");
        std::fs::write(&file, value.to_string()).unwrap();
        succeeded(
            aws()
                .args(["tune", "--no-preflight", "--detach"])
                .arg(&file),
        );
    }
    let stage = Duration::from_millis(700);
    relay.run_tuning_job(
        "searched",
        scripted("searched", &[0.9, 0.4, 0.7, 0.2]),
        2,
        stage,
        "loss",
    );
    relay.run_tuning_job(
        "halted",
        scripted("halted", &[0.5, 0.6, 0.3, 0.8]),
        2,
        Duration::from_secs(60),
        "loss",
    );

    // The CLI sees the first wave run, then every trial end, the best one named.
    let describe = |name: &str| -> Value {
        serde_json::from_slice(
            &succeeded(aws().args(["tuning", "describe", "--json", name])).stdout,
        )
        .unwrap()
    };
    let first = describe("searched");
    assert_eq!(
        first["HyperParameterTuningJobStatus"], "InProgress",
        "{first:#}"
    );
    assert_eq!(first["TrainingJobStatusCounters"]["InProgress"], 2);
    let deadline = Instant::now() + common::LIMIT;
    let ended = loop {
        let d = describe("searched");
        if d["HyperParameterTuningJobStatus"] == "Completed" {
            break d;
        }
        assert!(Instant::now() < deadline, "still {d:#}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(ended["TrainingJobStatusCounters"]["Completed"], 4);
    assert_eq!(
        ended["BestTrainingJob"]["TrainingJobName"],
        scripted("searched", &[0.0; 4])[3].name
    );
    let listed = text(&succeeded(aws().args(["tuning", "trials", "searched"])).stdout);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{listed}");
    assert!(
        rows[0].contains("0.2") && rows[0].contains("rate=0.4"),
        "{listed}"
    );

    // The window: the running one's trials in its view, and a stop that reaches the service.
    use common::window::{has_text, wait_for};
    use egui_kittest::kittest::Queryable;
    let mut h = common::window::harness_with_aws(&sb, common::moto::connection(&relay.endpoint()));
    h.state_mut().state_mut().group_by = sagedesk::ui::state::GroupBy::TuningJob;
    // The list's summaries have no best training job: it comes from the description.
    wait_for(&mut h, "both tuning jobs", |h| {
        has_text(h, "Completed · Random · 4 of 4 · best loss 0.2")
            && has_text(h, "InProgress · Random · 2 of 4")
    });
    // The finished one's trials: best first, then by a column, either way.
    h.get_by_label("tuning job searched").click();
    wait_for(&mut h, "its four trials", |h| {
        has_text(h, "4 completed, 0 in progress, 0 stopped, 0 failed")
    });
    // The table's links, after the best training job's above it.
    let order = |h: &egui_kittest::Harness<'_, sagedesk::ui::SageDeskApp>| -> Vec<String> {
        let names: Vec<String> = h
            .query_all_by_label_contains("searched-00")
            .map(|n| format!("{n:?}"))
            .filter_map(|d| {
                let at = d.find("searched-00")?;
                Some(d[at..at + 12].to_string())
            })
            .collect();
        names[names.len().saturating_sub(4)..].to_vec()
    };
    assert_eq!(
        order(&h),
        [
            "searched-004",
            "searched-002",
            "searched-003",
            "searched-001"
        ]
    );
    h.get_by_label("rate").click();
    h.run_steps(2);
    assert_eq!(
        order(&h),
        [
            "searched-001",
            "searched-002",
            "searched-003",
            "searched-004"
        ]
    );
    h.get_by_label("rate ⏶").click();
    h.run_steps(2);
    assert_eq!(
        order(&h),
        [
            "searched-004",
            "searched-003",
            "searched-002",
            "searched-001"
        ]
    );

    h.get_by_label("tuning job halted").click();
    wait_for(&mut h, "its trials", |h| {
        has_text(h, "0 completed, 2 in progress, 0 stopped, 0 failed")
            && has_text(h, &scripted("halted", &[0.0; 2])[1].name)
    });
    h.get_by_label("⏹ Stop…").click();
    h.run_steps(2);
    h.get_by_label("Stop tuning job").click();
    wait_for(&mut h, "the stopped tuning job", |h| {
        has_text(h, "Stopped · Random · 2 of 4")
            && has_text(h, "0 completed, 0 in progress, 2 stopped, 0 failed")
    });
    assert_eq!(relay.count("StopHyperParameterTuningJob"), 1);
    assert_eq!(
        describe("halted")["HyperParameterTuningJobStatus"],
        "Stopped"
    );

    // The next start cannot reach the service: the tuning jobs kept paint as they were.
    drop(h);
    let endpoint = relay.endpoint();
    drop(relay);
    let mut h = common::window::harness_with_aws(&sb, common::moto::connection(&endpoint));
    h.state_mut().state_mut().group_by = sagedesk::ui::state::GroupBy::TuningJob;
    wait_for(&mut h, "the kept tuning jobs", |h| {
        has_text(h, "Completed · Random · 4 of 4 · best loss 0.2")
            && has_text(h, "Stopped · Random · 2 of 4")
    });
}

#[test]
fn a_local_tuning_job_goes_to_aws_from_its_view_with_its_code_uploaded() {
    use common::window::{has_text, replace_text, wait_for};
    use egui_kittest::kittest::Queryable;
    let moto = common::moto::Moto::start();
    moto.boto3("import boto3; boto3.client('s3').create_bucket(Bucket='code-bucket')");
    let sb = Sandbox::new();
    let file = request(&sb, "tried", json!({}), json!({}));
    succeeded(sagedesk(&sb.home()).args(["tune"]).arg(&file));

    let mut h = common::window::harness_with_aws(&sb, moto.connection());
    h.state_mut().state_mut().group_by = sagedesk::ui::state::GroupBy::TuningJob;
    wait_for(&mut h, "the local tuning job", |h| {
        has_text(h, "tuning job tried") && has_text(h, "default · us-east-1")
    });
    // The AWS source's first answers can lay the rows out again between the query and the
    // click: the header is clicked until its view opens.
    let deadline = Instant::now() + common::LIMIT;
    while !has_text(&h, "☁ Run on AWS…") {
        assert!(
            Instant::now() < deadline,
            "the tuning job's view did not open"
        );
        h.get_by_label("tuning job tried").click();
        h.run_steps(10);
        std::thread::sleep(Duration::from_millis(200));
        h.run_steps(2);
    }
    h.get_by_label("☁ Run on AWS…").click();
    wait_for(&mut h, "the builder on the AWS source", |h| {
        has_text(h, "New tuning job") && has_text(h, "Upload it as sourcedir.tar.gz to")
    });
    let builder = h.state().builder().unwrap();
    assert!(builder.source.is_aws());
    let name = builder.value()["HyperParameterTuningJobName"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(name.starts_with("tried-") && name.len() <= 32, "{name}");
    // The code folder is packed and uploaded; the hyperparameter points at the archive.
    replace_text(
        &mut h,
        "Upload it as sourcedir.tar.gz to",
        "s3://code-bucket/tuning/source/",
    );
    h.get_by_label_contains("Upload code").click();
    wait_for(&mut h, "the upload", |h| {
        has_text(
            h,
            "Uploaded s3://code-bucket/tuning/source/sourcedir.tar.gz",
        )
    });
    let value = h.state().builder().unwrap().value().clone();
    assert_eq!(
        value["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"],
        "\"s3://code-bucket/tuning/source/sourcedir.tar.gz\""
    );
    // With the output in S3 too, it is created on the service and its view opens.
    h.state_mut().builder_mut().unwrap().set_at(
        "/TrainingJobDefinition/OutputDataConfig/S3OutputPath",
        "s3://code-bucket/out".into(),
    );
    h.run_steps(2);
    if has_text(&h, "Submit anyway") {
        h.get_by_label("Submit anyway").click();
        h.run_steps(2);
    }
    h.get_by_label_contains("▶ Submit").click();
    wait_for(&mut h, "the AWS tuning job's view", |h| {
        has_text(h, &format!("Tuning job {name}")) && has_text(h, "on default · us-east-1")
    });
    let shown = h.state().state().tuning.clone().unwrap();
    assert!(shown.source.is_aws(), "{shown:?}");
    let out = succeeded(
        sagedesk(&sb.home())
            .envs(common::moto::child_env(&moto.endpoint()))
            .args([
                "--aws",
                "--region",
                "us-east-1",
                "tuning",
                "describe",
                "--json",
            ])
            .arg(&name),
    );
    let d: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        d["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"],
        "\"s3://code-bucket/tuning/source/sourcedir.tar.gz\""
    );
}

#[test]
fn a_tuning_job_goes_to_sagemaker_as_written_and_reads_back_in_the_services_shapes() {
    let moto = common::moto::Moto::start();
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "remote",
        json!({}),
        json!({"sagemaker_submit_directory": "\"s3://bucket/code/sourcedir.tar.gz\""}),
    );
    // For the service, output goes to S3.
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    value["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] = json!("s3://bucket/out");
    std::fs::write(&file, value.to_string()).unwrap();
    let aws = |args: &[&str]| {
        let mut command = sagedesk(&sb.home());
        command
            .envs(common::moto::child_env(&moto.endpoint()))
            .args(["--aws", "--region", "us-east-1"])
            .args(args);
        command
    };
    let out = aws(&["tune", "--no-preflight", "--json"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let d = described(&out);
    assert_eq!(d["HyperParameterTuningJobName"], "remote");
    assert!(
        d["HyperParameterTuningJobArn"]
            .as_str()
            .unwrap()
            .ends_with("hyper-parameter-tuning-job/remote")
    );
    // The request reached the service as written.
    assert_eq!(
        d["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"][0]["Name"],
        "kind"
    );
    assert_eq!(
        d["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_program"],
        "\"train.py\""
    );
    let listed = text(&succeeded(&mut aws(&["tuning", "list"])).stdout);
    assert!(
        listed.lines().any(|l| l.starts_with("remote\t")),
        "{listed}"
    );
    let shown = text(&succeeded(&mut aws(&["tuning", "describe", "remote"])).stdout);
    assert!(shown.starts_with("remote: "), "{shown}");
    // Nothing ran here.
    let here = text(&succeeded(sagedesk(&sb.home()).args(["tuning", "list"])).stdout);
    assert_eq!(here.lines().count(), 1, "{here}");
    // The service's refusal comes with its own code.
    let again = aws(&["tune", "--no-preflight"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("ResourceInUse"),
        "{}",
        text(&again.stderr)
    );

    // The window lists it under its source, though none of its training jobs is listed, and
    // opens it.
    use common::window::{has_text, wait_for};
    use egui_kittest::kittest::Queryable;
    let mut h = common::window::harness_with_aws(&sb, moto.connection());
    h.state_mut().state_mut().group_by = sagedesk::ui::state::GroupBy::TuningJob;
    wait_for(&mut h, "the AWS tuning job", |h| {
        has_text(h, "tuning job remote")
    });
    h.get_by_label("tuning job remote").click();
    wait_for(&mut h, "its detail", |h| {
        has_text(h, "Tuning job remote") && has_text(h, "4 training jobs, 2 at once")
    });

    // Run locally: each trial a local job whose code and output are on the service's S3.
    moto.boto3(&format!(
        r#"
import boto3, io, tarfile
tar = io.BytesIO()
with tarfile.open(fileobj=tar, mode="w:gz") as t:
    t.add({script:?}, arcname="train.py")
s3 = boto3.client("s3")
s3.create_bucket(Bucket="bucket")
s3.put_object(Bucket="bucket", Key="code/sourcedir.tar.gz", Body=tar.getvalue())
"#,
        script = sb.path().join("code/train.py").display().to_string()
    ));
    h.get_by_label("▶ Run locally").click();
    h.run_steps(2);
    h.get_by_label("With my AWS credentials").click();
    wait_for(&mut h, "the local run's view", |h| {
        has_text(h, "Tuning job remote-local-")
    });
    let local = h.state().state().tuning.clone().unwrap();
    assert_eq!(local.source, sagedesk::job::Connection::Local);
    assert!(local.name.len() <= 32, "{}", local.name);
    wait_for(&mut h, "its four trials", |h| {
        has_text(h, "4 completed, 0 in progress, 0 stopped, 0 failed")
    });
    // Each trial's model went to the service's bucket.
    let out = sb.path().join("listed.txt");
    moto.boto3(&format!(
        r#"
import boto3
keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="bucket", Prefix="out/")["Contents"]]
open({out:?}, "w").write("\n".join(keys))
"#,
        out = out.display().to_string()
    ));
    let keys = std::fs::read_to_string(&out).unwrap();
    for trial in trials(&sb.home(), &local.name) {
        let name = trial["TrainingJobName"].as_str().unwrap();
        assert!(
            keys.contains(&format!("out/{name}/output/model.tar.gz")),
            "{name} not in {keys}"
        );
    }
}
