//! A job the SageMaker Python SDK v3 writes runs locally unmodified: `ModelTrainer` with
//! `SourceCode` submits to moto (the `CreateTrainingJob` parameters it sent are taken on
//! the way out), and that request runs on this machine with its code and drivers read from
//! moto's S3 as the service reads them, the SDK's own `sm_train.sh` as the entry point, and
//! the model uploaded back to moto's S3.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

use common::moto::{Moto, REGION, child_env, sdk_v3_python};
use common::*;
use sagedesk::backend::Backend;
use sagedesk::backend::local::{LocalBackend, sandbox};

/// Keeps the `CreateTrainingJob` parameters the SDK sends, in `sent`; scripts write it to
/// the file their last argument names.
const CAPTURE: &str = r#"
import json, sys
import boto3, botocore.client

sent = {}
call = botocore.client.BaseClient._make_api_call
def keep(self, operation, params):
    if operation == "CreateTrainingJob":
        sent.update(params)
    return call(self, operation, params)
botocore.client.BaseClient._make_api_call = keep
"#;

/// Submits with `ModelTrainer` (the code folder is its first argument).
const SUBMIT: &str = r#"

from sagemaker.core.helper.session_helper import Session
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import Compute, InputData, OutputDataConfig, SourceCode

session = Session(boto_session=boto3.Session(region_name="us-east-1"), default_bucket="v3-bucket")
trainer = ModelTrainer(
    training_image="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5.1-cpu-py311-ubuntu22.04-sagemaker",
    source_code=SourceCode(source_dir=sys.argv[1], entry_script="train.py"),
    role="arn:aws:iam::123456789012:role/SageMakerRole",
    base_job_name="v3-trainer",
    compute=Compute(instance_type="ml.m5.xlarge", instance_count=1, volume_size_in_gb=1),
    hyperparameters={"epochs": 3, "lr": 0.5},
    output_data_config=OutputDataConfig(s3_output_path="s3://v3-bucket/output"),
    sagemaker_session=session,
)
trainer.train(
    input_data_config=[InputData(channel_name="train", data_source="s3://v3-bucket/data/")],
    wait=False,
)
json.dump(sent, open(sys.argv[-1], "w"), default=str)
"#;

/// Runs `script` with the SDK v3's Python against `moto`, with the SDK's settings for an
/// emulated account (no role check, no telemetry); fails the test unless it succeeds.
fn sdk(sb: &Sandbox, moto: &Moto, script: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    let settings = sb.path().join("sdk-config.yaml");
    std::fs::write(
        &settings,
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n",
    )
    .unwrap();
    let file = sb.path().join("script.py");
    std::fs::write(&file, script).unwrap();
    cli::succeeded(
        Command::new(sdk_v3_python())
            .arg(&file)
            .args(args)
            .envs(child_env(&moto.endpoint()))
            .env("AWS_DEFAULT_REGION", REGION)
            .env("SAGEMAKER_VALIDATE_ROLE", "false")
            .env("SAGEMAKER_USER_CONFIG_OVERRIDE", &settings)
            .current_dir(sb.path()),
    )
}

/// The `CreateTrainingJob` parameters `script` (run after [`CAPTURE`]) sent, as a request.
fn submitted(
    sb: &Sandbox,
    moto: &Moto,
    script: &str,
    args: &[&std::ffi::OsStr],
) -> serde_json::Value {
    let sent = sb.path().join("sent.json");
    let mut all = args.to_vec();
    all.push(sent.as_os_str());
    sdk(sb, moto, &format!("{CAPTURE}{script}"), &all);
    serde_json::from_str(&std::fs::read_to_string(&sent).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_trainer_job_runs_locally_unmodified() {
    if let sandbox::Availability::Refused { reason } = sandbox::availability() {
        eprintln!("no sandboxes here, the test checks nothing: {reason}");
        return;
    }
    let moto = Moto::start();
    moto.boto3(
        "import boto3\ns3 = boto3.client('s3')\n\
         s3.create_bucket(Bucket='v3-bucket')\n\
         s3.put_object(Bucket='v3-bucket', Key='data/rows.csv', Body=b'1,2\\n3,4\\n5,6\\n')",
    );
    let sb = Sandbox::new();
    let code = sb.script(
        "train.py",
        r#"
import argparse, os, socket
parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
parser.add_argument("--lr", type=float)
args = parser.parse_args()
rows = open("/opt/ml/input/data/train/rows.csv").read().split()
for epoch in range(args.epochs):
    print(f"epoch={epoch} loss={args.lr / (epoch + 1)}")
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as f:
    f.write(f"{len(rows)} rows on {socket.gethostname()}, job {os.environ['TRAINING_JOB_NAME']}")
"#,
    );
    let value = submitted(&sb, &moto, SUBMIT, &[code.as_os_str()]);
    let spec = &value["AlgorithmSpecification"];
    assert_eq!(
        spec["ContainerEntrypoint"],
        serde_json::json!(["/bin/bash"])
    );
    let request = sagedesk::request::request_from_value(value.clone(), "sent")
        .unwrap()
        .request;
    let name = request.name().to_string();

    let mut config = sb.config();
    config.aws = moto.connection();
    let local = LocalBackend::open(config).unwrap();
    local.create_training_job(request).await.unwrap();
    let (detail, log) = completed(&local, &name, std::time::Duration::from_secs(120)).await;
    assert!(log.iter().any(|l| l.contains("epoch=2 loss=")), "{log:?}");
    let artifacts = detail.model_artifacts.clone().unwrap_or_default();
    assert_eq!(
        artifacts,
        format!("s3://v3-bucket/output/{name}/output/model.tar.gz")
    );
    let fetched = sb.path().join("model.tar.gz");
    local
        .download_artifact(&artifacts, &fetched, Box::new(|_, _| {}))
        .await
        .unwrap();
    let unpacked = unpack(&fetched, &sb.path().join("model"));
    assert_eq!(
        std::fs::read_to_string(unpacked.join("model.txt")).unwrap(),
        format!("3 rows on algo-1, job {name}")
    );
}

/// Calls a `@remote` function against moto: the SDK submits its job, writes the
/// `CreateTrainingJob` parameters it sent, then fails to read a result (moto's jobs run
/// nothing).
const REMOTE: &str = r#"

from sagemaker.core.helper.session_helper import Session
from sagemaker.core.remote_function import remote

session = Session(boto_session=boto3.Session(region_name="us-east-1"), default_bucket="rf-bucket")

@remote(
    sagemaker_session=session,
    image_uri="763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5.1-cpu-py311-ubuntu22.04-sagemaker",
    role="arn:aws:iam::123456789012:role/SageMakerRole",
    instance_type="ml.m5.xlarge",
    s3_root_uri="s3://rf-bucket/rf",
    include_local_workdir=False,
)
def divide(x, y):
    import socket
    return {"quotient": x / y, "host": socket.gethostname()}

try:
    divide(10, 4)
except Exception as e:
    print("the client could not read a result from moto:", type(e).__name__)
json.dump(sent, open(sys.argv[-1], "w"), default=str)
"#;

/// Reads the result the job uploaded, as the client would.
const RESULT: &str = r#"
import json, sys, boto3
from sagemaker.core.helper.session_helper import Session
from sagemaker.core.remote_function.core import serialization
session = Session(boto_session=boto3.Session(region_name="us-east-1"), default_bucket="rf-bucket")
print(json.dumps(serialization.deserialize_obj_from_s3(session, s3_uri=sys.argv[1])))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_function_job_returns_its_value_through_s3() {
    if let sandbox::Availability::Refused { reason } = sandbox::availability() {
        eprintln!("no sandboxes here, the test checks nothing: {reason}");
        return;
    }
    let moto = Moto::start();
    moto.boto3("import boto3\nboto3.client('s3').create_bucket(Bucket='rf-bucket')");
    let sb = Sandbox::new();
    let value = submitted(&sb, &moto, REMOTE, &[]);
    let request = sagedesk::request::request_from_value(value, "sent")
        .unwrap()
        .request;
    let name = request.name().to_string();

    // The function runs in the job's interpreter, which has the SDK, as the image does.
    let mut config = sb.config();
    config.aws = moto.connection();
    config.python = sdk_v3_python().to_path_buf();
    let local = LocalBackend::open(config).unwrap();
    local.create_training_job(request).await.unwrap();
    completed(&local, &name, std::time::Duration::from_secs(180)).await;
    let results = format!("s3://rf-bucket/rf/{name}/results");
    let out = sdk(&sb, &moto, RESULT, &[results.as_ref()]);
    let result: serde_json::Value = serde_json::from_str(cli::text(&out.stdout).trim()).unwrap();
    assert_eq!(
        result,
        serde_json::json!({"quotient": 2.5, "host": "algo-1"})
    );
}
