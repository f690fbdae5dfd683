//! Helpers for driving the real window through egui_kittest.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sagedesk::backend::local::contract::LocalChecks;
use sagedesk::backend::sdk::AwsConnection;
use sagedesk::backend::{Backend, Connection};
use sagedesk::ui::state::State;
use sagedesk::ui::{AppOptions, SageDeskApp};
use sagedesk::worker::{Folders, Worker};

use sagedesk::backend::local::LocalBackend;

use super::{LIMIT, Sandbox, wait_for_end};

/// A worker over `backend` and the data folder `home`.
pub fn worker(backend: Arc<dyn Backend>, home: &std::path::Path) -> Worker {
    Worker::spawn(backend, Some(Folders::at(home))).expect("worker starts")
}

/// The window's options in tests: local mode's checks in the builder.
pub fn options(demo_epochs: Option<u32>) -> AppOptions {
    AppOptions {
        connection: None,
        demo_epochs,
        local_checks: Some(Arc::new(LocalChecks::default())),
        desktop_dialogs: false,
    }
}

/// The app over the sandbox's data folder in a window of `size`.
pub fn harness<'a>(
    sb: &Sandbox,
    size: [f32; 2],
    demo_epochs: Option<u32>,
) -> Harness<'a, SageDeskApp> {
    let worker = worker(Arc::new(sb.backend()), &sb.home());
    let options = options(demo_epochs);
    Harness::builder()
        .with_size(size)
        .build_eframe(move |cc| SageDeskApp::new(cc, worker, options))
}

/// The app over the sandbox's data folder with the AWS connection `aws` added as a source.
pub fn harness_with_aws<'a>(sb: &Sandbox, aws: AwsConnection) -> Harness<'a, SageDeskApp> {
    harness_with_aws_state(sb, aws, State::default())
}

/// The same, starting from `state` (intervals, a selection, a tab).
pub fn harness_with_aws_state<'a>(
    sb: &Sandbox,
    aws: AwsConnection,
    state: State,
) -> Harness<'a, SageDeskApp> {
    let worker = worker(Arc::new(sb.backend()), &sb.home());
    let mut options = options(None);
    options.connection = Some(Connection::Aws(aws));
    Harness::builder()
        .with_size([1400.0, 900.0])
        .build_eframe(move |cc| SageDeskApp::with_state(&cc.egui_ctx, worker, options, state))
}

/// Replaces the text of the field labelled `field` with `text`, as a user selecting all of
/// it and typing.
pub fn replace_text(h: &mut Harness<'_, SageDeskApp>, field: &str, text: &str) {
    h.get_by_label(field).focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run_steps(1);
    if !text.is_empty() {
        h.query_all_by_label(field)
            .find(|n| n.is_focused())
            .expect("focused")
            .type_text(text);
        h.run_steps(1);
    }
}

/// Types `text` into the field that has the keyboard focus (`what`, for the failure).
pub fn type_into_focused(h: &Harness<'_, SageDeskApp>, what: &str, text: &str) {
    h.get_all_by_role(egui::accesskit::Role::TextInput)
        .find(|n| n.is_focused())
        .unwrap_or_else(|| panic!("{what} is not focused"))
        .type_text(text);
}

/// Replaces the text of the field whose value starts with `start` (a new job's generated
/// name, say) with `text`, as a user selecting all of it and typing.
pub fn retype_field(h: &mut Harness<'_, SageDeskApp>, start: &str, text: &str) {
    h.get_all_by_role(egui::accesskit::Role::TextInput)
        .find(|n| n.value().is_some_and(|v| v.starts_with(start)))
        .unwrap_or_else(|| panic!("no field starts with {start}"))
        .focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    type_into_focused(h, "the field", text);
    h.run_steps(3);
}

/// The app over `backend` and data folder `home`, starting from `state`.
pub fn harness_with_state<'a>(
    backend: Arc<dyn Backend>,
    home: std::path::PathBuf,
    state: State,
) -> Harness<'a, SageDeskApp> {
    let worker = worker(backend, &home);
    let options = options(None);
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_eframe(move |cc| SageDeskApp::with_state(&cc.egui_ctx, worker, options, state))
}

/// Steps the app until `done` holds, failing with `what` after a minute.
pub fn wait_for(
    h: &mut Harness<'_, SageDeskApp>,
    what: &str,
    done: impl Fn(&Harness<'_, SageDeskApp>) -> bool,
) {
    let deadline = Instant::now() + LIMIT;
    loop {
        h.step();
        if done(h) {
            h.step();
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until the window has the detail of the job named `name`.
pub fn wait_for_detail(h: &mut Harness<'_, SageDeskApp>, name: &str) {
    wait_for(h, &format!("the detail of {name}"), |h| {
        h.state().detail().is_some_and(|d| d.summary.name == name)
    });
}

/// Whether some widget's text is exactly `text`.
pub fn has_label(h: &Harness<'_, SageDeskApp>, text: &str) -> bool {
    h.query_all_by_label(text).next().is_some()
}

/// Whether some widget's text contains `text`.
pub fn has_text(h: &Harness<'_, SageDeskApp>, text: &str) -> bool {
    h.query_all_by_label_contains(text).next().is_some()
}

/// Two demo runs (2 and 3 epochs) made by another process's backend, ended.
pub fn two_demo_runs(sb: &Sandbox) -> (String, String) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let backend = runtime.block_on(async { LocalBackend::open(sb.config()).unwrap() });
    let mut names = Vec::new();
    for epochs in [2, 3] {
        let mut request = sagedesk::demo::demo_request(&sb.home(), Some(epochs)).unwrap();
        let name = format!("demo-epochs-{epochs}");
        request.training_job_name = Some(name.clone());
        runtime
            .block_on(backend.create_training_job(request))
            .unwrap();
        names.push(name);
    }
    for name in &names {
        let detail = runtime.block_on(wait_for_end(&backend, name, LIMIT));
        assert_eq!(
            detail.summary.status,
            sagedesk::job::Status::Completed,
            "{:?}",
            detail.failure_reason
        );
    }
    (names.remove(0), names.remove(0))
}

/// The window over `sb` at `size` with jobs `a` and `b` marked in the list and the Compare
/// view asked for.
pub fn compare_in_window<'a>(
    sb: &Sandbox,
    size: [f32; 2],
    a: &str,
    b: &str,
) -> egui_kittest::Harness<'a, sagedesk::ui::SageDeskApp> {
    let mut h = harness(sb, size, None);
    wait_for(&mut h, "both runs in the list", |h| {
        has_text(h, a) && has_text(h, b)
    });
    // Ctrl+click marks rows for comparison; the bar offers to compare them.
    for name in [a, b] {
        h.get_by_label(name)
            .click_modifiers(egui::Modifiers::COMMAND);
        h.run_steps(2);
    }
    assert_eq!(h.state().state().compare.len(), 2);
    h.get_by_label_contains("Compare 2").click();
    h
}
