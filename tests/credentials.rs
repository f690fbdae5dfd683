//! A local job acts as its role, as far as that can be had: with a connection that may
//! assume the request's `RoleArn` (moto lets anyone), the job's own boto3 finds the role's
//! temporary credentials on the container-credentials endpoint and lists a bucket; where the
//! role refuses (the relay answers AccessDenied, as a role that trusts only SageMaker does),
//! the job runs without credentials, its log says why and the two ways out, and its failure
//! says that this is why; with `--job-credentials mine` it gets the connection's own.

#![allow(clippy::unwrap_used)]

mod common;

use common::moto::{Moto, python};
use common::relay::Relay;
use common::*;
use sagedesk::backend::Backend;
use sagedesk::backend::local::{JobCredentials, LocalBackend};
use sagedesk::backend::sdk::AwsConnection;
use sagedesk::job::Status;
use sagedesk::worker::{Event, Folders, TaskCommand, Worker};
use serde_json::json;

/// Lists the bucket with boto3's default chain and says where its credentials came from.
const SCRIPT: &str = r#"
import os, boto3
assert "AWS_ACCESS_KEY_ID" not in os.environ, "the desktop's keys reached the job"
session = boto3.Session()
found = session.get_credentials()
method = found.method if found else None
print("credentials from", method)
print("key", found.get_frozen_credentials().access_key[:4] if found else None)
keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="role-bucket")["Contents"]]
print("listed", keys)
"#;

/// A local backend over `sb` whose jobs run with the emulator's Python (it has boto3) and
/// reach `endpoint` with `whose` credentials.
fn backend(sb: &Sandbox, endpoint: &str, whose: JobCredentials) -> LocalBackend {
    let mut config = sb.config();
    config.python = python().to_path_buf();
    config.aws = AwsConnection {
        profile: None,
        region: Some(common::moto::REGION.into()),
        endpoint_url: Some(endpoint.into()),
    };
    config.job_credentials = whose;
    LocalBackend::open(config).unwrap()
}

fn seeded() -> Moto {
    let moto = Moto::start();
    moto.boto3(
        "import boto3\ns3 = boto3.client('s3')\ns3.create_bucket(Bucket='role-bucket')\n\
         s3.put_object(Bucket='role-bucket', Key='data/a.csv', Body=b'1')",
    );
    moto
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_may_assume_its_role_acts_as_it() {
    let moto = seeded();
    let sb = Sandbox::new();
    sb.script("list.py", SCRIPT);
    let local = backend(&sb, &moto.endpoint(), JobCredentials::Role);
    local
        .create_training_job(sb.request("as-role", "list.py", json!({})))
        .await
        .unwrap();
    let (_, log) = completed(&local, "as-role", LIMIT).await;
    assert!(
        log.contains(&"credentials from container-role".to_string()),
        "{log:?}"
    );
    // moto's temporary credentials, not the desktop's `testing` keys.
    assert!(log.contains(&"key ASIA".to_string()), "{log:?}");
    assert!(
        log.contains(&"listed ['data/a.csv']".to_string()),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_that_refuses_leaves_the_job_without_credentials_unless_you_give_yours() {
    let moto = seeded();
    let relay = Relay::start(moto.port);
    relay.refuse_assume_role();
    let sb = Sandbox::new();
    sb.script("list.py", SCRIPT);
    let local = backend(&sb, &relay.endpoint(), JobCredentials::Role);
    local
        .create_training_job(sb.request("refused", "list.py", json!({})))
        .await
        .unwrap();
    let detail = wait_for_end(&local, "refused", LIMIT).await;
    let log = log_text(&local, "refused").await;
    assert_eq!(detail.summary.status, Status::Failed, "{log:?}");
    assert!(
        log.iter().any(|l| l.starts_with("The job runs without AWS credentials: AssumeRole of arn:aws:iam::111122223333:role/Test was refused")
            && l.contains("AccessDenied")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("trust policy") && l.contains("--job-credentials mine")),
        "{log:?}"
    );
    let reason = detail.failure_reason.unwrap_or_default();
    assert!(
        reason.starts_with("The job ran without AWS credentials (AssumeRole of"),
        "{reason}"
    );
    assert!(reason.contains("NoCredentialsError"), "{reason}");

    // By the user's explicit choice, the connection's own credentials.
    let mine = backend(&sb, &relay.endpoint(), JobCredentials::Mine);
    mine.create_training_job(sb.request("mine", "list.py", json!({})))
        .await
        .unwrap();
    let (_, log) = completed(&mine, "mine", LIMIT).await;
    assert!(
        log.contains(&"credentials from container-role".to_string()),
        "{log:?}"
    );
    assert!(log.contains(&"key test".to_string()), "{log:?}");
    assert!(
        log.contains(&"listed ['data/a.csv']".to_string()),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purely_local_job_gets_no_credentials_and_needs_none() {
    let sb = Sandbox::new();
    sb.script(
        "check.py",
        "import os\nfor k in ('AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_ACCESS_KEY_ID'):\n    assert k not in os.environ, k\n",
    );
    let local = sb.backend();
    local
        .create_training_job(sb.request("offline", "check.py", json!({})))
        .await
        .unwrap();
    let (_, log) = completed(&local, "offline", LIMIT).await;
    assert!(
        !log.iter().any(|l| l.contains("without AWS credentials")),
        "{log:?}"
    );
}

#[test]
fn the_command_line_names_the_choices() {
    let sb = Sandbox::new();
    sb.script("train.py", "print('ok')\n");
    let request = sb.request("choice", "train.py", json!({}));
    let out = cli::sagedesk(&sb.home())
        .args(["run", "--job-credentials", "yours"])
        .arg(cli::request_file(&sb, &request))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        cli::text(&out.stderr).contains("--job-credentials \"yours\": give role, mine or none"),
        "{}",
        cli::text(&out.stderr)
    );
    cli::succeeded(
        cli::sagedesk(&sb.home())
            .args(["run", "--job-credentials", "none"])
            .arg(cli::request_file(&sb, &request)),
    );
}

/// Submits `name` (running `program` of `sb`'s code) as the window does, on a worker over
/// a local backend reaching `endpoint`, with `credentials`; the events up to the first one
/// `last` takes.
fn through_worker(
    sb: &Sandbox,
    endpoint: &str,
    name: &str,
    program: &str,
    credentials: JobCredentials,
    last: impl Fn(&Event) -> bool,
) -> Vec<Event> {
    let local = backend(sb, endpoint, JobCredentials::Role);
    let worker = Worker::spawn(std::sync::Arc::new(local), Some(Folders::at(&sb.home()))).unwrap();
    worker.send(TaskCommand::Submit {
        source: sagedesk::job::Connection::Local,
        request: Box::new(sb.request(name, program, json!({}))),
        origin: None,
        credentials,
    });
    let deadline = std::time::Instant::now() + LIMIT;
    let mut seen: Vec<Event> = Vec::new();
    while !seen.iter().any(&last) {
        assert!(std::time::Instant::now() < deadline, "not yet: {seen:?}");
        seen.extend(worker.drain());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    seen
}

#[test]
fn the_windows_choice_reaches_the_job_through_the_worker() {
    let moto = seeded();
    let sb = Sandbox::new();
    sb.script("list.py", SCRIPT);
    // What the builder's "My AWS credentials" sends for a local job.
    through_worker(
        &sb,
        &moto.endpoint(),
        "chosen",
        "list.py",
        JobCredentials::Mine,
        |e| matches!(e, Event::Finished { job, .. } if job.name == "chosen"),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let reader = backend(&sb, &moto.endpoint(), JobCredentials::Role);
    let (_, log) = rt.block_on(completed(&reader, "chosen", LIMIT));
    // The desktop's own `testing` keys, by the choice made.
    assert!(log.contains(&"key test".to_string()), "{log:?}");
}

#[test]
fn a_refusal_is_said_before_the_job_starts() {
    let moto = seeded();
    let relay = Relay::start(moto.port);
    relay.refuse_assume_role();
    let sb = Sandbox::new();
    sb.script("quiet.py", "print('no AWS needed after all')\n");
    let seen = through_worker(
        &sb,
        &relay.endpoint(),
        "warned",
        "quiet.py",
        JobCredentials::Role,
        |e| matches!(e, Event::Submitted { .. }),
    );
    let warned = seen.iter().position(|e| {
        matches!(e, Event::Warning { context, message }
            if context == "warned on this machine"
                && message.contains("AssumeRole of arn:aws:iam::111122223333:role/Test was refused")
                && message.contains("With my AWS credentials"))
    });
    let submitted = seen
        .iter()
        .position(|e| matches!(e, Event::Submitted { .. }));
    assert!(
        warned.is_some() && warned < submitted,
        "the warning comes first: {seen:?}"
    );
}
