//! Diagnosis of failed and stopped jobs: local jobs that fail in the ways first jobs fail,
//! and AWS jobs (moto behind the relay) with the service's own FailureReason texts and a
//! CloudWatch log holding a traceback.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::moto::{Moto, connection, log_to_moto, seed};
use common::relay::Relay;
use common::{LIMIT, Sandbox, cli, wait_for_end};
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
