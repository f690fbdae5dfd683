//! The job builder in the real window: live validation, JSON and form in step, import,
//! clone, submit, and a draft that survives a restart.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::window::{harness, has_label, has_text, retype_field, type_into_focused, wait_for};
use common::*;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use sagedesk::ui::SageDeskApp;
use serde_json::{Value, json};

fn builder_value(h: &Harness<'_, SageDeskApp>) -> Value {
    h.state()
        .builder()
        .expect("the builder is open")
        .value()
        .clone()
}

/// Replaces the JSON pane's text, as a user pasting a request.
fn paste_json(h: &mut Harness<'_, SageDeskApp>, value: &Value) {
    h.get_all_by_role(egui::accesskit::Role::MultilineTextInput)
        .next()
        .expect("the JSON pane")
        .focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.event(egui::Event::Paste(
        serde_json::to_string_pretty(value).unwrap(),
    ));
    h.run_steps(3);
}

/// Switches the builder to the full API form (it opens on the Essentials).
fn full_form(h: &mut Harness<'_, SageDeskApp>) {
    h.get_by_label("Full API form").click();
    h.run_steps(2);
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn an_invalid_name_shows_its_error_until_fixed() {
    let sb = Sandbox::new();
    let mut h = harness(&sb, [1400.0, 900.0], Some(2));
    h.run_steps(2);
    h.get_by_label_contains("New job").click();
    h.run_steps(3);
    full_form(&mut h);
    retype_field(&mut h, "training-job-", "my_job");
    assert_eq!(builder_value(&h)["TrainingJobName"], "my_job");
    // Local mode's error, once: not also the model's warning on the same member.
    assert!(
        has_text(&h, "must be 1 to 63 letters, digits or hyphens"),
        "no error under the field"
    );
    assert!(!has_text(&h, "must be letters, digits and hyphens"));
    assert!(
        has_text(&h, "Job  (1 error)"),
        "no error count on the group"
    );

    h.key_press(egui::Key::Backspace);
    h.key_press(egui::Key::Backspace);
    h.key_press(egui::Key::Backspace);
    h.key_press(egui::Key::Backspace);
    type_into_focused(&h, "the field", "-job");
    h.run_steps(3);
    assert_eq!(builder_value(&h)["TrainingJobName"], "my-job");
    assert!(!has_text(&h, "must be 1 to 63 letters, digits or hyphens"));
}

#[test]
fn a_full_request_goes_through_json_and_form_unchanged() {
    let sb = Sandbox::new();
    let mut h = harness(&sb, [1600.0, 20000.0], Some(2));
    h.run_steps(2);
    h.get_by_label_contains("New job").click();
    h.run_steps(3);
    full_form(&mut h);
    let full = fixture("full-request.json");
    paste_json(&mut h, &full);
    assert_eq!(
        builder_value(&h),
        full,
        "the pasted request differs from the form's"
    );
    // Every member reached the form: deep values show in their fields (two groups start closed).
    h.get_by_label("Network").click();
    h.run_steps(2);
    h.get_by_label("Advanced").click();
    h.run_steps(3);
    for value in [
        "fs-0123456789abcdef0",
        "subnet-0123456789abcdef0",
        "/opt/ml/checkpoints",
        "LossNotDecreasing",
    ] {
        assert!(
            h.query_all_by_value(value).next().is_some(),
            "no field holds {value}"
        );
    }
    // Editing one field in the form keeps every other member.
    let field = h
        .get_all_by_role(egui::accesskit::Role::TextInput)
        .find(|n| n.value().as_deref() == Some("full-request-2026-11-01"))
        .expect("the name field");
    field.focus();
    h.step();
    h.key_press(egui::Key::End);
    type_into_focused(&h, "the field", "b");
    h.run_steps(3);
    let mut expected = full.clone();
    expected["TrainingJobName"] = json!("full-request-2026-11-01b");
    assert_eq!(builder_value(&h), expected);

    // Broken JSON keeps the last good form and says where the problem is.
    let pane = h
        .get_all_by_role(egui::accesskit::Role::MultilineTextInput)
        .next()
        .expect("the JSON pane");
    pane.focus();
    h.step();
    h.key_press(egui::Key::End);
    h.get_all_by_role(egui::accesskit::Role::MultilineTextInput)
        .next()
        .unwrap()
        .type_text(",");
    h.run_steps(3);
    assert!(has_text(&h, "(the form keeps the last valid request)"));
    assert_eq!(builder_value(&h), expected);
}

#[test]
fn clone_gives_a_new_name_and_a_submitted_job_runs() {
    let sb = Sandbox::new();
    let mut h = harness(&sb, [1400.0, 900.0], Some(2));
    h.run_steps(2);
    h.get_by_label_contains("New job").click();
    h.run_steps(2);
    h.get_by_label("Templates").click();
    h.run_steps(2);
    h.get_by_label("Local demo").click();
    wait_for(&mut h, "the demo request", |h| {
        builder_value(h)["TrainingJobName"]
            .as_str()
            .is_some_and(|n| n.starts_with("sagedesk-demo-moons-"))
    });
    let name = builder_value(&h)["TrainingJobName"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(name.starts_with("sagedesk-demo-moons-"), "{name}");
    assert!(
        has_text(&h, "No problems found"),
        "the demo template should validate clean"
    );
    h.get_by_label_contains("Submit").click();
    wait_for(&mut h, "the job to complete", |h| has_label(h, "Completed"));
    assert!(
        h.state().builder().is_none(),
        "the builder closes after a submit"
    );
    assert_eq!(
        h.state()
            .state()
            .selection
            .as_ref()
            .map(|j| j.name.as_str()),
        Some(name.as_str())
    );

    h.get_by_label_contains("Clone").click();
    h.run_steps(3);
    let cloned = builder_value(&h);
    let new_name = cloned["TrainingJobName"].as_str().unwrap();
    assert_ne!(new_name, name);
    assert!(new_name.starts_with("sagedesk-demo-moons-"), "{new_name}");
    assert!(
        !new_name.contains(&name),
        "the clone's name grew: {new_name}"
    );
    assert_eq!(cloned["HyperParameters"]["epochs"], "2");

    // From the list too: its context menu clones the row's job.
    h.get_by_label("Close").click();
    h.run_steps(2);
    assert!(h.state().builder().is_none());
    h.get_all_by_label(&name)
        .next()
        .expect("the job's row")
        .click_secondary();
    h.run_steps(2);
    h.get_by_label("Clone into the builder").click();
    wait_for(&mut h, "the clone", |h| h.state().builder().is_some());
    let from_list = builder_value(&h);
    assert_ne!(from_list["TrainingJobName"], json!(name));
    assert_eq!(
        from_list["AlgorithmSpecification"],
        cloned["AlgorithmSpecification"]
    );
}

#[test]
fn the_draft_survives_a_restart() {
    let sb = Sandbox::new();
    {
        let mut h = harness(&sb, [1400.0, 900.0], Some(2));
        h.run_steps(2);
        h.get_by_label_contains("New job").click();
        h.run_steps(3);
        let mut draft = builder_value(&h);
        draft["TrainingJobName"] = json!("unsaved-work");
        draft["RoleArn"] = json!("arn:aws:iam::123456789012:role/Draft");
        paste_json(&mut h, &draft);
        // The worker writes the draft in the background.
        let db = sb.home().join("sagedesk.db");
        let deadline = Instant::now() + LIMIT;
        loop {
            h.step();
            let saved = sagedesk::store::Store::open(&db).unwrap().draft().unwrap();
            if saved.is_some_and(|d| d.contains("unsaved-work")) {
                break;
            }
            assert!(Instant::now() < deadline, "the draft was not saved");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let mut h = harness(&sb, [1400.0, 900.0], Some(2));
    h.run_steps(3);
    h.get_by_label_contains("New job").click();
    h.run_steps(3);
    let value = builder_value(&h);
    assert_eq!(value["TrainingJobName"], "unsaved-work");
    assert_eq!(value["RoleArn"], "arn:aws:iam::123456789012:role/Draft");
}

/// The Essentials set plain CreateTrainingJob members: a framework and version become the
/// SDK's image URI for the instance type's processor, hyperparameters and channels their
/// members; the full API form is one click away with the same request.
#[test]
fn the_essentials_write_plain_request_members() {
    let sb = Sandbox::new();
    let mut h = harness(&sb, [1024.0, 700.0], Some(2));
    h.run_steps(2);
    h.get_by_label_contains("New job").click();
    h.run_steps(3);
    h.get_by_label("Essentials").click();
    h.run_steps(3);
    h.get_by_value("Own image").click();
    h.run_steps(2);
    h.get_by_label("PyTorch").click();
    h.run_steps(3);
    let image = builder_value(&h)["AlgorithmSpecification"]["TrainingImage"].clone();
    let image = image.as_str().unwrap_or_default().to_string();
    assert!(
        image.starts_with("763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:")
            && image.contains("-cpu-"),
        "{image}"
    );
    // A GPU instance type takes the GPU image of the same version.
    h.get_by_value("ml.m5.xlarge").click();
    h.run_steps(2);
    h.get_by_label_contains("ml.g5.xlarge").click();
    h.run_steps(3);
    let value = builder_value(&h);
    assert_eq!(value["ResourceConfig"]["InstanceType"], "ml.g5.xlarge");
    let gpu = value["AlgorithmSpecification"]["TrainingImage"]
        .as_str()
        .unwrap();
    assert_eq!(gpu, image.replace("-cpu-", "-gpu-"));

    h.get_by_label("+ Hyperparameter").click();
    h.run_steps(3);
    h.get_by_label("+ Channel").click();
    h.run_steps(3);
    let value = builder_value(&h);
    assert_eq!(value["HyperParameters"]["param1"], "");
    assert_eq!(value["InputDataConfig"][0]["ChannelName"], "train");
    // The JSON pane holds the same request, and the full form is a click away.
    let json = h
        .get_all_by_role(egui::accesskit::Role::MultilineTextInput)
        .next()
        .expect("the JSON pane")
        .value()
        .unwrap_or_default();
    assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), value);
    h.get_by_label("Full API form").click();
    h.run_steps(3);
    assert!(has_text(&h, "TrainingInputMode"), "the full form's members");
    // The JSON pane closes and opens again.
    h.get_by_label("{ } JSON").click();
    h.run_steps(3);
    assert!(
        h.query_all_by_role(egui::accesskit::Role::MultilineTextInput)
            .next()
            .is_none()
    );
}
