//! The real window driven through egui_kittest: the demo job from one click to its charts
//! and artifacts, stopping a job, filtering and searching the list.

#![allow(clippy::unwrap_used)]

mod common;

use common::window::{harness, has_label, has_text, wait_for, wait_for_detail};
use common::*;
use egui_kittest::kittest::Queryable;
use sagedesk::backend::Backend;
use sagedesk::backend::local::LocalBackend;
use serde_json::json;

#[test]
fn the_demo_job_runs_from_one_click_to_charts_and_artifacts() {
    let sb = Sandbox::new();
    let mut h = harness(&sb, [1280.0, 800.0], Some(3));
    h.run_steps(2);
    assert!(has_text(&h, "No jobs yet"));
    h.get_by_label_contains("Run demo job").click();
    wait_for(&mut h, "the demo job to complete", |h| {
        has_label(h, "Completed")
    });
    let selected = h
        .state()
        .state()
        .selection
        .clone()
        .expect("the demo job is selected")
        .name;
    assert!(selected.starts_with("sagedesk-demo-moons-"), "{selected}");

    // The detail opened on the logs while the job ran; its charts are one click away, one
    // per metric definition.
    assert_eq!(h.state().state().tab, sagedesk::ui::state::Tab::Logs);
    h.get_by_label_contains("Metrics (").click();
    wait_for(&mut h, "metric points", |h| has_text(h, "3 points"));
    for metric in [
        "train:loss",
        "train:accuracy",
        "validation:loss",
        "validation:accuracy",
    ] {
        assert!(has_text(&h, metric), "no chart for {metric}");
    }

    h.get_by_label_contains("Logs (").click();
    wait_for(&mut h, "log lines", |h| {
        has_text(h, "saved model after 3 epochs")
    });

    h.get_by_label_contains("Artifacts (").click();
    wait_for(&mut h, "artifacts", |h| has_text(h, "output/model.tar.gz"));
    h.get_all_by_label("Contents")
        .next()
        .expect("an archive")
        .click();
    wait_for(&mut h, "the archive's entries", |h| {
        has_text(h, "model.json")
    });

    h.get_by_label_contains("Overview").click();
    h.run_steps(2);
    assert!(has_text(&h, "TrainingTimeInSeconds"));
    assert!(has_text(&h, "Training job completed"));
}

#[test]
fn a_running_job_is_stopped_from_the_window_after_confirmation() {
    let sb = Sandbox::new();
    sb.script(
        "train.py",
        "import time\nprint('ready', flush=True)\ntime.sleep(120)\n",
    );
    // Another process's backend supervises the job; the window stops it through the store.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let supervisor = runtime.block_on(async { LocalBackend::open(sb.config()).unwrap() });
    runtime
        .block_on(supervisor.create_training_job(sb.request("long-job", "train.py", json!({}))))
        .unwrap();
    runtime.block_on(wait_for_line(&supervisor, "long-job", "ready", LIMIT));

    let mut h = harness(&sb, [1280.0, 800.0], None);
    wait_for(&mut h, "the job in the list", |h| has_text(h, "long-job"));
    h.get_all_by_label("long-job").next().unwrap().click();
    wait_for(&mut h, "the job's detail", |h| {
        has_text(h, "Copy request JSON")
    });
    h.get_by_label_contains("⏹ Stop").click();
    wait_for(&mut h, "the confirmation", |h| {
        has_text(h, "Stop long-job?")
    });
    h.get_by_label("Stop job").click();
    h.run_steps(2);
    let detail = runtime.block_on(wait_for_end(&supervisor, "long-job", LIMIT));
    assert_eq!(detail.summary.status, sagedesk::job::Status::Stopped);
    wait_for(&mut h, "the list to show Stopped", |h| {
        has_label(h, "Stopped")
    });
}

#[test]
fn closing_while_a_job_runs_closes_and_the_job_goes_on() {
    let sb = Sandbox::new();
    let mut h = harness(&sb, [1280.0, 800.0], Some(200));
    h.run_steps(2);
    h.get_by_label_contains("Run demo job").click();
    wait_for(&mut h, "the demo job to run", |h| {
        has_text(h, "InProgress · Training")
    });
    let job = h.state().state().selection.clone().unwrap().name;
    h.input_mut()
        .viewports
        .entry(egui::ViewportId::ROOT)
        .or_default()
        .events
        .push(egui::ViewportEvent::Close);
    h.run_steps(2);
    assert!(!has_text(&h, "Jobs are still running"));
    drop(h);
    // The window and its worker are gone; the job's own supervisor goes on.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backend = sb.backend();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let detail = runtime
        .block_on(backend.describe_training_job(&job))
        .unwrap();
    assert_eq!(detail.summary.status, sagedesk::job::Status::InProgress);
    runtime.block_on(backend.stop_training_job(&job)).unwrap();
    let detail = runtime.block_on(wait_for_end(&backend, &job, LIMIT));
    assert_eq!(detail.summary.status, sagedesk::job::Status::Stopped);
}

#[test]
fn a_job_outlives_the_run_that_started_it_and_a_new_window_follows_it_live() {
    let sb = Sandbox::new();
    let go = sb.path().join("go");
    sb.script(
        "waits.py",
        &format!(
            "import os, time\nprint('ready', flush=True)\n\
             while not os.path.exists({go:?}):\n    time.sleep(0.05)\n\
             for i in range(3):\n    print(f'after the go {{i}}', flush=True)\n",
            go = go.display().to_string()
        ),
    );
    let request = sb.request("outlives", "waits.py", json!({}));
    let file = common::cli::request_file(&sb, &request);
    let mut run = common::cli::sagedesk(&sb.home())
        .args(["run", file.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backend = sb.backend();
    let deadline = std::time::Instant::now() + LIMIT;
    let ready = || {
        runtime
            .block_on(backend.get_log_events("outlives", &Default::default(), 100))
            .is_ok_and(|page| page.lines.iter().any(|l| l.text == "ready"))
    };
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The terminal's process dies (closed terminal, kill -9): the job does not.
    run.kill().unwrap();
    run.wait().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let detail = runtime
        .block_on(backend.describe_training_job("outlives"))
        .unwrap();
    assert_eq!(detail.summary.status, sagedesk::job::Status::InProgress);

    // A window opened now shows it running, and follows it to its end.
    let mut h = common::window::harness_with_state(
        std::sync::Arc::new(sb.backend()),
        sb.home(),
        sagedesk::ui::state::State {
            selection: Some(sagedesk::backend::JobRef::local("outlives")),
            tab: sagedesk::ui::state::Tab::Logs,
            ..Default::default()
        },
    );
    wait_for(&mut h, "the running job", |h| {
        has_text(h, "InProgress · Training") && has_text(h, "ready")
    });
    std::fs::write(&go, "").unwrap();
    wait_for(&mut h, "its last lines and its end", |h| {
        has_text(h, "after the go 2") && has_label(h, "Completed")
    });
}

#[test]
fn the_list_filters_by_status_and_searches_by_name() {
    let sb = Sandbox::new();
    sb.script("ok.py", "print('ok')\n");
    sb.script("bad.py", "raise SystemExit(2)\n");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backend = runtime.block_on(async { LocalBackend::open(sb.config()).unwrap() });
    for (name, script) in [
        ("alpha-one", "ok.py"),
        ("beta-two", "ok.py"),
        ("gamma-fails", "bad.py"),
    ] {
        runtime
            .block_on(backend.create_training_job(sb.request(name, script, json!({}))))
            .unwrap();
        runtime.block_on(wait_for_end(&backend, name, LIMIT));
    }

    let mut h = harness(&sb, [1280.0, 800.0], None);
    h.run_steps(2);
    assert!(has_text(&h, "3 of 3 jobs"));
    h.get_by_label("Search").focus();
    h.get_by_label("Search").type_text("BETA");
    h.run_steps(3);
    assert!(has_text(&h, "1 of 3 jobs"));
    assert!(has_text(&h, "beta-two"));
    assert!(!has_text(&h, "alpha-one"));

    h.get_by_label("Search").focus();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run_steps(2);
    assert!(has_text(&h, "3 of 3 jobs"));
    h.get_by_label("Status").click();
    h.run_steps(2);
    h.get_all_by_label_contains("Failed")
        .next()
        .unwrap()
        .click();
    h.run_steps(3);
    assert!(has_text(&h, "1 of 3 jobs"));
    assert!(has_text(&h, "gamma-fails"));
    assert!(!has_text(&h, "beta-two"));
}

/// A job opens on the tab its state suits (Logs while it runs, Overview when it failed,
/// Metrics when it completed) unless the user chose one for it.
#[test]
fn the_detail_opens_on_the_tab_that_fits_the_job() {
    let sb = Sandbox::new();
    sb.script("ok.py", "print('loss=0.5', flush=True)\n");
    sb.script("bad.py", "raise SystemExit(3)\n");
    sb.script(
        "long.py",
        "import time\nprint('ready', flush=True)\ntime.sleep(120)\n",
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let supervisor = runtime.block_on(async { LocalBackend::open(sb.config()).unwrap() });
    for (name, script) in [
        ("tab-ok", "ok.py"),
        ("tab-bad", "bad.py"),
        ("tab-long", "long.py"),
    ] {
        runtime
            .block_on(supervisor.create_training_job(sb.request(name, script, json!({}))))
            .unwrap();
    }
    runtime.block_on(wait_for_end(&supervisor, "tab-ok", LIMIT));
    runtime.block_on(wait_for_end(&supervisor, "tab-bad", LIMIT));
    runtime.block_on(wait_for_line(&supervisor, "tab-long", "ready", LIMIT));

    use sagedesk::ui::state::Tab;
    let mut h = harness(&sb, [1280.0, 800.0], None);
    wait_for(&mut h, "the jobs in the list", |h| has_text(h, "tab-long"));
    let open = |h: &mut egui_kittest::Harness<'_, sagedesk::ui::SageDeskApp>, name: &str| {
        h.get_all_by_label(name).next().unwrap().click();
        wait_for_detail(h, name);
        h.run_steps(2);
        h.state().state().tab
    };
    assert_eq!(open(&mut h, "tab-ok"), Tab::Metrics);
    assert_eq!(open(&mut h, "tab-bad"), Tab::Overview);
    assert_eq!(open(&mut h, "tab-long"), Tab::Logs);
    // A tab chosen for a job is where it opens again; the others keep theirs.
    open(&mut h, "tab-ok");
    h.get_by_label_contains("Artifacts (").click();
    h.run_steps(2);
    assert_eq!(open(&mut h, "tab-bad"), Tab::Overview);
    assert_eq!(open(&mut h, "tab-ok"), Tab::Artifacts);
    runtime
        .block_on(supervisor.stop_training_job("tab-long"))
        .unwrap();
}
