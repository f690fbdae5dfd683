//! Local mode runs jobs as the SageMaker Python SDK submits them: code, data, checkpoints and
//! artifacts in S3 (a real moto server over 127.0.0.1) and `requirements.txt` installed into
//! a cached environment (unsafe tarballs, several hosts and the runtime table are in
//! `archives_and_runtimes.rs`).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::Sandbox;
use common::moto::Moto;
use sagedesk::backend::Backend;
use sagedesk::backend::local::LocalBackend;
use sagedesk::backend::sdk::Clients;
use sagedesk::job::Status;
use sagedesk::request::{TrainingJobRequest, request_from_value};
use serde_json::{Value, json};

/// Packs `files` into a `.tar.gz` at `dest`, as the SDK packs `source_dir`.
fn tarball(dest: &Path, files: &[(&str, &str)]) {
    let src = dest.with_extension("src");
    for (name, text) in files {
        std::fs::create_dir_all(src.join(name).parent().unwrap()).unwrap();
        std::fs::write(src.join(name), text).unwrap();
    }
    sagedesk::backend::archive::pack_dir(&src, dest).unwrap();
}

async fn put(s3: &aws_sdk_s3::Client, bucket: &str, key: &str, body: Vec<u8>) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .unwrap();
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let object = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(object.body.collect().await.unwrap().to_vec())
}

/// A request shaped exactly as the SDK's PyTorch estimator sends it.
fn sdk_request(name: &str, bucket: &str, extra: Value) -> TrainingJobRequest {
    let mut value = json!({
        "TrainingJobName": name,
        "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
        "AlgorithmSpecification": {
            "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-cpu-py311",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}],
            "EnableSageMakerMetricsTimeSeries": true
        },
        "HyperParameters": {
            "sagemaker_program": "\"train.py\"",
            "sagemaker_submit_directory": format!("\"s3://{bucket}/{name}/source/sourcedir.tar.gz\""),
            "sagemaker_container_log_level": "20",
            "sagemaker_job_name": format!("\"{name}\""),
            "sagemaker_region": "\"us-east-1\"",
            "epochs": "2"
        },
        "InputDataConfig": [{
            "ChannelName": "train",
            "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": format!("s3://{bucket}/data/train"),
                "S3DataDistributionType": "FullyReplicated"
            }}
        }],
        "OutputDataConfig": {"S3OutputPath": format!("s3://{bucket}/output")},
        "CheckpointConfig": {"S3Uri": format!("s3://{bucket}/checkpoints/run")},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600}
    });
    common::merge(&mut value, extra);
    request_from_value(value, "test").unwrap().request
}

/// The SDK job's script: imports the package its requirements name, reads the channel,
/// resumes from a checkpoint when there is one, writes one, then the model.
const TRAIN: &str = r#"import os, sys, time
import tinypkg
base = os.environ["SAGEMAKER_BASE_DIR"]
ckpt = os.path.join(base, "checkpoints")
os.makedirs(ckpt, exist_ok=True)
step = os.path.join(ckpt, "step.txt")
if os.path.exists(step):
    print("resumed from", open(step).read().strip(), flush=True)
data = open(os.path.join(os.environ["SM_CHANNEL_TRAIN"], "part.csv")).read().strip()
open(step, "w").write("step-1")
print("loss=0.5 package", tinypkg.VALUE, "data", data, "args", " ".join(sys.argv[1:]), flush=True)
if os.environ.get("WAIT_FOR_STOP"):
    print("waiting", flush=True)
    time.sleep(60)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w") as f:
    f.write("trained on " + data)
with open(os.path.join(os.environ["SM_MODEL_DIR"], "weights.bin"), "wb") as f:
    f.write(os.urandom(int(os.environ.get("WEIGHT_BYTES", "16"))))
"#;

struct Scene {
    moto: Moto,
    sb: Sandbox,
    s3: aws_sdk_s3::Client,
    local: LocalBackend,
}

/// A bucket holding the SDK job's code (with `requirements.txt`) and data, a wheelhouse,
/// and a local backend reading S3 through moto.
async fn scene(bucket: &str, jobs: &[&str]) -> Scene {
    let moto = Moto::start();
    let s3 = Clients::load(&moto.connection()).await.unwrap().s3;
    s3.create_bucket().bucket(bucket).send().await.unwrap();
    let sb = Sandbox::new();
    common::wheel(&sb.path().join("wheels"), "tinypkg", "from-the-wheel");
    let tar = sb.path().join("sourcedir.tar.gz");
    tarball(
        &tar,
        &[("train.py", TRAIN), ("requirements.txt", "tinypkg==1.0\n")],
    );
    for job in jobs {
        let key = format!("{job}/source/sourcedir.tar.gz");
        put(&s3, bucket, &key, std::fs::read(&tar).unwrap()).await;
    }
    put(&s3, bucket, "data/train/part.csv", b"1,2,3\n".to_vec()).await;
    let mut config = sb.config();
    config.aws = moto.connection();
    let local = LocalBackend::open(config).unwrap();
    Scene {
        moto,
        sb,
        s3,
        local,
    }
}

impl Scene {
    fn environment(&self, extra: Value) -> Value {
        let mut env = json!({
            "PIP_FIND_LINKS": self.sb.path().join("wheels").display().to_string(),
            "PIP_NO_INDEX": "1",
        });
        common::merge(&mut env, extra);
        json!({"Environment": env})
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sdk_shaped_job_runs_locally_unmodified_with_everything_in_s3() {
    let bucket = "sdk-bucket";
    let sc = scene(bucket, &["sdk-job", "sdk-again"]).await;
    // 20 MiB of weights: the model archive goes up in parts.
    let env = sc.environment(json!({"WEIGHT_BYTES": (20 << 20).to_string()}));
    let request = sdk_request("sdk-job", bucket, env);
    sc.local.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&sc.local, "sdk-job", common::LIMIT * 3).await;
    let lines = common::log_text(&sc.local, "sdk-job").await;
    assert_eq!(
        detail.summary.status,
        Status::Completed,
        "{:?}\n{}",
        detail.failure_reason,
        lines.join("\n")
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "loss=0.5 package from-the-wheel data 1,2,3 args --epochs 2"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Installing requirements.txt")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains("resumed")), "{lines:?}");
    let model_uri = format!("s3://{bucket}/output/sdk-job/output/model.tar.gz");
    assert_eq!(detail.model_artifacts.as_deref(), Some(model_uri.as_str()));

    // The archive in S3 holds what the script wrote.
    let model = get(&sc.s3, bucket, "output/sdk-job/output/model.tar.gz")
        .await
        .expect("model.tar.gz in S3");
    assert!(model.len() > 16 << 20, "{} bytes", model.len());
    let archive = sc.sb.path().join("model.tar.gz");
    std::fs::write(&archive, &model).unwrap();
    let unpacked = common::unpack(&archive, &sc.sb.path().join("model"));
    assert_eq!(
        std::fs::read_to_string(unpacked.join("model.txt")).unwrap(),
        "trained on 1,2,3"
    );
    assert_eq!(
        std::fs::metadata(unpacked.join("weights.bin"))
            .unwrap()
            .len(),
        20 << 20
    );
    assert!(
        get(&sc.s3, bucket, "output/sdk-job/output/output.tar.gz")
            .await
            .is_some()
    );
    assert_eq!(
        get(&sc.s3, bucket, "checkpoints/run/step.txt")
            .await
            .as_deref(),
        Some(&b"step-1"[..])
    );

    // The Artifacts view lists and reads them from S3.
    let artifacts = sc.local.list_artifacts("sdk-job").await.unwrap();
    let keys: Vec<&str> = artifacts.iter().map(|a| a.key.as_str()).collect();
    assert_eq!(keys, ["output/model.tar.gz", "output/output.tar.gz"]);
    let listing = sc.local.list_archive(&model_uri).await.unwrap();
    assert!(
        listing.entries.iter().any(|e| e.path == "model.txt"),
        "{listing:?}"
    );

    // A second run resumes from the checkpoint and reuses the environment.
    sc.local
        .create_training_job(sdk_request("sdk-again", bucket, sc.environment(json!({}))))
        .await
        .unwrap();
    let detail = common::wait_for_end(&sc.local, "sdk-again", common::LIMIT * 2).await;
    let lines = common::log_text(&sc.local, "sdk-again").await;
    assert_eq!(detail.summary.status, Status::Completed, "{lines:?}");
    assert!(
        lines.iter().any(|l| l == "resumed from step-1"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Using the environment for requirements.txt")),
        "{lines:?}"
    );
    drop(sc.moto);
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoints_written_before_a_stop_are_in_s3_for_the_next_run() {
    let bucket = "stop-bucket";
    let sc = scene(bucket, &["stop-first", "stop-next"]).await;
    let env = sc.environment(json!({"WAIT_FOR_STOP": "1"}));
    sc.local
        .create_training_job(sdk_request("stop-first", bucket, env))
        .await
        .unwrap();
    common::wait_for_line(&sc.local, "stop-first", "waiting", common::LIMIT * 2).await;
    sc.local.stop_training_job("stop-first").await.unwrap();
    let detail = common::wait_for_end(&sc.local, "stop-first", common::LIMIT).await;
    assert_eq!(detail.summary.status, Status::Stopped, "{detail:?}");
    assert_eq!(
        get(&sc.s3, bucket, "checkpoints/run/step.txt")
            .await
            .as_deref(),
        Some(&b"step-1"[..]),
        "the checkpoint written before the stop is kept"
    );
    sc.local
        .create_training_job(sdk_request("stop-next", bucket, sc.environment(json!({}))))
        .await
        .unwrap();
    let detail = common::wait_for_end(&sc.local, "stop-next", common::LIMIT).await;
    let lines = common::log_text(&sc.local, "stop-next").await;
    assert_eq!(detail.summary.status, Status::Completed, "{lines:?}");
    assert!(
        lines.iter().any(|l| l == "resumed from step-1"),
        "{lines:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn uncompressed_models_upload_file_by_file_and_a_failed_upload_keeps_the_archives() {
    let bucket = "plain-bucket";
    let sc = scene(bucket, &["plain-model", "no-bucket"]).await;
    let env = sc.environment(json!({}));
    let mut request = sdk_request("plain-model", bucket, env.clone());
    request
        .output_data_config
        .as_mut()
        .unwrap()
        .compression_type = Some("NONE".into());
    sc.local.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&sc.local, "plain-model", common::LIMIT * 2).await;
    assert_eq!(
        detail.summary.status,
        Status::Completed,
        "{:?}",
        detail.failure_reason
    );
    let prefix = format!("s3://{bucket}/output/plain-model/output/model/");
    assert_eq!(detail.model_artifacts.as_deref(), Some(prefix.as_str()));
    assert_eq!(
        get(&sc.s3, bucket, "output/plain-model/output/model/model.txt")
            .await
            .as_deref(),
        Some(&b"trained on 1,2,3"[..])
    );

    // An output bucket that does not exist: Failed, with the archives kept here.
    let mut request = sdk_request("no-bucket", bucket, env);
    request.output_data_config.as_mut().unwrap().s3_output_path =
        Some("s3://no-such-output-bucket/out".into());
    sc.local.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&sc.local, "no-bucket", common::LIMIT * 2).await;
    assert_eq!(detail.summary.status, Status::Failed);
    let reason = detail.failure_reason.unwrap_or_default();
    assert!(
        reason.contains("s3://no-such-output-bucket/out"),
        "{reason}"
    );
    assert!(reason.contains("NoSuchBucket"), "{reason}");
    let kept = sc.sb.home().join("output/no-bucket/output/model.tar.gz");
    assert!(
        reason.contains(&kept.parent().unwrap().display().to_string()),
        "{reason}"
    );
    assert!(kept.is_file(), "the archive is kept at {}", kept.display());
}

#[test]
fn run_from_aws_runs_a_job_created_there_by_boto3() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    let tar = sb.path().join("sourcedir.tar.gz");
    tarball(
        &tar,
        &[(
            "train.py",
            "import os\nd = open(os.path.join(os.environ['SM_CHANNEL_TRAIN'], 'x.csv')).read().strip()\n\
             print('from aws', d, flush=True)\n\
             open(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w').write(d)\n",
        )],
    );
    moto.boto3(&format!(
        r#"import boto3, json
s3 = boto3.client("s3")
s3.create_bucket(Bucket="boto-bucket")
s3.put_object(Bucket="boto-bucket", Key="code/sourcedir.tar.gz", Body=open("{tar}", "rb").read())
s3.put_object(Bucket="boto-bucket", Key="data/x.csv", Body=b"7,8")
boto3.client("sagemaker").create_training_job(
    TrainingJobName="boto-job",
    RoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
    AlgorithmSpecification={{"TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-cpu-py311", "TrainingInputMode": "File"}},
    HyperParameters={{"sagemaker_program": json.dumps("train.py"), "sagemaker_submit_directory": json.dumps("s3://boto-bucket/code/sourcedir.tar.gz")}},
    InputDataConfig=[{{"ChannelName": "train", "DataSource": {{"S3DataSource": {{"S3DataType": "S3Prefix", "S3Uri": "s3://boto-bucket/data"}}}}}}],
    OutputDataConfig={{"S3OutputPath": "s3://boto-bucket/output"}},
    ResourceConfig={{"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10}},
    StoppingCondition={{"MaxRuntimeInSeconds": 600}},
)
"#,
        tar = tar.display()
    ));
    let out = common::cli::sagedesk(&sb.home())
        .args([
            "run",
            "--from-aws",
            "boto-job",
            "--follow",
            "--region",
            "us-east-1",
        ])
        .args(["--endpoint-url", &moto.endpoint()])
        .envs(common::moto::child_env(&moto.endpoint()))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        common::cli::text(&out.stdout),
        common::cli::text(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("from aws 7,8"), "{stdout}");
    assert!(
        stderr.contains("running boto-job here as boto-job-local-"),
        "{stderr}"
    );
    moto.boto3(
        r#"import boto3
keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="boto-bucket", Prefix="output/")["Contents"]]
assert any(k.startswith("output/boto-job-local-") and k.endswith("/output/model.tar.gz") for k in keys), keys
"#,
    );
}
