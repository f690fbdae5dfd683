//! Each host in a sandbox of its own: scripts that hard-code `/opt/ml`, hosts named
//! `algo-N` that reach each other by name, an entry point of the request's own
//! (`ContainerEntrypoint`), the container's environment instead of the desktop's, the host
//! that failed first named, and this machine's own `/opt/ml` never touched. Real child
//! processes in real namespaces.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;
use sagedesk::backend::Backend;
use sagedesk::backend::local::sandbox;
use sagedesk::job::Status;
use serde_json::json;

/// Skips a test where this machine refuses namespaces (said, not hidden).
fn sandboxes() -> bool {
    match sandbox::availability() {
        sandbox::Availability::Available => true,
        sandbox::Availability::Refused { reason } => {
            eprintln!("no sandboxes here, the test checks nothing: {reason}");
            false
        }
    }
}

/// The text of `file` in job `job`'s `model.tar.gz`.
fn model_file(sb: &Sandbox, job: &str, file: &str) -> String {
    let unpacked = unpack(
        &sb.artifacts(job).join("model.tar.gz"),
        &sb.path().join(format!("model-{job}")),
    );
    std::fs::read_to_string(unpacked.join(file)).unwrap()
}

/// What this machine's `/opt/ml` holds now (nothing when it does not exist).
fn machine_opt_ml() -> Vec<std::path::PathBuf> {
    if Path::new("/opt/ml").exists() {
        walk(Path::new("/opt/ml"))
    } else {
        Vec::new()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_that_hard_codes_opt_ml_runs_in_its_sandbox() {
    if !sandboxes() {
        return;
    }
    let before = machine_opt_ml();
    let sb = Sandbox::new();
    let train = sb.data("train", &[("rows.csv", "1,2\n3,4\n")]);
    sb.script(
        "train.py",
        r#"
import json, os, socket
rows = open("/opt/ml/input/data/train/rows.csv").read().split()
hps = json.load(open("/opt/ml/input/config/hyperparameters.json"))
config = json.load(open("/opt/ml/input/config/resourceconfig.json"))
assert socket.gethostname() == "algo-1", socket.gethostname()
assert config["current_host"] == "algo-1"
assert os.getcwd() == "/opt/ml/code", os.getcwd()
assert os.environ["SM_MODEL_DIR"] == "/opt/ml/model", os.environ["SM_MODEL_DIR"]
assert os.environ["TRAINING_JOB_NAME"] == "opt-ml-paths"
for name in ("VIRTUAL_ENV", "SAGEMAKER_USER_CONFIG_OVERRIDE", "AWS_ACCESS_KEY_ID"):
    assert name not in os.environ, name
# The toolkit's path, not the desktop's: the code folder.
assert os.environ["PYTHONPATH"] == "/opt/ml/code", os.environ["PYTHONPATH"]
os.makedirs("/opt/ml/model/weights", exist_ok=True)
open("/opt/ml/model/weights/model.txt", "w").write(f"{len(rows)} rows, lr={hps['lr']}")
print("saved to /opt/ml/model")
"#,
    );
    let request = sb.request(
        "opt-ml-paths",
        "train.py",
        json!({
            "HyperParameters": {"lr": "0.1"},
            "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": format!("file://{}", train.display())}}}]
        }),
    );
    // Run from a desktop whose own settings must not reach the job.
    cli::succeeded(
        cli::sagedesk(&sb.home())
            .arg("run")
            .arg(cli::request_file(&sb, &request))
            .env("VIRTUAL_ENV", "/somewhere/venv")
            .env("PYTHONPATH", "/somewhere/lib")
            .env("SAGEMAKER_USER_CONFIG_OVERRIDE", "/somewhere/config.yaml")
            .env("AWS_ACCESS_KEY_ID", "AKIADESKTOP"),
    );
    assert_eq!(
        model_file(&sb, "opt-ml-paths", "weights/model.txt"),
        "2 rows, lr=0.1"
    );
    assert_eq!(machine_opt_ml(), before, "this machine's /opt/ml changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_reach_each_other_by_name() {
    if !sandboxes() {
        return;
    }
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        r#"
import os, socket, time
me = socket.gethostname()
assert me == os.environ["SM_CURRENT_HOST"], (me, os.environ["SM_CURRENT_HOST"])
address = socket.gethostbyname("algo-1")
if me == "algo-1":
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((address, 7777))
    server.listen(1)
    conn, peer = server.accept()
    said = conn.recv(100).decode()
    open("/opt/ml/model/heard.txt", "w").write(f"{said} at {address}")
else:
    for _ in range(200):
        try:
            conn = socket.create_connection(("algo-1", 7777), timeout=5)
            break
        except OSError:
            time.sleep(0.05)
    conn.sendall(f"hello from {me}".encode())
    conn.close()
"#,
    );
    let backend = sb.backend();
    let request = sb.request(
        "rendezvous",
        "train.py",
        json!({"ResourceConfig": {"InstanceCount": 2}}),
    );
    backend.create_training_job(request).await.unwrap();
    completed(&backend, "rendezvous", LIMIT).await;
    let address = sandbox::host_address("rendezvous", 0);
    assert_eq!(
        model_file(&sb, "rendezvous", "heard.txt"),
        format!("hello from algo-2 at {address}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_requests_own_entry_point_runs_as_the_current_sdk_writes_it() {
    if !sandboxes() {
        return;
    }
    let sb = Sandbox::new();
    let drivers = sb.data(
        "sm_drivers",
        &[(
            "sm_train.sh",
            r#"#!/bin/bash
set -e
SM_PYTHON_CMD=$(command -v python3 || command -v python)
SM_PIP_CMD=$(command -v pip3 || command -v pip)
test -n "$SM_PYTHON_CMD" && test -n "$SM_PIP_CMD"
echo "job $TRAINING_JOB_NAME on $(hostname)"
cd /opt/ml/input/data/code
$SM_PYTHON_CMD train.py --epochs 2
"#,
        )],
    );
    let code = sb.data(
        "code",
        &[(
            "train.py",
            "import sys\nopen('/opt/ml/model/args.txt', 'w').write(' '.join(sys.argv[1:]))\n",
        )],
    );
    let channel = |name: &str, dir: &Path| {
        json!({"ChannelName": name, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": format!("file://{}", dir.display())}}})
    };
    let mut value = json!({
        "TrainingJobName": "entry-point",
        "RoleArn": "arn:aws:iam::111122223333:role/Test",
        "AlgorithmSpecification": {
            "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.5-cpu-py311",
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["/bin/bash"],
            "ContainerArguments": ["-c", "chmod +x /opt/ml/input/data/sm_drivers/sm_train.sh && /opt/ml/input/data/sm_drivers/sm_train.sh"]
        },
        "InputDataConfig": [channel("code", &code), channel("sm_drivers", &drivers)],
        "OutputDataConfig": {"S3OutputPath": format!("file://{}", sb.path().join("out").display())},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300}
    });
    let backend = sb.backend();
    let request = sagedesk::request::request_from_value(value.take(), "test")
        .unwrap()
        .request;
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "entry-point", LIMIT).await;
    assert!(
        log.iter().any(|l| l == "job entry-point on algo-1"),
        "{log:?}"
    );
    assert_eq!(model_file(&sb, "entry-point", "args.txt"), "--epochs 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_point_this_machine_lacks_is_named_before_the_job_starts() {
    let sb = Sandbox::new();
    let backend = sb.backend();
    let mut request = sb.request("no-such-program", "train.py", json!({}));
    let spec = request.algorithm_specification.as_mut().unwrap();
    spec.container_entrypoint = Some(vec!["/usr/bin/no-such-trainer".into()]);
    let error = backend.create_training_job(request).await.unwrap_err();
    assert!(
        error
            .message
            .contains("/usr/bin/no-such-trainer is not a program on this machine"),
        "{error:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_failure_names_the_host_that_failed_first() {
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        r#"
import os, sys, time
if os.environ["SM_CURRENT_HOST"] == "algo-2":
    sys.exit("algo-2 ran out of patience")
time.sleep(60)
"#,
    );
    let backend = sb.backend();
    let request = sb.request(
        "first-failure",
        "train.py",
        json!({"ResourceConfig": {"InstanceCount": 2}}),
    );
    backend.create_training_job(request).await.unwrap();
    let detail = wait_for_end(&backend, "first-failure", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Failed);
    let reason = detail.failure_reason.unwrap_or_default();
    assert!(
        reason.starts_with("AlgorithmError: algo-2: ExitCode 1"),
        "{reason}"
    );
    assert!(reason.contains("ran out of patience"), "{reason}");
}

/// `sagedesk` in a user namespace of its own that may make no further ones: a machine that
/// refuses namespaces, as a kernel setting would.
fn refused(home: &Path) -> std::process::Command {
    let inner = cli::sagedesk(home);
    let mut command = std::process::Command::new("unshare");
    command
        .args(["--user", "--map-root-user", "sh", "-c"])
        .arg("echo 0 > /proc/sys/user/max_user_namespaces && exec \"$@\"")
        .arg("sh")
        .arg(inner.get_program())
        .envs(inner.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(std::process::Stdio::null());
    command
}

#[test]
fn where_namespaces_are_refused_the_setting_is_named_and_script_mode_still_runs() {
    if !sandboxes() {
        return;
    }
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        "import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'm.txt'), 'w').write('ok')\n",
    );
    let plain = sb.request("plain-without-sandbox", "train.py", json!({}));
    cli::succeeded(
        refused(&sb.home())
            .arg("run")
            .arg(cli::request_file(&sb, &plain)),
    );
    // Code that names /opt/ml is warned about: there it is not the job's.
    sb.script("paths.py", "MODEL = '/opt/ml/model'\n");
    let out = refused(&sb.home())
        .args(["validate", "--target", "local"])
        .arg(cli::request_file(&sb, &plain))
        .output()
        .unwrap();
    let said = format!("{}{}", cli::text(&out.stdout), cli::text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("the code uses /opt/ml paths, which are the job's only in a sandbox"),
        "{said}"
    );
    let mut entry = sb.request("entry-without-sandbox", "train.py", json!({}));
    entry
        .algorithm_specification
        .as_mut()
        .unwrap()
        .container_entrypoint = Some(vec!["/bin/sh".into()]);
    let out = refused(&sb.home())
        .args(["validate", "--target", "local"])
        .arg(cli::request_file(&sb, &entry))
        .output()
        .unwrap();
    let said = format!("{}{}", cli::text(&out.stdout), cli::text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains("AlgorithmSpecification.ContainerEntrypoint"),
        "{said}"
    );
    assert!(said.contains("user.max_user_namespaces = 0"), "{said}");
    assert!(said.contains("sysctl user.max_user_namespaces="), "{said}");
}

#[test]
fn an_unprivileged_user_gets_the_same_sandbox() {
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } != 0 || !sandboxes() {
        eprintln!("not root: this user is the unprivileged case, run by the other tests");
        return;
    }
    let user = "sagedesk-sandbox-test";
    let exists = std::process::Command::new("id").arg(user).output().unwrap();
    if !exists.status.success() {
        let made = std::process::Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                user,
            ])
            .status()
            .unwrap();
        assert!(made.success(), "useradd {user}");
    }
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        r#"
import os, socket
assert os.getuid() != 0
assert socket.gethostname() == "algo-1"
open("/opt/ml/model/who.txt", "w").write(str(os.getuid()))
"#,
    );
    let request = sb.request("unprivileged", "train.py", json!({}));
    let file = cli::request_file(&sb, &request);
    // The user reaches neither root's home nor the build folder: the binary is copied.
    let binary = sb.path().join("sagedesk");
    std::fs::copy(env!("CARGO_BIN_EXE_sagedesk"), &binary).unwrap();
    let owned = std::process::Command::new("chown")
        .args(["-R", &format!("{user}:{user}")])
        .arg(sb.path())
        .status()
        .unwrap();
    assert!(owned.success());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(sb.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    cli::succeeded(
        std::process::Command::new("setpriv")
            .args([
                &format!("--reuid={user}"),
                &format!("--regid={user}"),
                "--clear-groups",
                "--",
            ])
            .arg(&binary)
            .arg("run")
            .arg(&file)
            .env("SAGEDESK_HOME", sb.home())
            .env("HOME", sb.path())
            .stdin(std::process::Stdio::null()),
    );
    let uid = model_file(&sb, "unprivileged", "who.txt");
    assert_ne!(uid, "0");
}

#[test]
fn as_root_a_mount_namespace_alone_makes_the_same_sandbox() {
    // SAFETY: getuid cannot fail.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("not root: only root may make a mount namespace without a user namespace");
        return;
    }
    // What real root gets where user namespaces are turned off.
    let sb = Sandbox::new();
    let root = sb.path().join("algo-3");
    std::fs::create_dir_all(root.join("code")).unwrap();
    std::fs::write(root.join("marker"), "mine").unwrap();
    let hosts = sb.path().join("hosts");
    std::fs::write(
        &hosts,
        sandbox::hosts_file("solo", &["algo-3".to_string()], ""),
    )
    .unwrap();
    let mut command = tokio::process::Command::new("/bin/sh");
    command.args([
        "-c",
        "echo $(hostname) $(cat /opt/ml/marker) $(pwd) $(grep -c algo-3 /etc/hosts)",
    ]);
    sandbox::HostSandbox {
        hostname: "algo-3".into(),
        root,
        hosts_file: hosts,
        cwd: "/opt/ml/code".into(),
        staging: sb.path().join("staging"),
        user_namespace: false,
    }
    .apply(command.as_std_mut())
    .unwrap();
    let out = command.as_std_mut().output().unwrap();
    assert_eq!(
        cli::text(&out.stdout).trim(),
        "algo-3 mine /opt/ml/code 1",
        "{}",
        cli::text(&out.stderr)
    );
    assert!(
        !Path::new("/opt/ml/marker").exists(),
        "the machine's /opt/ml was written"
    );
}
