//! The SageMaker Python SDK as a client of moto: a script run with an SDK's venv Python (the
//! SDK's settings for an emulated account: no role check, no telemetry), the
//! `CreateTrainingJob` parameters it sent taken on the way out, and a `@remote` function's
//! job run locally with its value read back as the client reads it.

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use sagedesk::backend::Backend;
use sagedesk::backend::local::{LocalBackend, sandbox};

use super::moto::{Moto, REGION, child_env};
use super::{Sandbox, cli, completed};

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

/// Runs `script` with `python` (an SDK's venv) against `moto`; fails the test unless it
/// succeeds.
pub fn run(python: &Path, sb: &Sandbox, moto: &Moto, script: &str, args: &[&OsStr]) -> Output {
    let settings = sb.path().join("sdk-config.yaml");
    std::fs::write(
        &settings,
        "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n",
    )
    .unwrap();
    let file = sb.path().join("script.py");
    std::fs::write(&file, script).unwrap();
    cli::succeeded(
        Command::new(python)
            .arg(&file)
            .args(args)
            .envs(child_env(&moto.endpoint()))
            .env("AWS_DEFAULT_REGION", REGION)
            .env("SAGEMAKER_VALIDATE_ROLE", "false")
            .env("SAGEMAKER_USER_CONFIG_OVERRIDE", &settings)
            .current_dir(sb.path()),
    )
}

/// The `CreateTrainingJob` parameters `script` (run after [`CAPTURE`]) sent.
pub fn submitted(
    python: &Path,
    sb: &Sandbox,
    moto: &Moto,
    script: &str,
    args: &[&OsStr],
) -> serde_json::Value {
    let sent = sb.path().join("sent.json");
    let mut all = args.to_vec();
    all.push(sent.as_os_str());
    run(python, sb, moto, &format!("{CAPTURE}{script}"), &all);
    serde_json::from_str(&std::fs::read_to_string(&sent).unwrap()).unwrap()
}

/// Calls a `@remote` function against moto; the client cannot read a result there (moto's
/// jobs run nothing), which the script shrugs off. `Session` and `remote` come before it.
const REMOTE: &str = r#"
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

/// Reads the result the job uploaded, as the client would (`Session` and `serialization`
/// come before it).
const RESULT: &str = r#"
import json, sys, boto3
session = Session(boto_session=boto3.Session(region_name="us-east-1"), default_bucket="rf-bucket")
print(json.dumps(serialization.deserialize_obj_from_s3(session, s3_uri=sys.argv[1])))
"#;

/// Calls a `@remote` function with the SDK of `python` (`imports` bring its `Session`,
/// `remote` and `serialization`), runs the job it made here with `python` as the job's
/// interpreter (it has the SDK, as the image does), and reads the job's result back as
/// the client would, as JSON. `None` where sandboxes cannot be made (said).
pub async fn remote_value(python: &Path, imports: &str) -> Option<serde_json::Value> {
    if let sandbox::Availability::Refused { reason } = sandbox::availability() {
        eprintln!("no sandboxes here, the test checks nothing: {reason}");
        return None;
    }
    let moto = Moto::start();
    moto.boto3("import boto3\nboto3.client('s3').create_bucket(Bucket='rf-bucket')");
    let sb = Sandbox::new();
    let value = submitted(python, &sb, &moto, &format!("{imports}\n{REMOTE}"), &[]);
    let request = sagedesk::request::request_from_value(value, "sent")
        .unwrap()
        .request;
    let name = request.name().to_string();
    let mut config = sb.config();
    config.aws = moto.connection();
    config.python = python.to_path_buf();
    let local = LocalBackend::open(config).unwrap();
    local.create_training_job(request).await.unwrap();
    completed(&local, &name, std::time::Duration::from_secs(180)).await;
    let results = format!("s3://rf-bucket/rf/{name}/results");
    let out = run(
        python,
        &sb,
        &moto,
        &format!("{imports}\n{RESULT}"),
        &[results.as_ref()],
    );
    // The SDK may log to standard output too: the value is the last line.
    let text = cli::text(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    Some(serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {text}")))
}
