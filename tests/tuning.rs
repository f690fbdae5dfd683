//! Tuning jobs on this machine, through the `sagedesk` binary: each trial a real local
//! training job of a Python script whose objective has a known optimum; the limits, the
//! strategies, early stopping, completion criteria, stops and failures.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Output;

use common::Sandbox;
use common::cli::{sagedesk, succeeded, text};
use common::tuning::{described, request, training_job, trials};
use serde_json::{Value, json};

fn tune(home: &Path, file: &Path) -> Output {
    sagedesk(home)
        .args(["tune", "--json"])
        .arg(file)
        .output()
        .unwrap()
}

/// Trials of `tuning` that were stopped before logging all their `epochs` values.
fn cut_short(home: &Path, tuning: &str, epochs: usize) -> usize {
    trials(home, tuning)
        .iter()
        .filter(|t| t["TrainingJobStatus"] == "Stopped")
        .filter(|t| {
            let name = t["TrainingJobName"].as_str().unwrap();
            let out = succeeded(sagedesk(home).args(["logs", name]));
            text(&out.stdout).matches("loss=").count() < epochs
        })
        .count()
}

#[test]
fn a_tuning_job_runs_its_trials_as_local_jobs_never_more_at_once_than_allowed() {
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "sweep",
        json!({"ResourceLimits": {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 2}}),
        json!({"pause": "0.1"}),
    );
    let out = tune(&sb.home(), &file);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let d = described(&out);
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed");
    assert_eq!(d["TrainingJobStatusCounters"]["Completed"], 6);
    assert_eq!(d["ObjectiveStatusCounters"]["Succeeded"], 6);
    let best = &d["BestTrainingJob"];
    let trials = trials(&sb.home(), "sweep");
    assert_eq!(trials.len(), 6);
    // Best first, and the best is the tuning job's BestTrainingJob.
    assert_eq!(trials[0]["TrainingJobName"], best["TrainingJobName"]);
    let values: Vec<f64> = trials
        .iter()
        .map(|t| {
            t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "{values:?}");
    assert_eq!(
        best["FinalHyperParameterTuningJobObjectiveMetric"]["MetricName"],
        "loss"
    );
    let name_shape = regex::Regex::new(r"^sweep-\d{3}-[0-9a-f]{8}$").unwrap();
    let mut spans = Vec::new();
    for trial in &trials {
        let name = trial["TrainingJobName"].as_str().unwrap();
        assert!(name_shape.is_match(name), "{name}");
        // Each trial is a local training job with its tuned values and the objective's name.
        let job = training_job(&sb.home(), name);
        assert_eq!(job["TrainingJobStatus"], "Completed");
        let hyper = &job["HyperParameters"];
        assert_eq!(hyper["_tuning_objective_metric"], "loss");
        assert_eq!(hyper["rate"], trial["TunedHyperParameters"]["rate"]);
        assert_eq!(hyper["kind"], trial["TunedHyperParameters"]["kind"]);
        let x: f64 = hyper["rate"].as_str().unwrap().parse().unwrap();
        assert!((0.0..=1.0).contains(&x));
        // The final value is the last one the job logged (three epochs: floor + 1/3).
        let kind = if hyper["kind"] == "b" { 0.0 } else { 0.5 };
        let expected = (x - 0.3).powi(2) + kind + 1.0 / 3.0;
        let value = trial["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
            .as_f64()
            .unwrap();
        assert!((value - expected).abs() < 1e-5, "{value} vs {expected}");
        let time =
            |k: &str| chrono::DateTime::parse_from_rfc3339(job[k].as_str().unwrap()).unwrap();
        spans.push((time("CreationTime"), time("TrainingEndTime")));
    }
    // Never more than two ran at once.
    for (start, _) in &spans {
        let running = spans
            .iter()
            .filter(|(s, e)| s <= start && start < e)
            .count();
        assert!(running <= 2, "{running} jobs ran at once");
    }
}

#[test]
fn grid_tries_every_combination_once() {
    let sb = Sandbox::new();
    let file = request(&sb, "grid", common::tuning::grid(50), json!({}));
    let d = described(&tune(&sb.home(), &file));
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed");
    let mut seen: Vec<(String, String)> = trials(&sb.home(), "grid")
        .iter()
        .map(|t| {
            let h = &t["TunedHyperParameters"];
            (
                h["kind"].as_str().unwrap().into(),
                h["rate"].as_str().unwrap().into(),
            )
        })
        .collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 6);
    let best = &d["BestTrainingJob"]["TunedHyperParameters"];
    assert_eq!(
        (best["kind"].as_str(), best["rate"].as_str()),
        (Some("b"), Some("0.3"))
    );
}

#[test]
fn hyperband_and_the_median_rule_stop_bad_trials_early() {
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "band",
        json!({
            "Strategy": "Hyperband",
            "StrategyConfig": {"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 9, "MaxParallelTrainingJobs": 3}
        }),
        json!({"epochs": "9", "pause": "0.3"}),
    );
    let d = described(&tune(&sb.home(), &file));
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed", "{d:#}");
    assert!(
        cut_short(&sb.home(), "band", 9) >= 1,
        "Hyperband cut no trial: {d:#}"
    );
    // A stopped trial's final value is the last it logged, and it counts as succeeded.
    assert_eq!(d["ObjectiveStatusCounters"]["Succeeded"], 9);

    let file = request(
        &sb,
        "median",
        json!({
            "TrainingJobEarlyStoppingType": "Auto",
            "RandomSeed": 4,
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 1}
        }),
        json!({"epochs": "6", "pause": "0.1"}),
    );
    let d = described(&tune(&sb.home(), &file));
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed");
    assert!(
        cut_short(&sb.home(), "median", 6) >= 1,
        "the median rule cut no trial: {d:#}"
    );
}

#[test]
fn completion_criteria_end_the_search_before_its_last_trial() {
    let sb = Sandbox::new();
    // Any trial with kind "b" and rate near 0.3 ends below 0.4; one with kind "a" never does.
    let file = request(
        &sb,
        "target",
        json!({
            "Strategy": "Bayesian",
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 40, "MaxParallelTrainingJobs": 1},
            "TuningJobCompletionCriteria": {"TargetObjectiveMetricValue": 0.4}
        }),
        json!({}),
    );
    let d = described(&tune(&sb.home(), &file));
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed");
    let n = trials(&sb.home(), "target").len();
    assert!(n < 40, "{n} trials");
    let best = d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        .as_f64()
        .unwrap();
    assert!(best <= 0.4, "{best}");

    let file = request(
        &sb,
        "plateau",
        json!({
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 30, "MaxParallelTrainingJobs": 1},
            "TuningJobCompletionCriteria": {"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}}
        }),
        json!({}),
    );
    let d = described(&tune(&sb.home(), &file));
    let n = trials(&sb.home(), "plateau").len();
    assert!(n < 30, "{n} trials");
    assert_eq!(
        d["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"],
        3
    );
}

#[test]
fn a_bayesian_search_ends_when_it_converges() {
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "converge",
        json!({
            "Strategy": "Bayesian",
            "RandomSeed": 7,
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 80, "MaxParallelTrainingJobs": 2},
            "TuningJobCompletionCriteria": {"ConvergenceDetected": {"CompleteOnConvergence": "Enabled"}}
        }),
        json!({"epochs": "1", "pause": "0"}),
    );
    let d = described(&tune(&sb.home(), &file));
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed");
    let n = trials(&sb.home(), "converge").len();
    assert!(n < 80, "{n} trials");
    assert!(
        d["TuningJobCompletionDetails"]["ConvergenceDetectedTime"].is_string(),
        "{}",
        d["TuningJobCompletionDetails"]
    );
    // It had found the floor (kind "b", rate 0.3: one epoch ends at 1.0).
    let best = d["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        .as_f64()
        .unwrap();
    assert!(best < 1.01, "{best} after {n} trials");
}

#[test]
fn bad_requests_are_refused_before_anything_runs_and_name_the_member() {
    let sb = Sandbox::new();
    let cases = [
        (
            json!({"ParameterRanges": {"ContinuousParameterRanges": [{"Name": "rate", "MinValue": "2", "MaxValue": "1"}]}}),
            "ContinuousParameterRanges[0].MinValue",
            "MinValue 2 is above MaxValue 1",
        ),
        (
            json!({"HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "accuracy"}}),
            "TrainingJobDefinition.AlgorithmSpecification.MetricDefinitions",
            "no MetricDefinition is named \"accuracy\"",
        ),
        (
            json!({"ParameterRanges": {"CategoricalParameterRanges": [{"Name": "kind", "Values": (0..31).map(|i| i.to_string()).collect::<Vec<_>>()}]}}),
            "CategoricalParameterRanges[0].Values",
            "",
        ),
        (
            json!({"Strategy": "Grid"}),
            "HyperParameterTuningJobConfig.ParameterRanges",
            "categorical ranges only",
        ),
        (
            json!({"ParameterRanges": {"ContinuousParameterRanges": [{"Name": "rate", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}]}}),
            "ContinuousParameterRanges[0].ScalingType",
            "needs MinValue above 0",
        ),
    ];
    for (i, (config, path, message)) in cases.into_iter().enumerate() {
        let name = format!("bad{i}");
        let file = request(&sb, &name, config, json!({}));
        for args in [vec!["validate"], vec!["tune"]] {
            let out = sagedesk(&sb.home())
                .args(&args)
                .arg(&file)
                .output()
                .unwrap();
            let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
            assert_eq!(out.status.code(), Some(2), "{args:?} {name}: {said}");
            assert!(
                said.contains(path) && said.contains(message),
                "{args:?} {name}: {said}"
            );
        }
    }
    // Nothing was started.
    let out = succeeded(sagedesk(&sb.home()).args(["tuning", "list"]));
    assert_eq!(
        text(&out.stdout).lines().count(),
        1,
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn trials_that_all_fail_fail_the_tuning_job_and_a_stop_ends_one_in_the_middle() {
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "broken",
        json!({"ResourceLimits": {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 1}}),
        json!({"fail": "1"}),
    );
    let out = tune(&sb.home(), &file);
    assert_eq!(out.status.code(), Some(1));
    let d = described(&out);
    assert_eq!(d["HyperParameterTuningJobStatus"], "Failed");
    assert_eq!(
        d["TrainingJobStatusCounters"]["NonRetryableError"], 3,
        "{d:#}"
    );
    let reason = d["FailureReason"].as_str().unwrap();
    assert!(
        reason.contains("the first 3 training jobs failed"),
        "{reason}"
    );
    assert!(reason.contains("the data is missing"), "{reason}");

    // A script that refuses arguments it does not know fails on the one every trial gets,
    // as on SageMaker; the diagnosis says how to read them.
    let file = request(&sb, "strict", json!({}), json!({}));
    let script = sb.path().join("code/train.py");
    let lenient = std::fs::read_to_string(&script).unwrap();
    std::fs::write(
        &script,
        lenient.replace("a, _ = p.parse_known_args()", "a = p.parse_args()"),
    )
    .unwrap();
    let d = described(&tune(&sb.home(), &file));
    std::fs::write(&script, lenient).unwrap();
    assert_eq!(d["HyperParameterTuningJobStatus"], "Failed");
    let reason = d["FailureReason"].as_str().unwrap();
    assert!(
        reason.contains("--_tuning_objective_metric loss"),
        "{reason}"
    );
    let first = trials(&sb.home(), "strict")[0]["TrainingJobName"].clone();
    let out = succeeded(sagedesk(&sb.home()).args(["diagnose", "--json", first.as_str().unwrap()]));
    let diagnosis: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        diagnosis["next_steps"]
            .to_string()
            .contains("parser.parse_known_args()"),
        "{diagnosis:#}"
    );

    let file = request(
        &sb,
        "long",
        json!({"ResourceLimits": {"MaxNumberOfTrainingJobs": 20, "MaxParallelTrainingJobs": 2}}),
        json!({"epochs": "100", "pause": "0.2"}),
    );
    succeeded(sagedesk(&sb.home()).args(["tune", "--detach"]).arg(&file));
    let deadline = std::time::Instant::now() + common::LIMIT;
    loop {
        assert!(std::time::Instant::now() < deadline, "no trial started");
        let out = succeeded(sagedesk(&sb.home()).args(["tuning", "describe", "--json", "long"]));
        let d: Value = serde_json::from_slice(&out.stdout).unwrap();
        if d["TrainingJobStatusCounters"]["InProgress"] == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    succeeded(sagedesk(&sb.home()).args(["tuning", "stop", "long"]));
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the stop did not end it"
        );
        let out = succeeded(sagedesk(&sb.home()).args(["tuning", "describe", "--json", "long"]));
        let d: Value = serde_json::from_slice(&out.stdout).unwrap();
        if d["HyperParameterTuningJobStatus"] == "Stopped" {
            assert_eq!(d["TrainingJobStatusCounters"]["InProgress"], 0);
            assert_eq!(d["TrainingJobStatusCounters"]["Stopped"], 2);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // A tuning job whose stored state is damaged is listed as Failed beside the others,
    // and opening it says what is damaged.
    let db = rusqlite::Connection::open(sb.config().database()).unwrap();
    db.execute(
        "UPDATE tuning_jobs SET state = '{not json' WHERE name = 'strict'",
        [],
    )
    .unwrap();
    let listed = text(&succeeded(sagedesk(&sb.home()).args(["tuning", "list"])).stdout);
    let rows: Vec<&str> = listed.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{listed}");
    assert!(
        rows.iter().any(|r| r.starts_with("strict\tFailed")),
        "{listed}"
    );
    assert!(
        rows.iter().any(|r| r.starts_with("long\tStopped")),
        "{listed}"
    );
    let out = sagedesk(&sb.home())
        .args(["tuning", "describe", "strict"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("the stored state of tuning job strict is damaged"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_tuning_job_whose_tuner_was_killed_goes_on_from_where_it_was() {
    let sb = Sandbox::new();
    let file = request(
        &sb,
        "orphan",
        json!({"ResourceLimits": {"MaxNumberOfTrainingJobs": 5, "MaxParallelTrainingJobs": 2}}),
        json!({"epochs": "12", "pause": "0.1"}),
    );
    succeeded(sagedesk(&sb.home()).args(["tune", "--detach"]).arg(&file));
    let describe = || -> Value {
        serde_json::from_slice(
            &succeeded(sagedesk(&sb.home()).args(["tuning", "describe", "--json", "orphan"]))
                .stdout,
        )
        .unwrap()
    };
    let deadline = std::time::Instant::now() + common::LIMIT;
    while describe()["TrainingJobStatusCounters"]["InProgress"] != 2 {
        assert!(std::time::Instant::now() < deadline, "no trial started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The tuner dies; its trials, supervised on their own, go on.
    let killed = std::process::Command::new("pkill")
        .args(["-KILL", "-f", "supervise-tuning orphan"])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(std::time::Duration::from_millis(300));
    // The next command finds it orphaned and starts its tuner again.
    let out = succeeded(sagedesk(&sb.home()).args(["tuning", "list"]));
    assert!(
        text(&out.stderr).contains("tuning job orphan had lost its process"),
        "{}",
        text(&out.stderr)
    );
    let d = loop {
        let d = describe();
        if d["HyperParameterTuningJobStatus"] != "InProgress" {
            break d;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "it did not end: {d:#}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(d["HyperParameterTuningJobStatus"], "Completed", "{d:#}");
    assert_eq!(d["TrainingJobStatusCounters"]["Completed"], 5, "{d:#}");
    // Each trial once, its final value the last it logged (12 epochs: floor + 1/12).
    let trials = trials(&sb.home(), "orphan");
    assert_eq!(trials.len(), 5);
    for trial in &trials {
        let h = &trial["TunedHyperParameters"];
        let rate: f64 = h["rate"].as_str().unwrap().parse().unwrap();
        let kind = if h["kind"] == "b" { 0.0 } else { 0.5 };
        let expected = (rate - 0.3).powi(2) + kind + 1.0 / 12.0;
        let value = trial["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
            .as_f64()
            .unwrap();
        assert!((value - expected).abs() < 1e-5, "{value} vs {expected}");
    }
}
