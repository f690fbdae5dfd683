//! Debugging a first job: the diagnosis of failed and stopped jobs (local jobs that fail in
//! the ways first jobs fail, AWS jobs behind the relay with the service's own FailureReason
//! texts and a CloudWatch log holding a traceback, and the window's Overview), rerunning on
//! every save, and the members in which two jobs' requests differ.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::moto::{Moto, connection, log_to_moto, seed};
use common::relay::Relay;
use common::{LIMIT, Sandbox, cli, wait_for_end};
use egui_kittest::kittest::Queryable;
use sagedesk::backend::Backend;
use sagedesk::backend::aws::AwsBackend;
use sagedesk::backend::diagnose::diagnose_job;
use sagedesk::job::diagnosis::{Category, Diagnosis};
use serde_json::{Value, json};

async fn diagnosed(backend: &impl Backend, name: &str) -> Diagnosis {
    wait_for_end(backend, name, LIMIT).await;
    diagnose_job(backend, name).await.unwrap().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_failures_are_named_with_the_traceback_in_the_users_files() {
    let sb = Sandbox::new();
    let code = sb.path().join("code");
    std::fs::create_dir_all(code.join("mylib")).unwrap();
    sb.script("mylib/__init__.py", "");
    sb.script(
        "mylib/model.py",
        "def fit(rows):\n    if len(rows) < 3:\n        raise ValueError(f'need 3 rows, got {len(rows)}')\n",
    );
    sb.script(
        "train.py",
        "import sys\nfrom mylib.model import fit\nprint('starting', flush=True)\nfit([1])\n",
    );
    sb.script("memory.py", "raise MemoryError()\n");
    sb.script(
        "killed.py",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
    );
    sb.script(
        "disk.py",
        "import errno, os\nraise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))\n",
    );
    sb.script("slow.py", "import time\ntime.sleep(60)\n");
    let backend = sb.backend();
    for (job, program, extra) in [
        ("diag-script", "train.py", json!({})),
        ("diag-memory", "memory.py", json!({})),
        ("diag-killed", "killed.py", json!({})),
        ("diag-disk", "disk.py", json!({})),
        (
            "diag-slow",
            "slow.py",
            json!({"StoppingCondition": {"MaxRuntimeInSeconds": 1}}),
        ),
    ] {
        backend
            .create_training_job(sb.request(job, program, extra))
            .await
            .unwrap();
    }

    let d = diagnosed(&backend, "diag-script").await;
    assert_eq!(d.category, Category::ScriptError, "{d:#?}");
    assert_eq!(
        d.exception.as_deref(),
        Some("ValueError: need 3 rows, got 1")
    );
    assert_eq!(d.host.as_deref(), Some("algo-1"));
    let model = code.join("mylib/model.py").display().to_string();
    let frames: Vec<(Option<&str>, u32, &str)> = d
        .traceback
        .iter()
        .map(|f| (f.local.as_deref(), f.line, f.function.as_str()))
        .collect();
    let train = code.join("train.py").display().to_string();
    assert_eq!(
        frames,
        [
            (Some(train.as_str()), 4, "<module>"),
            (Some(model.as_str()), 3, "fit")
        ]
    );
    assert!(d.summary.contains(&format!("{model}:3")), "{}", d.summary);
    assert!(
        d.next_steps[0].starts_with(&format!("Open {model}:3")),
        "{d:#?}"
    );

    for (job, category) in [
        ("diag-memory", Category::OutOfMemory),
        ("diag-killed", Category::OutOfMemory),
        ("diag-disk", Category::DiskFull),
        ("diag-slow", Category::Timeout),
    ] {
        let d = diagnosed(&backend, job).await;
        assert_eq!(d.category, category, "{job}: {d:#?}");
        assert!(!d.next_steps.is_empty(), "{job}: {d:#?}");
    }
    let d = diagnosed(&backend, "diag-disk").await;
    assert!(
        d.next_steps[0].contains("VolumeSizeInGB to 50 (now 1)"),
        "{d:#?}"
    );

    // The command line prints the same as JSON, in the documented shape.
    let out = cli::sagedesk(&sb.home())
        .args(["diagnose", "diag-script", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", cli::text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["category"], "script_error");
    assert_eq!(v["status"], "Failed");
    assert_eq!(v["traceback"][1]["line"], 3);
    assert_eq!(v["traceback"][1]["function"], "fit");
    for key in ["job", "summary", "exception", "host", "next_steps"] {
        assert!(v.get(key).is_some(), "{key} in {v}");
    }
    let out = cli::sagedesk(&sb.home())
        .args(["diagnose", "diag-script"])
        .output()
        .unwrap();
    let text = cli::text(&out.stdout);
    assert!(
        text.starts_with("Script error: The script raised ValueError"),
        "{text}"
    );
}

/// FailureReason texts as the service writes them, and the category each is.
const SERVICE_REASONS: [(&str, &str, Category); 5] = [
    (
        "aws-quota",
        "ResourceLimitExceeded: The account-level service limit 'ml.p3.2xlarge for training \
         job usage' is 0 Instances, with current utilization of 0 Instances and a request delta \
         of 1 Instances. Please use AWS Service Quotas to request an increase for this quota.",
        Category::Quota,
    ),
    (
        "aws-capacity",
        "CapacityError: Unable to provision requested ML compute capacity. Please retry using a \
         different ML instance type.",
        Category::Capacity,
    ),
    (
        "aws-disk",
        "ClientError: Data download failed:Insufficient disk space. Please increase \
         VolumeSizeInGB.",
        Category::DiskFull,
    ),
    (
        "aws-s3",
        "ClientError: Data download failed:Failed to download data. AccessDenied (403): \
         User: arn:aws:sts::123456789012:assumed-role/Role/SageMaker is not authorized to \
         perform: s3:GetObject on resource: arn:aws:s3:::my-bucket/train/data.csv",
        Category::S3AccessDenied,
    ),
    (
        "aws-image",
        "ClientError: Requested image 123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:latest \
         not found.",
        Category::ImagePull,
    ),
];

#[test]
fn aws_failures_are_read_from_the_services_words_and_the_cloudwatch_log() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moto = Moto::start();
    let relay = Relay::start(moto.port);
    let mut names: Vec<&str> = SERVICE_REASONS.iter().map(|(n, _, _)| *n).collect();
    names.push("aws-script");
    runtime.block_on(seed(&relay.endpoint(), &names));
    for (name, reason, _) in SERVICE_REASONS {
        relay.fail_job(name, Duration::from_millis(50), reason);
    }
    relay.fail_job(
        "aws-script",
        Duration::from_millis(50),
        "AlgorithmError: ExecuteUserScriptError:\nExitCode 1\nErrorMessage \"KeyError: 'label'\"\n\
         Command \"/opt/conda/bin/python3.10 train.py\", exit code: 1",
    );
    relay.price("ml.p3.8xlarge", 14.688);
    log_to_moto(
        &moto,
        "aws-script",
        &[
            "epoch 1",
            "Traceback (most recent call last):",
            "  File \"/opt/ml/code/train.py\", line 12, in <module>",
            "    y = row['label']",
            "KeyError: 'label'",
        ],
    );
    std::thread::sleep(Duration::from_millis(500));
    let aws = runtime
        .block_on(AwsBackend::connect(connection(&relay.endpoint())))
        .unwrap();
    for (name, reason, category) in SERVICE_REASONS {
        let d = runtime
            .block_on(diagnose_job(&aws, name))
            .unwrap()
            .unwrap_or_else(|| panic!("{name} not failed"));
        assert_eq!(d.category, category, "{name}: {reason}\n{d:#?}");
    }
    let quota = runtime
        .block_on(diagnose_job(&aws, "aws-quota"))
        .unwrap()
        .unwrap();
    assert!(
        quota.next_steps[0].contains("\"ml.p3.2xlarge for training job usage\"")
            && quota.next_steps[0].contains("console.aws.amazon.com/servicequotas"),
        "{quota:#?}"
    );
    let s3 = runtime
        .block_on(diagnose_job(&aws, "aws-s3"))
        .unwrap()
        .unwrap();
    assert!(
        s3.next_steps[0].contains("\"Action\":[\"s3:GetObject\"]")
            && s3.next_steps[0].contains("arn:aws:s3:::my-bucket/train/data.csv"),
        "{s3:#?}"
    );
    let script = runtime
        .block_on(diagnose_job(&aws, "aws-script"))
        .unwrap()
        .unwrap();
    assert_eq!(script.category, Category::ScriptError);
    assert_eq!(script.exception.as_deref(), Some("KeyError: 'label'"));
    assert_eq!(script.traceback[0].file, "/opt/ml/code/train.py");
    assert_eq!(script.traceback[0].line, 12);
    assert!(
        script
            .next_steps
            .iter()
            .any(|s| s.contains("sagedesk run --from-aws aws-script")),
        "{script:#?}"
    );
}

#[test]
fn a_failed_jobs_overview_leads_with_its_diagnosis() {
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        "def fit():\n    raise KeyError('label')\n\nfit()\n",
    );
    let backend = sb.backend();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        backend
            .create_training_job(sb.request("diag-window", "train.py", json!({})))
            .await
            .unwrap();
        wait_for_end(&backend, "diag-window", LIMIT).await;
    });
    let state = sagedesk::ui::state::State {
        selection: Some(sagedesk::backend::JobRef::local("diag-window")),
        ..Default::default()
    };
    let mut h =
        common::window::harness_with_state(std::sync::Arc::new(sb.backend()), sb.home(), state);
    common::window::wait_for(&mut h, "the diagnosis", |h| {
        common::window::has_text(h, "Script error")
    });
    assert!(common::window::has_text(&h, "KeyError: 'label'"));
    assert!(common::window::has_text(&h, "Copy traceback"));
    assert!(common::window::has_text(&h, "Next steps"));
    let train = sb.path().join("code/train.py").display().to_string();
    assert!(
        common::window::has_text(&h, &format!("{train}:2")),
        "the frame in the user's file"
    );
}

/// The local jobs whose log holds `line`, once they completed.
async fn completed_with(backend: &impl Backend, line: &str) -> Vec<String> {
    let filter = sagedesk::job::ListFilter::default();
    let mut names = Vec::new();
    for job in backend.list_training_jobs(&filter).await.unwrap() {
        if job.status == sagedesk::job::Status::Completed
            && common::log_text(backend, &job.name)
                .await
                .iter()
                .any(|l| l == line)
        {
            names.push(job.name.clone());
        }
    }
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_watch_runs_again_after_each_settled_save() {
    let sb = Sandbox::new();
    sb.script("train.py", "print('version one')\n");
    let request = sb.request("watched", "train.py", json!({}));
    let file = cli::request_file(&sb, &request);
    let child = cli::sagedesk(&sb.home())
        .args(["run", "--watch"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let backend = sb.backend();
    let deadline = std::time::Instant::now() + LIMIT;
    while completed_with(&backend, "version one").await.is_empty() {
        assert!(std::time::Instant::now() < deadline, "no first run");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A burst of saves, an editor's swap file among them: one run of the last version.
    for version in ["two", "three"] {
        sb.script(".train.py.swp", "swap");
        sb.script("train.py", &format!("print('version {version}')\n"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while completed_with(&backend, "version three").await.is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no run after the save"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let jobs = backend
        .list_training_jobs(&sagedesk::job::ListFilter::default())
        .await
        .unwrap();
    assert_eq!(jobs.len(), 2, "one run per settled change: {jobs:?}");
    assert!(
        jobs.iter().all(|j| j.name.starts_with("watched-")),
        "{jobs:?}"
    );
    // SAFETY: signals a child process of this test.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let err = cli::text(&out.stderr);
    assert!(err.contains("the code changed: running again"), "{err}");
    assert_eq!(out.status.code(), Some(0), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_names_the_members_two_jobs_differ_in() {
    let moto = Moto::start();
    seed(&moto.endpoint(), &["origin-job"]).await;
    let aws = AwsBackend::connect(connection(&moto.endpoint()))
        .await
        .unwrap();
    let origin = aws
        .describe_training_job("origin-job")
        .await
        .unwrap()
        .request;
    // The local run of it: same request, this machine's code folder and output.
    let sb = Sandbox::new();
    sb.script("train.py", "print('ok')\n");
    let mut local = origin.clone();
    let mine = sb.request("origin-job-local", "train.py", json!({}));
    local.training_job_name = mine.training_job_name.clone();
    local.hyper_parameters = mine.hyper_parameters.clone();
    local.output_data_config = mine.output_data_config.clone();
    local.input_data_config = None;
    let backend = sb.backend();
    backend.create_training_job(local).await.unwrap();
    wait_for_end(&backend, "origin-job-local", LIMIT).await;
    let out = cli::sagedesk(&sb.home())
        .args(["diff", "local:origin-job-local", "aws:origin-job", "--json"])
        .args(["--endpoint-url", &moto.endpoint(), "--region", "us-east-1"])
        .envs(common::moto::child_env(&moto.endpoint()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", cli::text(&out.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let paths: Vec<&str> = rows.iter().filter_map(|r| r["path"].as_str()).collect();
    assert!(
        paths.contains(&"HyperParameters.sagemaker_program"),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"OutputDataConfig.S3OutputPath"),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.starts_with("TrainingJobName")),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.starts_with("ResourceConfig")),
        "the same instances: {paths:?}"
    );
}

/// Sends one Debug Adapter Protocol request.
fn send(stream: &mut std::net::TcpStream, seq: i64, command: &str, arguments: Value) {
    use std::io::Write;
    let body = json!({"seq": seq, "type": "request", "command": command, "arguments": arguments})
        .to_string();
    write!(stream, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
}

/// Reads messages until the response to request `seq`.
fn response(reader: &mut std::io::BufReader<std::net::TcpStream>, seq: i64) -> Value {
    use std::io::{BufRead, Read};
    loop {
        let mut length = 0;
        loop {
            let mut header = String::new();
            assert!(
                reader.read_line(&mut header).unwrap() > 0,
                "the debugger hung up"
            );
            if header.trim().is_empty() {
                break;
            }
            if let Some(n) = header.trim().strip_prefix("Content-Length: ") {
                length = n.parse().unwrap();
            }
        }
        let mut buffer = vec![0; length];
        reader.read_exact(&mut buffer).unwrap();
        let message: Value = serde_json::from_slice(&buffer).unwrap();
        if message["type"] == "response" && message["request_seq"] == seq {
            return message;
        }
    }
}

#[test]
fn run_debug_waits_for_the_editor_and_goes_on_once_it_attaches() {
    let sb = Sandbox::new();
    sb.script("train.py", "print('after the debugger', flush=True)\n");
    let request = sb.request(
        "debugged",
        "train.py",
        json!({"StoppingCondition": {"MaxRuntimeInSeconds": 20}}),
    );
    let file = cli::request_file(&sb, &request);
    let port = common::moto::free_port();
    let child = cli::sagedesk(&sb.home())
        .args(["run", "--debug", &port.to_string()])
        .arg(&file)
        .env("SAGEDESK_PYTHON", common::moto::debugpy_python())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The editor attaches: initialize, attach, configurationDone.
    let deadline = std::time::Instant::now() + LIMIT;
    let mut stream = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => break stream,
            Err(_) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(100))
            }
            Err(e) => panic!("nothing listens on {port}: {e}"),
        }
    };
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    send(
        &mut stream,
        1,
        "initialize",
        json!({"adapterID": "debugpy"}),
    );
    assert_eq!(response(&mut reader, 1)["success"], true);
    // The attach is answered once the configuration is done, as VS Code does it.
    send(&mut stream, 2, "attach", json!({"justMyCode": false}));
    send(&mut stream, 3, "configurationDone", json!({}));
    assert_eq!(response(&mut reader, 3)["success"], true);
    let out = child.wait_with_output().unwrap();
    let stdout = cli::text(&out.stdout);
    let stderr = cli::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("after the debugger"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "Waiting for a debugger on 127.0.0.1:{port} (algo-1)"
        )),
        "{stdout}"
    );
    let code = sb.path().join("code").display().to_string();
    assert!(
        stdout.contains(&format!("\"localRoot\":\"{code}\"")) && stdout.contains("\"remoteRoot\""),
        "{stdout}"
    );
}

/// A sandbox holding local job `name`, run from the command line with `script` and failed;
/// `None` where this machine refuses sandboxes.
fn failed_in_a_sandbox(name: &str, script: &str) -> Option<Sandbox> {
    if !sagedesk::backend::local::sandbox::availability().available() {
        eprintln!("skipped: this machine refuses sandboxes");
        return None;
    }
    let sb = Sandbox::new();
    sb.script("train.py", script);
    let request = sb.request(name, "train.py", json!({}));
    let out = cli::sagedesk(&sb.home())
        .arg("run")
        .arg(cli::request_file(&sb, &request))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", cli::text(&out.stderr));
    Some(sb)
}

#[test]
fn a_shell_opens_in_a_hosts_sandbox_after_the_job() {
    let script = "open('/opt/ml/model/left.txt', 'w').write('x')\nraise SystemExit(3)\n";
    let Some(sb) = failed_in_a_sandbox("poke-around", script) else {
        return;
    };
    let mut shell = cli::sagedesk(&sb.home())
        .args(["shell", "poke-around"])
        .env("SHELL", "/bin/sh")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = shell.stdin.take().unwrap();
        writeln!(
            stdin,
            "echo host=$(hostname) env=$SM_CURRENT_HOST pwd=$(pwd)"
        )
        .unwrap();
        writeln!(stdin, "ls /opt/ml/model").unwrap();
        writeln!(stdin, "exit").unwrap();
    }
    let out = shell.wait_with_output().unwrap();
    let stdout = cli::text(&out.stdout);
    assert!(
        stdout.contains("host=algo-1 env=algo-1 pwd=/opt/ml/code"),
        "{stdout}\n{}",
        cli::text(&out.stderr)
    );
    assert!(stdout.contains("left.txt"), "{stdout}");
    let out = cli::sagedesk(&sb.home())
        .args(["shell", "no-such-job"])
        .output()
        .unwrap();
    assert!(cli::text(&out.stderr).contains("no-such-job is not a local job here"));
}

#[test]
fn watch_in_the_window_runs_again_on_save_and_shows_the_new_run() {
    let sb = Sandbox::new();
    sb.script("train.py", "print('first')\n");
    let backend = sb.backend();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        backend
            .create_training_job(sb.request("watched-window", "train.py", json!({})))
            .await
            .unwrap();
        wait_for_end(&backend, "watched-window", LIMIT).await;
    });
    let state = sagedesk::ui::state::State {
        selection: Some(sagedesk::backend::JobRef::local("watched-window")),
        ..Default::default()
    };
    let mut h =
        common::window::harness_with_state(std::sync::Arc::new(sb.backend()), sb.home(), state);
    common::window::wait_for(&mut h, "the job", |h| {
        common::window::has_text(h, "👁 Watch")
    });
    h.get_by_label_contains("👁 Watch").click();
    common::window::wait_for(&mut h, "watching", |h| {
        common::window::has_text(h, "Stop watching")
    });
    sb.script("train.py", "print('second')\n");
    common::window::wait_for(&mut h, "the new run, shown", |h| {
        h.state()
            .state()
            .selection
            .as_ref()
            .is_some_and(|j| j.name.starts_with("watched-window-"))
            && common::window::has_text(h, "Stop watching")
    });
    let run = h.state().state().selection.clone().unwrap().name;
    let log = runtime.block_on(async {
        wait_for_end(&backend, &run, LIMIT).await;
        common::log_text(&backend, &run).await
    });
    assert_eq!(log, ["second"]);
    h.get_by_label_contains("Stop watching").click();
    common::window::wait_for(&mut h, "no longer watching", |h| {
        common::window::has_text(h, "👁 Watch")
    });
}

#[test]
fn debug_in_the_window_runs_the_job_again_waiting_for_the_editor() {
    let sb = Sandbox::new();
    sb.script("train.py", "print('debugged')\n");
    let mut config = sb.config();
    config.python = common::moto::debugpy_python().to_path_buf();
    let backend = sagedesk::backend::local::LocalBackend::open(config.clone()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        backend
            .create_training_job(sb.request("to-debug", "train.py", json!({})))
            .await
            .unwrap();
        wait_for_end(&backend, "to-debug", LIMIT).await;
    });
    let state = sagedesk::ui::state::State {
        selection: Some(sagedesk::backend::JobRef::local("to-debug")),
        ..Default::default()
    };
    let window_backend = sagedesk::backend::local::LocalBackend::open(config).unwrap();
    let mut h =
        common::window::harness_with_state(std::sync::Arc::new(window_backend), sb.home(), state);
    common::window::wait_for(&mut h, "the job", |h| common::window::has_text(h, "Debug"));
    h.get_by_label_contains("🐞 Debug").click();
    common::window::wait_for(&mut h, "the debugged run, shown", |h| {
        h.state()
            .state()
            .selection
            .as_ref()
            .is_some_and(|j| j.name.starts_with("to-debug-"))
    });
    let run = h.state().state().selection.clone().unwrap().name;
    runtime.block_on(async {
        let waiting = format!(
            "Waiting for a debugger on 127.0.0.1:{} (algo-1)",
            sagedesk::job::DEBUG_PORT
        );
        common::wait_for_line(&backend, &run, &waiting, LIMIT).await;
        backend.stop_training_job(&run).await.unwrap();
        wait_for_end(&backend, &run, LIMIT).await;
    });
}

#[test]
fn pdb_opens_where_the_entry_point_raised() {
    let script =
        "def fit(rows):\n    total = sum(rows)\n    raise ValueError(total)\n\nfit([1, 2])\n";
    let Some(sb) = failed_in_a_sandbox("post-mortem", script) else {
        return;
    };
    let mut pdb = cli::sagedesk(&sb.home())
        .args(["shell", "post-mortem", "--pdb"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = pdb.stdin.take().unwrap();
        // At the frame that raised: its local variable, then quit.
        writeln!(stdin, "p total * 10").unwrap();
    }
    let out = pdb.wait_with_output().unwrap();
    let stdout = cli::text(&out.stdout);
    assert!(
        stdout.contains("Uncaught exception. Entering post mortem debugging"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n30\n") || stdout.contains(" 30\n"),
        "{stdout}"
    );
    assert!(stdout.contains("/opt/ml/code/train.py(3)fit()"), "{stdout}");
}

#[test]
fn a_warm_pool_is_listed_and_a_job_runs_again_on_it_in_one_click() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moto = Moto::start();
    let relay = Relay::start(moto.port);
    runtime.block_on(seed(&relay.endpoint(), &["pooled-job"]));
    relay.run_job("pooled-job", Duration::from_millis(20));
    relay.warm_pool("pooled-job", "Available");
    std::thread::sleep(Duration::from_millis(200));
    let aws = runtime
        .block_on(AwsBackend::connect(connection(&relay.endpoint())))
        .unwrap();
    let listed = runtime
        .block_on(aws.list_training_jobs(&sagedesk::job::ListFilter::default()))
        .unwrap();
    let pooled = listed.iter().find(|j| j.name == "pooled-job").unwrap();
    assert_eq!(pooled.warm_pool.as_deref(), Some("Available"));

    let sb = Sandbox::new();
    let source = sagedesk::backend::Connection::Aws(connection(&relay.endpoint()));
    let state = sagedesk::ui::state::State {
        selection: Some(sagedesk::backend::JobRef::new(source, "pooled-job")),
        ..Default::default()
    };
    let mut h = common::window::harness_with_aws_state(&sb, connection(&relay.endpoint()), state);
    common::window::wait_for(&mut h, "the warm pool", |h| {
        common::window::has_text(h, "Run again on the warm pool")
    });
    common::window::wait_for(&mut h, "the list's warm pool", |h| {
        common::window::has_text(h, "warm pool Available")
    });
    h.get_by_label_contains("Run again on the warm pool")
        .click();
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        h.step();
        let jobs = runtime
            .block_on(aws.list_training_jobs(&sagedesk::job::ListFilter::default()))
            .unwrap();
        if jobs.iter().any(|j| j.name.starts_with("pooled-job-")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no second run: {jobs:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_aws_jobs_frames_map_to_the_folder_its_code_was_uploaded_from() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let moto = Moto::start();
    let relay = Relay::start(moto.port);
    let aws = runtime
        .block_on(AwsBackend::connect(connection(&relay.endpoint())))
        .unwrap();
    let uri = "s3://code-bucket/uploaded/sourcedir.tar.gz";
    let mut request = common::moto::aws_request("uploaded-job");
    request.hyper_parameters = Some(
        [
            ("sagemaker_program".to_string(), "\"train.py\"".to_string()),
            (
                "sagemaker_submit_directory".to_string(),
                format!("\"{uri}\""),
            ),
        ]
        .into(),
    );
    runtime.block_on(aws.create_training_job(request)).unwrap();
    relay.fail_job(
        "uploaded-job",
        Duration::from_millis(20),
        "AlgorithmError: ExecuteUserScriptError:\nExitCode 1",
    );
    log_to_moto(
        &moto,
        "uploaded-job",
        &[
            "Traceback (most recent call last):",
            "  File \"/opt/ml/code/train.py\", line 2, in <module>",
            "    boom()",
            "NameError: name 'boom' is not defined",
        ],
    );
    // The code SageDesk uploaded from this folder.
    let sb = Sandbox::new();
    let code = sb.script("train.py", "import sys\nboom()\n");
    std::fs::create_dir_all(sb.home()).unwrap();
    sagedesk::uploads::record(&sb.home(), uri, &code).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let home = sb.home();
    let here = sagedesk::backend::diagnose::diagnose_job_here(&aws, "uploaded-job", Some(&home));
    let d = runtime.block_on(here).unwrap().unwrap();
    assert_eq!(
        d.exception.as_deref(),
        Some("NameError: name 'boom' is not defined")
    );
    assert_eq!(
        d.traceback[0].local.as_deref(),
        Some(code.join("train.py").display().to_string().as_str())
    );
    // Without the record, the path as logged.
    let d = runtime
        .block_on(diagnose_job(&aws, "uploaded-job"))
        .unwrap()
        .unwrap();
    assert_eq!(d.traceback[0].local, None);
    assert_eq!(d.traceback[0].file, "/opt/ml/code/train.py");
}
