//! Peak memory of hostile inputs: archives built to exhaust memory, listed by the backend and
//! shown in the window, and a long log wrapped in the window. Each case runs in a process of
//! its own (this program re-run with the case's name) so that its peak resident size
//! (`VmHWM`) is its own. Prints one line per case; the figures go to BENCHMARKS.md.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sagedesk::backend::Backend;
use sagedesk::backend::local::{LocalBackend, LocalConfig};
use sagedesk::job::Stream;
use sagedesk::process;
use sagedesk::store::{Ending, Record, Store};
use sagedesk::ui::state::{State, Tab};
use sagedesk::ui::{AppOptions, SageDeskApp};
use sagedesk::worker::{Folders, Worker};
use serde_json::json;

const CASES: [&str; 7] = [
    "baseline-window",
    "list-long-name-archive",
    "window-long-name-archive",
    "window-300k-entry-archive",
    "window-2m-line-log-wrapped",
    "window-10m-line-log",
    "window-3.6m-metric-points",
];

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn python(script: &str, arg: &Path) {
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(arg)
        .status()
        .expect("python3");
    assert!(status.success());
}

const LONG_NAME: &str = "import sys, tarfile, io\n\
    t = tarfile.open(sys.argv[1], 'w:gz', format=tarfile.GNU_FORMAT)\n\
    i = tarfile.TarInfo('a' * 300_000_000)\ni.size = 3\nt.addfile(i, io.BytesIO(b'abc'))\nt.close()\n";
const MANY: &str = "import sys, tarfile, io\nt = tarfile.open(sys.argv[1], 'w:gz')\n\
    for n in range(300_000):\n    i = tarfile.TarInfo(f'entry-{n:06d}')\n    t.addfile(i, io.BytesIO(b''))\nt.close()\n";

/// A completed job `name` whose output folder holds `archive` as `model.tar.gz` and whose
/// log has `lines` lines (each with a `loss` point when `points`).
fn job(home: &Path, out: &Path, name: &str, archive: Option<&str>, lines: usize) {
    job_with_points(home, out, name, archive, lines, false)
}

fn job_with_points(
    home: &Path,
    out: &Path,
    name: &str,
    archive: Option<&str>,
    lines: usize,
    points: bool,
) {
    let names = ["loss".to_string()];
    let store = Store::open(&LocalConfig::new(home).database()).unwrap();
    let request = sagedesk::request::request_from_value(
        json!({"TrainingJobName": name,
               "OutputDataConfig": {"S3OutputPath": format!("file://{}", out.display())}}),
        "bench",
    )
    .unwrap()
    .request;
    store
        .insert_job(&request, "arn:bench", 0, process::current())
        .unwrap();
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..lines {
        batch.push(Record {
            ts: 1_790_000_000_000 + i as i64,
            host: "algo-1".into(),
            stream: Stream::Stdout,
            line: format!("step {i:07} loss=0.{i:06} {}", "w".repeat(60)),
            open: false,
            points: if points {
                vec![(0, 1.0 / (i as f64 + 1.0))]
            } else {
                Vec::new()
            },
        });
        if batch.len() == 10_000 {
            store.append(name, &names, &batch).unwrap();
            batch.clear();
        }
    }
    store.append(name, &names, &batch).unwrap();
    let ending = Ending::completed();
    store.finish(name, &ending, 1_790_000_100_000).unwrap();
    if let Some(script) = archive {
        let dir = out.join(name).join("output");
        std::fs::create_dir_all(&dir).unwrap();
        python(script, &dir.join("model.tar.gz"));
    }
}

fn window(home: &Path, name: &str, tab: Tab, wrap: bool) -> Harness<'static, SageDeskApp> {
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::open(LocalConfig::new(home)).unwrap());
    let options = AppOptions::default();
    let worker = Worker::spawn(backend, Some(Folders::at(home))).unwrap();
    let state = State {
        selection: Some(sagedesk::backend::JobRef::local(name)),
        tab,
        wrap_logs: wrap,
        ..State::default()
    };
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| SageDeskApp::with_state(&cc.egui_ctx, worker, options, state))
}

fn until(h: &mut Harness<'_, SageDeskApp>, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(600);
    while h.query_all_by_label_contains(text).next().is_none() {
        assert!(Instant::now() < deadline, "never showed {text:?}");
        h.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    h.run_steps(5);
}

fn open_archive(h: &mut Harness<'_, SageDeskApp>, shown: &str) {
    until(h, "output/model.tar.gz");
    h.get_all_by_label("Contents").next().unwrap().click();
    until(h, shown);
}

fn case(name: &str, dir: &Path) {
    let home = dir.join("home");
    let out = dir.join("out");
    match name {
        "baseline-window" => {
            job(&home, &out, "j", None, 10);
            let mut h = window(&home, "j", Tab::Logs, false);
            until(&mut h, "10 lines");
        }
        "list-long-name-archive" => {
            let path = dir.join("long.tar.gz");
            python(LONG_NAME, &path);
            let listing = sagedesk::backend::archive::list_tar_gz_file(&path).unwrap();
            assert_eq!(listing.entries.len(), 1);
        }
        "window-long-name-archive" => {
            job(&home, &out, "j", Some(LONG_NAME), 0);
            let mut h = window(&home, "j", Tab::Artifacts, false);
            open_archive(&mut h, "1 entry");
        }
        "window-300k-entry-archive" => {
            job(&home, &out, "j", Some(MANY), 0);
            let mut h = window(&home, "j", Tab::Artifacts, false);
            open_archive(&mut h, "the listing stops at");
        }
        "window-2m-line-log-wrapped" => {
            job(&home, &out, "j", None, 2_000_000);
            let mut h = window(&home, "j", Tab::Logs, true);
            until(&mut h, "2,000,000 lines");
        }
        "window-10m-line-log" => {
            job(&home, &out, "j", None, 10_000_000);
            let mut h = window(&home, "j", Tab::Logs, false);
            until(&mut h, "10,000,000 lines");
            until(&mut h, "step 9999999");
        }
        "window-3.6m-metric-points" => {
            // An hour of 1,000 points a second.
            job_with_points(&home, &out, "j", None, 3_600_000, true);
            let mut h = window(&home, "j", Tab::Metrics, false);
            until(&mut h, "3600000 points");
        }
        other => panic!("no case {other}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "--case") {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        case(&args[pos + 1], dir.path());
        println!(
            "{:<28} peak RSS {:>8.1} MiB  ({:.1} s)",
            args[pos + 1],
            peak_rss_mib(),
            started.elapsed().as_secs_f64()
        );
        return;
    }
    // `cargo test` runs bench targets without `--bench`: the cases take minutes, so only
    // `cargo bench --bench memory` runs them.
    if !args.iter().any(|a| a == "--bench") {
        return;
    }
    let me: PathBuf = std::env::current_exe().unwrap();
    for name in CASES {
        let status = Command::new(&me).args(["--case", name]).status().unwrap();
        assert!(status.success(), "{name} failed");
    }
}
