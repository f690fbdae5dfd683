//! Reliability and security, round 2, each case as a hostile user or endpoint would try it:
//! archives whose links chain out of the code folder, checkpoints that link to secrets,
//! endpoints that never answer or answer without end, garbage that must not pass preflight,
//! request files that never end, concurrent runs, stops while downloading, processes that
//! leave their group, a volume's limits, private job trees and the store's own messages.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Sandbox;
use common::cli::{sagedesk, text};
use sagedesk::backend::Backend;
use sagedesk::job::Status;
use serde_json::json;

/// Writes a `.tar.gz` of `train.py` and the given `(name, link target)` symlinks.
fn linked_tarball(dest: &Path, links: &[(&str, &str)]) {
    let file = std::fs::File::create(dest).unwrap();
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        file,
        flate2::Compression::default(),
    ));
    let body = b"print('hi')\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "train.py", &body[..])
        .unwrap();
    for (name, target) in links {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder.append_link(&mut header, name, target).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_of_links_never_leads_staging_outside_the_job_folder() {
    let sb = Sandbox::new();
    let local = sb.backend();
    // A file beside the sandbox that the chain reaches: its mode must not change.
    let victim = sb.path().join("victim");
    std::fs::write(&victim, "private\n").unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o600)).unwrap();
    let tar = sb.path().join("chain.tar.gz");
    // s2 → . ; s1 → s2/.. (the job's folder) ; s0 → s1/.. ; … each a step further up.
    let mut links: Vec<(String, String)> = vec![("s9".into(), ".".into())];
    for i in (0..9).rev() {
        links.push((format!("s{i}"), format!("s{}/..", i + 1)));
    }
    let pairs: Vec<(&str, &str)> = links
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    linked_tarball(&tar, &pairs);
    let request = sb.request(
        "link-chain",
        "s0/victim",
        json!({"HyperParameters": {"sagemaker_submit_directory": format!("file://{}", tar.display())}}),
    );
    local.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&local, "link-chain", common::LIMIT).await;
    assert_eq!(detail.summary.status, Status::Failed);
    let reason = detail.failure_reason.unwrap_or_default();
    assert!(
        reason.contains("outside the folder") || reason.contains("outside the code folder"),
        "{reason}"
    );
    let mode = std::fs::metadata(&victim).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the file outside was chmod-ed");

    // The links that stay inside are unpacked and resolved through.
    let tar = sb.path().join("inside.tar.gz");
    linked_tarball(&tar, &[("lib", "."), ("entry.py", "lib/train.py")]);
    let request = sb.request(
        "link-inside",
        "entry.py",
        json!({"HyperParameters": {"sagemaker_submit_directory": format!("file://{}", tar.display())}}),
    );
    local.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&local, "link-inside", common::LIMIT).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
}

#[test]
fn links_are_resolved_against_the_disk_as_they_are_unpacked() {
    use sagedesk::backend::archive::resolve_beneath;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::os::unix::fs::symlink(".", root.join("s2")).unwrap();
    std::os::unix::fs::symlink("s2/..", root.join("s1")).unwrap();
    std::os::unix::fs::symlink("/etc", root.join("abs")).unwrap();
    std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
    std::fs::create_dir(root.join("d")).unwrap();
    assert_eq!(resolve_beneath(root, Path::new("s2/x")), Some("x".into()));
    assert_eq!(resolve_beneath(root, Path::new("s1")), None);
    assert_eq!(resolve_beneath(root, Path::new("s1/x")), None);
    assert_eq!(resolve_beneath(root, Path::new("abs/passwd")), None);
    assert_eq!(resolve_beneath(root, Path::new("loop/x")), None);
    assert_eq!(
        resolve_beneath(root, Path::new("d/../d/./y")),
        Some("d/y".into())
    );
    assert_eq!(resolve_beneath(root, Path::new("../x")), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn checkpoints_keep_links_as_links_and_never_copy_what_they_point_to() {
    let sb = Sandbox::new();
    let local = sb.backend();
    let secret = sb.path().join("credentials");
    std::fs::write(&secret, "aws_secret_access_key = TOP-SECRET-VALUE\n").unwrap();
    let kept = sb.path().join("kept");
    std::fs::create_dir_all(&kept).unwrap();
    let script = format!(
        "import os\nck = os.path.join(os.path.dirname(os.getcwd()), 'checkpoints')\n\
         os.makedirs(ck, exist_ok=True)\n\
         open(os.path.join(ck, 'step-1.ckpt'), 'w').write('weights')\n\
         os.symlink({:?}, os.path.join(ck, 'creds'))\n\
         os.symlink('/etc/passwd', os.path.join(ck, 'passwd'))\n\
         os.symlink('/etc', os.path.join(ck, 'etc'))\n",
        secret.display().to_string()
    );
    sb.script("ckpt.py", &script);
    let request = sb.request(
        "ckpt-links",
        "ckpt.py",
        json!({"CheckpointConfig": {"S3Uri": format!("file://{}", kept.display())}}),
    );
    local.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&local, "ckpt-links", common::LIMIT).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    assert_eq!(
        std::fs::read_to_string(kept.join("step-1.ckpt")).unwrap(),
        "weights"
    );
    for name in ["creds", "passwd", "etc"] {
        assert!(
            std::fs::symlink_metadata(kept.join(name)).is_err(),
            "{name} was copied"
        );
    }
    let everything: String = common::walk(&kept)
        .iter()
        .filter(|p| p.is_file())
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    assert!(!everything.contains("TOP-SECRET-VALUE"));
    assert!(!everything.contains("root:"));
}

/// How a fake endpoint answers every request.
#[derive(Clone, Copy)]
enum Answer {
    /// Reads the request and never answers.
    Silent,
    /// 200 with a body that claims 2 GiB (and streams zeros while the client reads).
    Endless,
    /// 200 with a body that is not any AWS answer.
    Garbage,
}

/// A fake endpoint on 127.0.0.1 answering every request as `answer` says; its URL. Each
/// connection is served by a thread that ends with the connection (or after a minute of
/// sending), so the test process leaves nothing behind for long.
fn fake_endpoint(answer: Answer) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(10_000) {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(90)));
                let mut buf = vec![0u8; 1 << 16];
                let _ = stream.read(&mut buf);
                match answer {
                    Answer::Silent => std::thread::sleep(Duration::from_secs(90)),
                    Answer::Endless => {
                        let _ = stream.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n\
                              Transfer-Encoding: chunked\r\n\r\n",
                        );
                        let chunk = vec![b' '; 1 << 20];
                        let started = Instant::now();
                        while started.elapsed() < Duration::from_secs(60) {
                            let head = format!("{:x}\r\n", chunk.len());
                            let sent = stream
                                .write_all(head.as_bytes())
                                .and_then(|()| stream.write_all(&chunk))
                                .and_then(|()| stream.write_all(b"\r\n"));
                            if sent.is_err() {
                                break;
                            }
                        }
                    }
                    Answer::Garbage => {
                        let body = "<Garbage><ok>yes</ok><vpcId></vpcId></Garbage>";
                        let _ = stream.write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: \
                                 {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        );
                    }
                }
            });
        }
    });
    url
}

/// `sagedesk ARGS` against `endpoint` with dummy keys; its output and how long it took.
fn against(home: &Path, endpoint: &str, args: &[&str]) -> (std::process::Output, Duration) {
    let started = Instant::now();
    let out = sagedesk(home)
        .args(args)
        .args(["--endpoint-url", endpoint, "--region", "us-east-1"])
        .envs(common::moto::child_env(endpoint))
        .output()
        .unwrap();
    (out, started.elapsed())
}

/// The largest resident size of any child this process has waited for, in MB.
fn children_peak_mb() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    // SAFETY: zeroed then filled by getrusage.
    (unsafe { usage.assume_init() }.ru_maxrss as u64) / 1024
}

#[test]
fn a_silent_endpoint_is_given_up_on_and_an_endless_answer_is_cut() {
    let sb = Sandbox::new();
    let silent = fake_endpoint(Answer::Silent);
    let (out, took) = against(&sb.home(), &silent, &["jobs"]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("NetworkError"), "{err}");
    assert!(took < Duration::from_secs(100), "gave up after {took:?}");
    eprintln!("silent endpoint given up after {took:?}");

    let endless = fake_endpoint(Answer::Endless);
    let (out, took) = against(&sb.home(), &endless, &["describe", "some-job"]);
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("AnswerTooLarge"), "{err}");
    let peak = children_peak_mb();
    assert!(peak < 1024, "a child reached {peak} MB");
    eprintln!("endless answer cut after {took:?}; children peaked at {peak} MB");
}

#[tokio::test(flavor = "multi_thread")]
async fn preflight_never_passes_on_answers_that_are_not_the_services() {
    use sagedesk::backend::sdk::{Account, AwsConnection, Clients};
    use sagedesk::preflight::{self, Cache, Outcome};
    common::moto::aws_env();
    let sb = Sandbox::new();
    let garbage = fake_endpoint(Answer::Garbage);
    sb.script("train.py", "print('hi')\n");
    let mut request =
        serde_json::to_value(sb.request("garbage-pf", "train.py", json!({}))).unwrap();
    request["RoleArn"] = json!("arn:aws:iam::111122223333:role/SageMakerRole");
    request["AlgorithmSpecification"]["TrainingImage"] =
        json!("111122223333.dkr.ecr.us-east-1.amazonaws.com/train:latest");
    request["VpcConfig"] = json!({"Subnets": ["subnet-0abc"], "SecurityGroupIds": ["sg-0abc"]});
    request["HyperParameters"]["sagemaker_submit_directory"] = json!("s3://code-bucket/src.tar.gz");
    request["OutputDataConfig"]["S3OutputPath"] = json!("s3://out-bucket/jobs");
    request["InputDataConfig"] = json!([{"ChannelName": "train", "DataSource": {"S3DataSource":
        {"S3DataType": "S3Prefix", "S3Uri": "s3://data-bucket/train/"}}}]);
    let request = sagedesk::request::request_from_value(request, "test")
        .unwrap()
        .request;
    let connection = AwsConnection {
        profile: None,
        region: Some("us-east-1".into()),
        endpoint_url: Some(garbage),
    };
    let context = std::sync::Arc::new(Account {
        clients: Clients::load(&connection).await.unwrap(),
        region: "us-east-1".into(),
        account: "111122223333".into(),
    });
    let report = preflight::run(context, &request, &mut Cache::default(), true).await;
    assert!(!report.checks.is_empty());
    let passed: Vec<String> = report
        .checks
        .iter()
        .filter_map(|c| match &c.outcome {
            Outcome::Passed(what) => Some(format!("{} {}: {what}", c.path, c.call)),
            _ => None,
        })
        .collect();
    assert!(passed.is_empty(), "passed on garbage: {passed:#?}");
}

#[test]
fn request_files_are_read_no_further_than_their_limit() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home()).unwrap();
    // A comparison file of 2 GiB (sparse: it takes no disk).
    let huge = sb.path().join("huge.json");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let huge = huge.to_str().unwrap();
    for args in [
        &["validate", "/dev/zero"][..],
        &["run", "/dev/zero"],
        &["compare", huge],
    ] {
        let out = sagedesk(&sb.home()).args(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("too large"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    // A pipe that never ends.
    let fifo = sb.path().join("endless.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        if let Ok(mut pipe) = std::fs::OpenOptions::new().write(true).open(&writer_path) {
            let chunk = vec![b' '; 1 << 16];
            for _ in 0..10_000 {
                if pipe.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
    });
    let out = sagedesk(&sb.home())
        .args(["validate", fifo.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    writer.join().unwrap();
    let peak = children_peak_mb();
    assert!(peak < 1024, "a child reached {peak} MB");
}

#[test]
fn concurrent_unique_runs_each_keep_their_job() {
    let sb = Sandbox::new();
    sb.script("one.py", "print('one line')\n");
    let request = sb.request("burst", "one.py", json!({}));
    let file = common::cli::request_file(&sb, &request);
    // Made once, so the burst does not race to create the data folder.
    let out = sagedesk(&sb.home()).arg("jobs").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    for burst in 0..2 {
        let children: Vec<_> = (0..20)
            .map(|_| {
                sagedesk(&sb.home())
                    .args(["run", file.to_str().unwrap(), "--unique-name"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        }
        let out = sagedesk(&sb.home()).arg("jobs").output().unwrap();
        let listed = text(&out.stdout)
            .lines()
            .filter(|l| l.contains("burst-"))
            .count();
        assert_eq!(listed, 20 * (burst + 1), "{}", text(&out.stdout));
    }
}

#[test]
fn a_job_started_with_setsid_does_not_outlive_its_job() {
    let sb = Sandbox::new();
    let marker = format!("sagedesk-leftover-{}", std::process::id());
    let script = format!(
        "import subprocess, sys\n\
         subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'],\n\
                          start_new_session=True,\n\
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n\
         print('started a daemon')\n"
    );
    sb.script("daemon.py", &script);
    let request = sb.request("leftover", "daemon.py", json!({}));
    let file = common::cli::request_file(&sb, &request);
    let out = sagedesk(&sb.home())
        .args(["run", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("Completed") || out.status.success());
    wait_gone(&marker, "after the job completed");

    // The supervisor killed mid-training: the watchdog ends the daemon too.
    let marker = format!("sagedesk-orphan-{}", std::process::id());
    let script = format!(
        "import subprocess, sys, time\n\
         subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)', '{marker}'],\n\
                          start_new_session=True)\n\
         print('daemon up', flush=True)\n\
         time.sleep(300)\n"
    );
    sb.script("orphan.py", &script);
    let request = sb.request("orphaned", "orphan.py", json!({}));
    let file = common::cli::request_file(&sb, &request);
    let mut run = sagedesk(&sb.home())
        .args(["run", file.to_str().unwrap(), "--follow"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = run.stdout.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 256];
    while !first.contains("daemon up") && Instant::now() < deadline {
        let n = stdout.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        first.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(first.contains("daemon up"), "{first}");
    assert!(!pids_with(&marker).is_empty());
    for pid in pids_with("supervise") {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains("orphaned") {
            // SAFETY: a signal to a pid found just now.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
    wait_gone(&marker, "after its supervisor was killed");
    let _ = run.kill();
    let _ = run.wait();
}

/// Pids whose command line holds `needle`.
fn pids_with(needle: &str) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = state
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).contains(needle) {
            out.push(pid);
        }
    }
    out
}

fn wait_gone(marker: &str, when: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !pids_with(marker).is_empty() {
        assert!(Instant::now() < deadline, "{marker} still runs {when}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_archive_larger_than_the_volume_is_refused_as_no_space_and_code_is_shared() {
    let sb = Sandbox::new();
    let local = sb.backend();
    // A header that claims 2 GiB: refused before a byte of it is written.
    let tar = sb.path().join("bomb.tar.gz");
    {
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&tar).unwrap(),
            flate2::Compression::default(),
        );
        let mut header = tar::Header::new_gnu();
        header.set_path("big.bin").unwrap();
        header.set_size(2 << 30);
        header.set_mode(0o644);
        header.set_cksum();
        gz.write_all(header.as_bytes()).unwrap();
        gz.write_all(&[0u8; 4096]).unwrap();
        gz.finish().unwrap();
    }
    let request = sb.request(
        "bomb",
        "train.py",
        json!({"HyperParameters": {"sagemaker_submit_directory": format!("file://{}", tar.display())},
               "ResourceConfig": {"InstanceCount": 2}}),
    );
    local.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&local, "bomb", common::LIMIT).await;
    assert_eq!(detail.summary.status, Status::Failed);
    let reason = detail.failure_reason.unwrap_or_default();
    assert!(reason.contains("no space left on device"), "{reason}");
    assert!(reason.contains("VolumeSizeInGB"), "{reason}");

    // Two hosts read one copy of the code.
    sb.script("two.py", "print('hi')\n");
    let request = sb.request(
        "shared-code",
        "two.py",
        json!({"ResourceConfig": {"InstanceCount": 2}}),
    );
    local.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&local, "shared-code", common::LIMIT).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    use std::os::unix::fs::MetadataExt;
    let job = sb.home().join("jobs/shared-code");
    let inode = |host: &str| {
        std::fs::metadata(job.join(host).join("code/two.py"))
            .unwrap()
            .ino()
    };
    assert_eq!(inode("algo-1"), inode("algo-2"));
}

#[test]
fn job_trees_are_private_and_legacy_key_names_stay_out() {
    let sb = Sandbox::new();
    // A data folder that already existed, open to all.
    std::fs::create_dir_all(sb.home().join("jobs")).unwrap();
    std::fs::set_permissions(sb.home(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        sb.home().join("jobs"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    sb.script(
        "env.py",
        "import os\nprint('legacy:', os.environ.get('AWS_ACCESS_KEY'), os.environ.get('AWS_SECRET_KEY'))\n",
    );
    let request = sb.request(
        "private",
        "env.py",
        json!({"HyperParameters": {"hf_token": "hf_secret_123"}}),
    );
    let file = common::cli::request_file(&sb, &request);
    let out = sagedesk(&sb.home())
        .args(["run", file.to_str().unwrap(), "--follow"])
        .env("AWS_ACCESS_KEY", "AKIALEGACYKEY")
        .env("AWS_SECRET_KEY", "legacy-secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("legacy: None None"),
        "{}",
        text(&out.stdout)
    );
    let mode = |p: PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(sb.home().join("jobs")), 0o700);
    assert_eq!(mode(sb.home().join("jobs/private")), 0o700);
    assert_eq!(
        mode(
            sb.home()
                .join("jobs/private/algo-1/input/config/hyperparameters.json")
        ),
        0o600
    );
}

#[test]
fn the_store_names_a_folder_in_its_place_and_damage_inside_the_file() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.home().join("sagedesk.db")).unwrap();
    let out = sagedesk(&sb.home()).arg("jobs").output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("is a folder"),
        "{}",
        text(&out.stderr)
    );

    let sb = Sandbox::new();
    common::stored_job(
        &sb.home(),
        &sb.path().join("out"),
        "damaged",
        (0..20_000).map(|i| format!("line {i} {}", "x".repeat(80))),
    );
    let db = sb.home().join("sagedesk.db");
    let len = std::fs::metadata(&db).unwrap().len();
    let mut file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    use std::io::{Seek, SeekFrom};
    // Pages past the first are overwritten: the header still says SQLite.
    file.seek(SeekFrom::Start(4096)).unwrap();
    file.write_all(&vec![0xA5; (len - 4096) as usize]).unwrap();
    drop(file);
    let out = sagedesk(&sb.home()).arg("jobs").output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(err.contains("keep a copy"), "{err}");
}

/// The local backend, whose first list panics: the worker's poll dies with it once.
struct PanicsOnce {
    inner: sagedesk::backend::local::LocalBackend,
    panicked: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Backend for PanicsOnce {
    fn label(&self) -> String {
        self.inner.label()
    }
    async fn create_training_job(
        &self,
        request: sagedesk::request::TrainingJobRequest,
    ) -> Result<String, sagedesk::backend::BackendError> {
        self.inner.create_training_job(request).await
    }
    async fn list_training_jobs(
        &self,
        filter: &sagedesk::job::ListFilter,
    ) -> Result<Vec<sagedesk::job::JobSummary>, sagedesk::backend::BackendError> {
        if !self
            .panicked
            .swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            panic!("a bug in listing");
        }
        self.inner.list_training_jobs(filter).await
    }
    async fn describe_training_job(
        &self,
        name: &str,
    ) -> Result<sagedesk::job::JobDetail, sagedesk::backend::BackendError> {
        self.inner.describe_training_job(name).await
    }
    async fn stop_training_job(&self, name: &str) -> Result<(), sagedesk::backend::BackendError> {
        self.inner.stop_training_job(name).await
    }
    async fn get_log_events(
        &self,
        name: &str,
        cursor: &sagedesk::job::Cursor,
        limit: usize,
    ) -> Result<sagedesk::job::LogPage, sagedesk::backend::BackendError> {
        self.inner.get_log_events(name, cursor, limit).await
    }
    async fn get_metric_data(
        &self,
        name: &str,
        cursor: &sagedesk::job::Cursor,
    ) -> Result<sagedesk::job::MetricPage, sagedesk::backend::BackendError> {
        self.inner.get_metric_data(name, cursor).await
    }
    async fn list_artifacts(
        &self,
        name: &str,
    ) -> Result<Vec<sagedesk::job::ArtifactEntry>, sagedesk::backend::BackendError> {
        self.inner.list_artifacts(name).await
    }
    async fn list_archive(
        &self,
        uri: &str,
    ) -> Result<sagedesk::job::ArchiveListing, sagedesk::backend::BackendError> {
        self.inner.list_archive(uri).await
    }
    async fn download_artifact(
        &self,
        uri: &str,
        dest: &Path,
        progress: sagedesk::backend::Progress,
    ) -> Result<(), sagedesk::backend::BackendError> {
        self.inner.download_artifact(uri, dest, progress).await
    }
}

#[test]
fn a_panic_in_the_worker_is_reported_as_such_and_the_worker_runs_again() {
    use sagedesk::worker::{Event, Worker};
    let sb = Sandbox::new();
    common::stored_job(
        &sb.home(),
        &sb.path().join("out"),
        "kept-job",
        std::iter::empty(),
    );
    let backend = PanicsOnce {
        inner: sb.backend(),
        panicked: Default::default(),
    };
    let worker = Worker::spawn(std::sync::Arc::new(backend), None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (mut failed, mut listed) = (None, false);
    while !(failed.is_some() && listed) {
        assert!(
            Instant::now() < deadline,
            "failed: {failed:?}, listed: {listed}"
        );
        for event in worker.drain() {
            match event {
                Event::WorkerFailed {
                    message, restarted, ..
                } => failed = Some((message, restarted)),
                Event::Jobs { jobs, .. } if failed.is_some() => {
                    listed = jobs.iter().any(|j| j.name == "kept-job");
                }
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (message, restarted) = failed.unwrap();
    assert_eq!(message, "a bug in listing");
    assert!(restarted);
}

#[test]
fn a_state_file_with_values_out_of_range_still_opens_a_working_window() {
    let sb = Sandbox::new();
    common::stored_job(
        &sb.home(),
        &sb.path().join("out"),
        "kept-job",
        std::iter::empty(),
    );
    let state = sagedesk::ui::state::State {
        log_interval_seconds: u64::MAX,
        list_interval_seconds: u64::MAX,
        smoothing: f32::NAN,
        ..Default::default()
    };
    use egui_kittest::kittest::Queryable;
    let worker = common::window::worker(std::sync::Arc::new(sb.backend()), &sb.home());
    let options = common::window::options(None);
    let mut h = egui_kittest::Harness::builder()
        .with_size([1200.0, 800.0])
        .build_eframe(move |cc| {
            sagedesk::ui::SageDeskApp::with_state(&cc.egui_ctx, worker, options, state)
        });
    let deadline = Instant::now() + Duration::from_secs(20);
    while h.query_by_label_contains("kept-job").is_none() {
        assert!(Instant::now() < deadline, "the job list never loaded");
        h.run_steps(2);
        std::thread::sleep(Duration::from_millis(20));
    }
    let state = h.state().state();
    assert_eq!(state.log_interval_seconds, 3600);
    assert_eq!(state.smoothing, 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn clashing_s3_keys_are_decided_and_named_and_a_stop_ends_a_download_at_once() {
    use common::moto::Moto;
    let moto = Moto::start_seeded(Some(
        "s3 = s3_backends[ACCOUNT]['aws']\ns3.create_bucket('keys', 'us-east-1')\n\
         for key in ['data/dup/a', 'data/dup//a', 'data/clash/x', 'data/clash/x/y',\n\
                     'data/dot/./x', 'data/ok.csv']:\n    s3.put_object('keys', key, key.encode())\n\
         for n in range(6000): s3.put_object('keys', f'slow/part-{n:05}.csv', b'x' * 1024)\n",
    ));
    let sb = Sandbox::new();
    sb.script(
        "keys.py",
        "import os\nroot = os.environ['SM_CHANNEL_TRAIN']\n\
         for d, _, fs in sorted(os.walk(root)):\n    for f in sorted(fs):\n\
         \x20       p = os.path.join(d, f)\n        print('file', os.path.relpath(p, root), open(p).read())\n",
    );
    let mut config = sb.config();
    config.aws = moto.connection();
    let local = sagedesk::backend::local::LocalBackend::open(config).unwrap();
    let channel = |uri: &str| {
        json!({"InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource":
            {"S3DataType": "S3Prefix", "S3Uri": uri}}}]})
    };
    let request = sb.request("clashing-keys", "keys.py", channel("s3://keys/data/"));
    local.create_training_job(request).await.unwrap();
    let detail = common::wait_for_end(&local, "clashing-keys", common::LIMIT).await;
    let lines = common::log_text(&local, "clashing-keys").await;
    assert_eq!(
        detail.summary.status,
        Status::Completed,
        "{detail:?}\n{lines:#?}"
    );
    for line in [
        "file clash/x/y data/clash/x/y",
        "file dot/x data/dot/./x",
        "file dup/a data/dup//a",
        "file ok.csv data/ok.csv",
    ] {
        assert!(lines.iter().any(|l| l == line), "{line} in {lines:#?}");
    }
    assert!(
        lines.iter().any(|l| l.contains("2 S3 keys were left out")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("left out: channel train: dup/a (the same file as dup//a)")),
        "{lines:#?}"
    );

    // A stop while 6,000 objects download ends the job in moments, not after them.
    let request = sb.request("stop-downloading", "keys.py", channel("s3://keys/slow/"));
    local.create_training_job(request).await.unwrap();
    let deadline = Instant::now() + common::LIMIT;
    loop {
        let detail = local
            .describe_training_job("stop-downloading")
            .await
            .unwrap();
        if detail.summary.secondary_status == Some(sagedesk::job::SecondaryStatus::Downloading) {
            break;
        }
        assert!(!detail.summary.status.is_terminal(), "{detail:?}");
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let stopped_at = Instant::now();
    local.stop_training_job("stop-downloading").await.unwrap();
    let detail = common::wait_for_end(&local, "stop-downloading", common::LIMIT).await;
    let took = stopped_at.elapsed();
    assert_eq!(detail.summary.status, Status::Stopped, "{detail:?}");
    assert!(took < Duration::from_secs(5), "the stop took {took:?}");
    let staged = common::walk(&sb.home().join("jobs/stop-downloading/s3-input"))
        .iter()
        .filter(|p| p.is_file())
        .count();
    assert!(staged < 6000, "the download went on to the end");
    eprintln!("stopped {took:?} after the stop, {staged} of 6000 objects down");
}
