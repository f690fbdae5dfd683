//! The local runner end to end: real child processes, a real SQLite store, real archives.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use sagedesk::backend::Backend;
use sagedesk::job::{Cursor, SecondaryStatus, Status};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_job_records_everything_and_packs_its_model() {
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        r#"
import os
print("starting")
print("epoch=1 loss=0.5 acc=0.1")
print("epoch=2 loss=0.25 acc=0.9")
model = os.environ["SM_MODEL_DIR"]
open(os.path.join(model, "weights.txt"), "w").write("w=42")
os.makedirs(os.path.join(model, "sub"), exist_ok=True)
open(os.path.join(model, "sub", "config.json"), "w").write("{}")
open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "report.txt"), "w").write("ok")
"#,
    );
    let backend = sb.backend();
    let request = sb.request(
        "ok-job",
        "train.py",
        json!({"AlgorithmSpecification": {"MetricDefinitions": [
            {"Name": "train:loss", "Regex": "loss=([0-9.]+)"},
            {"Name": "train:acc", "Regex": "acc=([0-9.]+)"}
        ]}}),
    );
    let arn = backend.create_training_job(request).await.unwrap();
    assert!(arn.ends_with("training-job/ok-job"), "{arn}");
    let detail = wait_for_end(&backend, "ok-job", LIMIT).await;

    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    let stages: Vec<_> = detail.transitions.iter().map(|t| t.status).collect();
    assert_eq!(
        stages,
        [
            SecondaryStatus::Starting,
            SecondaryStatus::Downloading,
            SecondaryStatus::Training,
            SecondaryStatus::Uploading,
            SecondaryStatus::Completed
        ]
    );
    assert!(detail.transitions.iter().all(|t| t.end_time.is_some()));
    assert!(detail.training_start_time.is_some() && detail.summary.end_time.is_some());
    assert!(detail.training_time_seconds.is_some());
    assert_eq!(detail.failure_reason, None);

    let finals: Vec<(String, f64)> = detail
        .final_metrics
        .iter()
        .map(|m| (m.name.clone(), m.value))
        .collect();
    assert_eq!(
        finals,
        [
            ("train:acc".to_string(), 0.9),
            ("train:loss".to_string(), 0.25)
        ]
    );
    let series = backend
        .get_metric_data("ok-job", &Cursor::default())
        .await
        .unwrap()
        .series;
    let loss = series.iter().find(|s| s.name == "train:loss").unwrap();
    assert_eq!(
        loss.points.iter().map(|p| p.value).collect::<Vec<_>>(),
        [0.5, 0.25]
    );

    let model_tar = sb.artifacts("ok-job").join("model.tar.gz");
    assert_eq!(
        detail.model_artifacts.as_deref(),
        Some(format!("file://{}", model_tar.display()).as_str())
    );
    let unpacked = unpack(&model_tar, &sb.path().join("unpacked"));
    assert_eq!(
        std::fs::read_to_string(unpacked.join("weights.txt")).unwrap(),
        "w=42"
    );
    assert!(unpacked.join("sub/config.json").is_file());
    let out = unpack(
        &sb.artifacts("ok-job").join("output.tar.gz"),
        &sb.path().join("out-unpacked"),
    );
    assert_eq!(
        std::fs::read_to_string(out.join("report.txt")).unwrap(),
        "ok"
    );

    let artifacts = backend.list_artifacts("ok-job").await.unwrap();
    let keys: Vec<_> = artifacts.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["output/model.tar.gz", "output/output.tar.gz"]);
    let entries = backend.list_archive(&artifacts[0].uri).await.unwrap();
    assert!(
        entries
            .entries
            .iter()
            .any(|e| e.path == "weights.txt" && e.size == 4)
    );

    // Save as: the copy is byte for byte, with progress up to the whole size.
    let dest = sb.path().join("saved-model.tar.gz");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    backend
        .download_artifact(
            &artifacts[0].uri,
            &dest,
            Box::new(move |done, total| record.lock().unwrap().push((done, total))),
        )
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        std::fs::read(&model_tar).unwrap()
    );
    let size = artifacts[0].size;
    assert_eq!(seen.lock().unwrap().last(), Some(&(size, size)));
    let err = backend
        .download_artifact("file:///no/such/file.tar.gz", &dest, Box::new(|_, _| {}))
        .await
        .unwrap_err();
    assert!(err.message.contains("/no/such/file.tar.gz"), "{err}");

    let lines = log_text(&backend, "ok-job").await;
    assert_eq!(lines[0], "starting");
    let describe = detail.to_describe_json();
    assert_eq!(describe["TrainingJobStatus"], "Completed");
    assert_eq!(
        describe["SecondaryStatusTransitions"][4]["Status"],
        "Completed"
    );
    assert!(describe.get("Tags").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_failure_becomes_the_failure_reason() {
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        r#"
import os, sys
with open(os.path.join(os.environ["SAGEMAKER_BASE_DIR"], "output", "failure"), "w") as f:
    f.write("DataError: column 'label' missing " + "x" * 2000)
sys.exit(3)
"#,
    );
    let backend = sb.backend();
    backend
        .create_training_job(sb.request("fail-file", "train.py", json!({})))
        .await
        .unwrap();
    let detail = wait_for_end(&backend, "fail-file", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Failed);
    assert_eq!(
        detail.summary.secondary_status,
        Some(SecondaryStatus::Failed)
    );
    let reason = detail.failure_reason.unwrap();
    assert!(
        reason.starts_with("DataError: column 'label' missing xxx"),
        "{reason}"
    );
    assert_eq!(reason.chars().count(), 1024);
    assert_eq!(detail.model_artifacts, None);
    assert!(!sb.artifacts("fail-file").join("model.tar.gz").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_reports_exit_code_and_stderr_tail() {
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        "import sys\nprint('about to fail', file=sys.stderr)\n1 / 0\n",
    );
    let backend = sb.backend();
    backend
        .create_training_job(sb.request("crash", "train.py", json!({})))
        .await
        .unwrap();
    let detail = wait_for_end(&backend, "crash", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Failed);
    let reason = detail.failure_reason.unwrap();
    assert!(
        reason.starts_with("AlgorithmError: algo-1: ExitCode 1"),
        "{reason}"
    );
    assert!(reason.contains("about to fail"), "{reason}");
    assert!(reason.contains("ZeroDivisionError"), "{reason}");
}

const SAVE_ON_SIGTERM: &str = r#"
import os, signal, sys, time
def on_term(signum, frame):
    open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write("saved-on-sigterm")
    open("/CHECKPOINTS/ckpt.txt".replace("/CHECKPOINTS", os.path.join(os.environ["SAGEMAKER_BASE_DIR"], "checkpoints")), "w").write("step=7")
    print("checkpoint saved", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
for i in range(600):
    time.sleep(0.1)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_gives_the_script_its_grace_period_and_keeps_the_model() {
    let sb = Sandbox::new();
    sb.script("train.py", SAVE_ON_SIGTERM);
    let backend = sb.backend();
    backend
        .create_training_job(sb.request("stop-me", "train.py", json!({})))
        .await
        .unwrap();
    wait_for_line(&backend, "stop-me", "ready", LIMIT).await;
    backend.stop_training_job("stop-me").await.unwrap();
    let detail = wait_for_end(&backend, "stop-me", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Stopped, "{detail:?}");
    assert_eq!(
        detail.summary.secondary_status,
        Some(SecondaryStatus::Stopped)
    );
    let stages: Vec<_> = detail.transitions.iter().map(|t| t.status).collect();
    assert!(stages.contains(&SecondaryStatus::Stopping), "{stages:?}");
    assert!(
        log_text(&backend, "stop-me")
            .await
            .contains(&"checkpoint saved".to_string())
    );
    let unpacked = unpack(
        &sb.artifacts("stop-me").join("model.tar.gz"),
        &sb.path().join("m"),
    );
    assert_eq!(
        std::fs::read_to_string(unpacked.join("model.txt")).unwrap(),
        "saved-on-sigterm"
    );
    let ckpt = sb.home().join("jobs/stop-me/algo-1/checkpoints/ckpt.txt");
    assert_eq!(std::fs::read_to_string(ckpt).unwrap(), "step=7");
    // A second stop is refused like the service refuses it.
    let err = backend.stop_training_job("stop-me").await.unwrap_err();
    assert_eq!(err.code, "ValidationException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(120)\n",
    );
    let mut config = sb.config();
    config.stop_grace = Duration::from_millis(500);
    let backend = sagedesk::backend::local::LocalBackend::open(config).unwrap();
    backend
        .create_training_job(sb.request("stubborn", "train.py", json!({})))
        .await
        .unwrap();
    wait_for_line(&backend, "stubborn", "ready", LIMIT).await;
    backend.stop_training_job("stubborn").await.unwrap();
    let detail = wait_for_end(&backend, "stubborn", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Stopped);
    // Killed, not stopped gracefully: there is no model to keep.
    assert_eq!(detail.model_artifacts, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_runtime_stops_the_job_and_keeps_what_it_saved() {
    let sb = Sandbox::new();
    sb.script("train.py", SAVE_ON_SIGTERM);
    let backend = sb.backend();
    let request = sb.request(
        "too-long",
        "train.py",
        json!({"StoppingCondition": {"MaxRuntimeInSeconds": 1}}),
    );
    backend.create_training_job(request).await.unwrap();
    let detail = wait_for_end(&backend, "too-long", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Stopped);
    assert_eq!(
        detail.summary.secondary_status,
        Some(SecondaryStatus::MaxRuntimeExceeded)
    );
    assert!(sb.artifacts("too-long").join("model.tar.gz").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_split_sharded_channels_and_share_replicated_ones() {
    let sb = Sandbox::new();
    let train = sb.data(
        "train",
        &[
            ("a.csv", "1"),
            ("b.csv", "2"),
            ("c.csv", "3"),
            ("d/e.csv", "4"),
        ],
    );
    let meta = sb.data("meta", &[("info.txt", "m")]);
    sb.script(
        "train.py",
        r#"
import json, os
def files(channel):
    root = os.environ["SM_CHANNEL_" + channel.upper()]
    out = []
    for d, _, names in os.walk(root):
        out += [os.path.relpath(os.path.join(d, n), root) for n in names]
    return sorted(out)
print(json.dumps({"host": os.environ["SM_CURRENT_HOST"], "hosts": json.loads(os.environ["SM_HOSTS"]),
                  "train": files("train"), "meta": files("meta")}))
"#,
    );
    let backend = sb.backend();
    let request = sb.request(
        "two-hosts",
        "train.py",
        json!({
            "ResourceConfig": {"InstanceCount": 2},
            "InputDataConfig": [
                {"ChannelName": "train", "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": format!("file://{}", train.display()),
                    "S3DataDistributionType": "ShardedByS3Key"}}},
                {"ChannelName": "meta", "DataSource": {"S3DataSource": {
                    "S3DataType": "S3Prefix", "S3Uri": format!("file://{}", meta.display()),
                    "S3DataDistributionType": "FullyReplicated"}}}
            ]
        }),
    );
    backend.create_training_job(request).await.unwrap();
    let detail = wait_for_end(&backend, "two-hosts", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    let page = backend
        .get_log_events("two-hosts", &Cursor::default(), 100)
        .await
        .unwrap();
    let mut seen: Vec<(String, Value)> = page
        .lines
        .iter()
        .map(|l| (l.host.clone(), serde_json::from_str(&l.text).unwrap()))
        .collect();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].0, "algo-1");
    assert_eq!(
        seen[0].1,
        json!({"host": "algo-1", "hosts": ["algo-1", "algo-2"], "train": ["a.csv", "c.csv"], "meta": ["info.txt"]})
    );
    assert_eq!(
        seen[1].1,
        json!({"host": "algo-2", "hosts": ["algo-1", "algo-2"], "train": ["b.csv", "d/e.csv"], "meta": ["info.txt"]})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hyperparameters_become_argv_as_the_toolkit_renders_them() {
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        "import json, sys\nprint(json.dumps(sys.argv[1:]))\n",
    );
    let backend = sb.backend();
    let request = sb.request(
        "argv",
        "train.py",
        json!({"HyperParameters": {
            "lr": "0.01",
            "epochs": "10",
            "big": "1e3",
            "flag": "true",
            "k": "3",
            "layers": "[64, 32]",
            "names": "[\"a\", \"it's\"]",
            "opts": "{\"b\": \"x\", \"a\": 1}",
            "title": "\"hello world\"",
            "quoted": "say \"hi\" 'now'",
            "evil": ";rm -rf /tmp/sagedesk-should-not-exist; echo $HOME `id`",
            "none": "null",
            "sagemaker_region": "\"us-east-1\""
        }}),
    );
    backend.create_training_job(request).await.unwrap();
    let detail = wait_for_end(&backend, "argv", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    let argv: Vec<String> = serde_json::from_str(&log_text(&backend, "argv").await[0]).unwrap();
    assert_eq!(
        argv,
        [
            "--big",
            "1000.0",
            "--epochs",
            "10",
            "--evil",
            ";rm -rf /tmp/sagedesk-should-not-exist; echo $HOME `id`",
            "--flag",
            "True",
            "-k",
            "3",
            "--layers",
            "[64, 32]",
            "--lr",
            "0.01",
            "--names",
            "['a', \"it's\"]",
            "--none",
            "",
            "--opts",
            "a=1,b=x",
            "--quoted",
            "say \"hi\" 'now'",
            "--title",
            "hello world",
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sm_environment_and_config_files_follow_the_contract() {
    let sb = Sandbox::new();
    let train = sb.data("train", &[("x.csv", "1")]);
    sb.script(
        "train.py",
        r#"
import json, os
keys = ["SM_MODEL_DIR", "SM_CHANNELS", "SM_CHANNEL_TRAIN", "SM_HPS", "SM_HP_LR", "SM_HP_EPOCHS",
        "SM_OUTPUT_DATA_DIR", "SM_CURRENT_HOST", "SM_HOSTS", "SM_NUM_CPUS", "SM_NUM_GPUS",
        "SM_USER_ARGS", "SM_MODULE_NAME", "SM_USER_ENTRY_POINT", "SM_FRAMEWORK_PARAMS",
        "SM_INPUT_CONFIG_DIR", "SM_LOG_LEVEL", "SM_CURRENT_INSTANCE_TYPE", "MY_SETTING",
        "TRAINING_JOB_NAME", "SM_MODULE_DIR", "SM_FRAMEWORK_MODULE"]
env = {k: os.environ.get(k) for k in keys}
env["training_env"] = json.loads(os.environ["SM_TRAINING_ENV"])
cfg = os.environ["SM_INPUT_CONFIG_DIR"]
for name in ["hyperparameters", "resourceconfig", "inputdataconfig"]:
    env[name] = json.load(open(os.path.join(cfg, name + ".json")))
env["cwd"] = os.getcwd()
print(json.dumps(env))
"#,
    );
    let backend = sb.backend();
    let request = sb.request(
        "env-job",
        "train.py",
        json!({
            "HyperParameters": {"lr": "0.01", "epochs": "10", "sagemaker_program": "\"train.py\"",
                                "sagemaker_custom_flag": "true"},
            "Environment": {"MY_SETTING": "on"},
            "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv",
                "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                    "S3Uri": format!("file://{}", train.display())}}}]
        }),
    );
    backend.create_training_job(request).await.unwrap();
    let detail = wait_for_end(&backend, "env-job", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    let env: Value = serde_json::from_str(&log_text(&backend, "env-job").await[0]).unwrap();
    // In a sandbox the host's tree is at the container's path; without one, at its own.
    let root = if sagedesk::backend::local::sandbox::availability().available() {
        std::path::PathBuf::from("/opt/ml")
    } else {
        sb.home().join("jobs/env-job/algo-1")
    };
    let p = |rel: &str| root.join(rel).display().to_string();
    assert_eq!(env["SM_MODEL_DIR"], p("model"));
    assert_eq!(env["SM_CHANNELS"], "[\"train\"]");
    assert_eq!(env["SM_CHANNEL_TRAIN"], p("input/data/train"));
    assert_eq!(env["SM_HPS"], "{\"epochs\":10,\"lr\":0.01}");
    assert_eq!(env["SM_HP_LR"], "0.01");
    assert_eq!(env["SM_HP_EPOCHS"], "10");
    assert_eq!(env["SM_OUTPUT_DATA_DIR"], p("output/data"));
    assert_eq!(env["SM_CURRENT_HOST"], "algo-1");
    assert_eq!(env["SM_HOSTS"], "[\"algo-1\"]");
    assert!(env["SM_NUM_CPUS"].as_str().unwrap().parse::<u32>().unwrap() >= 1);
    assert_eq!(env["SM_NUM_GPUS"], "0");
    assert_eq!(
        env["SM_USER_ARGS"],
        "[\"--epochs\",\"10\",\"--lr\",\"0.01\"]"
    );
    assert_eq!(env["SM_MODULE_NAME"], "train");
    assert_eq!(env["SM_USER_ENTRY_POINT"], "train.py");
    assert_eq!(
        env["SM_FRAMEWORK_PARAMS"],
        "{\"sagemaker_custom_flag\":true}"
    );
    assert_eq!(env["SM_INPUT_CONFIG_DIR"], p("input/config"));
    assert_eq!(env["SM_LOG_LEVEL"], "20");
    assert_eq!(env["SM_CURRENT_INSTANCE_TYPE"], "ml.m5.large");
    assert_eq!(env["SM_FRAMEWORK_MODULE"], "");
    assert_eq!(env["MY_SETTING"], "on");
    assert_eq!(env["TRAINING_JOB_NAME"], "env-job");
    assert_eq!(
        env["SM_MODULE_DIR"],
        format!("file://{}", sb.path().join("code").display())
    );
    let te = &env["training_env"];
    assert_eq!(te["job_name"], "env-job");
    assert_eq!(te["hyperparameters"], json!({"epochs": 10, "lr": 0.01}));
    assert_eq!(te["channel_input_dirs"]["train"], p("input/data/train"));
    assert_eq!(te["is_master"], true);
    assert_eq!(env["hyperparameters"]["lr"], "0.01");
    assert_eq!(env["hyperparameters"]["sagemaker_program"], "\"train.py\"");
    assert_eq!(env["resourceconfig"]["current_host"], "algo-1");
    assert_eq!(env["resourceconfig"]["hosts"], json!(["algo-1"]));
    assert_eq!(
        env["inputdataconfig"],
        json!({"train": {"ContentType": "text/csv", "TrainingInputMode": "File",
                         "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None"}})
    );
    assert_eq!(env["cwd"], p("code"));
    let tree = sb.home().join("jobs/env-job/algo-1");
    assert!(tree.join("input/data/train/x.csv").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shell_and_executable_entry_points_and_tarball_submit_directories() {
    let sb = Sandbox::new();
    sb.script("run.sh", "echo \"shell got $# args: $1 $2\"\n");
    let backend = sb.backend();
    let request = sb.request(
        "shell-job",
        "run.sh",
        json!({"HyperParameters": {"mode": "fast"}}),
    );
    backend.create_training_job(request).await.unwrap();
    let detail = wait_for_end(&backend, "shell-job", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    assert_eq!(
        log_text(&backend, "shell-job").await,
        ["shell got 2 args: --mode fast"]
    );

    // A .tar.gz submit directory holding an executable without extension.
    let src = sb.path().join("bundle");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("entry"), "#!/bin/sh\necho from-archive \"$@\"\n").unwrap();
    let tarball = sb.path().join("sourcedir.tar.gz");
    sagedesk::backend::archive::pack_dir(&src, &tarball).unwrap();
    let request = sb.request(
        "tar-job",
        "entry",
        json!({"HyperParameters": {"sagemaker_submit_directory": format!("file://{}", tarball.display())}}),
    );
    backend.create_training_job(request).await.unwrap();
    let detail = wait_for_end(&backend, "tar-job", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    assert_eq!(log_text(&backend, "tar-job").await, ["from-archive"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_local_mode_cannot_run_are_refused_with_the_member_named() {
    let sb = Sandbox::new();
    sb.script("train.py", "print('hi')\n");
    let backend = sb.backend();

    let mut no_program = sb.request("no-program", "train.py", json!({}));
    no_program.hyper_parameters = None;
    let err = backend.create_training_job(no_program).await.unwrap_err();
    assert_eq!(err.code, "ValidationException");
    assert!(err.message.contains("sagemaker_program"), "{err}");
    assert!(err.message.contains("script-mode"), "{err}");

    let err = backend
        .create_training_job(sb.request("bad_name", "train.py", json!({})))
        .await
        .unwrap_err();
    assert!(err.message.contains("TrainingJobName"), "{err}");

    // S3 locations are read and written when the job runs (tests/submitted.rs); a
    // checkpoint LocalPath outside /opt/ml has no place here.
    let outside = sb.request(
        "outside-checkpoints",
        "train.py",
        json!({"CheckpointConfig": {"S3Uri": "s3://bucket/ckpt", "LocalPath": "/tmp/ckpt"}}),
    );
    let err = backend.create_training_job(outside).await.unwrap_err();
    assert_eq!(err.code, "UnsupportedLocally");
    assert!(err.message.contains("CheckpointConfig.LocalPath"), "{err}");

    let missing = sb.request("missing-program", "nope.py", json!({}));
    let err = backend.create_training_job(missing).await.unwrap_err();
    assert!(err.message.contains("nope.py"), "{err}");

    let bad_regex = sb.request(
        "bad-regex",
        "train.py",
        json!({"AlgorithmSpecification": {"MetricDefinitions": [{"Name": "m", "Regex": "loss=("}]}}),
    );
    let err = backend.create_training_job(bad_regex).await.unwrap_err();
    assert!(err.message.contains("MetricDefinitions[0]"), "{err}");

    // Nothing refused was recorded.
    assert!(
        backend
            .list_training_jobs(&Default::default())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_names_are_refused_and_two_jobs_run_at_once() {
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        "import os, time\nfor i in range(5):\n    print(os.environ['TRAINING_JOB_NAME'], i, flush=True)\n    time.sleep(0.05)\n",
    );
    let backend = sb.backend();
    let (a, b) = tokio::join!(
        backend.create_training_job(sb.request("job-a", "train.py", json!({}))),
        backend.create_training_job(sb.request("job-b", "train.py", json!({}))),
    );
    a.unwrap();
    b.unwrap();
    let err = backend
        .create_training_job(sb.request("job-a", "train.py", json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.code, "ResourceInUse");
    for name in ["job-a", "job-b"] {
        let detail = wait_for_end(&backend, name, LIMIT).await;
        assert_eq!(detail.summary.status, Status::Completed);
        let lines = log_text(&backend, name).await;
        let expected: Vec<String> = (0..5).map(|i| format!("{name} {i}")).collect();
        assert_eq!(lines, expected);
    }
    let filter = sagedesk::job::ListFilter {
        name_contains: Some("JOB-B".into()),
        ..Default::default()
    };
    let listed = backend.list_training_jobs(&filter).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "job-b");
    let filter = sagedesk::job::ListFilter {
        status: Some(Status::Failed),
        ..Default::default()
    };
    assert!(
        backend
            .list_training_jobs(&filter)
            .await
            .unwrap()
            .is_empty()
    );
}
