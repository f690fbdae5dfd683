//! Tuning jobs in the window (the real `App` under kittest): a running one over its trials,
//! its view and its stop, and the builder making a tuning job from a file or from a
//! training job.

#![allow(clippy::unwrap_used)]

mod common;

use common::Sandbox;
use common::cli::{sagedesk, succeeded};
use common::tuning::{request, training_job, trials};
use serde_json::{Value, json};

#[test]
fn the_window_shows_a_running_tuning_job_over_its_trials_and_stops_it_when_asked() {
    use common::window::{has_text, wait_for};
    use egui_kittest::kittest::Queryable;
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "live",
        json!({"ResourceLimits": {"MaxNumberOfTrainingJobs": 8, "MaxParallelTrainingJobs": 2}}),
        json!({"epochs": "200", "pause": "0.1"}),
    );
    succeeded(sagedesk(&sb.home()).args(["tune", "--detach"]).arg(&file));
    let mut h = common::window::harness(&sb, [1280.0, 800.0], None);
    h.state_mut().state_mut().group_by = sagedesk::ui::state::GroupBy::TuningJob;
    wait_for(&mut h, "the running tuning job over its trials", |h| {
        has_text(h, "tuning job live") && has_text(h, "InProgress · Random · 2 of 8")
    });
    // Its detail: settings, counts and the trials.
    h.get_by_label("tuning job live").click();
    wait_for(&mut h, "the tuning job's detail", |h| {
        has_text(h, "Tuning job live")
            && has_text(h, "Random")
            && has_text(h, "8 training jobs, 2 at once")
            && has_text(h, "0 completed, 2 in progress, 0 stopped, 0 failed")
    });
    assert_eq!(
        h.state().state().tuning.as_ref().map(|j| j.name.as_str()),
        Some("live")
    );
    h.get_by_label("tuning job live").click_secondary();
    h.run_steps(2);
    h.get_by_label("Stop the tuning job…").click();
    h.run_steps(2);
    assert!(has_text(&h, "Stop tuning job live?"));
    h.get_by_label("Stop tuning job").click();
    wait_for(&mut h, "the stopped tuning job", |h| {
        has_text(h, "Stopped · Random · 2 of 8")
            && has_text(h, "0 completed, 0 in progress, 2 stopped, 0 failed")
    });
    // Its trials compare from the detail.
    h.get_by_label("⚖ Compare trials").click();
    wait_for(&mut h, "the trials compared", |h| {
        has_text(h, "Comparing 2 jobs")
    });
    let d: Value = serde_json::from_slice(
        &succeeded(sagedesk(&sb.home()).args(["tuning", "describe", "--json", "live"])).stdout,
    )
    .unwrap();
    assert_eq!(d["HyperParameterTuningJobStatus"], "Stopped");
    assert_eq!(d["TrainingJobStatusCounters"]["InProgress"], 0);
}

#[test]
fn a_tuning_request_imported_into_the_builder_opens_as_one() {
    use sagedesk::worker::{DeskCommand, Event};
    let sb = Sandbox::new();
    let file = request(&sb, "imported", json!({}), json!({}));
    // A relative code folder is read against the file's folder.
    let mut written: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    written["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"] =
        json!("\"file://code\"");
    std::fs::write(&file, written.to_string()).unwrap();
    let worker = common::window::worker(std::sync::Arc::new(sb.backend()), &sb.home());
    worker.send(DeskCommand::ReadRequestFile(file.clone()));
    let deadline = std::time::Instant::now() + common::LIMIT;
    let value = loop {
        assert!(std::time::Instant::now() < deadline, "no answer");
        if let Some(value) = worker.drain().find_map(|e| match e {
            Event::RequestLoaded { value, .. } => Some(value),
            Event::RequestUnreadable(message) => panic!("{message}"),
            _ => None,
        }) {
            break value;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    assert_eq!(value["HyperParameterTuningJobName"], "imported");
    assert_eq!(
        value["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"][0]
            ["Values"],
        json!(["a", "b"])
    );
    assert_eq!(
        value["TrainingJobDefinition"]["StaticHyperParameters"]["sagemaker_submit_directory"],
        json!(format!("\"file://{}\"", sb.path().join("code").display()))
    );
    let mut builder = sagedesk::ui::builder::Builder::new(value, sagedesk::job::Connection::Local);
    builder.set_target(sagedesk::request::validate::Target::Local, None);
    assert_eq!(builder.kind(), sagedesk::request::RequestKind::Tuning);
    assert!(
        builder.diagnostics().is_empty(),
        "{:?}",
        builder.diagnostics()
    );
}

#[test]
fn a_training_job_becomes_a_tuning_job_in_the_builder_and_runs_here() {
    use common::window::{has_text, wait_for};
    use egui_kittest::kittest::Queryable;
    use sagedesk::request::RequestKind;
    let sb = Sandbox::new();
    let file = request(&sb, "unused", json!({}), json!({}));
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    // The training job each trial would run, with its hyperparameters static.
    let mut training = sagedesk::request::tuning::tuning_request_from_value(written, "test")
        .unwrap()
        .first_training_job()
        .unwrap()
        .to_value();
    let hyper = training["HyperParameters"].as_object_mut().unwrap();
    hyper.insert("rate".into(), json!("0.5"));
    hyper.insert("kind".into(), json!("b"));
    let mut h = common::window::harness(&sb, [1280.0, 800.0], None);
    h.state_mut().new_job();
    h.state_mut().builder_mut().unwrap().set_value(training);
    h.run_steps(3);
    h.get_by_label("⚙ Tune…").click();
    h.run_steps(3);
    let builder = h.state().builder().unwrap();
    assert_eq!(builder.kind(), RequestKind::Tuning);
    let value = builder.value().clone();
    let config = &value["HyperParameterTuningJobConfig"];
    assert_eq!(config["Strategy"], "Bayesian");
    assert_eq!(
        config["HyperParameterTuningJobObjective"],
        json!({"Type": "Minimize", "MetricName": "loss"})
    );
    let name = value["HyperParameterTuningJobName"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(name.len() <= 32, "{name}");
    assert!(has_text(&h, "New tuning job") && has_text(&h, "Pick the hyperparameters to search"));
    // A click moves `rate` from the static hyperparameters to a range around its value.
    h.get_by_label("+ rate = 0.5").click();
    h.run_steps(3);
    let value = h.state().builder().unwrap().value().clone();
    assert_eq!(
        value["HyperParameterTuningJobConfig"]["ParameterRanges"]["ContinuousParameterRanges"],
        json!([{"Name": "rate", "MinValue": "0.05", "MaxValue": "1", "ScalingType": "Logarithmic"}])
    );
    assert!(
        value["TrainingJobDefinition"]["StaticHyperParameters"]
            .get("rate")
            .is_none()
    );
    assert!(has_text(&h, "Searching: rate"));
    // Three trials, then Submit: it runs here and its view opens.
    let mut fewer = value.clone();
    fewer["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] = json!(3);
    h.state_mut().builder_mut().unwrap().set_value(fewer);
    h.run_steps(2);
    let errors: Vec<_> = h.state().builder().unwrap().diagnostics().to_vec();
    assert!(errors.is_empty(), "{errors:?}");
    h.get_by_label("▶ Submit").click();
    wait_for(&mut h, "the tuning job's view", |h| {
        h.state().builder().is_none() && has_text(h, &format!("Tuning job {name}"))
    });
    wait_for(&mut h, "its three trials", |h| {
        has_text(h, "3 completed, 0 in progress, 0 stopped, 0 failed")
    });
    for trial in trials(&sb.home(), &name) {
        let rate: f64 = trial["TunedHyperParameters"]["rate"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.05..=1.0).contains(&rate), "{trial}");
        let job = training_job(&sb.home(), trial["TrainingJobName"].as_str().unwrap());
        assert_eq!(job["HyperParameters"]["kind"], "b");
    }
}
