//! A job the SageMaker Python SDK v3 writes runs locally unmodified: `ModelTrainer` with
//! `SourceCode` submits to moto (the `CreateTrainingJob` parameters it sent are taken on
//! the way out), and that request runs on this machine with its code and drivers read from
//! moto's S3 as the service reads them, the SDK's own `sm_train.sh` as the entry point, and
//! the model uploaded back to moto's S3.

#![allow(clippy::unwrap_used)]

mod common;

use common::moto::{Moto, sdk_v3_python};
use common::sdk;
use common::*;
use sagedesk::backend::Backend;
use sagedesk::backend::local::{LocalBackend, sandbox};

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
    let value = sdk::submitted(sdk_v3_python(), &sb, &moto, SUBMIT, &[code.as_os_str()]);
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

/// Where this SDK keeps `Session`, `remote` and `serialization`.
const IMPORTS: &str = "from sagemaker.core.helper.session_helper import Session\nfrom sagemaker.core.remote_function import remote\nfrom sagemaker.core.remote_function.core import serialization";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_function_job_returns_its_value_through_s3() {
    let Some(value) = sdk::remote_value(sdk_v3_python(), IMPORTS).await else {
        return;
    };
    assert_eq!(
        value,
        serde_json::json!({"quotient": 2.5, "host": "algo-1"})
    );
}
