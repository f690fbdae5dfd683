//! Preflight against moto (IAM, S3, ECR, EC2, STS, SageMaker) and, for Service Quotas, the
//! relay: each account problem is a diagnostic on its member, the fixed request passes, the
//! CLI's exit codes and JSON match `validate`'s, and nothing is written.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use common::Sandbox;
use common::moto::{Moto, child_env, connection, seed};
use common::relay::Relay;
use common::window::{has_text, wait_for};
use sagedesk::backend::Backend;
use sagedesk::backend::aws::AwsBackend;
use sagedesk::preflight::{self, Cache, Outcome};
use sagedesk::request::request_from_value;
use serde_json::{Value, json};

/// An account with a good and a bad role, data, a bucket in another region, an image, a
/// subnet and a job; returns the subnet's ID.
fn account(moto: &Moto) -> String {
    moto.boto3(
        r#"
import boto3, json
iam = boto3.client('iam')
trust = lambda svc: json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
    "Principal": {"Service": svc}, "Action": "sts:AssumeRole"}]})
iam.create_role(RoleName='Exec', Path='/service-role/', AssumeRolePolicyDocument=trust('sagemaker.amazonaws.com'))
iam.create_role(RoleName='Ec2Only', AssumeRolePolicyDocument=trust('ec2.amazonaws.com'))
s3 = boto3.client('s3')
s3.create_bucket(Bucket='data-bucket')
s3.put_object(Bucket='data-bucket', Key='train/part-0.csv', Body=b'1,2\n')
s3.put_object(Bucket='data-bucket', Key='code/sourcedir.tar.gz', Body=b'x')
boto3.client('s3', region_name='eu-west-1').create_bucket(Bucket='eu-bucket',
    CreateBucketConfiguration={'LocationConstraint': 'eu-west-1'})
ecr = boto3.client('ecr')
ecr.create_repository(repositoryName='team/train')
ecr.put_image(repositoryName='team/train', imageTag='v1', imageManifest=json.dumps(
    {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
     "config": {"digest": "sha256:" + "a" * 64, "size": 1, "mediaType": "application/vnd.docker.container.image.v1+json"},
     "layers": []}))
ec2 = boto3.client('ec2')
vpc = ec2.create_vpc(CidrBlock='10.9.0.0/16')['Vpc']['VpcId']
subnet = ec2.create_subnet(VpcId=vpc, CidrBlock='10.9.1.0/24')['Subnet']['SubnetId']
"#,
    );
    // The subnet's ID, read back.
    let out = Command::new(common::moto::python())
        .arg("-c")
        .arg("import boto3\nprint([s['SubnetId'] for s in boto3.client('ec2').describe_subnets()['Subnets'] if s['CidrBlock'] == '10.9.1.0/24'][0])")
        .envs(child_env(&moto.endpoint()))
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// The good request: every check passes.
fn good(subnet: &str) -> Value {
    json!({
        "TrainingJobName": "fresh-name",
        "RoleArn": "arn:aws:iam::123456789012:role/service-role/Exec",
        "AlgorithmSpecification": {
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/train:v1",
            "TrainingInputMode": "File"},
        "HyperParameters": {"sagemaker_submit_directory": "\"s3://data-bucket/code/sourcedir.tar.gz\""},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://data-bucket/train/"}}}],
        "OutputDataConfig": {"S3OutputPath": "s3://data-bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "VpcConfig": {"Subnets": [subnet], "SecurityGroupIds": []},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600}
    })
}

fn problems(diagnostics: &[Value]) -> Vec<(String, String, String)> {
    diagnostics
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (s("path"), s("severity"), s("code"))
        })
        .collect()
}

fn cli(sb: &Sandbox, endpoint: &str, file: &std::path::Path) -> (Option<i32>, Vec<Value>) {
    let out = Command::new(env!("CARGO_BIN_EXE_sagedesk"))
        .env("SAGEDESK_HOME", sb.home())
        .envs(child_env(endpoint))
        .args([
            "preflight",
            "--json",
            "--region",
            "us-east-1",
            "--endpoint-url",
            endpoint,
        ])
        .arg(file)
        .output()
        .unwrap();
    let json: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), json)
}

#[test]
fn each_account_problem_is_named_on_its_member_and_the_fixed_request_passes() {
    let moto = Moto::start();
    let subnet = account(&moto);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&moto.endpoint(), &["used-name"]));
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();

    let good_file = sb.home().join("good.json");
    std::fs::write(&good_file, good(&subnet).to_string()).unwrap();
    let (code, diagnostics) = cli(&sb, &moto.endpoint(), &good_file);
    let errors: Vec<_> = problems(&diagnostics)
        .into_iter()
        .filter(|(_, severity, _)| severity == "error")
        .collect();
    assert_eq!((code, errors), (Some(0), vec![]), "{diagnostics:#?}");
    // What moto does not serve (policy simulation, Service Quotas) is not verified, a
    // warning and never an error.
    assert!(
        problems(&diagnostics)
            .iter()
            .all(|(_, severity, code)| severity == "warning" && code == "not_verified"),
        "{diagnostics:#?}"
    );

    let mut bad = good(&subnet);
    bad["TrainingJobName"] = json!("used-name");
    bad["RoleArn"] = json!("arn:aws:iam::123456789012:role/Ec2Only");
    bad["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] =
        json!("s3://data-bucket/trian/");
    bad["OutputDataConfig"]["S3OutputPath"] = json!("s3://eu-bucket/output");
    bad["AlgorithmSpecification"]["TrainingImage"] =
        json!("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/train:v2");
    bad["VpcConfig"]["Subnets"] = json!(["subnet-0123456789abcdef0"]);
    bad["HyperParameters"]["sagemaker_submit_directory"] =
        json!("s3://data-bucket/code/missing.tar.gz");
    let bad_file = sb.home().join("bad.json");
    std::fs::write(&bad_file, bad.to_string()).unwrap();
    let (code, diagnostics) = cli(&sb, &moto.endpoint(), &bad_file);
    assert_eq!(code, Some(1), "{diagnostics:#?}");
    let found = problems(&diagnostics);
    for (path, code) in [
        ("TrainingJobName", "job_name_in_use"),
        ("RoleArn", "role_trust"),
        (
            "InputDataConfig[0].DataSource.S3DataSource.S3Uri",
            "prefix_empty",
        ),
        ("OutputDataConfig.S3OutputPath", "bucket_region"),
        ("AlgorithmSpecification.TrainingImage", "image_not_found"),
        ("VpcConfig.Subnets", "vpc_not_found"),
        (
            "HyperParameters.sagemaker_submit_directory",
            "object_not_found",
        ),
    ] {
        assert!(
            found.contains(&(path.into(), "error".into(), code.into())),
            "{path} {code} in {found:#?}"
        );
    }

    // Checks never write: the role, bucket and repository were not created.
    moto.boto3(
        "import boto3\nassert [b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']] \
         == ['data-bucket', 'eu-bucket']\nassert len(boto3.client('iam').list_roles()['Roles']) == 2",
    );

    // The library call reuses results for unchanged values.
    let request = request_from_value(good(&subnet), "test").unwrap().request;
    let report = runtime.block_on(async {
        let backend = AwsBackend::connect(moto.connection()).await.unwrap();
        let context = Arc::new(backend.account().expect("AWS has an account"));
        let mut cache = Cache::default();
        let first = preflight::run(context.clone(), &request, &mut cache, false).await;
        let calls = backend.calls();
        let again = preflight::run(context, &request, &mut cache, false).await;
        assert_eq!(backend.calls(), calls, "unchanged values make no calls");
        assert!(again.cached > 0 && first.cached == 0);
        assert_eq!(first.checks, again.checks);
        first
    });
    assert!(
        report.summary().starts_with("Preflight: "),
        "{}",
        report.summary()
    );
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.call == "iam:GetRole" && matches!(c.outcome, Outcome::Passed(_)))
    );
}

#[test]
fn the_instance_quota_counts_the_instances_running_jobs_hold() {
    let moto = Moto::start();
    let relay = Relay::start(moto.port);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&relay.endpoint(), &["holder"]));
    relay.run_job("holder", Duration::from_secs(60));
    relay.quota("ml.m5.large", 1.0);
    relay.quota("ml.c5.xlarge", 4.0);
    let check = |instance_type: &str| {
        let request = request_from_value(
            json!({"TrainingJobName": "quota-job",
                   "ResourceConfig": {"InstanceType": instance_type, "InstanceCount": 1, "VolumeSizeInGB": 5}}),
            "test",
        )
        .unwrap()
        .request;
        runtime.block_on(async {
            let backend = AwsBackend::connect(connection(&relay.endpoint()))
                .await
                .unwrap();
            let context = Arc::new(backend.account().expect("AWS has an account"));
            preflight::run(context, &request, &mut Cache::default(), true).await
        })
    };
    let full = check("ml.m5.large");
    let quota = full
        .checks
        .iter()
        .find(|c| c.path == "ResourceConfig.InstanceType")
        .expect("a quota check");
    match &quota.outcome {
        Outcome::Problem(d) => {
            assert_eq!(d.code, "instance_quota");
            assert!(d.message.contains("running jobs hold 1"), "{}", d.message);
        }
        other => panic!("{other:?}"),
    }
    let room = check("ml.c5.xlarge");
    assert!(
        room.checks
            .iter()
            .any(|c| c.path == "ResourceConfig.InstanceType"
                && matches!(c.outcome, Outcome::Passed(_))),
        "{room:#?}"
    );
}

#[test]
fn the_builder_checks_the_request_against_the_account_and_submit_waits_for_it() {
    let moto = Moto::start();
    let subnet = account(&moto);
    let sb = Sandbox::new();
    let mut h = common::window::harness_with_aws(&sb, moto.connection());
    wait_for(&mut h, "the AWS source", |h| {
        has_text(h, "default · us-east-1")
    });
    h.state_mut().new_job();
    let mut request = good(&subnet);
    request["RoleArn"] = json!("arn:aws:iam::123456789012:role/Ec2Only");
    {
        let builder = h.state_mut().builder_mut().unwrap();
        builder.source = sagedesk::backend::Connection::Aws(moto.connection());
        builder.set_value(request);
    }
    // Once the form settles, the checks run and their problem lands on its member.
    wait_for(&mut h, "the preflight summary", |h| {
        has_text(h, "Preflight: ") && has_text(h, "1 error (")
    });
    assert!(has_text(
        &h,
        "does not let sagemaker.amazonaws.com assume it"
    ));
    assert!(has_text(&h, "iam:GetRole"), "each check names its call");
    assert!(has_text(&h, "Submit anyway"), "Submit waits for a decision");

    // Fixed, the request passes.
    let fixed = good(&subnet);
    h.state_mut().builder_mut().unwrap().set_value(fixed);
    wait_for(&mut h, "the fixed request's preflight", |h| {
        has_text(h, "0 errors (")
    });
    assert!(!has_text(&h, "Submit anyway"));
}
