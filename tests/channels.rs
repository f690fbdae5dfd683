//! Input data as the service reads it: an `S3Prefix` that is not a folder, a manifest, and
//! Pipe mode (a named pipe per channel and epoch), with a real moto server for S3.

#![allow(clippy::unwrap_used)]

mod common;

use common::moto::Moto;
use common::{LIMIT, Sandbox, completed};
use sagedesk::backend::Backend;
use sagedesk::backend::local::LocalBackend;
use sagedesk::backend::sdk::Clients;
use serde_json::{Value, json};

/// Prints every file of the channel `train`, relative to its folder.
const LIST: &str = r#"import os
root = os.environ["SM_CHANNEL_TRAIN"]
for d, _, files in os.walk(root):
    for f in files:
        print("file", os.path.relpath(os.path.join(d, f), root))
"#;

async fn bucket(moto: &Moto, name: &str, objects: &[(&str, &str)]) {
    let s3 = Clients::load(&moto.connection()).await.unwrap().s3;
    s3.create_bucket().bucket(name).send().await.unwrap();
    for (key, body) in objects {
        s3.put_object()
            .bucket(name)
            .key(*key)
            .body(body.as_bytes().to_vec().into())
            .send()
            .await
            .unwrap();
    }
}

fn channel(data_type: &str, uri: &str, extra: Value) -> Value {
    let mut channel = json!({"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": data_type, "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}}});
    common::merge(&mut channel, extra);
    json!({"InputDataConfig": [channel]})
}

fn files(log: &[String]) -> Vec<&str> {
    let mut files: Vec<&str> = log.iter().filter_map(|l| l.strip_prefix("file ")).collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_prefixes_and_manifests_give_the_objects_the_service_would() {
    let moto = Moto::start();
    let manifest = r#"[{"prefix": "s3://data-bucket/data/"}, "train-1.csv", "train/deep/b.csv"]"#;
    bucket(
        &moto,
        "data-bucket",
        &[
            ("data/train-1.csv", "1"),
            ("data/train2/x.csv", "2"),
            ("data/train/a.csv", "3"),
            ("data/train/deep/b.csv", "4"),
            ("data/other.csv", "5"),
            ("manifests/train.json", manifest),
        ],
    )
    .await;
    let sb = Sandbox::new();
    sb.script("train.py", LIST);
    let mut config = sb.config();
    config.aws = moto.connection();
    let backend = LocalBackend::open(config).unwrap();

    // A prefix that is not a folder: every key that starts with it.
    let request = sb.request(
        "prefix-job",
        "train.py",
        channel("S3Prefix", "s3://data-bucket/data/train", json!({})),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "prefix-job", LIMIT).await;
    assert_eq!(
        files(&log),
        ["a.csv", "deep/b.csv", "train-1.csv", "train2/x.csv"]
    );

    // A manifest: the objects it lists, at their paths below its prefix.
    let request = sb.request(
        "manifest-job",
        "train.py",
        channel(
            "ManifestFile",
            "s3://data-bucket/manifests/train.json",
            json!({}),
        ),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "manifest-job", LIMIT).await;
    assert_eq!(files(&log), ["train-1.csv", "train/deep/b.csv"]);
    drop(moto);
}

/// Reads `epochs` epochs of the Pipe channel `train`, each through its own pipe, and
/// prints each epoch's bytes (RecordIO records unwrapped when `RECORDIO` is set); then
/// opens one more epoch and leaves it unread.
const PIPE_READER: &str = r#"import os, struct
base = os.path.join(os.environ["SM_INPUT_DIR"], "data")
for epoch in range(2):
    data = open(os.path.join(base, "train_%d" % epoch), "rb").read()
    if os.environ.get("RECORDIO"):
        records, at = [], 0
        while at < len(data):
            magic, length = struct.unpack("<II", data[at:at + 8])
            assert magic == 0xced7230a
            records.append(data[at + 8:at + 8 + length].decode())
            at += 8 + length + (4 - length % 4) % 4
        print("epoch", epoch, "records", records, flush=True)
    else:
        print("epoch", epoch, repr(data.decode()), flush=True)
print("channel folder exists:", os.path.isdir(os.path.join(base, "train")), flush=True)
unread = open(os.path.join(base, "train_2"), "rb")
unread.read(1)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_mode_streams_each_epoch_through_a_pipe_of_its_own() {
    let sb = Sandbox::new();
    let train = sb.data("train", &[("a.txt", "A1\n"), ("b.txt", "B22\n")]);
    sb.script("train.py", PIPE_READER);
    let backend = sb.backend();
    let uri = format!("file://{}", train.display());
    let request = sb.request(
        "pipe-job",
        "train.py",
        json!({
            "AlgorithmSpecification": {"TrainingInputMode": "Pipe"},
            "InputDataConfig": channel("S3Prefix", &uri, json!({}))["InputDataConfig"]
        }),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "pipe-job", LIMIT).await;
    assert_eq!(
        log,
        [
            "epoch 0 'A1\\nB22\\n'",
            "epoch 1 'A1\\nB22\\n'",
            "channel folder exists: False"
        ]
    );

    // Each object one RecordIO record; and an augmented manifest's attributes as records.
    let request = sb.request(
        "pipe-recordio",
        "train.py",
        json!({
            "Environment": {"RECORDIO": "1"},
            "InputDataConfig": channel("S3Prefix", &uri,
                json!({"InputMode": "Pipe", "RecordWrapperType": "RecordIO"}))["InputDataConfig"]
        }),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "pipe-recordio", LIMIT).await;
    assert_eq!(log[0], "epoch 0 records ['A1\\n', 'B22\\n']");
    assert_eq!(log[1], "epoch 1 records ['A1\\n', 'B22\\n']");

    let manifest = sb.path().join("augmented.jsonl");
    let lines = [
        json!({"source-ref": format!("file://{}", train.join("a.txt").display()), "label": 1}),
        json!({"source-ref": format!("file://{}", train.join("b.txt").display()), "label": "two"}),
    ];
    let text: Vec<String> = lines.iter().map(Value::to_string).collect();
    std::fs::write(&manifest, text.join("\n")).unwrap();
    let request = sb.request(
        "pipe-augmented",
        "train.py",
        json!({
            "Environment": {"RECORDIO": "1"},
            "InputDataConfig": channel(
                "AugmentedManifestFile",
                &format!("file://{}", manifest.display()),
                json!({"InputMode": "Pipe", "RecordWrapperType": "RecordIO",
                       "DataSource": {"S3DataSource": {"AttributeNames": ["source-ref", "label"]}}})
            )["InputDataConfig"]
        }),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "pipe-augmented", LIMIT).await;
    assert_eq!(log[0], "epoch 0 records ['A1\\n', '1', 'B22\\n', 'two']");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_reaches_s3_while_the_job_still_runs() {
    let moto = Moto::start();
    bucket(&moto, "ckpt-bucket", &[]).await;
    let s3 = Clients::load(&moto.connection()).await.unwrap().s3;
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        r#"import os, time
folder = os.path.join(os.environ["SAGEMAKER_BASE_DIR"], "checkpoints", "epoch-1")
os.makedirs(folder, exist_ok=True)
with open(os.path.join(folder, "model.pt"), "wb") as f:
    f.write(b"weights")
print("saved", flush=True)
time.sleep(120)
"#,
    );
    let mut config = sb.config();
    config.aws = moto.connection();
    let backend = LocalBackend::open(config).unwrap();
    let request = sb.request(
        "ckpt-job",
        "train.py",
        json!({"CheckpointConfig": {"S3Uri": "s3://ckpt-bucket/runs/one"}}),
    );
    backend.create_training_job(request).await.unwrap();
    common::wait_for_line(&backend, "ckpt-job", "saved", LIMIT).await;
    // Seen in S3 while the script still sleeps (it would sleep two minutes).
    let deadline = std::time::Instant::now() + LIMIT;
    let body = loop {
        let got = s3
            .get_object()
            .bucket("ckpt-bucket")
            .key("runs/one/epoch-1/model.pt")
            .send()
            .await;
        if let Ok(object) = got {
            break object.body.collect().await.unwrap().into_bytes();
        }
        assert!(std::time::Instant::now() < deadline, "no checkpoint in S3");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(&body[..], b"weights");
    let detail = backend.describe_training_job("ckpt-job").await.unwrap();
    assert_eq!(detail.summary.status, sagedesk::job::Status::InProgress);
    backend.stop_training_job("ckpt-job").await.unwrap();
    common::wait_for_end(&backend, "ckpt-job", LIMIT).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipe_reader_that_stops_reading_does_not_hold_up_the_stop() {
    let sb = Sandbox::new();
    let big = "x".repeat(4 << 20);
    let train = sb.data("train", &[("big.txt", big.as_str())]);
    sb.script(
        "train.py",
        r#"import os, time
pipe = open(os.path.join(os.environ["SM_INPUT_DIR"], "data", "train_0"), "rb")
print("read", len(pipe.read(10)), flush=True)
time.sleep(120)
"#,
    );
    let backend = sb.backend();
    let uri = format!("file://{}", train.display());
    let request = sb.request(
        "pipe-stop",
        "train.py",
        json!({"InputDataConfig": channel("S3Prefix", &uri, json!({"InputMode": "Pipe"}))["InputDataConfig"]}),
    );
    backend.create_training_job(request).await.unwrap();
    common::wait_for_line(&backend, "pipe-stop", "read 10", LIMIT).await;
    backend.stop_training_job("pipe-stop").await.unwrap();
    let detail = common::wait_for_end(&backend, "pipe-stop", LIMIT).await;
    assert_eq!(detail.summary.status, sagedesk::job::Status::Stopped);
}

/// A job run here with an AWS source's connection (a local run of an AWS job) keeps its
/// outputs in that source's S3: its artifacts are listed, opened and downloaded through that
/// connection, not local mode's own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artifacts_of_a_job_run_with_another_connection_are_read_through_it() {
    let moto = Moto::start();
    bucket(&moto, "out-bucket", &[]).await;
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        "import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w').write('7')\n",
    );
    let mut config = sb.config();
    // Local mode's own connection answers nothing: using it fails at once.
    config.aws = sagedesk::job::AwsConnection {
        region: Some("us-east-1".into()),
        endpoint_url: Some("http://127.0.0.1:9".into()),
        ..Default::default()
    };
    let backend = LocalBackend::open(config).unwrap();
    let request = sb.request(
        "remote-out",
        "train.py",
        json!({"OutputDataConfig": {"S3OutputPath": "s3://out-bucket/output"}}),
    );
    let run = sagedesk::job::LocalRun {
        connection: Some(moto.connection()),
        ..Default::default()
    };
    backend
        .create_training_job_here(request, run)
        .await
        .unwrap();
    let (detail, _) = completed(&backend, "remote-out", LIMIT).await;
    let model = detail.model_artifacts.unwrap();
    assert_eq!(
        model,
        "s3://out-bucket/output/remote-out/output/model.tar.gz"
    );

    let listed = backend.list_artifacts("remote-out").await.unwrap();
    assert!(
        listed.iter().any(|a| a.uri == model),
        "the model is listed: {listed:?}"
    );
    let archive = backend.list_archive(&model).await.unwrap();
    assert!(
        archive.entries.iter().any(|e| e.path.ends_with("m.txt")),
        "{archive:?}"
    );
    let fetched = sb.path().join("model.tar.gz");
    backend
        .download_artifact(&model, &fetched, Box::new(|_, _| {}))
        .await
        .unwrap();
    let unpacked = common::unpack(&fetched, &sb.path().join("model"));
    assert_eq!(
        std::fs::read_to_string(unpacked.join("m.txt")).unwrap(),
        "7"
    );
}
