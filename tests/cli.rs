//! The `sagedesk` binary as users run it: separate processes sharing one data folder.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

use common::cli::{request_file, sagedesk, text};
use common::*;
use sagedesk::backend::Backend;
use serde_json::{Value, json};

fn run(home: &Path, args: &[&str]) -> Output {
    sagedesk(home).args(args).output().expect("run sagedesk")
}

/// A copy of the demo job in `dir`, with fewer epochs so that it ends quickly.
fn demo_copy(dir: &Path, epochs: u32) -> PathBuf {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo");
    for rel in [
        "code/train.py",
        "data/train/moons-train.csv",
        "data/validation/moons-validation.csv",
    ] {
        let dest = dir.join("demo").join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(demo.join(rel), dest).unwrap();
    }
    let mut job: Value =
        serde_json::from_str(&std::fs::read_to_string(demo.join("job.json")).unwrap()).unwrap();
    job["HyperParameters"]["epochs"] = json!(epochs.to_string());
    let path = dir.join("demo/job.json");
    std::fs::write(&path, serde_json::to_string_pretty(&job).unwrap()).unwrap();
    path
}

#[test]
fn the_demo_runs_and_every_command_reads_it_back() {
    let sb = Sandbox::new();
    let home = sb.home();
    let job = demo_copy(sb.path(), 3);
    let job = job.to_str().unwrap();

    let out = run(&home, &["run", job, "--follow"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("epoch=3 train_loss="), "{stdout}");
    assert!(
        text(&out.stderr).contains("Completed"),
        "{}",
        text(&out.stderr)
    );

    let out = run(&home, &["jobs"]);
    let listing = text(&out.stdout);
    assert!(listing.starts_with("NAME"), "{listing}");
    assert!(
        listing.contains("sagedesk-demo-moons  Completed"),
        "{listing}"
    );

    let out = run(&home, &["describe", "sagedesk-demo-moons", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let describe: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(describe["TrainingJobStatus"], "Completed");
    assert_eq!(describe["FinalMetricDataList"].as_array().unwrap().len(), 4);
    let model = describe["ModelArtifacts"]["S3ModelArtifacts"]
        .as_str()
        .unwrap();
    let model_path = model.strip_prefix("file://").unwrap();
    let entries = sagedesk::backend::archive::list_tar_gz_file(Path::new(model_path)).unwrap();
    assert_eq!(entries.entries[0].path, "model.json");
    let submit = describe["HyperParameters"]["sagemaker_submit_directory"]
        .as_str()
        .unwrap();
    assert!(submit.starts_with("\"file:///"), "{submit}");

    let out = run(&home, &["metrics", "sagedesk-demo-moons", "--csv"]);
    let csv = text(&out.stdout);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "metric,timestamp,value");
    assert_eq!(rows.len(), 1 + 3 * 4, "{csv}");
    let out = run(&home, &["metrics", "sagedesk-demo-moons"]);
    assert!(text(&out.stdout).contains("validation:accuracy"));

    let out = run(&home, &["logs", "sagedesk-demo-moons"]);
    assert!(text(&out.stdout).contains("saved model after 3 epochs"));

    // The same name again is refused, with the way out named; --unique-name runs it.
    let out = run(&home, &["run", job]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("ResourceInUse") && err.contains("--unique-name"),
        "{err}"
    );
    let out = run(&home, &["run", job, "--unique-name"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A DescribeTrainingJob response runs as a request, with a note about what was dropped.
    let described = sb.path().join("demo/described.json");
    std::fs::write(&described, serde_json::to_vec(&describe).unwrap()).unwrap();
    let out = run(
        &home,
        &[
            "run",
            described.to_str().unwrap(),
            "--name",
            "from-describe",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("output-only members dropped: TrainingJobArn"));
}

#[test]
fn bad_files_exit_2_and_name_the_place() {
    let sb = Sandbox::new();
    let home = sb.home();
    let bad = sb.path().join("bad.json");
    std::fs::write(&bad, "{\n  \"TrainingJobName\": \"x\",\n  oops\n}").unwrap();
    let out = run(&home, &["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("bad.json:3:3: malformed JSON"), "{err}");

    std::fs::write(
        &bad,
        r#"{"TrainingJobName": "x", "ResourceConfig": {"InstanceCount": "two"}}"#,
    )
    .unwrap();
    let out = run(&home, &["run", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("member ResourceConfig.InstanceCount"), "{err}");
    assert!(err.contains("expected i64"), "{err}");

    let out = run(&home, &["run", "/nonexistent/job.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("/nonexistent/job.json"));

    let out = run(&home, &["describe", "no-such-job"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("ResourceNotFound"));

    let out = run(&home, &["jobs", "--status", "Sleeping"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("InProgress"));
}

fn write_job(sb: &Sandbox, name: &str, script: &str) -> PathBuf {
    sb.script("train.py", script);
    request_file(sb, &sb.request(name, "train.py", json!({})))
}

fn wait_line(home: &Path, name: &str, needle: &str) -> String {
    let deadline = Instant::now() + LIMIT;
    loop {
        let out = run(home, &["logs", name]);
        let logs = text(&out.stdout);
        if let Some(line) = logs.lines().find(|l| l.contains(needle)) {
            return line.to_string();
        }
        assert!(Instant::now() < deadline, "no {needle:?} in {logs}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn wait_exit(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        assert!(Instant::now() < deadline, "sagedesk run did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `sagedesk run JOB` in the background, as a user's terminal would hold it.
fn spawn_run(home: &Path, job: &Path) -> Child {
    sagedesk(home)
        .args(["run", job.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

const LONG_SCRIPT: &str =
    "import os, time\nprint('ready pid=%d' % os.getpid(), flush=True)\ntime.sleep(120)\n";

#[test]
fn stop_from_another_process_ends_a_run_with_exit_3() {
    let sb = Sandbox::new();
    let home = sb.home();
    let job = write_job(&sb, "remote-stop", LONG_SCRIPT);
    let mut child = spawn_run(&home, &job);
    wait_line(&home, "remote-stop", "ready");
    let out = run(&home, &["stop", "remote-stop"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("remote-stop: Stopping"));
    assert_eq!(wait_exit(&mut child), Some(3));
    let out = run(&home, &["describe", "remote-stop", "--json"]);
    let describe: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(describe["TrainingJobStatus"], "Stopped");
}

#[test]
fn one_ctrl_c_stops_a_run_with_exit_3_whenever_it_comes() {
    let sb = Sandbox::new();
    let home = sb.home();
    let job = write_job(&sb, "interrupted", LONG_SCRIPT);
    let mut child = spawn_run(&home, &job);
    wait_line(&home, "interrupted", "ready");
    // One Ctrl+C, whether the command is waiting or reading the job at that moment.
    // SAFETY: signals a child process of this test.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    assert_eq!(wait_exit(&mut child), Some(3));
    let out = run(&home, &["describe", "interrupted", "--json"]);
    let describe: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(describe["TrainingJobStatus"], "Stopped");
}

#[test]
fn a_failed_job_exits_1() {
    let sb = Sandbox::new();
    let job = write_job(&sb, "exit-1", "raise SystemExit('bad things')\n");
    let out = run(&sb.home(), &["run", job.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("bad things"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_supervisor_died_is_marked_interrupted_at_the_next_start() {
    let sb = Sandbox::new();
    let home = sb.home();
    let job = write_job(&sb, "orphan", LONG_SCRIPT);
    let mut child = spawn_run(&home, &job);
    let line = wait_line(&home, "orphan", "ready");
    let script_pid: i64 = line.rsplit("pid=").next().unwrap().trim().parse().unwrap();

    // Another process opening the store meanwhile leaves the live job alone.
    let other = sb.backend();
    let detail = other.describe_training_job("orphan").await.unwrap();
    assert_eq!(detail.summary.status, sagedesk::job::Status::InProgress);
    drop(other);

    // The job's own supervisor process is killed (by the OS, say); the `run` that started
    // it notices and ends.
    let store = sagedesk::store::Store::open(&sb.config().database()).unwrap();
    let supervised = store.unfinished().unwrap();
    let pid = supervised[0].pid.unwrap();
    assert_ne!(pid, i64::from(child.id()), "a process of its own");
    sagedesk::process::signal_group(pid, libc::SIGKILL);
    wait_exit(&mut child);

    let backend = sb.backend();
    let detail = backend.describe_training_job("orphan").await.unwrap();
    assert_eq!(detail.summary.status, sagedesk::job::Status::Failed);
    let reason = detail.failure_reason.unwrap();
    assert!(reason.starts_with("Interrupted"), "{reason}");
    assert!(
        log_text(&backend, "orphan")
            .await
            .iter()
            .any(|l| l.starts_with("ready"))
    );
    // The orphaned training process was killed with its supervisor's job.
    let deadline = Instant::now() + LIMIT;
    while Path::new(&format!("/proc/{script_pid}")).exists()
        && sagedesk::process::start_time(script_pid).is_some()
    {
        let stat = std::fs::read_to_string(format!("/proc/{script_pid}/stat")).unwrap_or_default();
        if stat.contains(") Z") {
            break;
        }
        assert!(Instant::now() < deadline, "process {script_pid} still runs");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn validate_reports_every_problem_with_exit_codes() {
    let sb = Sandbox::new();
    let home = sb.home();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo/job.json");
    let demo = demo.to_str().unwrap();

    let out = run(&home, &["validate", demo, "--target", "local"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("valid (target: local)"));

    // The demo reads file:// data, which the service would refuse: two errors, by member.
    let out = run(&home, &["validate", demo]);
    assert_eq!(out.status.code(), Some(2));
    let report = text(&out.stdout);
    assert!(report.contains("errors"), "{report}");
    assert!(
        report.contains("\nInputDataConfig[0].DataSource.S3DataSource.S3Uri\n  error    pattern"),
        "{report}"
    );

    let bad = sb.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"TrainingJobName": "bad_name", "RoleArn": "arn:aws:iam::123456789012:role/R",
            "ResourceConfig": {"InstanceCount": "two"}}"#,
    )
    .unwrap();
    let out = run(&home, &["validate", bad.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(2));
    let diags: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let find = |path: &str, code: &str| {
        diags
            .iter()
            .find(|d| d["path"] == path && d["code"] == code)
            .unwrap_or_else(|| panic!("no {code} at {path} in {diags:#?}"))
    };
    assert_eq!(find("TrainingJobName", "pattern")["severity"], "error");
    assert_eq!(
        find("ResourceConfig.InstanceCount", "type")["message"],
        "must be a whole number"
    );
    assert_eq!(find("OutputDataConfig", "required")["severity"], "error");
    for d in &diags {
        let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["path", "severity", "code", "message"]);
    }

    std::fs::write(&bad, "{ nope").unwrap();
    let out = run(&home, &["validate", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("bad.json:1:3"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_refuses_what_local_mode_cannot_run_with_the_same_report() {
    let sb = Sandbox::new();
    sb.script("train.py", "print('never')\n");
    // PyTorch XLA runs on Trainium and TPU devices.
    let request = sb.request(
        "refused",
        "missing.py",
        json!({"HyperParameters": {"sagemaker_pytorch_xla_multi_worker_enabled": "true"}}),
    );
    let path = sb.path().join("refused.json");
    std::fs::write(&path, sagedesk::request::to_cli_input_json(&request)).unwrap();
    let out = run(&sb.home(), &["run", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("local mode cannot run this job"), "{err}");
    assert!(
        err.contains("HyperParameters.sagemaker_program\n  error    local_program"),
        "{err}"
    );
    assert!(err.contains("local_unsupported"), "{err}");
    let out = run(&sb.home(), &["jobs"]);
    assert_eq!(text(&out.stdout), "no jobs\n");
}

#[test]
fn a_job_gets_its_own_environment_not_sagedesks_aws_keys_and_describe_masks_secrets() {
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        "import os\n\
         for k in ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', \
         'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'HF_TOKEN']:\n\
         \x20   print(k, '=', os.environ.get(k, '<unset>'))\n",
    );
    let request = sb.request(
        "env-job",
        "train.py",
        json!({"Environment": {"HF_TOKEN": "hf_from_the_job", "AWS_SESSION_TOKEN": "job-session"},
               "HyperParameters": {"wandb_api_key": "wandb-from-the-job"}}),
    );
    let job = request_file(&sb, &request);
    let out = sagedesk(&sb.home())
        .args(["run", job.to_str().unwrap()])
        .env("AWS_ACCESS_KEY_ID", "AKIASAGEDESKOWNKEY01")
        .env("AWS_SECRET_ACCESS_KEY", "sagedesk-own-secret")
        .env("AWS_SESSION_TOKEN", "sagedesk-own-session")
        .env("AWS_PROFILE", "sagedesk-profile")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let logs = text(&run(&sb.home(), &["logs", "env-job"]).stdout);
    for expected in [
        "AWS_ACCESS_KEY_ID = <unset>",
        "AWS_SECRET_ACCESS_KEY = <unset>",
        "AWS_PROFILE = <unset>",
        "AWS_SHARED_CREDENTIALS_FILE = /dev/null",
        // What the job's Environment sets, it gets.
        "AWS_SESSION_TOKEN = job-session",
        "HF_TOKEN = hf_from_the_job",
    ] {
        assert!(logs.contains(expected), "{expected} not in\n{logs}");
    }
    assert!(!logs.contains("sagedesk-own"), "{logs}");

    let described = text(&run(&sb.home(), &["describe", "env-job"]).stdout);
    assert!(described.contains("HF_TOKEN"), "{described}");
    assert!(described.contains("••••••••"), "{described}");
    assert!(!described.contains("hf_from_the_job"), "{described}");
    assert!(!described.contains("wandb-from-the-job"), "{described}");
    let json: Value =
        serde_json::from_slice(&run(&sb.home(), &["describe", "env-job", "--json"]).stdout)
            .unwrap();
    assert_eq!(json["Environment"]["HF_TOKEN"], "hf_from_the_job");
    assert_eq!(
        json["HyperParameters"]["wandb_api_key"],
        "wandb-from-the-job"
    );
}
