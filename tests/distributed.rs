//! Distributed jobs as the framework toolkits launch them: `torchrun` on each host,
//! `mpirun` across the hosts (its daemons started in the other hosts' sandboxes), refused
//! where the launcher is missing; and instance groups, checked against sagemaker-training's
//! own `Environment`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

use common::{LIMIT, Sandbox, completed};
use sagedesk::backend::Backend;
use sagedesk::backend::local::LocalBackend;
use sagedesk::backend::local::sandbox::availability;
use serde_json::{Value, json};

/// Whether this machine gives hosts sandboxes, which name them `algo-N`.
fn sandboxes() -> bool {
    let available = availability().available();
    if !available {
        eprintln!("skipped: this machine refuses sandboxes");
    }
    available
}

fn backend_on(sb: &Sandbox, python: &Path) -> LocalBackend {
    let mut config = sb.config();
    config.python = python.to_path_buf();
    LocalBackend::open(config).unwrap()
}

/// A script where every rank reports its rank and host to rank 0 over TCP, at
/// `ADDRESS:PORT` (rank 0's host); rank 0 prints what it gathered. `RANK` and `WORLD` name
/// the variables the launcher sets.
fn gather(rank: &str, world: &str, address: &str, port: &str) -> String {
    format!(
        r#"import os, socket, time
rank, world = int(os.environ["{rank}"]), int(os.environ["{world}"])
address, port = {address}, int({port})
me = "%d@%s" % (rank, socket.gethostname())
open(os.path.join("/opt/ml/model", "rank-%d.txt" % rank), "w").write(me)
if rank == 0:
    server = socket.create_server((address, port))
    got = [me]
    while len(got) < world:
        conn, _ = server.accept()
        got.append(conn.makefile().readline().strip())
    print("gathered " + " ".join(sorted(got)), flush=True)
else:
    for _ in range(300):
        try:
            with socket.create_connection((address, port)) as conn:
                conn.sendall((me + "\n").encode())
            break
        except OSError:
            time.sleep(0.1)
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torch_distributed_without_torch_is_refused_naming_torchrun() {
    let sb = Sandbox::new();
    sb.script("train.py", "print('never')\n");
    let backend = sb.backend();
    let request = sb.request(
        "no-torchrun",
        "train.py",
        json!({
            "HyperParameters": {"sagemaker_torch_distributed_enabled": "true"},
            "ResourceConfig": {"InstanceCount": 2}
        }),
    );
    let error = backend.create_training_job(request).await.unwrap_err();
    assert!(error.message.contains("torchrun"), "{error:?}");
    assert!(error.message.contains("runtime table"), "{error:?}");
    assert!(backend.describe_training_job("no-torchrun").await.is_err());
}

/// A venv whose `torch` is only `torch.distributed.run`, launching ranks as torchrun does
/// (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT): torch itself is gigabytes.
fn torchrun_venv(dir: &Path) -> PathBuf {
    let status = std::process::Command::new("python3")
        .args(["-m", "venv", "--without-pip", "--system-site-packages"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    let python = dir.join("bin/python");
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    let purelib = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    let run = purelib.join("torch/distributed");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(purelib.join("torch/__init__.py"), "").unwrap();
    std::fs::write(run.join("__init__.py"), "").unwrap();
    std::fs::write(
        run.join("run.py"),
        r#"import argparse, os, subprocess, sys
p = argparse.ArgumentParser()
p.add_argument("--nnodes", type=int)
p.add_argument("--nproc_per_node", type=int)
p.add_argument("--master_addr", default="127.0.0.1")
p.add_argument("--master_port", default="29500")
p.add_argument("--node_rank", type=int, default=0)
p.add_argument("script")
p.add_argument("args", nargs=argparse.REMAINDER)
a = p.parse_args()
print("torchrun", " ".join(sys.argv[1:]), flush=True)
procs = []
for local in range(a.nproc_per_node):
    env = dict(os.environ, RANK=str(a.node_rank * a.nproc_per_node + local),
               LOCAL_RANK=str(local), WORLD_SIZE=str(a.nnodes * a.nproc_per_node),
               MASTER_ADDR=a.master_addr, MASTER_PORT=a.master_port)
    procs.append(subprocess.Popen([sys.executable, a.script] + a.args, env=env))
sys.exit(max(p.wait() for p in procs))
"#,
    )
    .unwrap();
    let info = purelib.join("torch-2.3.0.dist-info");
    std::fs::create_dir_all(&info).unwrap();
    std::fs::write(
        info.join("METADATA"),
        "Metadata-Version: 2.1\nName: torch\nVersion: 2.3.0\n",
    )
    .unwrap();
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torchrun_starts_on_each_host_as_the_toolkit_calls_it() {
    if !sandboxes() {
        return;
    }
    let sb = Sandbox::new();
    let python = torchrun_venv(&sb.path().join("torch-venv"));
    let mut script = gather(
        "RANK",
        "WORLD_SIZE",
        "os.environ['MASTER_ADDR']",
        "os.environ['MASTER_PORT']",
    );
    script.push_str(
        r#"
import json
if rank == 0:
    te = json.loads(os.environ["SM_TRAINING_ENV"])
    print("env", te["distribution_hosts"], te["master_hostname"],
          os.environ["SM_DISTRIBUTION_INSTANCE_GROUPS"], os.environ["NCCL_PROTO"], flush=True)
"#,
    );
    sb.script("train.py", &script);
    let backend = backend_on(&sb, &python);
    let request = sb.request(
        "torchrun-job",
        "train.py",
        json!({
            "HyperParameters": {"sagemaker_torch_distributed_enabled": "true", "epochs": "1"},
            "ResourceConfig": {"InstanceCount": 2}
        }),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "torchrun-job", LIMIT).await;
    let code = "/opt/ml/code/train.py --epochs 1";
    for rank in 0..2 {
        let line = format!(
            "torchrun --nnodes 2 --nproc_per_node 1 --master_addr algo-1 --master_port 7777 \
             --node_rank {rank} {code}"
        );
        assert!(log.contains(&line), "{line}\n{log:?}");
    }
    assert!(
        log.contains(&"gathered 0@algo-1 1@algo-2".to_string()),
        "{log:?}"
    );
    assert!(
        log.contains(
            &"env ['algo-1', 'algo-2'] algo-1 [\"homogeneousCluster\"] simple".to_string()
        ),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mpirun_spans_the_hosts_whose_ranks_exchange_a_value() {
    if !sandboxes() {
        return;
    }
    if sagedesk::process::which(Path::new("mpirun")).is_none() {
        eprintln!("skipped: no mpirun on this machine (tools/test.sh installs openmpi-bin)");
        return;
    }
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        &gather(
            "OMPI_COMM_WORLD_RANK",
            "OMPI_COMM_WORLD_SIZE",
            "'algo-1'",
            "7788",
        ),
    );
    let backend = sb.backend();
    let request = sb.request(
        "mpi-job",
        "train.py",
        json!({
            "HyperParameters": {
                "sagemaker_mpi_enabled": "true",
                "sagemaker_mpi_num_of_processes_per_host": "2",
                "sagemaker_mpi_custom_mpi_options": "\"\""
            },
            "ResourceConfig": {"InstanceCount": 2}
        }),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "mpi-job", LIMIT * 2).await;
    assert!(
        log.iter()
            .any(|l| l.contains("<stdout>:gathered 0@algo-1 1@algo-1 2@algo-2 3@algo-2")),
        "{log:?}"
    );
    // A rank that fails ends every rank, and the job fails saying so.
    sb.script(
        "fail.py",
        "import os, sys, time\nif os.environ['OMPI_COMM_WORLD_RANK'] == '3':\n    sys.exit(3)\ntime.sleep(120)\n",
    );
    let request = sb.request(
        "mpi-fails",
        "fail.py",
        json!({
            "HyperParameters": {
                "sagemaker_mpi_enabled": "true",
                "sagemaker_mpi_num_of_processes_per_host": "2"
            },
            "ResourceConfig": {"InstanceCount": 2}
        }),
    );
    backend.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&backend, "mpi-fails", LIMIT).await;
    assert_eq!(detail.summary.status, sagedesk::job::Status::Failed);
    let reason = detail.failure_reason.unwrap_or_default();
    assert!(reason.starts_with("AlgorithmError: algo-1"), "{reason}");
    assert!(reason.contains("exit"), "{reason}");

    // Each rank wrote into its own host's tree.
    let jobs = sb.home().join("jobs/mpi-job");
    for (rank, host) in [(0, "algo-1"), (1, "algo-1"), (2, "algo-2"), (3, "algo-2")] {
        let file = jobs.join(host).join(format!("model/rank-{rank}.txt"));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("{rank}@{host}")
        );
    }
}

/// What sagemaker-training's own `Environment()` makes of the host's `/opt/ml`, compared
/// with the job's environment: every variable it would set, and the mismatches.
const COMPARE: &str = r#"import json, os, sys
from sagemaker_training import environment
env = environment.Environment()
expected = env.to_env_vars()
bad = {}
for key, value in expected.items():
    got = os.environ.get(key)
    if key == "SM_TRAINING_ENV":
        same = json.loads(value) == json.loads(got or "null")
    else:
        same = got == value
    if not same:
        bad[key] = [value, got]
host = os.environ["SM_CURRENT_HOST"]
print(host, "compared", len(expected), "mismatched", json.dumps(bad, sort_keys=True), flush=True)
print(host, "channels", sorted(os.listdir("/opt/ml/input/data")), flush=True)
sys.exit(1 if bad else 0)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_groups_match_the_toolkits_environment() {
    if !sandboxes() {
        return;
    }
    let sb = Sandbox::new();
    let train = sb.data("train", &[("a.csv", "1"), ("b.csv", "2")]);
    let meta = sb.data("meta", &[("m.json", "{}")]);
    sb.script("train.py", COMPARE);
    let backend = backend_on(&sb, common::moto::toolkit_python());
    let channel = |name: &str, path: &Path, groups: Value| {
        json!({"ChannelName": name, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": format!("file://{}", path.display()),
            "S3DataDistributionType": "ShardedByS3Key", "InstanceGroupNames": groups}}})
    };
    let request = sb.request(
        "hetero-job",
        "train.py",
        json!({
            "HyperParameters": {
                "sagemaker_distribution_instance_groups": "[\"train\"]",
                "lr": "0.1"
            },
            "ResourceConfig": {"InstanceType": null, "InstanceCount": null, "InstanceGroups": [
                {"InstanceGroupName": "data", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
                {"InstanceGroupName": "train", "InstanceType": "ml.m5.large", "InstanceCount": 2}
            ]},
            "InputDataConfig": [channel("train", &train, json!(["train"])),
                                channel("meta", &meta, json!([]))]
        }),
    );
    backend.create_training_job(request).await.unwrap();
    let (_, log) = completed(&backend, "hetero-job", LIMIT).await;
    for host in ["algo-1", "algo-2", "algo-3"] {
        assert!(
            log.iter()
                .any(|l| l.starts_with(&format!("{host} compared")) && l.ends_with("mismatched {}")),
            "{host}: {log:?}"
        );
    }
    assert!(
        log.contains(&"algo-1 channels ['meta']".to_string()),
        "{log:?}"
    );
    assert!(
        log.contains(&"algo-2 channels ['meta', 'train']".to_string()),
        "{log:?}"
    );
    // The sharded channel is split between the two hosts of its group.
    let jobs = sb.home().join("jobs/hetero-job");
    assert!(jobs.join("algo-2/input/data/train/a.csv").is_file());
    assert!(jobs.join("algo-3/input/data/train/b.csv").is_file());
}
