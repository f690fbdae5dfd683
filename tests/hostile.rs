//! Hostile inputs and faults on the local backend and the command line: jobs writing to
//! their input, endless lines, archives built to exhaust memory, a full or read-only disk,
//! a damaged store, readers that go away, supervisors killed, and malformed requests.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::cli::{request_file, sagedesk, text};
use common::disk::SmallDisk;
use common::*;
use sagedesk::backend::Backend;
use sagedesk::backend::archive;
use sagedesk::backend::local::{LocalBackend, LocalConfig};
use sagedesk::job::{Cursor, EntryKind, Status};
use serde_json::json;

fn write_job(sb: &Sandbox, name: &str, program: &str, extra: serde_json::Value) -> PathBuf {
    request_file(sb, &sb.request(name, program, extra))
}

/// Peak resident memory of this process, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[tokio::test]
async fn a_job_gets_copies_of_its_input_and_cannot_change_the_users_files() {
    let sb = Sandbox::new();
    let data = sb.data("train", &[("x.csv", "1,2\n")]);
    sb.script(
        "append.py",
        "import os\np = os.path.join(os.environ['SM_CHANNEL_TRAIN'], 'x.csv')\n\
         open(p, 'a').write('written by the job\\n')\nprint('appended', open(p).read().count('\\n'))\n",
    );
    let backend = sb.backend();
    let channel = json!({"InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": format!("file://{}", data.display())}}}]});
    backend
        .create_training_job(sb.request("copies", "append.py", channel))
        .await
        .unwrap();
    let detail = wait_for_end(&backend, "copies", LIMIT).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    assert!(
        log_text(&backend, "copies")
            .await
            .contains(&"appended 2".to_string())
    );
    assert_eq!(
        std::fs::read_to_string(data.join("x.csv")).unwrap(),
        "1,2\n"
    );
    // The staging progress was recorded in the Downloading stage.
    let downloading = detail
        .transitions
        .iter()
        .find(|t| t.status.as_str() == "Downloading")
        .expect("a Downloading transition");
    assert!(
        downloading.message.contains("Downloading input data"),
        "{downloading:?}"
    );
}

#[tokio::test]
async fn a_gigabyte_line_keeps_its_head_and_tail_and_its_metric() {
    let sb = Sandbox::new();
    sb.script(
        "long.py",
        "import sys\nsys.stdout.write('start ')\nchunk = 'x' * (1 << 20)\n\
         for _ in range(1024):\n    sys.stdout.write(chunk)\n\
         sys.stdout.write(' loss=0.25\\n')\nprint('after')\n",
    );
    let backend = sb.backend();
    let before = peak_rss();
    let extra = json!({"AlgorithmSpecification": {"MetricDefinitions": [
        {"Name": "loss", "Regex": "loss=([0-9.]+)"}]}});
    backend
        .create_training_job(sb.request("long-line", "long.py", extra))
        .await
        .unwrap();
    let detail = wait_for_end(&backend, "long-line", Duration::from_secs(180)).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    let lines = log_text(&backend, "long-line").await;
    assert_eq!(lines.len(), 2, "{}", lines.len());
    assert!(lines[0].len() <= 256 * 1024 + 200, "{}", lines[0].len());
    assert!(lines[0].starts_with("start xxxx"));
    assert!(lines[0].ends_with("x loss=0.25"));
    assert!(lines[0].contains("bytes of this line not kept"));
    assert_eq!(lines[1], "after");
    let metrics = backend
        .get_metric_data("long-line", &Cursor::default())
        .await
        .unwrap();
    assert_eq!(metrics.series[0].points[0].value, 0.25);
    // The line was never held whole (it is 1 GiB).
    let grown = peak_rss().saturating_sub(before);
    assert!(grown < 400 << 20, "peak memory grew by {grown} bytes");
}

#[tokio::test]
async fn binary_output_nul_bytes_a_closed_stdout_and_an_endless_last_line_are_stored_safely() {
    let sb = Sandbox::new();
    sb.script(
        "hostile_output.py",
        "import os, sys\nout = sys.stdout.buffer\n\
         out.write(b'bin \\xff\\xfe\\x00 nul\\x00end\\n')\n\
         out.write(b'progress\\r 50%\\r100%\\n')\nout.flush()\n\
         os.close(1)\n\
         try:\n    os.write(1, b'lost')\nexcept OSError:\n    pass\n\
         sys.stdout = open(os.devnull, 'w')\n\
         sys.stderr.write('stderr goes on\\n')\n\
         chunk = 'y' * (1 << 20)\nfor _ in range(100):\n    sys.stderr.write(chunk)\n",
    );
    let backend = sb.backend();
    backend
        .create_training_job(sb.request("hostile-output", "hostile_output.py", json!({})))
        .await
        .unwrap();
    let detail = wait_for_end(&backend, "hostile-output", Duration::from_secs(120)).await;
    assert_eq!(detail.summary.status, Status::Completed, "{detail:?}");
    let page = backend
        .get_log_events("hostile-output", &Cursor::default(), 100)
        .await
        .unwrap();
    assert_eq!(page.lines.len(), 4);
    // Each stream in its order (the two are read apart, as the service's agent does).
    let of = |stream: sagedesk::job::Stream| -> Vec<String> {
        page.lines
            .iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.clone())
            .collect()
    };
    let out = of(sagedesk::job::Stream::Stdout);
    let err = of(sagedesk::job::Stream::Stderr);
    assert_eq!(
        out,
        ["bin \u{fffd}\u{fffd}\0 nul\0end", "progress\r 50%\r100%"]
    );
    assert_eq!(err[0], "stderr goes on");
    // 100 MiB without a line end: its head and tail kept, with how much was cut.
    assert!(err[1].len() <= 256 * 1024 + 200, "{}", err[1].len());
    assert!(
        err[1].contains("bytes of this line not kept"),
        "{}",
        &err[1][..300]
    );
    // `logs` shows a redrawn line at its last state, `logs --raw` as printed.
    let shown = sagedesk(&sb.home())
        .args(["logs", "hostile-output"])
        .output()
        .unwrap();
    assert!(
        text(&shown.stdout).contains("algo-1 100%ress"),
        "{}",
        text(&shown.stdout)
    );
    let raw = sagedesk(&sb.home())
        .args(["logs", "hostile-output", "--raw"])
        .output()
        .unwrap();
    assert!(
        text(&raw.stdout).starts_with("bin \u{fffd}\u{fffd}\0 nul\0end\nprogress\r 50%\r100%\n")
    );
}

/// Writes a `.tar.gz` built by Python's `tarfile` (C zlib, fast) from `script`.
fn python_archive(dir: &Path, name: &str, script: &str) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("python3")
        .args(["-c", script, path.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    path
}

#[test]
fn archives_built_to_exhaust_memory_are_listed_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    // One entry whose GNU long name is 100 MB.
    let long = python_archive(
        dir.path(),
        "long-name.tar.gz",
        "import sys, tarfile, io\n\
         t = tarfile.open(sys.argv[1], 'w:gz', format=tarfile.GNU_FORMAT)\n\
         i = tarfile.TarInfo('a' * 100_000_000)\ni.size = 3\n\
         t.addfile(i, io.BytesIO(b'abc'))\n\
         l = tarfile.TarInfo('link')\nl.type = tarfile.SYMTYPE\nl.linkname = 'b' * 10_000\n\
         t.addfile(l)\nt.close()\n",
    );
    let before = peak_rss();
    let listing = archive::list_tar_gz_file(&long).unwrap();
    assert_eq!(listing.error, None);
    assert_eq!(listing.entries.len(), 2);
    let entry = &listing.entries[0];
    assert!(entry.path.len() < 5000, "{}", entry.path.len());
    assert!(
        entry.path.ends_with("(99995904 more bytes not shown)"),
        "{}",
        &entry.path[4090..]
    );
    assert_eq!((entry.kind, entry.size), (EntryKind::File, 3));
    let link = &listing.entries[1];
    assert_eq!(link.kind, EntryKind::Symlink);
    assert!(
        link.link
            .as_ref()
            .unwrap()
            .ends_with("(5904 more bytes not shown)")
    );
    let grown = peak_rss().saturating_sub(before);
    assert!(grown < 50 << 20, "listing grew memory by {grown} bytes");

    // More entries than a listing keeps.
    let many = python_archive(
        dir.path(),
        "many.tar.gz",
        "import sys, tarfile, io\nt = tarfile.open(sys.argv[1], 'w:gz')\n\
         for n in range(100_010):\n    i = tarfile.TarInfo(f'e/{n:06d}')\n    t.addfile(i, io.BytesIO(b''))\nt.close()\n",
    );
    let listing = archive::list_tar_gz_file(&many).unwrap();
    assert!(listing.truncated);
    assert_eq!(listing.entries.len(), archive::MAX_ENTRIES);
    assert_eq!(listing.entries[0].path, "e/000000");

    // A header that claims a terabyte in a file of a few kilobytes.
    let liar = python_archive(
        dir.path(),
        "liar.tar.gz",
        "import sys, tarfile, gzip\n\
         ok = tarfile.TarInfo('ok.txt'); ok.size = 2\n\
         big = tarfile.TarInfo('huge.bin'); big.size = 1 << 40\n\
         data = ok.tobuf(tarfile.GNU_FORMAT) + b'hi'.ljust(512, b'\\0') + big.tobuf(tarfile.GNU_FORMAT) + b'x' * 4096\n\
         gzip.open(sys.argv[1], 'wb').write(data)\n",
    );
    let listing = archive::list_tar_gz_file(&liar).unwrap();
    let paths: Vec<_> = listing
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.size))
        .collect();
    assert_eq!(paths, [("ok.txt", 2), ("huge.bin", 1 << 40)]);
    let error = listing.error.expect("the cut is reported");
    assert!(
        error.contains("ends early") && error.contains("huge.bin"),
        "{error}"
    );

    // Not an archive at all: an error naming the file.
    let junk = dir.path().join("junk.tar.gz");
    std::fs::write(&junk, b"not gzip").unwrap();
    let listing = archive::list_tar_gz_file(&junk).unwrap();
    let err = archive::readable(listing, "junk.tar.gz").unwrap_err();
    assert!(
        err.message
            .starts_with("junk.tar.gz: not a readable .tar.gz"),
        "{err}"
    );
}

#[test]
fn a_full_disk_drops_log_lines_and_the_job_goes_on() {
    let Some(disk) = SmallDisk::mount("3m") else {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    };
    let sb = Sandbox::new();
    sb.script(
        "chatty.py",
        "import time\nfor i in range(2_000_000):\n    print(f'line {i:08d} ' + 'y' * 80)\n    \
         if i % 10000 == 0: time.sleep(0.01)\n",
    );
    let home = disk.path.join("home");
    let job = write_job(&sb, "full", "chatty.py", json!({}));
    let started = Instant::now();
    let mut child = sagedesk(&home)
        .args(["run", job.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = loop {
        if child.try_wait().unwrap().is_some() {
            break child.wait_with_output().unwrap();
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("sagedesk run did not exit on a full disk");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = text(&out.stderr);
    // The script ran to its end, as on SageMaker when logs cannot be shipped.
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("no space left on device at"), "{stderr}");
    assert!(stderr.contains("log lines were dropped"), "{stderr}");
    // Reported once, not once per batch.
    assert!(
        stderr.matches("database or disk is full").count() <= 2,
        "{stderr}"
    );
    // The store stays readable and holds the ending.
    let out = sagedesk(&home).args(["describe", "full"]).output().unwrap();
    let described = text(&out.stdout);
    assert!(
        described.contains("Completed"),
        "{described}{}",
        text(&out.stderr)
    );
    assert!(described.contains("log lines were dropped"), "{described}");
}

#[tokio::test]
async fn a_read_only_data_folder_opens_for_reading_and_refuses_writes() {
    let Some(disk) = SmallDisk::mount("16m") else {
        eprintln!("skipped: cannot mount a small tmpfs here (needs root)");
        return;
    };
    let sb = Sandbox::new();
    sb.script("ok.py", "print('done')\n");
    let home = disk.path.join("home");
    {
        let backend = LocalBackend::open(LocalConfig::new(&home)).unwrap();
        backend
            .create_training_job(sb.request("before", "ok.py", json!({})))
            .await
            .unwrap();
        wait_for_end(&backend, "before", LIMIT).await;
    }
    disk.read_only();
    let backend = LocalBackend::open(LocalConfig::new(&home)).expect("opens read-only");
    let notice = backend.notice().expect("a read-only notice");
    assert!(notice.contains(&home.display().to_string()), "{notice}");
    let jobs = backend
        .list_training_jobs(&Default::default())
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(log_text(&backend, "before").await, ["done"]);
    let err = backend
        .create_training_job(sb.request("after", "ok.py", json!({})))
        .await
        .unwrap_err();
    assert!(err.message.contains("read-only"), "{err}");
    assert!(err.message.contains(&home.display().to_string()), "{err}");

    // The command line: reading works, running says why it cannot.
    let out = sagedesk(&home).args(["jobs"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("before"));
    let job = write_job(&sb, "after", "ok.py", json!({}));
    let out = sagedesk(&home)
        .args(["run", job.to_str().unwrap()])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("read-only"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_damaged_store_is_named_with_the_fix() {
    let sb = Sandbox::new();
    let home = sb.home();
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(home.join("sagedesk.db"), vec![0x5au8; 8192]).unwrap();
    let err = match LocalBackend::open(LocalConfig::new(&home)) {
        Ok(_) => panic!("a damaged store opened"),
        Err(e) => e,
    };
    let path = home.join("sagedesk.db").display().to_string();
    assert!(err.message.contains(&path), "{err}");
    assert!(err.message.contains("keep a copy"), "{err}");
    let out = sagedesk(&home).args(["jobs"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("keep a copy"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn the_store_and_data_folder_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let sb = Sandbox::new();
    let _backend = sb.backend();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sb.home()), 0o700);
    assert_eq!(mode(&sb.home().join("sagedesk.db")), 0o600);
}

#[test]
fn a_reader_that_goes_away_does_not_orphan_the_job() {
    let sb = Sandbox::new();
    sb.script(
        "slow.py",
        "import time\nfor i in range(30):\n    print('line', i, flush=True)\n    time.sleep(0.1)\n",
    );
    let job = write_job(&sb, "piped", "slow.py", json!({}));
    let mut child = sagedesk(&sb.home())
        .args(["run", "--follow", job.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    {
        // `| head -3`: read three lines, then close the pipe.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for _ in 0..3 {
            lines.next().unwrap().unwrap();
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "run died with the pipe: {status:?}");
    let out = sagedesk(&sb.home())
        .args(["describe", "piped"])
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("Completed"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn the_jobs_processes_die_with_a_killed_supervisor() {
    let sb = Sandbox::new();
    let marker = sb.path().join("pids");
    sb.script(
        "forever.py",
        &format!(
            "import os, subprocess, time\nchild = subprocess.Popen(['sleep', '300'])\n\
             open({:?}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\ntime.sleep(300)\n",
            marker.display().to_string()
        ),
    );
    let job = write_job(&sb, "orphan", "forever.py", json!({}));
    let mut run = sagedesk(&sb.home())
        .args(["run", job.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + LIMIT;
    let pids: Vec<i32> = loop {
        if let Ok(text) = std::fs::read_to_string(&marker)
            && text.contains(' ')
        {
            break text.split(' ').map(|p| p.parse().unwrap()).collect();
        }
        assert!(Instant::now() < deadline, "the job never started");
        std::thread::sleep(Duration::from_millis(50));
    };
    // The job's supervisor (a process of its own) is killed.
    let store = sagedesk::store::Store::open(&sb.config().database()).unwrap();
    let supervisor = store.unfinished().unwrap()[0].pid.unwrap();
    sagedesk::process::signal_group(supervisor, libc::SIGKILL);
    let _ = run.wait();
    let alive = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| !s[s.rfind(')').unwrap() + 2..].starts_with('Z'))
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| alive(p)) {
        assert!(
            Instant::now() < deadline,
            "job processes {pids:?} outlived their supervisor"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn run_in(dir: &Path, home: &Path, args: &[&str]) -> Output {
    sagedesk(home).current_dir(dir).args(args).output().unwrap()
}

#[test]
fn validate_and_run_agree_on_type_errors_and_huge_requests() {
    let sb = Sandbox::new();
    let bad = sb.path().join("bad.json");
    std::fs::write(&bad, r#"{"TrainingJobName": 5}"#).unwrap();
    for target in ["aws", "local"] {
        let out = run_in(
            sb.path(),
            &sb.home(),
            &["validate", "--target", target, "bad.json"],
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "--target {target}: {}",
            text(&out.stdout)
        );
        assert!(
            text(&out.stdout).contains("TrainingJobName"),
            "{}",
            text(&out.stdout)
        );
    }
    let out = run_in(sb.path(), &sb.home(), &["run", "bad.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));

    let huge = sb.path().join("huge.json");
    let mut file = std::fs::File::create(&huge).unwrap();
    write!(
        file,
        r#"{{"TrainingJobName": "huge", "Environment": {{"X": "{}"}}}}"#,
        "z".repeat(2 << 20)
    )
    .unwrap();
    for args in [&["validate", "huge.json"][..], &["run", "huge.json"]] {
        let out = run_in(sb.path(), &sb.home(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("too large for a job definition"),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_bare_file_name_resolves_relative_paths_and_huge_hyperparameters_are_refused() {
    let sb = Sandbox::new();
    sb.script("ok.py", "print('ran from a bare name')\n");
    let mut request = serde_json::to_value(sb.request("bare", "ok.py", json!({}))).unwrap();
    request["HyperParameters"]["sagemaker_submit_directory"] = json!("file://./code");
    std::fs::write(sb.path().join("job.json"), request.to_string()).unwrap();
    let out = run_in(sb.path(), &sb.home(), &["run", "--follow", "job.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("ran from a bare name"));

    let mut many = request.clone();
    many["TrainingJobName"] = json!("many-hps");
    for i in 0..10_000 {
        many["HyperParameters"][format!("hp_{i:05}")] = json!(format!("value-{i}"));
    }
    std::fs::write(sb.path().join("many.json"), many.to_string()).unwrap();
    let out = run_in(
        sb.path(),
        &sb.home(),
        &["validate", "--target", "local", "many.json"],
    );
    let report = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{report}");
    assert!(report.contains("10002 hyperparameters"), "{report}");
    let out = run_in(sb.path(), &sb.home(), &["run", "many.json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("hyperparameters"),
        "{}",
        text(&out.stderr)
    );
}
