//! The window as a finished desktop program: a remembered selection that is not in this
//! data folder, the builder left by clicking a job, the header at narrow widths, secrets
//! masked, console links, the command palette, the window's own file chooser.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::window::{
    harness_with_state, has_text, retype_field, type_into_focused, wait_for, wait_for_detail,
};
use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sagedesk::backend::local::{LocalBackend, LocalConfig};
use sagedesk::backend::{Backend, JobRef};
use sagedesk::ui::SageDeskApp;
use sagedesk::ui::state::{State, Tab};
use serde_json::json;

fn window(sb: &Sandbox, state: State, size: [f32; 2]) -> Harness<'static, SageDeskApp> {
    let backend: Arc<dyn Backend> =
        Arc::new(LocalBackend::open(LocalConfig::new(sb.home())).unwrap());
    let mut h = harness_with_state(backend, sb.home(), state);
    h.set_size(egui::vec2(size[0], size[1]));
    h
}

fn job(sb: &Sandbox, name: &str, extra: serde_json::Value) {
    let mut request = json!({"TrainingJobName": name,
        "OutputDataConfig": {"S3OutputPath": format!("file://{}", sb.path().join("out").display())}});
    merge(&mut request, extra);
    stored_request_job(&sb.home(), request, ["a line".to_string()].into_iter());
}

#[test]
fn a_remembered_selection_missing_here_is_let_go_without_a_message() {
    let sb = Sandbox::new();
    job(&sb, "present", json!({}));
    let state = State {
        selection: Some(JobRef::local("from-another-folder")),
        tab: Tab::Logs,
        ..State::default()
    };
    let mut h = window(&sb, state, [1280.0, 800.0]);
    wait_for(&mut h, "the selection let go", |h| {
        h.state().state().selection.is_none()
    });
    h.run_steps(3);
    assert!(has_text(&h, "present"), "the list");
    assert!(has_text(&h, "Select a job on the left"), "the welcome card");
    assert!(!has_text(&h, "Loading…"));
    assert!(!has_text(&h, "from-another-folder"), "no toast names it");
    assert!(!has_text(&h, "not found"));
}

#[test]
fn clicking_a_job_with_the_builder_open_shows_it_and_keeps_the_draft() {
    let sb = Sandbox::new();
    job(&sb, "listed-job", json!({}));
    let mut h = window(&sb, State::default(), [1280.0, 800.0]);
    wait_for(&mut h, "the list", |h| has_text(h, "listed-job"));
    h.get_by_label_contains("New job").click();
    h.run_steps(3);
    retype_field(&mut h, "training-job-", "draft-kept");
    h.get_by_label("listed-job").click();
    wait_for(&mut h, "the job's detail", |h| {
        h.state().builder().is_none() && has_text(h, "Overview") && has_text(h, "⎘ Clone")
    });
    assert_eq!(
        h.state().state().selection,
        Some(JobRef::local("listed-job"))
    );
    h.get_by_label_contains("New job").click();
    h.run_steps(3);
    let value = h.state().builder().expect("the builder").value();
    assert_eq!(
        value["TrainingJobName"], "draft-kept",
        "the draft came back"
    );
}

/// The header's widgets: none overlaps another and none passes the window's right edge.
fn assert_header_fits(h: &Harness<'_, SageDeskApp>, width: f32, labels: &[&str]) {
    let rects: Vec<(String, egui::Rect)> = labels
        .iter()
        .filter_map(|l| {
            // The header's own widget: right of the job list, nearest the top.
            h.query_all_by_label(l)
                .map(|n| n.rect())
                .filter(|r| r.min.x > 300.0)
                .min_by(|a, b| a.min.y.total_cmp(&b.min.y))
                .map(|r| (l.to_string(), r))
        })
        .collect();
    assert!(rects.len() >= 4, "{rects:?}");
    for (i, (a, ra)) in rects.iter().enumerate() {
        assert!(
            ra.max.x <= width + 0.5,
            "{a} passes the edge at {width}: {ra:?}"
        );
        for (b, rb) in &rects[i + 1..] {
            assert!(
                !ra.shrink(0.5).intersects(rb.shrink(0.5)),
                "{a} {ra:?} overlaps {b} {rb:?} at {width}"
            );
        }
    }
}

#[test]
fn the_header_wraps_instead_of_overlapping_at_1024_pixels() {
    let sb = Sandbox::new();
    let name = "a-rather-long-training-job-name-for-the-header-2026-11-23-120000";
    job(&sb, name, json!({}));
    for width in [1024.0, 1280.0] {
        let state = State {
            selection: Some(JobRef::local(name)),
            ..State::default()
        };
        let mut h = window(&sb, state, [width, 768.0]);
        wait_for(&mut h, "the header", |h| has_text(h, "⎘ Clone"));
        h.run_steps(2);
        assert_header_fits(
            &h,
            width,
            &[
                name,
                "Completed",
                "⏹ Stop",
                "⎘ Clone",
                "📋 Copy request JSON",
            ],
        );
    }
}

/// Clicks the widget labelled `label` as a pointer does, over it for a frame first (a
/// popup's entry that appeared this frame takes a click only once hovered), then steps
/// once.
fn point_and_click(h: &mut Harness<'_, SageDeskApp>, label: &str) {
    h.get_by_label(label).hover();
    h.step();
    h.get_by_label(label).click();
    h.step();
}

/// The text the last frame put on the clipboard.
fn copied(h: &Harness<'_, SageDeskApp>) -> Option<String> {
    h.output()
        .platform_output
        .commands
        .iter()
        .find_map(|c| match c {
            egui::OutputCommand::CopyText(text) => Some(text.clone()),
            _ => None,
        })
}

#[test]
fn secrets_are_masked_revealed_on_click_and_copied_only_when_confirmed() {
    let sb = Sandbox::new();
    job(
        &sb,
        "token-job",
        json!({"Environment": {"HF_TOKEN": "hf_abc123xyz", "MODE": "fast"},
               "HyperParameters": {"api_secret": "s3cr3t-value", "epochs": "3"}}),
    );
    let state = State {
        selection: Some(JobRef::local("token-job")),
        ..State::default()
    };
    let mut h = window(&sb, state, [1280.0, 900.0]);
    wait_for(&mut h, "the overview", |h| has_text(h, "MODE"));
    assert!(has_text(&h, "fast") && has_text(&h, "epochs"));
    assert!(!has_text(&h, "hf_abc123xyz"), "masked by default");
    assert!(!has_text(&h, "s3cr3t-value"), "masked by default");
    assert_eq!(h.query_all_by_label("••••••••").count(), 2);
    // One value revealed by a click; the other stays masked.
    h.query_all_by_label("••••••••").next().unwrap().click();
    h.run_steps(2);
    let shown = [has_text(&h, "hf_abc123xyz"), has_text(&h, "s3cr3t-value")];
    assert_eq!(shown.iter().filter(|s| **s).count(), 1, "{shown:?}");
    assert_eq!(h.query_all_by_label("••••••••").count(), 1);

    // The request keeps them (it must round-trip), after the window says so.
    h.get_by_label("📋 Copy request JSON").click();
    h.run_steps(2);
    assert!(has_text(&h, "Copy Request JSON with its secrets?"));
    assert!(has_text(
        &h,
        "Environment.HF_TOKEN, HyperParameters.api_secret"
    ));
    h.get_by_label("Copy with secrets").click();
    h.step();
    let text = copied(&h).expect("copied");
    let request: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(request["Environment"]["HF_TOKEN"], "hf_abc123xyz");
    assert_eq!(request["HyperParameters"]["api_secret"], "s3cr3t-value");
}

#[test]
fn an_aws_job_links_to_its_console_pages() {
    use common::moto::{Moto, seed};
    let moto = Moto::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&moto.endpoint(), &["linked-job"]));
    let sb = Sandbox::new();
    job(&sb, "local-job", json!({}));
    let mut h = common::window::harness_with_aws(&sb, moto.connection());
    wait_for(&mut h, "the jobs", |h| {
        has_text(h, "linked-job") && has_text(h, "local-job")
    });
    h.get_by_label("local-job").click();
    wait_for(&mut h, "the local job", |h| has_text(h, "⎘ Clone"));
    assert!(
        !has_text(&h, "🔗 AWS console"),
        "a local job has no console page"
    );
    h.get_by_label("linked-job").click();
    wait_for(&mut h, "the AWS job", |h| has_text(h, "🔗 AWS console"));
    let base = "https://us-east-1.console.aws.amazon.com";
    for (item, url) in [
        (
            "Copy link: job page",
            format!("{base}/sagemaker/home?region=us-east-1#/jobs/linked-job"),
        ),
        (
            "Copy link: logs",
            format!(
                "{base}/cloudwatch/home?region=us-east-1#logsV2:log-groups/log-group/\
                 $252Faws$252Fsagemaker$252FTrainingJobs$3FlogStreamNameFilter$3Dlinked-job$252F"
            ),
        ),
    ] {
        h.get_by_label("🔗 AWS console").click();
        h.run_steps(2);
        assert!(has_text(&h, "Open in AWS console"));
        assert!(has_text(&h, "Open logs in CloudWatch") && has_text(&h, "Open metrics"));
        h.get_by_label(item).click();
        h.step();
        assert_eq!(copied(&h).as_deref(), Some(url.as_str()), "{item}");
        h.run_steps(2);
    }
}

#[test]
fn a_job_in_cn_north_1_links_to_the_china_console() {
    use common::moto::Moto;
    let moto = Moto::start();
    moto.boto3(
        "import boto3\n\
         boto3.client('sagemaker', region_name='cn-north-1').create_training_job(\n\
         \x20   TrainingJobName='beijing-job',\n\
         \x20   AlgorithmSpecification={'TrainingImage': 'img', 'TrainingInputMode': 'File'},\n\
         \x20   RoleArn='arn:aws-cn:iam::123456789012:role/r',\n\
         \x20   OutputDataConfig={'S3OutputPath': 's3://b/o'},\n\
         \x20   ResourceConfig={'InstanceType': 'ml.m5.large', 'InstanceCount': 1, 'VolumeSizeInGB': 1},\n\
         \x20   StoppingCondition={'MaxRuntimeInSeconds': 60})\n",
    );
    let mut aws = moto.connection();
    aws.region = Some("cn-north-1".into());
    let sb = Sandbox::new();
    let mut h = common::window::harness_with_aws(&sb, aws);
    wait_for(&mut h, "the job", |h| has_text(h, "beijing-job"));
    h.get_by_label("beijing-job").click();
    wait_for_detail(&mut h, "beijing-job");
    h.get_by_label("Overview").click();
    // The emulator names the job with the aws-cn partition, as the service does there.
    wait_for(&mut h, "its detail", |h| {
        has_text(h, "arn:aws-cn:sagemaker:cn-north-1")
    });
    wait_for(&mut h, "the console menu", |h| {
        has_text(h, "🔗 AWS console")
    });
    h.get_by_label("🔗 AWS console").click();
    h.run_steps(2);
    point_and_click(&mut h, "Copy link: job page");
    assert_eq!(
        copied(&h).as_deref(),
        Some(
            "https://cn-north-1.console.amazonaws.cn/sagemaker/home?region=cn-north-1\
             #/jobs/beijing-job"
        )
    );
}

#[test]
fn the_palette_filters_every_action_and_runs_the_chosen_one() {
    let sb = Sandbox::new();
    job(&sb, "palette-job", json!({}));
    let state = State {
        selection: Some(JobRef::local("palette-job")),
        ..State::default()
    };
    let mut h = window(&sb, state, [1280.0, 800.0]);
    wait_for(&mut h, "the job", |h| has_text(h, "⎘ Clone"));
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::K);
    h.run_steps(2);
    let entry = |h: &Harness<'_, SageDeskApp>, label: &str| h.query_by_label(label).is_some();
    assert!(entry(&h, "Open tab: Logs") && entry(&h, "Run demo job"));
    assert!(has_text(&h, "Ctrl+R"), "shortcuts shown");
    assert!(
        !has_text(&h, "Open in AWS console"),
        "a local job has no console page"
    );
    type_into_focused(&h, "the palette's search is focused", "tab lg");
    h.run_steps(2);
    assert!(entry(&h, "Open tab: Logs"));
    assert!(!entry(&h, "Run demo job"), "filtered out");
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert_eq!(h.state().state().tab, Tab::Logs);
    assert!(!entry(&h, "Open tab: Logs"), "closed after running");

    // Ctrl+Shift+P opens it too; on the Logs tab the log toggles are there.
    h.key_press_modifiers(
        egui::Modifiers::COMMAND | egui::Modifiers::SHIFT,
        egui::Key::P,
    );
    h.run_steps(2);
    let wrap = h.state().state().wrap_logs;
    type_into_focused(&h, "the palette's search is focused", "wrap");
    h.run_steps(2);
    point_and_click(&mut h, "Toggle log wrap");
    h.step();
    assert_eq!(h.state().state().wrap_logs, !wrap);

    // Help → Keyboard lists every shortcut.
    for item in ["Help", "Keyboard shortcuts  F1"] {
        point_and_click(&mut h, item);
        h.step();
    }
    assert!(has_text(&h, "Ctrl+K, Ctrl+Shift+P"));
    assert!(has_text(&h, "Stop selected job") && has_text(&h, "Del / Ctrl+."));
}

#[test]
fn the_window_icon_is_the_rendered_svg() {
    let icon = sagedesk::ui::icon().expect("the icon decodes");
    assert_eq!((icon.width, icon.height), (256, 256));
    assert_eq!(icon.rgba.len(), 256 * 256 * 4);
    let pixel = |x: usize, y: usize| &icon.rgba[(y * 256 + x) * 4..][..4];
    assert_eq!(pixel(0, 0)[3], 0, "transparent corner");
    assert_eq!(pixel(128, 30)[3], 255, "opaque tile");
}

/// The field that has the keyboard focus, and its text.
fn focused_text(h: &Harness<'_, SageDeskApp>) -> String {
    h.get_all_by_role(egui::accesskit::Role::TextInput)
        .find(|n| n.is_focused())
        .and_then(|n| n.value())
        .expect("a focused field")
}

fn chooser_window(sb: &Sandbox, work: &std::path::Path) -> Harness<'static, SageDeskApp> {
    let state = State {
        recent_folders: vec![work.to_path_buf()],
        ..State::default()
    };
    let mut h = window(sb, state, [1024.0, 700.0]);
    h.run_steps(3);
    h
}

#[test]
fn a_job_file_is_imported_through_the_window_chooser_with_tab_completion() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(work.join("runs/code")).unwrap();
    for name in ["job-small.json", "job-big.json"] {
        let request = json!({"TrainingJobName": name.trim_end_matches(".json"),
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "RoleArn": "arn:aws:iam::123456789012:role/r",
            "OutputDataConfig": {"S3OutputPath": "s3://b/o"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 60}});
        std::fs::write(work.join("runs").join(name), request.to_string()).unwrap();
    }
    std::fs::write(work.join("runs/notes.txt"), "not a job").unwrap();
    let mut h = chooser_window(&sb, &work);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run_steps(3);
    assert!(has_text(&h, "Import a job file"), "the chooser opens");
    let start = format!("{}/", work.display());
    assert_eq!(focused_text(&h), start, "it starts in the recent folder");
    wait_for(&mut h, "the folder's entries", |h| has_text(h, "runs/"));

    type_into_focused(&h, "the path", "ru");
    h.run_steps(2);
    h.key_press(egui::Key::Tab);
    h.run_steps(3);
    assert_eq!(
        focused_text(&h),
        format!("{start}runs/"),
        "Tab enters the only match"
    );
    wait_for(&mut h, "the folder's entries", |h| {
        has_text(h, "job-small.json")
    });
    assert!(
        !has_text(&h, "notes.txt"),
        "only JSON files and folders are offered"
    );

    type_into_focused(&h, "the path", "job-s");
    h.run_steps(2);
    h.key_press(egui::Key::Tab);
    h.run_steps(2);
    assert_eq!(focused_text(&h), format!("{start}runs/job-small.json"));
    h.key_press(egui::Key::Enter);
    wait_for(&mut h, "the imported request", |h| {
        h.state()
            .builder()
            .is_some_and(|b| b.value()["TrainingJobName"] == "job-small")
    });
    assert!(!has_text(&h, "Import a job file"), "the chooser closed");
    assert_eq!(h.state().state().recent_folders[0], work.join("runs"));
}

#[test]
fn an_export_over_an_existing_file_asks_before_replacing_it() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::write(work.join("training-job.json"), "old").unwrap();
    let mut h = chooser_window(&sb, &work);
    h.get_by_label_contains("New job").click();
    h.run_steps(3);
    h.get_by_label("Export…").click();
    h.run_steps(3);
    assert!(has_text(&h, "Export training-job.json as"));
    assert_eq!(
        focused_text(&h),
        format!("{}/training-job.json", work.display())
    );
    wait_for(&mut h, "the folder's entries", |h| {
        has_text(h, "training-job.json")
    });
    h.key_press(egui::Key::Enter);
    h.run_steps(2);
    assert!(has_text(&h, "exists. Replace it?"), "asked first");
    assert_eq!(
        std::fs::read_to_string(work.join("training-job.json")).unwrap(),
        "old"
    );
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!has_text(&h, "exists. Replace it?"), "Esc keeps the file");
    assert!(
        has_text(&h, "Export training-job.json as"),
        "and the chooser"
    );
    h.get_by_label("Save").click();
    h.run_steps(2);
    h.get_by_label("Replace").click();
    wait_for(&mut h, "the export", |_| {
        std::fs::read_to_string(work.join("training-job.json")).unwrap() != "old"
    });
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("training-job.json")).unwrap())
            .unwrap();
    assert_eq!(written, h.state().builder().unwrap().value().clone());
}

#[test]
fn a_source_folder_is_browsed_to_and_escape_cancels() {
    let sb = Sandbox::new();
    let work = sb.path().join("work");
    std::fs::create_dir_all(work.join("project/src")).unwrap();
    std::fs::write(work.join("project/fit.py"), "print(1)").unwrap();
    let mut h = chooser_window(&sb, &work);
    h.get_by_label_contains("New job").click();
    h.run_steps(3);
    h.get_by_label("Essentials").click();
    h.run_steps(2);
    h.get_all_by_label("Browse…").next().unwrap().click();
    h.run_steps(3);
    assert!(has_text(&h, "Choose a folder"));
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!has_text(&h, "Choose a folder"), "Esc cancels");

    h.get_all_by_label("Browse…").next().unwrap().click();
    h.run_steps(3);
    wait_for(&mut h, "the folder's entries", |h| has_text(h, "project/"));
    h.get_by_label("project/").click();
    h.run_steps(3);
    wait_for(&mut h, "the project's entries", |h| has_text(h, "src/"));
    assert!(!has_text(&h, "fit.py"), "a folder chooser lists folders");
    h.get_by_label("Choose folder").click();
    h.run_steps(3);
    let value = h.state().builder().unwrap().value().clone();
    let dir = value["HyperParameters"]["sagemaker_submit_directory"]
        .as_str()
        .unwrap();
    assert_eq!(dir, format!("file://{}", work.join("project").display()));
}
